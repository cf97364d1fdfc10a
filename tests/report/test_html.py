"""report.html: self-contained, escaped, PHI-free, capped, leading with what is new."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.columns import TEXT
from pipeline.report.baseline import compare_with_baseline
from pipeline.report.charts import check_svg, impact_by_code
from pipeline.report.html import MAX_TABLE_ROWS, render_html
from pipeline.report.outputs import RECORD_WITHHELD, masked_rejects
from pipeline.report.views import findings_with_payer
from pipeline.report.writers import write_parquet
from tests.report.conftest import (
    CLAIMS,
    HOSTILE_CODE,
    LEAKY_PATIENT,
    SCRIPT_CLAIM,
    sample_patient_ids,
)

MAX_REPORT_BYTES = 20 * 1024 * 1024


def _table(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert found, "no table data in the report"
    data = json.loads(found.group(1))
    return {**data, "records": [dict(zip(data["columns"], r, strict=True)) for r in data["rows"]]}


@pytest.fixture(scope="module")
def sample_html(sample_result) -> str:
    return render_html(sample_result)


@pytest.fixture(scope="module")
def hostile_html(hostile_result) -> str:
    return render_html(hostile_result)


def test_html_hostile_claim_and_code_are_escaped(hostile_html):
    assert SCRIPT_CLAIM not in hostile_html
    assert "<img" not in hostile_html.lower()
    assert hostile_html.count("<script") == 2  # the data block and the report's own script
    records = _table(hostile_html)["records"]
    assert SCRIPT_CLAIM in {r["claim_id"] for r in records}  # kept, as text
    assert HOSTILE_CODE.upper() in {r["hcpcs_code"] for r in records}
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in hostile_html


def test_html_never_shows_patient_ids(hostile_html):
    for patient in [*sample_patient_ids(), "MRNX0001", "MRNX0002", "MRNX0003", LEAKY_PATIENT]:
        assert patient not in hostile_html
    assert re.search(r"MRN\d", hostile_html) is None
    assert "V006" in hostile_html  # the malformed record is listed, without its patient id


def test_masked_rejects_withholds_whole_record_text():
    rejects = pd.DataFrame(
        {
            "column": ["", "patient_id", "billed_units"],
            "value": ["CLM1,1,MRN123456,medicare", "MRN123456", "ten"],
        }
    )
    masked = masked_rejects(rejects, show_phi=False)["value"].tolist()
    assert masked == [RECORD_WITHHELD, "M***3456", "ten"]
    assert masked_rejects(rejects, show_phi=True)["value"].tolist()[0].startswith("CLM1,1,MRN")


def test_html_is_self_contained(sample_html):
    assert re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:|//)""", sample_html) is None
    assert "@import" not in sample_html and "url(" not in sample_html
    assert '<link rel="stylesheet"' not in sample_html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', sample_html)
    assert csp and "default-src 'none'" in csp.group(1)


