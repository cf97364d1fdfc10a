"""The wheel works alone: built from a copy of the checkout, installed into a fresh venv, and run
from a directory outside the checkout (issue 13 item 1).

`test_wheel_runs_outside_the_checkout` is `slow` (it builds the wheel and installs the
dependencies, from pip's cache or the package index): `make test` skips it, `make test-slow`
runs it. The fast test below keeps pyproject.toml's explicit package list complete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT.parent / "shared" / "reference-raw"
RAW_FILES = {
    "--hcpcs": RAW / "hcpcs_2026_jan" / "january-2026-alpha-numeric-hcpcs-file.zip",
    "--asp-pricing": RAW / "cms_asp_payment_limit_2026Q1_jan2026_121725.csv",
    "--asp-crosswalk": RAW / "cms_asp_ndc_hcpcs_crosswalk_2026Q1_jan2026_121725.csv",
    "--mue-practitioner": RAW / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
    "--mue-outpatient": RAW / "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv",
    "--opps": RAW / "cms_opps_addendum_b_2025Q4_oct2025_103125.csv",
}
STARTER_FILES = sorted(p.name for p in (ROOT / "reference").glob("*.csv")) + ["manifest.json"]
# what a checkout may hold that is not source: never copied into the build
NOT_SOURCE = {
    ".git",
    ".venv",
    "audit-out",
    "reference-build",
    "build",
    "dist",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "__pycache__",
}
PIP_TIMEOUT = 900  # seconds: installing pandas, pyarrow, ... into the fresh venv


def _source_copy(dest: Path) -> Path:
    """The checkout's files without its venv, caches and build outputs (the build then writes
    its `build/` and `*.egg-info` there, not in the checkout)."""

    def ignore(_directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in NOT_SOURCE or n.endswith(".egg-info")}

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def _run(args: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a command with an environment that cannot reach the checkout (no PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(proc: subprocess.CompletedProcess, codes: tuple[int, ...] = (0,)) -> str:
    assert proc.returncode in codes, (
        f"{proc.args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def test_every_package_is_listed():
    """pyproject.toml spells out the package list (the `package-dir` mapping of reference/ needs
    it): a new subpackage must be added there or the wheel silently lacks it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    mapping = config["tool"]["setuptools"]["package-dir"]
    assert mapping == {
        "claims_audit": "pipeline",
        "claims_audit.schemas": "schemas",
        "claims_audit.starter": "reference",
    }
    on_disk = {
        ".".join((package, *p.parent.relative_to(ROOT / folder).parts))
        for package, folder in mapping.items()
        for p in (ROOT / folder).rglob("__init__.py")
    }
    assert listed - on_disk == {"claims_audit.report.templates"}  # data only, no __init__
    assert on_disk <= listed


@pytest.mark.slow
def test_wheel_runs_outside_the_checkout(tmp_path):
    started = time.perf_counter()
    src = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    _ok(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", src, "-w", dist], tmp_path))
    (wheel,) = dist.glob("claims_audit-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {f"claims_audit/starter/{name}" for name in STARTER_FILES} <= names
    assert "claims_audit/report/templates/report.html.j2" in names
    # one top-level package: nothing a user's own `pipeline`, `schemas` or `reference` can shadow
    assert {n.split("/")[0] for n in names if not n.startswith("claims_audit-")} == {"claims_audit"}

    venv = tmp_path / "venv"
    _ok(_run([sys.executable, "-m", "venv", venv], tmp_path))
    python, cli = venv / "bin" / "python", venv / "bin" / "claims-audit"
    _ok(_run([python, "-m", "pip", "install", "-q", wheel], tmp_path, timeout=PIP_TIMEOUT))

    # the sdist holds reference/ as the repository has it (built by the venv's setuptools)
    _ok(_run([python, "-m", "pip", "install", "-q", "setuptools>=68"], tmp_path))
    build_sdist = (
        "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    )
    sdist = dist / _ok(_run([python, "-c", build_sdist, dist], src)).strip().splitlines()[-1]
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name}
    assert {f"reference/{name}" for name in STARTER_FILES} <= members

    work = tmp_path / "work"  # outside the checkout; nothing in it but the claims
    work.mkdir()
    shutil.copy(ROOT / "sample_data" / "claims.csv", work / "claims.csv")

    # the installed copy is the one found, and its manifest's sha256 checks pass
    where = _ok(
        _run([python, "-c", "import claims_audit.resources as r; print(r.starter_bundle())"], work)
    )
    assert Path(where.strip()).is_relative_to(venv), where
    load = "from claims_audit.reference import load_bundle; print(len(load_bundle()['hcpcs']))"
    assert _ok(_run([python, "-c", load], work)).strip() == "31"

    _ok(_run([cli, "run", "claims.csv", "--out", "out"], work), codes=(0, 1))
    for name in ("findings.csv", "summary.json", "report.html", "rejects.csv"):
        assert (work / "out" / name).is_file(), name
    summary = json.loads((work / "out" / "summary.json").read_text(encoding="utf-8"))
    assert Path(summary["reference"]["path"]).is_relative_to(venv)

    _ok(_run([cli, "sample", "generate", "--rows", "200", "--out", "sample.csv"], work))
    assert len(pd.read_csv(work / "sample.csv", dtype=str)) == 200

    shown = _ok(_run([cli, "reference", "show"], work))
    assert "kind starter" in shown and str(venv) in shown

    # a scheduler's DAG folder with its own `pipeline`, `schemas` and `reference` modules first on
    # the path (issue 13): the installed package cannot be shadowed by them, nor shadow them
    dags = tmp_path / "dags"
    for name in ("pipeline", "schemas", "reference"):
        (dags / name).mkdir(parents=True)
        (dags / name / "__init__.py").write_text(f"OWNER = 'dags/{name}'\n", encoding="utf-8")
    both = (
        "import pipeline, schemas, reference, claims_audit.cli.main, claims_audit.schemas.claims;"
        "print(pipeline.OWNER, schemas.OWNER, reference.OWNER)"
    )
    with_dags = ["env", f"PYTHONPATH={dags}"]
    shown = _ok(_run([*with_dags, python, "-c", both], work)).split()
    assert shown == ["dags/pipeline", "dags/schemas", "dags/reference"]
    _ok(_run([*with_dags, cli, "run", "claims.csv", "--out", "out-dags"], work), codes=(0, 1))

    if not all(p.is_file() for p in RAW_FILES.values()):
        pytest.skip(f"CMS source files not found in {RAW}: reference build not tried")
    raw = [str(a) for pair in RAW_FILES.items() for a in pair]
    _ok(_run([cli, "reference", "build", *raw, "--out", "built"], work))
    packaged = json.loads((work / "built" / "manifest.json").read_text(encoding="utf-8"))
    assert packaged["tables"]["container"]["rows"] == 15  # reference/container.csv

    curated = work / "curated"  # the packaged tables, one container row fewer
    curated.mkdir()
    for name in ("cpt_modifiers", "container", "drug_policy"):
        shutil.copy(ROOT / "reference" / f"{name}.csv", curated / f"{name}.csv")
    lines = (curated / "container.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (curated / "container.csv").write_text("".join(lines[:-1]), encoding="utf-8")
    _ok(_run([cli, "reference", "build", *raw, "--curated", curated, "--out", "own"], work))
    own = json.loads((work / "own" / "manifest.json").read_text(encoding="utf-8"))
    assert own["tables"]["container"]["rows"] == 14
    _ok(_run([cli, "run", "claims.csv", "--reference", "own", "--out", "out2"], work), (0, 1))
    print(f"wheel test: {time.perf_counter() - started:.0f} s")
