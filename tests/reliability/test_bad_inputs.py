"""Every file of the bad-input corpus (tests/data/bad) gives a clean audit with its bad rows in
rejects.csv, or exit 2 with one line naming the problem and the file: never a traceback, never a
lost row. The expected outcome of each file is in tests/data/bad/expected.csv."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from tests.conftest import ROOT
from tests.reliability.conftest import make_corpus

SECRET = make_corpus.SECRET

CORPUS = ROOT / "tests" / "data" / "bad"
with (CORPUS / "expected.csv").open(encoding="utf-8", newline="") as _fh:
    CASES = list(csv.DictReader(_fh))
IDS = [c["file"] for c in CASES]


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args])


def reject_keys(out) -> set[str]:
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    return {f"{r.source_row}:{r.column}:{r.reason_code}" for r in rejects.itertuples()}


def test_corpus_is_the_generated_one():
    assert len(CASES) >= 40
    assert all((CORPUS / c["file"]).is_file() for c in CASES)
    assert {c["outcome"] for c in CASES} == {"audit", "exit2"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input_outcome(case, tmp_path):
    path = CORPUS / case["file"]
    out = tmp_path / "out"
    result = run_cli(str(path), "--out", str(out), "--fail-on", "never", "--format", "csv")
    assert "Traceback" not in result.output
    if case["outcome"] == "exit2":
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert case["message"] in lines[0]
        assert case["file"] in lines[0]
        assert not out.exists()
        return
    # an input with rows and none audited exits 1 (issue 12 item 2), whatever --fail-on
    none_audited = int(case["rows_read"]) > 0 and int(case["rows_audited"]) == 0
    assert result.exit_code == (1 if none_audited else 0), (result.output, repr(result.exception))
    summary = json.loads((out / "summary.json").read_text())
    (entry,) = summary["inputs"]
    assert entry["rows_read"] == entry["rows_audited"] + entry["rows_rejected"]
    assert entry["rows_read"] == int(case["rows_read"])
    assert entry["rows_audited"] == int(case["rows_audited"])
    assert entry["rows_rejected"] == int(case["rows_rejected"])
    assert entry["encoding"] == case["encoding"]
    assert reject_keys(out) == set(case["rejects"].split())
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    assert (rejects["source_file"] == str(path)).all()
    assert all(
        f"row {r}" in m for r, m in zip(rejects["source_row"], rejects["message"], strict=True)
    )
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    got = set(findings["claim_id"] + ":" + findings["rule_code"])
    assert set(case["findings"].split()) <= got
    assert not set(case["no_findings"].split()) & set(findings["rule_code"])


def test_bad_input_as_real_subprocess(tmp_path):
    """One exit-2 case and one audit case through the installed entry point."""
    cmd = [str(Path(sys.executable).with_name("claims-audit"))]

    def run(name: str, out: str) -> subprocess.CompletedProcess:
        args = [*cmd, "run", str(CORPUS / name), "--out", str(tmp_path / out)]
        kw = {"capture_output": True, "text": True, "env": dict(os.environ), "cwd": ROOT}
        return subprocess.run(args, timeout=300, **kw)

    bad = run("truncated.parquet", "a")
    assert bad.returncode == 2
    assert bad.stdout == ""
    (line,) = bad.stderr.strip().splitlines()
    assert "truncated.parquet" in line and "cannot be read as Parquet" in line
    good = run("ragged_rows.csv", "b")
    assert good.returncode in (0, 1), good.stderr
    assert "Traceback" not in good.stderr
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    totals = summary["totals"]
    assert totals["rows_read"] == totals["rows_audited"] + totals["rows_rejected"] == 4


def test_expected_table_matches_generator(tmp_path, monkeypatch):
    """The committed corpus is what make_corpus.py writes (reproducible)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    for case in CASES:
        assert (tmp_path / case["file"]).read_bytes() == (CORPUS / case["file"]).read_bytes()
    assert (tmp_path / "expected.csv").read_bytes() == (CORPUS / "expected.csv").read_bytes()


def _claims_audit(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("claims-audit")), *args]
    kw = {"capture_output": True, "text": True, "env": dict(os.environ), "cwd": ROOT}
    return subprocess.run(cmd, timeout=timeout, **kw)


@pytest.mark.parametrize("kind", ["fifo", "device_link", "symlink_loop"])
def test_directory_input_with_a_special_entry_is_exit_2_naming_it(kind, tmp_path):
    """A directory input takes regular files only: a FIFO, a link to a device or a symlink loop
    is exit 2 naming the entry, never a hang (the subprocess timeout would fail the test)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_bytes((CORPUS / "bom.csv").read_bytes())
    entry = folder / "b.csv"
    if kind == "fifo":
        os.mkfifo(entry)
    elif kind == "device_link":
        entry.symlink_to("/dev/zero")
    else:
        entry.symlink_to(folder / "c.csv")
        (folder / "c.csv").symlink_to(entry)
    out = tmp_path / "out"
    done = _claims_audit("run", str(folder), "--out", str(out), timeout=60)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert str(entry) in line
    assert ("not a regular file" in line) or ("cannot be read" in line)
    assert not out.exists()


def test_no_corpus_output_shows_the_secret_patient_id(tmp_path):
    """The shifted row's patient id lands in payer_type: masked in rejects.csv unless
    --show-phi (SECRET is a patient id of that batch)."""
    path = CORPUS / "phi_shifted_row.csv"
    masked = run_cli(str(path), "--out", str(tmp_path / "a"), "--fail-on", "never")
    assert masked.exit_code == 0, masked.output
    assert SECRET not in (tmp_path / "a" / "rejects.csv").read_text()
    assert SECRET not in (tmp_path / "a" / "report.html").read_text()
    shown = run_cli(str(path), "--out", str(tmp_path / "b"), "--fail-on", "never", "--show-phi")
    assert shown.exit_code == 0, shown.output
    assert SECRET in (tmp_path / "b" / "rejects.csv").read_text()
