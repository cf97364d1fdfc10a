"""One fixture per rule: `fixtures/<CODE>.csv` holds lines that must fire (`expect=fire`) and
lines that must not (`expect=clean`), side by side. An optional `expect_value` column holds the
finding's `expected` value; `<CODE>.toml` is the config and `<CODE>.history.csv` prior claims.

Each fixture runs through the whole pipeline (ingest, validate, enrich, rules) against the
starter reference bundle; only the rule under test is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.audit import run_audit
from pipeline.config import load_config
from pipeline.rules import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_cases(code: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{code}.csv", dtype=str, keep_default_na=False)


def audit_fixture(code: str, bundle):
    toml = FIXTURES / f"{code}.toml"
    history = FIXTURES / f"{code}.history.csv"
    config = load_config(toml if toml.exists() else None, rule_codes=set(REGISTRY))
    return run_audit(
        [str(FIXTURES / f"{code}.csv")],
        bundle,
        config,
        history=[str(history)] if history.exists() else None,
    )


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_fires_exactly_on_marked_lines(code, starter_bundle):
    cases = fixture_cases(code)
    result = audit_fixture(code, starter_bundle)
    assert result.rejects.empty, result.rejects.to_dict("records")
    found = result.findings[result.findings["rule_code"] == code]
    got = set(zip(found["claim_id"], found["line_number"].astype(str), strict=True))
    fire = cases[cases["expect"] == "fire"]
    want = set(zip(fire["claim_id"], fire["line_number"], strict=True))
    assert got == want


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_expected_values(code, starter_bundle):
    cases = fixture_cases(code)
    if "expect_value" not in cases:
        pytest.skip(f"{code} fixture states no expected values")
    result = audit_fixture(code, starter_bundle)
    found = result.findings[result.findings["rule_code"] == code].astype({"line_number": str})
    merged = cases[cases["expect_value"] != ""].merge(found, on=["claim_id", "line_number"])
    assert len(merged) == (cases["expect_value"] != "").sum()
    assert merged["expected"].tolist() == merged["expect_value"].tolist()
