"""findings.xlsx: summary and category sheets, frozen header, filters, dollars, no formulas."""

from __future__ import annotations

from datetime import date

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


def test_xlsx_sheets_summary_then_categories_and_rejects(hostile_book):
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
    assert summary["lines audited"] == 369
    assert summary["rows rejected"] == 1
    assert summary["C001 unknown-code (error)"] == 5


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
    ws = hostile_book["modifier"]
    index = _header(ws).index("claim_id")
    cells = [row[index] for row in ws.iter_rows(min_row=2)]
    hostile = [c for c in cells if "HYPERLINK" in str(c.value)]
    assert len(hostile) == 1
    assert hostile[0].data_type == "s"
    assert hostile[0].value == "'" + FORMULA_CLAIM
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
    import pandas as pd

    write_parquet(pd.concat([base, fake], ignore_index=True), baseline / "findings.parquet")
    compare_with_baseline(fresh_result, baseline, None, today=date(2026, 3, 1))
    path = tmp_path / "f.xlsx"
    write_xlsx(fresh_result, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[-1] == "resolved"
    assert _column(book["resolved"], "claim_id") == ["CLM999999", "CLM999999"]
    assert set(_column(book["units"], "status")) == {"persisting"}
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert (summary["new"], summary["persisting"], summary["resolved"]) == (0, 73, 2)
