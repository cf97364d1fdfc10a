"""Security of outputs: no patient id in rejects.csv, report.html, summary.json, stdout or
stderr unless --show-phi; every text cell of a CSV output starts safe for spreadsheets; every
JSON output is strict JSON; --out never replaces or deletes a file the tool did not write, and
every deleting call of the tool is one reviewed here."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import stat
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.report.writers import MARKER
from tests.reliability.conftest import CORPUS, make_corpus

SECRET = make_corpus.SECRET
PHI_FILE = CORPUS / "phi_in_bad_rows.csv"
RISKY = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def run(*args):
    return CliRunner().invoke(main, ["run", *args])


@pytest.fixture(scope="module")
def phi_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("phi") / "out"
    result = run(
        str(PHI_FILE), "--out", str(out), "--fail-on", "never", "--format", "csv,parquet,html,xlsx"
    )
    assert result.exit_code == 0, result.output
    return result, out


def test_patient_id_masked_everywhere_by_default(phi_run):
    result, out = phi_run
    assert SECRET not in result.output  # stdout and stderr
    for name in ("rejects.csv", "summary.json", "report.html", "findings.csv"):
        assert SECRET not in (out / name).read_text(encoding="utf-8"), name
    assert SECRET.encode() not in (out / "findings.xlsx").read_bytes()
    rejects = (out / "rejects.csv").read_text()
    assert "P***" in rejects  # the NUL-byte patient id, masked


def test_malformed_record_text_never_copied_even_with_show_phi(tmp_path):
    out = tmp_path / "out"
    result = run(str(PHI_FILE), "--out", str(out), "--fail-on", "never", "--show-phi")
    assert result.exit_code == 0
    rejects = list(csv.DictReader((out / "rejects.csv").open(encoding="utf-8")))
    malformed = [r for r in rejects if r["reason_code"] == "V006" and not r["column"]]
    assert malformed and all(SECRET not in r["value"] + r["message"] for r in malformed)
    # opting in shows the patient id of a column-level reject
    assert any(SECRET in r["value"] for r in rejects if r["column"] == "patient_id")


def test_no_patient_id_in_exit_2_messages():
    # a file without a header: its first data row (with a patient id) is taken as the header
    result = run(str(CORPUS / "no_header.csv"), "--out", "/tmp/never-written")
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert "is the header row missing" in result.output


def test_validate_command_masks_patient_ids():
    result = CliRunner().invoke(main, ["validate", str(PHI_FILE)])
    assert result.exit_code == 1
    assert SECRET not in result.output


def risky_cells(path):
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return [
        cell
        for row in rows[1:]
        for cell in row
        if cell.startswith(RISKY) and not NUMBER.match(cell)
    ]


def test_csv_cells_start_safe(tmp_path):
    out = tmp_path / "out"
    result = run(str(CORPUS / "formula_injection.csv"), "--out", str(out), "--fail-on", "never")
    assert result.exit_code == 0, result.output
    for name in ("findings.csv", "rejects.csv"):
        assert risky_cells(out / name) == [], name
    findings = (out / "findings.csv").read_text()
    assert "'=HYPERLINK" in findings and "'=1+1" in findings and "'@SUM(A1)" in findings
    assert "'+CLM2" in findings
    assert "'=2" in (out / "rejects.csv").read_text()


# --out never replaces or deletes what the tool did not write ---------------------------------

SMALL = CORPUS / "ragged_rows.csv"


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` (files with their bytes, directories as None)."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


def refused(result, needle: str) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("claims-audit: error: ") and needle in line, line
    assert "Traceback" not in result.output
    return line


def test_out_on_a_folder_of_other_files_refuses_and_deletes_nothing(tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    (folder / "sub" / "data.bin").write_bytes(b"\x00\x01\x02")
    before = tree(tmp_path)
    refused(run(str(SMALL), "--out", str(folder)), "not a claims-audit output")
    assert tree(tmp_path) == before


def test_out_cwd_holding_the_input_refuses(tmp_path, monkeypatch):
    shutil.copy(SMALL, tmp_path / "claims.csv")
    (tmp_path / "unrelated.txt").write_text("keep me")
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    refused(run("claims.csv", "--out", str(tmp_path)), "current directory")
    refused(run("claims.csv", "--out", "."), "current directory")
    refused(run("claims.csv", "--out", ".."), "current directory or one of its parents")
    assert tree(tmp_path) == before


def test_out_holding_an_input_refuses(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SMALL, data / "claims.csv")
    before = tree(tmp_path)
    refused(run(str(data / "claims.csv"), "--out", str(data)), "holds an input")
    refused(run(str(data / "*.csv"), "--out", str(tmp_path)), "holds an input")
    refused(run(str(data), "--out", str(data)), "holds an input")
    assert tree(tmp_path) == before


def test_out_holding_the_baseline_or_suppress_file_refuses(tmp_path):
    nightly = tmp_path / "nightly"
    assert run(str(SMALL), "--out", str(nightly / "last"), "--fail-on", "never").exit_code == 0
    suppress = tmp_path / "accepted" / "suppress.csv"
    suppress.parent.mkdir()
    suppress.write_text("finding_id,reason,expires\n")
    before = tree(tmp_path)
    baseline = ["--baseline", str(nightly / "last")]
    refused(run(str(SMALL), "--out", str(nightly), *baseline), "the --baseline directory")
    refused(run(str(SMALL), "--out", str(nightly / "last"), *baseline), "the --baseline")
    refused(
        run(str(SMALL), "--out", str(suppress.parent), "--suppress", str(suppress)),
        "the --suppress file",
    )
    assert tree(tmp_path) == before


def test_out_on_an_earlier_output_with_a_foreign_file_refuses(tmp_path):
    out = tmp_path / "out"
    assert run(str(SMALL), "--out", str(out), "--fail-on", "never").exit_code == 0
    (out / "my-notes.txt").write_text("added by the analyst")
    before = tree(tmp_path)
    refused(run(str(SMALL), "--out", str(out)), "did not write (my-notes.txt)")
    assert tree(tmp_path) == before


def test_earlier_output_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    args = ["--out", str(out), "--fail-on", "never"]
    assert run(str(SMALL), *args, "--format", "csv,xlsx").exit_code == 0
    assert (out / "findings.xlsx").is_file()
    assert run(str(SMALL), *args, "--format", "csv").exit_code == 0
    assert not (out / "findings.xlsx").exists()  # the earlier run's file went with it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_default_out_never_replaces_an_earlier_run(tmp_path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 3, 1, 2, 0, 0)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("claims_audit.cli.main.datetime", Frozen)
    first = run(str(SMALL), "--fail-on", "never")
    second = run(str(SMALL), "--fail-on", "never", "--format", "csv")
    assert first.exit_code == second.exit_code == 0
    assert "outputs: audit-out/20260301T020000/" in first.output
    assert "outputs: audit-out/20260301T020000-2/" in second.output
    runs = tmp_path / "audit-out"
    assert sorted(p.name for p in runs.iterdir()) == ["20260301T020000", "20260301T020000-2"]
    assert (runs / "20260301T020000" / "report.html").is_file()  # the first run, whole


def test_output_modes_follow_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        out = tmp_path / "out"
        result = run(str(SMALL), "--out", str(out), "--fail-on", "never", "--format", "csv,xlsx")
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o640}


def test_every_json_output_is_strict_json(phi_run, tmp_path):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    _, out = phi_run
    bad = tmp_path / "bad"
    assert run(str(CORPUS / "formula_injection.csv"), "--out", str(bad), "--fail-on", "never")
    for directory in (out, bad):
        names = sorted(p.name for p in directory.iterdir() if p.suffix == ".json")
        assert names == ["summary.json"]
        for path in [*(directory / n for n in names), directory / MARKER]:
            json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_validate_out_replaces_only_an_earlier_rejects_file(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("my,own\ndata,here\n")
    result = CliRunner().invoke(main, ["validate", str(PHI_FILE), "--out", str(mine)])
    refused(result, "not an earlier rejects file")
    assert mine.read_text() == "my,own\ndata,here\n"
    refused(
        CliRunner().invoke(main, ["validate", str(PHI_FILE), "--out", str(PHI_FILE)]),
        "is or holds an input",
    )
    rejects = tmp_path / "rejects.csv"
    for _ in range(2):  # the second run replaces the first run's file
        assert CliRunner().invoke(main, ["validate", str(PHI_FILE), "--out", str(rejects)])
        assert rejects.read_text().startswith("source_file,source_row,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv", "rejects.csv"]


def test_sample_generate_refuses_to_replace_a_foreign_file(tmp_path):
    mine = tmp_path / "claims.csv"
    mine.write_text("a real extract")
    result = CliRunner().invoke(
        main, ["sample", "generate", "--rows", "10", "--out", str(mine), "--quiet"]
    )
    refused(result, "not an earlier `sample generate` output")
    assert mine.read_text() == "a real extract"


# Structural: the deleting calls of the tool, all reviewed ---------------------------------

DELETING = {"rmtree", "unlink", "remove", "rmdir", "removedirs", "rm", "rm_file", "delete"}
# (module, function) -> why its deletion is safe. A new deleting call fails this test until it
# is reviewed and listed here.
REVIEWED_DELETES = {
    ("pipeline/report/writers.py", "remove_output_dir"): "only files its marker lists; rmdir",
    ("pipeline/report/writers.py", "_unmake"): "its own marker, then rmdir of its mkdtemp",
    ("pipeline/report/writers.py", "_remove_made_parents"): "rmdir: empty parents it made",
    ("pipeline/report/writers.py", "_move_to_free_name"): "rmdir of the directory it made",
    ("pipeline/report/writers.py", "write_file_atomically"): "its own mkstemp file",
    ("pipeline/run/local.py", "run_audit"): "Scratch.remove of the piece files of its own "
    "scratch area, once audited",
    ("pipeline/run/dask.py", "run_audit_dask"): "Scratch.remove of the piece files of its own "
    "scratch area, once audited",
    ("pipeline/run/dask.py", "__exit__"): "WorkerFiles: the worker's own mkstemp files",
    ("pipeline/storage.py", "remove"): "Scratch: only the names it handed out (of those asked), "
    "regular files only",
    ("pipeline/storage.py", "close"): "Scratch: only the names it handed out, then rmdir of "
    "its own mkdtemp and the empty parents it made",
    ("pipeline/storage.py", "_publish"): "its own temporary keys; of an earlier output, only "
    "the files its marker lists",
    ("pipeline/storage.py", "publish_outputs"): "its local copy via remove_output_dir; rmdir "
    "of its own mkdtemp",
    ("pipeline/generate/driver.py", "generate_claims"): "its own uuid-named <out>.tmp files",
    ("pipeline/reference_build/build.py", "_write_atomically"): "its own uuid-named build dir",
    ("pipeline/reference_build/build.py", "_remove_bundle_dir"): "only the files a bundle's "
    "manifest lists, then rmdir",
    ("pipeline/rules/diagnosis.py", "*"): "its own cache temp file",
    ("pipeline/x12/write.py", "generated_as_837"): "the two files `generate` made in its own "
    "mkdtemp, then rmdir of it",
}


def deleting_calls() -> set[tuple[str, str]]:
    root = Path(__file__).resolve().parents[2]
    found = set()
    for path in sorted((root / "pipeline").rglob("*.py")):
        tree_ = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree_):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in DELETING
                ):
                    found.add((str(path.relative_to(root)), func.name))
    return found


def test_every_deleting_call_is_reviewed():
    reviewed = {(m, f) for m, f in REVIEWED_DELETES if f != "*"}
    whole = {m for m, f in REVIEWED_DELETES if f == "*"}
    unreviewed = {(m, f) for m, f in deleting_calls() if (m, f) not in reviewed and m not in whole}
    assert unreviewed == set()


def test_no_rmtree_in_the_output_code():
    root = Path(__file__).resolve().parents[2] / "pipeline"
    for path in [*root.glob("cli*.py"), *(root / "report").glob("*.py")]:
        assert "import shutil" not in path.read_text(encoding="utf-8"), path.name  # no rmtree
