"""Fixtures for the report tests: the sample audited in memory, and a hostile extract whose
claim ids, codes and malformed rows try to break out of the HTML and spreadsheet outputs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from claims_audit.audit import run_audit
from claims_audit.config import load_config
from claims_audit.rules import REGISTRY
from tests.conftest import SAMPLE

CLAIMS = SAMPLE / "claims.csv"
CONFIG = SAMPLE / "audit.toml"
HISTORY = SAMPLE / "history.csv"
RUN_ARGS = ["--config", str(CONFIG), "--history", str(HISTORY)]

SCRIPT_CLAIM = "<script>alert(1)</script>"
FORMULA_CLAIM = '=HYPERLINK("http://evil.example/x","open me")'
HOSTILE_CODE = "<img src=x onerror=alert(2)>"
LEAKY_PATIENT = "MRNLEAK99"  # only ever in a malformed (V006) record of the hostile file


def _sample_rows() -> tuple[list[str], dict[tuple[str, str], dict]]:
    with CLAIMS.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, {(r["claim_id"], r["line_number"]): r for r in reader}


def _expected() -> list[dict]:
    with (SAMPLE / "expected_findings.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_hostile_csv(path: Path) -> Path:
    """Three drug lines copied from the sample under hostile claim ids / code, and a
    malformed record carrying a patient id."""
    header, rows = _sample_rows()
    # a line billed under a code not in HCPCS (C001 whatever the rest of the line), a drug
    # line with a finding of another rule (U004), and one whose code is replaced
    expected = {(r["claim_id"], r["line_number"], r["rule_code"]) for r in _expected()}
    unknown = next(rows[c, n] for c, n, rule in sorted(expected) if rule == "C001")
    slipped = next(rows[c, n] for c, n, rule in sorted(expected) if rule == "U004")
    script_line = {**unknown, "claim_id": SCRIPT_CLAIM, "patient_id": "MRNX0001"}
    formula_line = {**slipped, "claim_id": FORMULA_CLAIM, "patient_id": "MRNX0002"}
    code_line = {
        **next(rows[c, n] for c, n, rule in sorted(expected) if rule == "P001"),
        "claim_id": "CLMHOSTILE3",
        "patient_id": "MRNX0003",
        "hcpcs_code": HOSTILE_CODE,
    }
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows([script_line, formula_line, code_line])
        values = [code_line[c] for c in header]
        values[0], values[2] = "CLMHOSTILE4", LEAKY_PATIENT
        f.write(",".join([*values, "one field too many"]) + "\n")
    return path


def sample_patient_ids() -> set[str]:
    _, rows = _sample_rows()
    return {r["patient_id"] for r in rows.values()}


@pytest.fixture(scope="session")
def sample_config():
    return load_config(CONFIG, rule_codes=set(REGISTRY))


@pytest.fixture(scope="session")
def sample_result(starter_bundle, sample_config):
    """The sample audited in memory (callers must not modify it: use `fresh_result`)."""
    return run_audit([CLAIMS], starter_bundle, sample_config, history=[HISTORY])


@pytest.fixture
def fresh_result(sample_result):
    """A copy of the sample's result that a test may change."""
    from copy import deepcopy

    return deepcopy(sample_result)


@pytest.fixture(scope="session")
def hostile_csv(tmp_path_factory) -> Path:
    return write_hostile_csv(tmp_path_factory.mktemp("hostile") / "hostile.csv")


@pytest.fixture(scope="session")
def hostile_result(starter_bundle, sample_config, hostile_csv):
    """The sample plus the hostile extract, audited as one batch."""
    return run_audit([CLAIMS, hostile_csv], starter_bundle, sample_config, history=[HISTORY])
