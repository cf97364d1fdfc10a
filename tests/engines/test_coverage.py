"""Coverage counting in the engine (evaluated / not applicable / not evaluated by reason), the
remittance columns of findings, rule scopes, and the summary's reference-period notices."""

from __future__ import annotations

import pandas as pd
import pytest

import claims_audit.rules.engine as engine
from claims_audit.audit import LineCounts, period_notices
from claims_audit.enrich import enrich
from claims_audit.ingest import read_input
from claims_audit.parsing import TEXT
from claims_audit.rules import REGISTRY, Flags, effective_rules
from claims_audit.rules.common import RuleContext
from claims_audit.rules.engine import (
    FINDING_COLUMNS,
    coverage_of,
    judged_lines,
    merge_coverage,
    run_rules,
)
from claims_audit.rules.registry import Rule
from claims_audit.validate import validate_inputs
from tests.conftest import SAMPLE

# six lines: HCPCS professional, HCPCS institutional, a CPT line, a void claim's line,
# HCPCS professional, a CPT institutional line
LINES = pd.DataFrame(
    {
        "claim_id": pd.Series(["C1", "C2", "C1", "C3", "C4", "C2"], dtype=TEXT),
        "line_number": [1, 1, 2, 1, 1, 2],
        "hcpcs_code": pd.Series(["J9035", "J9035", "96413", "J0897", "J0897", "96372"], dtype=TEXT),
        "claim_type": pd.Categorical(
            ["professional", "institutional", "professional", "professional", "professional"]
            + ["institutional"]
        ),
        "in_scope": [True, True, False, False, True, False],
        "cpt_in_scope": [False, False, True, False, False, True],
    }
)


def _series(values) -> pd.Series:
    return pd.Series(values, index=LINES.index)


def _mue_like(lines, ctx) -> Flags:
    """Judges HCPCS and CPT lines; flags 0, 1 and 2; no MUE for lines 4 and 5."""
    return Flags(
        mask=_series([True, True, True, False, False, False]),
        message="over the MUE",
        evaluated=_series([True, True, True, True, False, False]),
        reason=_series([None, None, None, None, "no_mue", None]),
    )


def _jz_like(lines, ctx) -> Flags:
    """Line 1 not applicable; line 0 unknown container; flags line 4 (and CPT line 2, which
    it does not judge); its own CARC on line 4."""
    return Flags(
        mask=_series([False, False, True, False, True, False]),
        message="JZ missing",
        applicable=_series([True, False, True, True, True, True]),
        evaluated=_series([False, True, True, True, True, True]),
        reason="unknown_container",
        carc=_series([None, None, None, None, "16", None]),
    )


def _quiet(lines, ctx) -> Flags:
    return Flags(mask=_series([False] * 6), message="never")


TEST_RULES = [
    Rule("A001", "quiet", "amount", "warning", "test", _quiet),
    Rule("M002", "jz-like", "modifier", "error", "test", _jz_like),
    Rule("U003", "mue-like", "units", "error", "test", _mue_like, scope="hcpcs+cpt"),
]


@pytest.fixture
def ran(monkeypatch):
    monkeypatch.setattr(engine, "effective_rules", lambda config: TEST_RULES)
    return run_rules(LINES, RuleContext(config=None, bundle=None))


def test_coverage_counts_of_each_rule(ran):
    assert ran.coverage == {
        # 3 HCPCS lines judged, no applicability or input given: all evaluated
        "A001": {"evaluated": 3, "not_applicable": 0, "not_evaluated": {}},
        # HCPCS lines 0, 1, 4: line 1 not applicable, line 0 without container, line 4 judged
        "M002": {"evaluated": 1, "not_applicable": 1, "not_evaluated": {"unknown_container": 1}},
        # HCPCS and CPT lines 0, 1, 2, 4, 5 (the void line 3 is nobody's): 4 and 5 not evaluated
        "U003": {
            "evaluated": 3,
            "not_applicable": 0,
            "not_evaluated": {"missing_input": 1, "no_mue": 1},
        },
    }
    assert ran.not_evaluated == {"A001": 0, "M002": 1, "U003": 2}


