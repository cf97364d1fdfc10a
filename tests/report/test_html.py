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

from claims_audit.columns import TEXT
from claims_audit.privacy import RECORD_WITHHELD, masked_rejects
from claims_audit.report.baseline import compare_with_baseline
from claims_audit.report.charts import TOP_CODES, check_svg, impact_by_code
from claims_audit.report.html import TABLE_BYTES_BUDGET, quota_per_rule, render_html, table_columns
from claims_audit.report.views import findings_with_payer
from claims_audit.report.writers import write_parquet
from tests.report.conftest import (
    CLAIMS,
    HOSTILE_CODE,
    LEAKY_PATIENT,
    SCRIPT_CLAIM,
    sample_patient_ids,
)

MAX_REPORT_BYTES = 20 * 1024 * 1024


def decode_column(spec: dict) -> list:
    """One column of the embedded table, as report.js reads it."""
    if "dict" in spec:
        return [None if k < 0 else spec["dict"][k] for k in spec["codes"]]
    scale = spec.get("scale")
    return [v / scale if scale and v is not None else v for v in spec["values"]]


def _table(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert found, "no table data in the report"
    data = json.loads(found.group(1))
    meta = data["meta"]
    columns = {c: decode_column(data["table"][c]) for c in meta["columns"]}
    assert all(len(v) == meta["n"] for v in columns.values())
    records = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    return {**meta, "records": records, "bytes": len(found.group(1).encode())}


def _chart(html: str, name: str) -> str:
    found = re.search(rf'<figure class="chart" id="chart-{name}">(.*?)</figure>', html, re.S)
    assert found, name
    return re.sub(r"^\s*<figcaption>.*?</figcaption>\s*", "", found.group(1), flags=re.S).strip()


def _bars(svg: str) -> dict[str, str]:
    """Bar label -> its total label(s), from the chart's SVG."""
    out = {}
    for group in re.findall(r"<g><title>.*?</title>(.*?)</g>", svg, re.S):
        texts = re.findall(r"<text[^>]*>(.*?)</text>", group)
        out[texts[0]] = texts[1:]
    return out


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
    assert re.search(r"PT\d{8}", hostile_html) is None  # the sample's patient ids
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
        svg = _chart(sample_html, name)
        assert svg.startswith("<svg") and check_svg(svg), name
        assert svg.count('<rect class="bar"') >= 3, name
    assert 'id="chart-trend"' not in sample_html  # no baseline, no trend
    assert "altair" not in sample_html and "No findings." not in sample_html


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _usd(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def test_html_charts_add_up_to_the_headline(sample_html, sample_result):
    """Findings by rule and by payer sum to the findings; the $ chart to the $ headline."""
    summary = sample_result.summary
    total = summary["totals"]["findings"]
    assert total == len(sample_result.findings) > 50
    by_rule = _bars(_chart(sample_html, "by_rule"))
    expected = {f"{c} {v['name']}": v["count"] for c, v in summary["findings_by_rule"].items()}
    assert {label: _int(t[0]) for label, t in by_rule.items()} == expected
    assert sum(_int(t[0]) for t in by_rule.values()) == total
    by_payer = _bars(_chart(sample_html, "by_payer"))
    payers = findings_with_payer(sample_result.findings, sample_result.lines)["payer_type"]
    assert {label: _int(t[0]) for label, t in by_payer.items()} == payers.value_counts().to_dict()
    impact = _bars(_chart(sample_html, "impact_by_code"))
    values = [_usd(t) for texts in impact.values() for t in texts]
    missed = summary["impact"]["missed_revenue_usd"]
    over = summary["impact"]["overpayment_risk_usd"]
    assert sum(v for v in values if v > 0) == pytest.approx(missed, abs=0.01)
    assert -sum(v for v in values if v < 0) == pytest.approx(over, abs=0.01)


def test_impact_chart_keeps_the_other_codes_in_one_bar():
    codes = [f"J{1000 + i}" for i in range(TOP_CODES + 5)]
    findings = pd.DataFrame({"hcpcs_code": codes, "impact_usd": [-1.0] * len(codes)})
    findings.loc[0, "impact_usd"] = 100.0
    got = impact_by_code(findings)
    assert got["code"].iloc[0] == "J1000" and len(got) == TOP_CODES + 1
    assert got.values.tolist()[-1] == ["5 other codes", "overpayment risk", -5.0]
    assert got["usd"].sum() == pytest.approx(100.0 - 24.0)


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
    """The sample's findings repeated `copies` times under hostile, long, distinct claim ids
    (about 1.7 kB of JSON each: the table must be cut to fit)."""
    from copy import copy

    base = sample_result.findings
    big = pd.concat([base] * copies, ignore_index=True)
    n = np.arange(len(big)).astype(str)
    big["claim_id"] = pd.Series("<" * 280 + "C", index=big.index, dtype=TEXT) + n
    big["message"] = big["message"] + " " + "&" * 400
    result = copy(sample_result)
    result.findings = big
    return result


def test_html_sample_embeds_every_finding(sample_html, sample_result):
    table = _table(sample_html)
    assert table["n"] == table["total"] == len(sample_result.findings)
    assert table["capped"] == {}
    assert 'id="capped-rules"' not in sample_html
    assert f"All {len(sample_result.findings)} findings" in sample_html


def test_html_rule_filter_lists_every_rule_with_its_count(sample_html, sample_result):
    options = re.search(r'<select id="f-rule"[^>]*>(.*?)</select>', sample_html, re.S).group(1)
    found = dict(re.findall(r'<option value="([A-Z]\d{3})">[^<]*\(([\d,]+)\)</option>', options))
    counts = sample_result.findings["rule_code"].value_counts()
    assert {k: _int(v) for k, v in found.items()} == counts.to_dict()
    assert f'<option value="">all rules ({len(sample_result.findings)})</option>' in options


def test_table_columns_encode_repeats_cents_and_missing():
    frame = pd.DataFrame(
        {
            "rule_code": ["U004", "U004", "C001", None],
            "claim_id": ["A", "B", "C", "D"],
            "line_number": [1, 2, 3, 4],
            "impact_usd": [12.5, -0.1, None, 3.0],
        }
    )
    got = table_columns(frame, list(frame.columns))
    assert got["rule_code"] == {"dict": ["U004", "C001"], "codes": [0, 0, 1, -1]}
    assert got["claim_id"] == {"values": ["A", "B", "C", "D"]}
    assert got["line_number"] == {"values": [1, 2, 3, 4], "scale": 1}
    assert got["impact_usd"] == {"values": [1250, -10, None, 300], "scale": 100}
    assert json.dumps(got)  # strict JSON: no NaN


def test_quota_per_rule_keeps_small_rules_whole():
    counts = pd.Series({"U004": 1000, "C001": 10, "D001": 3})
    assert quota_per_rule(counts, 100) == 87  # 87 + 10 + 3
    assert quota_per_rule(counts, 5000) == 1000
    assert quota_per_rule(counts, 2) == 1  # every rule keeps one row


def _check_capped(html: str, findings: pd.DataFrame) -> dict:
    """Every rule is in the table; each rule cut short has its note with the right numbers."""
    table = _table(html)
    total = findings["rule_code"].value_counts()
    shown = pd.Series([r["rule_code"] for r in table["records"]]).value_counts()
    assert set(shown.index) == set(total.index)  # every rule reachable
    assert 0 < table["n"] < len(findings) == table["total"]
    notes = dict(re.findall(r'<li data-rule-more="(\w+)">([\d,]+) more findings of', html))
    cut = {
        code: int(total[code] - shown[code]) for code in total.index if shown[code] < total[code]
    }
    assert {k: _int(v) for k, v in notes.items()} == cut and cut
    assert {k: v["more"] for k, v in table["capped"].items()} == cut
    quota = shown[list(cut)].unique()
    assert len(quota) == 1  # the cut rules share one quota; the others are whole
    assert all(shown[c] == total[c] for c in total.index if c not in cut)
    return table


def test_html_large_run_stays_under_20mb_every_rule_reachable(sample_result):
    result = _large_result(sample_result, copies=2000)  # about 150,000 findings
    html = render_html(result)
    assert len(html.encode()) < MAX_REPORT_BYTES
    table = _check_capped(html, result.findings)
    assert TABLE_BYTES_BUDGET * 0.8 < table["bytes"] <= TABLE_BYTES_BUDGET + 20_000
    by_rule = _bars(_chart(html, "by_rule"))
    u004 = int((sample_result.findings["rule_code"] == "U004").sum())
    assert by_rule["U004 unit-of-measure-slip"] == [f"{u004 * 2000:,}"]  # from every finding


def test_html_max_rows_option_caps_table_per_rule(sample_result):
    html = render_html(sample_result, max_rows=30)
    table = _check_capped(html, sample_result.findings)
    assert table["n"] <= 30
    assert "in findings.csv" in html


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


def test_html_notices_come_first(sample_html, sample_result):
    """The reference-period and coverage warnings sit at the top, before the headline."""
    main = sample_html[sample_html.index("<main>") :]
    assert main.index('id="notices"') < main.index("<section")
    assert main.index('id="period-notices"') < main.index('id="headline"')
    coverage = sample_result.summary["coverage_by_rule"]
    gaps = {c: sum(v["not_evaluated"].values()) for c, v in coverage.items() if v["not_evaluated"]}
    notice = re.search(r'<p id="coverage-notice">(.*?)</p>', main, re.S).group(1)
    worst = max(gaps, key=lambda c: (gaps[c], c))
    assert f"{worst} {gaps[worst]:,} (" in notice


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


def test_html_without_findings_shows_the_empty_states(sample_result):
    from copy import copy

    result = copy(sample_result)
    result.findings = sample_result.findings.iloc[0:0]
    html = render_html(result)
    table = _table(html)
    assert table["n"] == table["total"] == 0 and table["records"] == []
    for name in ("by_rule", "by_payer"):
        assert _chart(html, name) == '<p class="note">No findings.</p>'
    assert _chart(html, "impact_by_code") == '<p class="note">No finding carries a $ impact.</p>'


def test_charts_hold_hostile_labels_as_text():
    from claims_audit.report.charts import render_charts

    findings = pd.DataFrame(
        {
            "rule_code": ["C001", "C001", "U004"],
            "rule_name": ["unknown-code", "unknown-code", "unit-of-measure-slip"],
            "severity": ["error", "error", "warning"],
            "hcpcs_code": ["\x01<IMG ONERROR=X>", "J9035", "J9035"],
            "payer_type": ["medicare", "medicare\x1f", "medicaid"],
            "impact_usd": [-10.0, None, 25.5],
        }
    )
    charts = render_charts(findings, None, None)
    impact = _bars(charts["impact_by_code"])
    assert impact == {"\ufffd&lt;IMG ONERROR=X&gt;": ["-$10.00"], "J9035": ["$25.50"]}
    assert _bars(charts["by_rule"]) == {
        "C001 unknown-code": ["2"],
        "U004 unit-of-measure-slip": ["1"],
    }
    assert "medicare\ufffd" in charts["by_payer"] and "<IMG" not in charts["impact_by_code"]
