"""pipeline/storage.py on fsspec's in-memory file system (`memory://`, no server): inputs by
URL, hashing while reading, scratch areas and outputs published to a URL delete only what the
tool wrote."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest

fsspec = pytest.importorskip("fsspec")

from claims_audit import storage  # noqa: E402
from claims_audit.errors import InputError, OutputError  # noqa: E402
from claims_audit.report.writers import MARKER, StagedOutput  # noqa: E402


@pytest.fixture
def memory():
    """A fresh prefix of the in-memory file system: (fs, url)."""
    fs = fsspec.filesystem("memory")
    root = f"/t-{secrets.token_hex(6)}"
    yield fs, f"memory://{root}"
    if fs.exists(root):
        fs.rm(root, recursive=True)  # the test's own prefix


def test_scheme_and_local_paths():
    assert storage.is_remote("s3://b/k") and storage.is_remote("gs://b/k")
    assert not storage.is_remote("file:///data/x.csv") and not storage.is_remote("data/x.csv")
    assert storage.local_text("file:///data/x.csv") == "/data/x.csv"
    assert storage.default_scratch("s3://b/audits/today") == "s3://b/audits"
    assert storage.default_scratch("s3://b") == "s3://b"
    assert storage.default_scratch("out") == "."
    assert storage.default_scratch("/srv/audits/today") == "/srv/audits"
    location = storage.Location("s3://b/in/claims.parquet")
    assert (location.name, location.suffix, str(location)) == (
        "claims.parquet",
        ".parquet",
        "s3://b/in/claims.parquet",
    )


def test_resolve_locations_lists_directories_and_globs(memory, tmp_path):
    fs, url = memory
    for name in ("b.csv", "a.parquet", "notes.txt.bak", "sub/c.csv"):
        fs.pipe_file(f"{url}/in/{name}", b"x")
    local = tmp_path / "z.csv"
    local.write_text("x")
    found = storage.resolve_locations([f"{url}/in", str(local), f"{url}/in/*.csv"])
    assert [str(p) for p in found] == [  # sorted by name, whatever the order given
        str(local.resolve()),
        f"{url}/in/a.parquet",
        f"{url}/in/b.csv",
    ]
    assert isinstance(found[0], Path) and isinstance(found[1], storage.Location)
    with pytest.raises(InputError, match="no such file"):
        storage.resolve_locations([f"{url}/missing.csv"])
    with pytest.raises(InputError, match="no such file"):
        storage.resolve_locations([f"{url}/in/*.xlsx"])


def test_hashing_reader_hashes_and_checks_utf8(memory):
    fs, url = memory
    data = b"claim_id,patient_id\n" + "caf\u00e9,P1\n".encode() * 1000
    fs.pipe_file(f"{url}/ok.csv", data)
    fs.pipe_file(f"{url}/bad.csv", data + b"caf\xe9,P2\n")
    assert storage.sha256_of(f"{url}/ok.csv") == hashlib.sha256(data).hexdigest()
    with storage.open_input(f"{url}/ok.csv") as fh:
        reader = HashingReaderCheck(fh)
        assert reader.header == b"claim_id,patient_id\n"
        assert reader.result == (hashlib.sha256(data).hexdigest(), True)
    with storage.open_input(f"{url}/bad.csv") as fh:
        assert storage.HashingReader(fh).finish()[1] is False
    assert storage.identity(f"{url}/ok.csv")[0] == len(data)


class HashingReaderCheck:
    """A line read first, then the rest: the digest covers both."""

    def __init__(self, fh):
        reader = storage.HashingReader(fh)
        self.header = reader.readline()
        self.result = reader.finish()


def test_remote_scratch_deletes_only_the_names_it_handed_out(memory):
    fs, url = memory
    area = storage.Scratch(url)
    assert area.location.startswith(f"{url}/claims-audit-scratch-")
    mine = area.path("piece-000000.arrow")
    with storage.open_output(mine) as fh:
        fh.write(b"lines")
    area.path("piece-000001.arrow")  # handed out, never written
    foreign = f"{area.location}/someone-elses.txt"
    fs.pipe_file(foreign, b"keep")
    area.close()
    assert not fs.exists(mine)
    assert fs.cat_file(foreign) == b"keep"


def test_local_scratch_removes_itself_and_keeps_foreign_files(tmp_path):
    with storage.Scratch(tmp_path / "made" / "here") as area:
        Path(area.path("piece-000000.arrow")).write_bytes(b"lines")
    assert not (tmp_path / "made").exists()  # its files, its directory, the parents it made
    area = storage.Scratch(tmp_path)
    Path(area.path("a.arrow")).write_bytes(b"lines")
    (Path(area.location) / "other.txt").write_text("keep")
    area.close()
    assert (Path(area.location) / "other.txt").read_text() == "keep"
    assert not (Path(area.location) / "a.arrow").exists()


def _writer(files: dict[str, str]):
    def write(local: Path) -> list[Path]:
        with StagedOutput(local) as out:
            for name, text in files.items():
                out.path(name).write_text(text)
        return [local / name for name in files]

    return write


def test_publish_outputs_writes_marker_and_replaces_an_earlier_output(memory):
    fs, url = memory
    target = f"{url}/audits/today"
    written = storage.publish_outputs(_writer({"findings.csv": "a", "resolved.csv": "r"}), target)
    assert written == [f"{target}/findings.csv", f"{target}/resolved.csv"]
    marker = json.loads(fs.cat_file(f"{target}/{MARKER}"))
    assert marker["tool"] == "claims-audit" and marker["files"] == ["findings.csv", "resolved.csv"]
    storage.publish_outputs(_writer({"findings.csv": "b"}), target)
    assert fs.cat_file(f"{target}/findings.csv") == b"b"
    assert not fs.exists(f"{target}/resolved.csv")  # listed by the earlier marker: replaced
    assert sorted(fs.ls(f"{url}/audits", detail=False)) == [
        f"{url[len('memory://') :]}/audits/today"
    ]


def test_publish_outputs_refuses_a_location_holding_other_files(memory):
    fs, url = memory
    target = f"{url}/mine"
    fs.pipe_file(f"{target}/precious.xlsx", b"keep")
    with pytest.raises(OutputError, match="not a claims-audit output"):
        storage.publish_outputs(_writer({"findings.csv": "a"}), target)
    assert fs.cat_file(f"{target}/precious.xlsx") == b"keep"
    assert fs.find(f"{url}") == [f"{url[len('memory://') :]}/mine/precious.xlsx"]
    storage.publish_outputs(_writer({"findings.csv": "a"}), f"{url}/new")
    fs.pipe_file(f"{url}/new/added.txt", b"mine")  # added to an earlier output by a person
    with pytest.raises(OutputError, match="did not write"):
        storage.check_out_url(f"{url}/new", {})
    with pytest.raises(OutputError, match="holds an input"):
        storage.check_out_url(f"{url}/in", {"an input": [f"{url}/in/claims.csv"]})


def test_cli_out_url_holds_the_local_outputs(memory, tmp_path):
    """`run --out URL` (the local engine; fsspec's memory file system, in this process): the
    files a local --out gets, the same bytes, and its marker."""
    from click.testing import CliRunner

    from claims_audit.cli.main import main
    from tests.conftest import SAMPLE

    fs, url = memory
    claims = str(SAMPLE / "claims.csv")
    options = ["--format", "csv,parquet", "--fail-on", "never", "--quiet"]
    local = CliRunner().invoke(main, ["run", claims, "--out", str(tmp_path / "out"), *options])
    remote = CliRunner().invoke(main, ["run", claims, "--out", f"{url}/out", *options])
    assert local.exit_code == remote.exit_code == 0, remote.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert sorted(p.rsplit("/", 1)[1] for p in fs.find(f"{url}/out")) == names
    for name in ("findings.csv", "findings.parquet", "rejects.csv"):
        assert fs.cat_file(f"{url}/out/{name}") == (tmp_path / "out" / name).read_bytes(), name


def test_cli_url_inputs_need_the_dask_engine():
    from click.testing import CliRunner

    from claims_audit.cli.main import main

    result = CliRunner().invoke(main, ["run", "s3://bucket/claims.csv", "--out", "/tmp/never"])
    assert result.exit_code == 2
    assert "inputs given as URLs are read by --engine dask" in result.output