def test_findings_only_on_judged_lines_with_remittance_codes(ran):
    got = ran.findings[["claim_id", "line_number", "rule_code", "carc", "rarc"]]
    assert got.astype(object).where(got.notna(), None).values.tolist() == [
        ["C1", 1, "U003", "96", "N362"],  # professional: CARC 96
        ["C1", 2, "U003", "96", "N362"],  # the CPT line, judged by U003 only
        ["C2", 1, "U003", "B5", "N362"],  # institutional: CARC B5
        ["C4", 1, "M002", "16", None],  # the rule's own CARC; no RARC for M002
    ]
    assert list(ran.findings.columns) == FINDING_COLUMNS
    assert FINDING_COLUMNS.index("carc") == FINDING_COLUMNS.index("category") + 1
    assert FINDING_COLUMNS.index("rarc") == FINDING_COLUMNS.index("carc") + 1
    assert ran.findings["carc"].dtype == TEXT


def test_judged_lines_without_cpt_column_are_the_hcpcs_lines():
    hcpcs = judged_lines(LINES.drop(columns="cpt_in_scope"), "hcpcs+cpt")
    assert hcpcs.tolist() == [True, True, False, False, True, False]
    assert judged_lines(LINES, "hcpcs+cpt").tolist() == [True, True, True, False, True, True]


def test_coverage_of_categorical_reasons_and_evaluated_outside_applicable():
    judged = LINES["in_scope"].to_numpy()
    flags = Flags(
        mask=_series([False] * 6),
        message="x",
        applicable=_series([True, True, True, True, False, True]),
        # line 4 "evaluated" but not applicable: counted not applicable only
        evaluated=_series([False, False, True, True, True, False]),
        reason=pd.Series(pd.Categorical(["no_dose", "", None, None, None, "no_dose"])),
    )
    assert coverage_of(flags, judged) == {
        "evaluated": 0,
        "not_applicable": 1,
        "not_evaluated": {"missing_input": 1, "no_dose": 1},
    }


def test_merge_coverage_adds_batches():
    a = {
        "M001": {"evaluated": 5, "not_applicable": 2, "not_evaluated": {"no_dose": 1}},
        "A001": {"evaluated": 1, "not_applicable": 0, "not_evaluated": {}},
    }
    b = {
        "M001": {
            "evaluated": 1,
            "not_applicable": 0,
            "not_evaluated": {"unknown_container": 3, "no_dose": 2},
        }
    }
    merged = merge_coverage([a, b])
    assert list(merged) == ["A001", "M001"]
    assert merged["M001"] == {
        "evaluated": 6,
        "not_applicable": 2,
        "not_evaluated": {"no_dose": 3, "unknown_container": 3},
    }
    assert list(merged["M001"]["not_evaluated"]) == ["no_dose", "unknown_container"]


MANIFEST = {
    "sources": [
        {
            "table": "hcpcs",
            "file": "asp.csv",
            "product": "Medicare Part B ASP payment limit file (dosage column)",
            "effective_period": {"start": "2026-01-01", "end": "2026-03-31"},
        },
        {
            "table": "payment_limits",
            "file": "asp.csv",
            "product": "ASP payment limit file",
            "effective_period": {"start": "2026-01-01", "end": "2026-03-31"},
        },
        {
            "table": "mue",
            "file": "mue.csv",
            "product": "NCCI MUE table",
            "effective_period": {"start": "2026-04-01", "end": "2026-06-30"},
        },
        {"table": "container", "file": "container.csv", "effective_period": {}},
    ]
}


def test_period_notices_only_above_one_percent():
    counts = LineCounts(in_scope=1000, outside={"asp.csv": 10, "mue.csv": 11})
    assert period_notices(counts, MANIFEST, {}, None) == [
        "NCCI MUE table 2026Q2 (mue.csv): 11 of 1,000 in-scope lines (1.1%) have a service "
        "date outside 2026-04-01 to 2026-06-30"
    ]  # 10 of 1,000 is 1%, not more
    counts = LineCounts(in_scope=1000, outside={"asp.csv": 500, "mue.csv": 0})
    assert period_notices(counts, MANIFEST, {}, None) == [
        "ASP payment limit file 2026Q1 (asp.csv): 500 of 1,000 in-scope lines (50.0%) have a "
        "service date outside 2026-01-01 to 2026-03-31"
    ]  # one line per file, even when two tables come from it


