"""Security of outputs: no patient id in rejects.csv, report.html, summary.json, stdout or
stderr unless --show-phi; every text cell of a CSV output starts safe for spreadsheets."""

from __future__ import annotations

import csv
import re

import pytest
from click.testing import CliRunner

from pipeline.cli import main
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