def test_html_csp_allows_the_report_script_by_hash(sample_html):
    script = re.search(r"<script>(.*?)</script>", sample_html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in sample_html


def test_html_charts_are_inline_svg(sample_html):
    for name in ("by_rule", "impact_by_code", "by_payer"):
        figure = re.search(
            rf'<figure class="chart" id="chart-{name}">(.*?)</figure>', sample_html, re.S
        )
        assert figure and "<svg" in figure.group(1), name
        assert figure.group(1).count("<path") > 3, name
    assert 'id="chart-trend"' not in sample_html  # no baseline, no trend


def _sample_payers() -> dict[str, str]:
    sample = pd.read_csv(CLAIMS, dtype=str, keep_default_na=False)
    return dict(zip(sample["claim_id"], sample["payer_type"], strict=True))


def test_html_headline_numbers_of_the_sample(sample_html, sample_result):
    """The headline says what the findings add up to (counted here from the findings)."""
    findings = sample_result.findings
    lines = len(findings[["claim_id", "line_number"]].drop_duplicates())
    rows = len(pd.read_csv(CLAIMS, dtype=str))
    assert f"{len(findings)} findings on {lines} of {rows} lines audited" in sample_html
    impact = findings["impact_usd"]
    assert f"${impact[impact > 0].sum():,.2f} missed revenue" in sample_html
    assert f"${-impact[impact < 0].sum():,.2f} overpayment risk" in sample_html
    errors = int((findings["severity"] == "error").sum())
    assert sample_result.summary["findings_by_severity"] == {
        "error": errors,
        "warning": len(findings) - errors,
        "info": 0,
    }


def test_html_table_ranked_by_impact_with_payer_type(sample_html, sample_result):
    records = _table(sample_html)["records"]
    assert len(records) == len(sample_result.findings)
    top = sample_result.findings["impact_usd"].abs().max()
    assert abs(records[0]["impact_usd"]) == pytest.approx(top)
    payers = _sample_payers()
    assert {r["payer_type"] for r in records} >= {"medicare", "medicaid", "commercial"}
    assert all(r["payer_type"] == payers[r["claim_id"]] for r in records)


def test_html_rule_explanations_for_every_rule(sample_html, sample_result):
    rules = _table(sample_html)["rules"]
    assert rules["U004"]["count"] == (sample_result.findings["rule_code"] == "U004").sum() > 0
    assert [head for head, _ in rules["U004"]["explanation"]] == [
        "What it checks",
        "Why it matters",
        "Example",
        "Fix",
    ]
    assert 'id="rule-U004"' in sample_html


def test_html_baseline_report_leads_with_new(fresh_result, tmp_path):
    base = fresh_result.findings
    baseline = tmp_path / "base"
    baseline.mkdir()
    write_parquet(base[base["rule_code"] != "U004"], baseline / "findings.parquet")
    new = int((base["rule_code"] == "U004").sum())
    compare_with_baseline(fresh_result, baseline, None, today=date(2026, 3, 1))
    html = render_html(fresh_result)
    first_section = re.search(r"<section[^>]*id=\"([^\"]+)\"", html).group(1)
    assert first_section == "since-baseline"
    assert f"{new} new finding{'' if new == 1 else 's'}</b>" in html
    records = _table(html)["records"]
    assert [r["status"] for r in records[:new]] == ["new"] * new
    assert {r["rule_code"] for r in records[:new]} == {"U004"}
    assert 'id="chart-trend"' in html and 'id="chart-rule_change"' in html


def _large_result(sample_result, copies: int):
    """The sample's findings repeated `copies` times under hostile, long claim ids."""
    from copy import copy

    base = sample_result.findings
    big = pd.concat([base] * copies, ignore_index=True)
    n = np.repeat(np.arange(copies), len(base)).astype(str)
    big["claim_id"] = pd.Series("<" * 280 + "C", index=big.index, dtype=TEXT) + n
    big["message"] = big["message"] + " " + "&" * 400
    result = copy(sample_result)
    result.findings = big
    return result


def test_html_large_run_stays_under_20mb_with_table_capped(sample_result):
    result = _large_result(sample_result, copies=2000)  # about 150,000 findings
    total = len(result.findings)
    html = render_html(result)
    assert len(html.encode()) < MAX_REPORT_BYTES
    shown = len(_table(html)["rows"])
    assert 0 < shown <= MAX_TABLE_ROWS
    assert f"the other {total - shown:,} are in findings.parquet" in html
    by_rule = re.search(r'id="chart-by_rule">(.*?)</figure>', html, re.S).group(1)
    u004 = int((sample_result.findings["rule_code"] == "U004").sum())
    assert f">{u004 * 2000}<" in by_rule  # aggregated from every finding: U004 x 2000 copies


def test_html_max_rows_option_caps_table(sample_result):
    html = render_html(sample_result, max_rows=10)
    assert len(_table(html)["rows"]) == 10
    assert f"the other {len(sample_result.findings) - 10} are in findings.parquet" in html


def test_impact_by_code_splits_missed_and_overpayment():
    findings = pd.DataFrame(
        {
            "hcpcs_code": ["J9035", "J9035", "J0897", "J1100"],
            "impact_usd": [100.0, -250.5, 40.0, None],
        }
    )
    got = impact_by_code(findings)
    assert got.values.tolist() == [
        ["J9035", "missed revenue", 100.0],
        ["J0897", "missed revenue", 40.0],
        ["J9035", "overpayment risk", -250.5],
    ]


def test_check_svg_refuses_event_handlers_but_not_escaped_text():
    escaped = '<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;img onerror=x&gt;</text></svg>'
    assert check_svg(escaped) == escaped
    with pytest.raises(ValueError, match="onload"):
        check_svg('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>')
    with pytest.raises(ValueError, match="script"):
        check_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')


def test_findings_with_payer_unknown_without_lines(sample_result):
    """The dask engine keeps no lines: the payer type is `unknown`, the report still renders."""
    from copy import copy

    result = copy(sample_result)
    result.lines = pd.DataFrame({"source_file": [], "in_scope": []})
    joined = findings_with_payer(result.findings, result.lines)
    assert set(joined["payer_type"]) == {"unknown"}
    records = _table(render_html(result))["records"]
    assert {r["payer_type"] for r in records} == {"unknown"}


def test_html_says_which_rates_and_release_were_used(sample_html, sample_result):
    rates = sample_result.summary["rates"]
    assert rates["asp"]["quarter"] == "2026Q1"
    note = re.search(r'<p class="note" id="rates">(.*?)</p>', sample_html, re.S).group(1)
    assert "professional lines at the ASP payment limits of 2026Q1" in note
    assert rates["asp"]["file"] in note
    if rates["opps"]:
        assert f"OPPS Addendum B rates of {rates['opps']['quarter']}" in note


def test_html_counts_void_claim_lines(sample_html, sample_result):
    void = sample_result.summary["void_lines"]
    assert void > 0, "the sample holds void claims (claim_frequency 8)"
    card = f'{void:,}</div><div class="l">void claim lines not audited'
    assert card in sample_html


def test_html_lists_the_reference_period_notices(sample_html, sample_result):
    notices = sample_result.summary["reference_period_notices"]
    assert notices, "the sample's service dates fall outside the starter bundle's MUE quarter"
    assert any("NCCI MUE" in line and "2026Q2" in line for line in notices)
    block = re.search(r'<ul id="period-notices">(.*?)</ul>', sample_html, re.S).group(1)
    assert re.findall(r'<li class="warn">(.*?)</li>', block) == notices


def _coverage_table(html: str) -> dict[str, list[str]]:
    body = re.search(r'<table id="coverage-table">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows[cells[0]] = cells[1:]
    return rows


def test_html_coverage_table_per_rule(sample_html, sample_result):
    coverage = sample_result.summary["coverage_by_rule"]
    table = _coverage_table(sample_html)
    assert set(table) == set(coverage)
    for code, c in coverage.items():
        name, evaluated, not_applicable, not_evaluated, reasons = table[code]
        assert name == _table(sample_html)["rules"][code]["name"]
        assert evaluated == f"{c['evaluated']:,}"
        assert not_applicable == f"{c['not_applicable']:,}"
        assert not_evaluated == f"{sum(c['not_evaluated'].values()):,}"
        for reason, n in c["not_evaluated"].items():
            assert f"{reason} {n:,}" in reasons
    assert 'href="#coverage"' in sample_html


def test_html_rules_show_their_remittance_codes(sample_html):
    rules = _table(sample_html)["rules"]
    assert rules["U003"]["remittance"].startswith("CARC 96 (non-covered charge(s)); CARC B5 on")
    assert "RARC N362" in rules["U003"]["remittance"]
    assert rules["A001"]["remittance"].startswith("none published")
    details = re.search(r'id="rule-F001">(.*?)</details>', sample_html, re.S).group(1)
    assert "<b>Remittance codes:</b> CARC 18 (exact duplicate claim/service)" in details