def test_period_notice_for_the_icd10cm_release():
    release = {"release": "FY2026", "valid_from": "2025-10-01", "valid_to": "2026-09-30"}
    d002 = {
        "evaluated": 90,
        "not_applicable": 0,
        "not_evaluated": {"outside_reference_period": 8, "missing_input": 2},
    }
    assert period_notices(LineCounts(in_scope=100), MANIFEST, {"D002": d002}, release) == [
        "ICD-10-CM FY2026 (2025-10-01 to 2026-09-30): 8 of 100 in-scope lines (8.0%) have a "
        "service date outside it; D002 did not judge them"
    ]
    assert period_notices(LineCounts(in_scope=100), MANIFEST, {"D002": d002}, None) == []


def test_line_counts_add_up():
    a = LineCounts({"a.csv": 3}, 2, 1, 0, {"mue.csv": 2})
    b = LineCounts({"a.csv": 1, "b.csv": 4}, 3, 1, 1, {"mue.csv": 1, "asp.csv": 1})
    assert a + b == LineCounts({"a.csv": 4, "b.csv": 4}, 5, 2, 1, {"mue.csv": 3, "asp.csv": 1})


@pytest.fixture(scope="module")
def sample_lines(starter_bundle):
    raw = read_input(SAMPLE / "claims.csv", {})
    return enrich(validate_inputs([raw]).lines, starter_bundle, "up")


def test_rules_flag_only_lines_they_concern_and_evaluated(
    sample_lines, starter_bundle, default_config
):
    """No rule fires on a line it calls not applicable or could not evaluate: every finding is
    counted in its rule's `evaluated` lines."""
    ctx = RuleContext(config=default_config, bundle=starter_bundle)
    for r in effective_rules(default_config):
        flags = r.func(sample_lines, ctx)
        judged = judged_lines(sample_lines, r.scope)
        flagged = engine._bool(flags.mask) & judged
        for name in ("applicable", "evaluated"):
            given = getattr(flags, name)
            if given is not None:
                outside = flagged & ~engine._bool(given)
                assert not outside.any(), f"{r.code} flags {outside.sum()} lines not {name}"


def test_sample_coverage_accounts_for_every_judged_line(sample_result_default):
    summary = sample_result_default.summary
    totals = summary["totals"]
    coverage = summary["coverage_by_rule"]
    assert set(coverage) == set(REGISTRY) - set(summary["disabled_rules"])
    for code, c in coverage.items():
        judged = c["evaluated"] + c["not_applicable"] + sum(c["not_evaluated"].values())
        if REGISTRY[code].scope == "hcpcs":
            assert judged == totals["lines_in_scope"], code
        else:  # the CPT lines too (those of void claims aside, like every void line)
            cpt = totals["lines_not_audited_out_of_scope"]
            assert judged == totals["lines_in_scope"] + cpt > totals["lines_in_scope"], code
        assert summary["not_evaluated_by_rule"][code] == sum(c["not_evaluated"].values())
    assert summary["rates"]["asp"]["quarter"] == "2026Q1"
    assert summary["rates"]["asp"]["table"] == "payment_limits"
    rows = totals["lines_in_scope"] + totals["lines_not_audited_out_of_scope"]
    assert rows + summary["void_lines"] == totals["rows_audited"]


@pytest.fixture(scope="module")
def sample_result_default(starter_bundle, default_config):
    from claims_audit.audit import run_audit

    return run_audit([SAMPLE / "claims.csv"], starter_bundle, default_config)


def test_cli_summary_prints_rates_notices_and_coverage(sample_result_default, tmp_path):
    from claims_audit.cli.main import format_summary

    summary = sample_result_default.summary
    text = format_summary(summary, tmp_path).splitlines()
    asp = summary["rates"]["asp"]["quarter"]
    assert any(line.startswith("impact: ") and f"(ASP {asp}" in line for line in text)
    notices = [line.removeprefix("reference period: ") for line in text if "period: " in line]
    assert notices == summary["reference_period_notices"] != []
    gaps = [line for line in text if line.startswith("lines not evaluated (an input missing): ")]
    assert len(gaps) == 1
    worst = min(summary["not_evaluated_by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))
    reasons = ", ".join(summary["coverage_by_rule"][worst[0]]["not_evaluated"])
    assert f": {worst[0]} {worst[1]:,} ({reasons})" in gaps[0]
    if summary["void_lines"]:
        assert f"void claims: {summary['void_lines']:,} lines counted, not audited" in text
