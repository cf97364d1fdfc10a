"""findings.xlsx: summary and category sheets, frozen header, filters, dollars, no formulas."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline.report.baseline import compare_with_baseline
from pipeline.report.writers import write_parquet
from pipeline.report.xlsx import USD_FORMAT, write_xlsx
from tests.report.conftest import FORMULA_CLAIM

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
    assert summary["C001 unknown-code (error)"] == (findings["rule_code"] == "C001").sum() >= 5


def test_xlsx_category_sheet_rows_and_columns(hostile_book):
    ws = hostile_book["code"]
    assert set(_column(ws, "category")) == {"code"}
    assert _column(ws, "rule_code").count("C001") == 5
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
    assert widths["message"] == 60  # capped
    assert 10 <= widths["rule_code"] <= 12


def test_xlsx_dollars_formatted(hostile_book):
    ws = hostile_book["units"]
    letter = ws.cell(row=1, column=_header(ws).index("impact_usd") + 1).column_letter
    cells = ws[letter][1:]
    assert cells and all(c.number_format == USD_FORMAT for c in cells)
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
    assert _column(book["resolved"], "claim_id") == ["CLM999999", "CLM999999"]
    assert set(_column(book["units"], "status")) == {"persisting"}
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    persisting = int((fresh_result.findings["status"] == "persisting").sum())
    assert persisting == len(fresh_result.findings) > 70
    assert (summary["new"], summary["persisting"], summary["resolved"]) == (0, persisting, 2)


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
