"""`--engine dask` on a real cluster (a scheduler and two workers as separate processes, each
in its own working and temp directory; tests/cluster/conftest.py) and on an S3-compatible
server (moto) for input, scratch and output: the findings are byte-identical to the local
engine's, and nothing is written under the client's temporary directory."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.generate import generate_claims
from claims_audit.report.outputs import write_outputs
from claims_audit.report.writers import MARKER
from claims_audit.run.local import run_audit
from tests.cluster.conftest import BUCKET

pytest.importorskip("distributed")
from claims_audit.run.dask import run_audit_dask  # noqa: E402

FINDINGS = ("findings.csv", "findings.parquet")


@pytest.fixture(scope="module")
def extracts(tmp_path_factory, starter_bundle):
    """Generated extracts (local files): a Parquet one of several row groups, two CSV ones."""
    root = tmp_path_factory.mktemp("extracts")
    generate_claims(starter_bundle, 24_000, root / "claims.parquet", seed=31, chunk_rows=5_000)
    generate_claims(starter_bundle, 6_000, root / "more.csv", seed=32)
    generate_claims(starter_bundle, 3_000, root / "other.csv", seed=33)
    return root


@pytest.fixture(scope="module")
def local_runs(extracts, tmp_path_factory):
    """The local engine's outputs (the reference) of some of the extracts, by their names."""
    done: dict[tuple[str, ...], Path] = {}

    def run(*names: str) -> Path:
        if names not in done:
            out = tmp_path_factory.mktemp("local") / "out"
            inputs = [str(extracts / name) for name in names]
            result = CliRunner().invoke(main, ["run", *inputs, "--out", str(out), *OPTIONS])
            assert result.exit_code == 0, result.output
            done[names] = out
        return done[names]

    return run


OPTIONS = ("--format", "csv,parquet", "--fail-on", "never", "--quiet")


@pytest.fixture
def client_tmp(tmp_path, monkeypatch):
    """The client's temporary directory, fresh and watched: the test asserts it stays
    untouched (its modification time changes with any entry made or removed in it)."""
    path = tmp_path / "client-tmp"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def _leftovers(roots: dict[str, Path]) -> list[str]:
    """Files of claims-audit left in the cluster processes' directories."""
    return sorted(
        str(p) for root in roots.values() for p in root.rglob("claims-audit-*") if p.is_file()
    )


def _s3_run(inputs: str, root: str, cluster) -> list[str]:
    """`claims-audit run` on the cluster with scratch and output under the S3 prefix `root`."""
    where = ["--scratch", f"{root}/scratch", "--out", f"{root}/out"]
    return ["run", inputs, "--engine", "dask", "--scheduler", cluster["address"], *where, *OPTIONS]


def test_cluster_on_shared_paths_matches_local_engine(
    cluster, extracts, local_runs, tmp_path, client_tmp
):
    """Local inputs, scratch and output on a file system every process sees, through the CLI:
    same findings bytes; the client's temp directory never written to; nothing left over."""
    scratch = tmp_path / "shared-scratch"
    scratch.mkdir()
    out = tmp_path / "dask-out"
    local_run = local_runs("claims.parquet")  # (the local engine's scratch is in TMPDIR)
    before = os.stat(client_tmp).st_mtime_ns
    inputs = [str(extracts / "claims.parquet")]
    result = CliRunner().invoke(
        main,
        [
            "run",
            *inputs,
            "--engine",
            "dask",
            "--scheduler",
            cluster["address"],
            "--scratch",
            str(scratch),
            "--out",
            str(out),
            *OPTIONS,
        ],
    )
    assert result.exit_code == 0, result.output
    for name in (*FINDINGS, "rejects.csv"):
        assert (out / name).read_bytes() == (local_run / name).read_bytes(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "dask" and len(summary["peak_rss_mb_workers"]) == 2
    expected = json.loads((local_run / "summary.json").read_text())
    assert summary["inputs"] == expected["inputs"] and summary["totals"] == expected["totals"]
    assert os.stat(client_tmp).st_mtime_ns == before and list(client_tmp.iterdir()) == []
    assert list(scratch.iterdir()) == []  # the run's own scratch directory, removed
    assert _leftovers(cluster["roots"]) == []


def _s3(prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}-{secrets.token_hex(4)}"


def test_cluster_with_s3_input_scratch_and_output(
    cluster, extracts, local_runs, tmp_path, client_tmp
):
    """Inputs, scratch and --out on S3 (moto), through the CLI: the findings files fetched
    back are the local engine's bytes, the rejects the same but for the file names; a second
    run replaces the first; the scratch prefix and the client's temp directory end empty."""
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    root = _s3("run")
    local_run = local_runs("more.csv", "other.csv")
    for name in ("more.csv", "other.csv"):
        fs.put_file(str(extracts / name), f"{root}/in/{name}")
    args = _s3_run(f"{root}/in", root, cluster)
    for _ in range(2):  # the second run replaces the first's output
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    got = tmp_path / "got"
    fs.get(f"{root}/out/", str(got), recursive=True)
    for name in FINDINGS:
        assert (got / name).read_bytes() == (local_run / name).read_bytes(), name
    rejects = pd.read_csv(got / "rejects.csv", dtype=str, keep_default_na=False)
    expected = pd.read_csv(local_run / "rejects.csv", dtype=str, keep_default_na=False)
    for frame, prefix in ((rejects, f"{root}/in/"), (expected, f"{extracts}/")):
        frame["source_file"] = frame["source_file"].str.removeprefix(prefix)
        frame["message"] = frame["message"].str.replace(prefix, "", regex=False)
    pd.testing.assert_frame_equal(rejects, expected)
    summary = json.loads((got / "summary.json").read_text())
    assert [f["path"] for f in summary["inputs"]] == [
        f"{root}/in/more.csv",
        f"{root}/in/other.csv",
    ]
    local = json.loads((local_run / "summary.json").read_text())
    assert [f["sha256"] for f in summary["inputs"]] == [f["sha256"] for f in local["inputs"]]
    marker = json.loads((got / MARKER).read_text())
    assert sorted(marker["files"]) == sorted(p.name for p in got.iterdir() if p.name != MARKER)
    assert fs.find(f"{root}/scratch") == []
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(root, detail=False)) == ["in", "out"]
    assert list(client_tmp.iterdir()) == []
    assert _leftovers(cluster["roots"]) == []


