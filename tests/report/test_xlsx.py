"""findings.xlsx: summary, all findings, category, rejects sheets; numbers as numbers, frozen
header, filters, dollars, no formulas, Excel's row limit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from claims_audit.privacy import RECORD_WITHHELD
from claims_audit.report import xlsx
from claims_audit.report.baseline import compare_with_baseline
from claims_audit.report.writers import write_parquet
from claims_audit.report.xlsx import USD_FORMAT, numbers_where_numeric, write_xlsx
from tests.report.conftest import FORMULA_CLAIM, LEAKY_PATIENT

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def hostile_book(hostile_result, tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "findings.xlsx"
    write_xlsx(hostile_result, path)
    return openpyxl.load_workbook(path)


def _header(ws) -> list[str]:
    return [c.value for c in ws[1]]


def _column(ws, name: str) -> list:
    index = _header(ws).index(name)
    return [row[index] for row in ws.iter_rows(min_row=2, values_only=True)]


def test_xlsx_sheets_summary_then_categories_and_rejects(hostile_book, hostile_result):
    assert hostile_book.sheetnames == [
        "summary",
        "all findings",
        "code",
        "units",
        "ndc",
        "modifier",
        "diagnosis",
        "frequency",
        "payer",
        "amount",
        "rejects",
    ]
    summary = {
        row[0]: row[1] for row in hostile_book["summary"].iter_rows(min_row=2, values_only=True)
    }
    # the sample data changes as rules are added: the sheet must say what the audit found
    findings = hostile_result.findings
    assert summary["lines audited"] == hostile_result.summary["totals"]["rows_audited"] > 300
    assert summary["rows rejected"] == 1
    assert summary["C001 unknown-code (error)"] == (findings["rule_code"] == "C001").sum() >= 4


def test_xlsx_category_sheet_rows_and_columns(hostile_book):
    ws = hostile_book["code"]
    assert set(_column(ws, "category")) == {"code"}
    assert _column(ws, "rule_code").count("C001") == 4
    assert _header(ws)[:3] == ["finding_id", "claim_id", "line_number"]
    assert "payer_type" in _header(ws)
    assert set(_column(ws, "payer_type")) <= {
        "medicare",
        "commercial",
        "medicaid",
        "medicare_advantage",
        "other",
    }


def test_xlsx_frozen_header_filter_widths(hostile_book):
    for name in hostile_book.sheetnames:
        ws = hostile_book[name]
        assert ws.freeze_panes == "A2", name
        if name != "summary":
            assert ws.auto_filter.ref == ws.dimensions, name
    ws = hostile_book["units"]
    widths = {
        name: ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width
        for i, name in enumerate(_header(ws), start=1)
    }
    assert widths["message"] == pytest.approx(60, abs=1)  # capped (XlsxWriter adds padding)
    assert 10 <= widths["rule_code"] <= 13


def test_xlsx_dollars_formatted(hostile_book):
    ws = hostile_book["units"]
    letter = ws.cell(row=1, column=_header(ws).index("impact_usd") + 1).column_letter
    cells = ws[letter][1:]
    assert cells and all(c.number_format == USD_FORMAT for c in cells if c.value is not None)
    assert any(isinstance(c.value, float) and c.value < 0 for c in cells)
    summary = hostile_book["summary"]
    missed = next(r for r in summary.iter_rows(min_row=2) if r[0].value == "missed revenue (USD)")
    assert missed[1].number_format == USD_FORMAT


def test_xlsx_formula_claim_is_text_not_formula(hostile_book):
    hostile = [
        row[_header(ws).index("claim_id")]
        for ws in hostile_book
        if "claim_id" in _header(ws)
        for row in ws.iter_rows(min_row=2)
        if "HYPERLINK" in str(row[_header(ws).index("claim_id")].value)
    ]
    assert hostile  # the hostile claim has findings (on whichever category's sheets)
    assert {c.data_type for c in hostile} == {"s"}
    assert {c.value for c in hostile} == {"'" + FORMULA_CLAIM}
    formulas = [
        c.coordinate
        for sheet in hostile_book
        for row in sheet.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert formulas == []


def test_xlsx_with_baseline_has_status_and_resolved(fresh_result, tmp_path):
    base = fresh_result.findings
    baseline = tmp_path / "base"
    baseline.mkdir()
    fake = base[base["rule_code"] == "A001"].assign(claim_id="CLM999999", finding_id="0" * 16)

    write_parquet(pd.concat([base, fake], ignore_index=True), baseline / "findings.parquet")
    compare_with_baseline(fresh_result, baseline, None, today=date(2026, 3, 1))
    path = tmp_path / "f.xlsx"
    write_xlsx(fresh_result, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[-1] == "resolved"
    assert _column(book["resolved"], "claim_id") == ["CLM999999"] * 3  # the A001 findings
    assert set(_column(book["units"], "status")) == {"persisting"}
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    persisting = int((fresh_result.findings["status"] == "persisting").sum())
    assert persisting == len(fresh_result.findings) > 70
    assert (summary["new"], summary["persisting"], summary["resolved"]) == (0, persisting, 3)


CONTROL_TEXT = "\x01=1+1 nul\x00 bell\x07 esc\x1b tab\t ok"


def test_xlsx_writes_control_characters_as_visible_text(fresh_result, tmp_path):
    """Any text the validator lets through is written (openpyxl refuses C0 controls): shown
    as control pictures; the formula escaping still holds, and a leading control character
    never turns the rest into a formula."""
    findings = fresh_result.findings.copy()
    findings["message"] = findings["message"].astype(object)
    findings.loc[findings.index[0], "message"] = CONTROL_TEXT
    findings.loc[findings.index[1], "message"] = "=" + "\x02" * 3
    findings.loc[findings.index[2], "message"] = "x" * 40_000
    fresh_result.findings = findings
    fresh_result.rejects = pd.DataFrame(
        {
            "source_file": ["f\x0c.csv"],
            "source_row": pd.array([1], dtype="Int64"),
            "column": ["payer_type"],
            "value": ["\x00\x1f"],
            "reason_code": ["V004"],
            "message": ["not allowed"],
        }
    )
    path = tmp_path / "f.xlsx"
    write_xlsx(fresh_result, path)
    book = openpyxl.load_workbook(path)
    messages = [
        value
        for name in book.sheetnames[1:]
        if "message" in _header(book[name]) and name != "rejects"
        for value in _column(book[name], "message")
    ]
    assert "\u2401=1+1 nul\u2400 bell\u2407 esc\u241b tab\t ok" in messages
    assert "'=\u2402\u2402\u2402" in messages
    longest = max(messages, key=len)
    assert len(longest) == 32_767 and longest.endswith("32,767 characters per cell)")
    assert _column(book["rejects"], "value") == ["\u2400\u241f"]
    assert _column(book["rejects"], "source_file") == ["f\u240c.csv"]


def test_xlsx_all_findings_sheet_holds_every_finding(hostile_book, hostile_result):
    ws = hostile_book["all findings"]
    findings = hostile_result.findings
    assert ws.max_row == len(findings) + 1
    assert _column(ws, "finding_id") == findings["finding_id"].tolist()
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == ws.dimensions


def _expected_cell(value, numeric: bool):
    if value is None or pd.isna(value):
        return None
    return float(value) if numeric else value


def test_xlsx_observed_expected_are_numbers_where_numeric(hostile_book, hostile_result):
    ws = hostile_book["all findings"]
    findings = hostile_result.findings
    cells = ws.iter_rows(min_row=2, values_only=True)
    rows = dict(zip(_column(ws, "finding_id"), cells, strict=True))
    header = _header(ws)
    at = {name: header.index(name) for name in header}
    u004 = findings[findings["rule_code"] == "U004"].iloc[0]
    row = rows[u004["finding_id"]]
    assert row[at["observed"]] == float(u004["observed"]) and u004["observed"].isdigit()
    assert isinstance(row[at["observed"]], int | float)
    assert isinstance(row[at["expected"]], int | float)
    assert row[at["units_delta"]] == u004["units_delta"]
    assert row[at["impact_usd"]] == pytest.approx(u004["impact_usd"])
    n005 = findings[findings["rule_code"] == "N005"].iloc[0]  # NDC quantities: numbers
    assert rows[n005["finding_id"]][at["observed"]] == float(n005["observed"])
    for code in ("C001", "D002", "N002"):  # codes, diagnoses and NDCs stay text
        f = findings[findings["rule_code"] == code]
        observed = {rows[i][at["observed"]] for i in f["finding_id"]}
        assert observed and all(isinstance(v, str) for v in observed if v is not None), code
    ndc = findings[(findings["rule_code"] == "N002") & findings["observed"].str.match(r"^0\d+$")]
    for _, f in ndc.iterrows():
        assert rows[f["finding_id"]][at["observed"]] == f["observed"]  # leading zero kept


def test_numbers_where_numeric_per_rule():
    values = pd.Series(
        ["375", "2.5", None, "0641617410", "J9035", "12", "-3", "=1+1", "5551307100"]
    )
    rules = pd.Series(["U004", "U004", "U004", "N002", "N002", "C001", "U005", "X", "N004"])
    got = numbers_where_numeric(values, rules).tolist()
    assert got == [375, 2.5, None, "0641617410", "J9035", 12, -3, "'=1+1", "5551307100"]
    identifiers = rules.eq("C001")  # e.g. a CPT code as observed value: an identifier
    assert numbers_where_numeric(values, rules, identifiers).tolist()[5] == "12"


def test_xlsx_rejects_sheet_never_holds_the_leaked_patient(hostile_book):
    ws = hostile_book["rejects"]
    assert _column(ws, "reason_code") == ["V006"]
    every = [c for sheet in hostile_book for row in sheet.iter_rows(values_only=True) for c in row]
    assert not any(LEAKY_PATIENT in str(c) for c in every)


def test_xlsx_rejects_sheet_is_masked_as_the_csv(fresh_result, tmp_path):
    fresh_result.rejects = pd.DataFrame(
        {
            "source_file": ["a.csv", "a.csv", "a.csv"],
            "source_row": pd.array([2, 3, 4], dtype="Int64"),
            "column": ["patient_id", "", "billed_units"],
            "value": ["MRN123456", "CLM1,1,MRN123456,medicare", "=ten"],
            "reason_code": ["V002", "V006", "V003"],
            "message": ["empty", "malformed", "cannot be parsed"],
        }
    )
    path = tmp_path / "f.xlsx"
    write_xlsx(fresh_result, path)
    ws = openpyxl.load_workbook(path)["rejects"]
    assert _column(ws, "value") == ["M***3456", RECORD_WITHHELD, "'=ten"]
    assert _column(ws, "source_row") == [2, 3, 4]
    write_xlsx(fresh_result, path, show_phi=True)
    ws = openpyxl.load_workbook(path)["rejects"]
    assert _column(ws, "value")[0] == "MRN123456"


def test_xlsx_sheet_cut_at_excel_row_limit_says_how_many_more(fresh_result, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_ROWS", 30)  # as if Excel held 30 rows
    path = tmp_path / "f.xlsx"
    write_xlsx(fresh_result, path)
    book = openpyxl.load_workbook(path)
    ws = book["all findings"]
    total = len(fresh_result.findings)
    assert total > 30 and ws.max_row == 30
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows[:-1]] == fresh_result.findings["finding_id"].tolist()[:28]
    assert rows[-1][0] == f"{total - 28} more findings are in findings.csv"
    notes = [r for r in book["summary"].iter_rows(values_only=True) if "sheet" in str(r[0])]
    assert ("sheet all findings: first 28 of " + f"{total:,} rows", "see findings.csv") in notes