def test_cluster_refuses_an_s3_output_of_other_files(cluster, extracts, client_tmp):
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    root = _s3("foreign")
    fs.pipe_file(f"{root}/out/budget.xlsx", b"not ours")
    result = CliRunner().invoke(
        main,
        _s3_run(str(extracts / "more.csv"), root, cluster),
    )
    assert result.exit_code == 2, result.output
    assert "not a claims-audit output" in result.output
    assert fs.cat_file(f"{root}/out/budget.xlsx") == b"not ours"
    assert fs.find(root) == [f"{root[len('s3://') :]}/out/budget.xlsx"]


@pytest.mark.slow
def test_cluster_many_partitions_s3_scratch(
    cluster, extracts, starter_bundle, default_config, tmp_path, client_tmp
):
    """Small pieces and partitions (several row-group pieces, 8 partitions or more) over an S3
    scratch area, one input local and its copy on S3: the local engine's findings."""
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    root = _s3("parts")
    copy = tmp_path / "copy.parquet"  # the same lines in a second file: V005 across files
    copy.write_bytes((extracts / "claims.parquet").read_bytes())
    fs.put_file(str(copy), f"{root}/in/copy.parquet")
    expected = run_audit(
        [str(extracts / "claims.parquet"), str(copy)],
        starter_bundle,
        default_config,
    )
    got = run_audit_dask(
        [str(extracts / "claims.parquet"), f"{root}/in/copy.parquet"],
        starter_bundle,
        default_config,
        scheduler=cluster["address"],
        scratch=f"{root}/scratch",
        piece_rows=5_000,
        partition_rows=3_000,
    )
    assert got.summary["timings_seconds"]["partitions"] >= 8
    for name, result in (("local", expected), ("dask", got)):
        write_outputs(result, tmp_path / name, ("csv", "parquet"))
    for name in FINDINGS:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    # the lines went once audited; the findings, read from S3 as they were written, wait there
    # until the result is closed
    left = {Path(k).name for k in fs.find(f"{root}/scratch")}
    assert "probe" in left and all(n.startswith("findings-") for n in left - {"probe"})
    got.close()
    expected.close()  # the local engine's scratch directory, in the client's temp directory
    fs.invalidate_cache()  # the listing above is cached
    assert fs.find(f"{root}/scratch") == []
    assert list(client_tmp.iterdir()) == []


def test_cluster_workers_that_cannot_see_the_scratch_area_stop_the_run(cluster, extracts, tmp_path):
    """A scratch area only the client sees (fsspec's in-memory file system of this process):
    every worker checks before the first task, the run stops with exit 2 naming it."""
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(extracts / "other.csv"),
            "--engine",
            "dask",
            "--scheduler",
            cluster["address"],
            "--scratch",
            "memory://client-only/scratch",
            "--out",
            str(tmp_path / "out"),
            *OPTIONS,
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot see the scratch area memory:///client-only/scratch/claims-audit-scratch-" in (
        result.output
    )
    assert not (tmp_path / "out").exists()
