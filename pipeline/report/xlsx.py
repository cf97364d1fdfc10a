"""findings.xlsx: a summary sheet, an "all findings" sheet, one sheet per rule category, the
rejects (masked as rejects.csv is) and (with a baseline) the resolved findings.

Frozen header, autofilter, sensible widths, dollars formatted. Numbers are numbers: units_delta
and impact_usd always; observed and expected where every value of the rule in that column is a
plain number (`-12`, `2.5`; no leading zero, at most 9 integer digits, no exponent), except in
the code and diagnosis categories; an NDC (10 or 11 digits, or a leading zero), a code or a claim
reference stays text. Every text cell is escaped against formula injection and made writable to XLSX
(control characters shown as control pictures, cells cut at Excel's limit: `safety.xlsx_text`).
A sheet holds at most Excel's 1,048,576 rows: past that its last row says how many more are in
findings.csv.

Written with XlsxWriter in constant-memory mode (rows streamed to disk, about 2.5 times faster
than openpyxl), with formulas, URLs and numbers-in-text never interpreted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims_audit.audit import AuditResult
from claims_audit.errors import OutputError
from claims_audit.privacy import masked_rejects
from claims_audit.report.safety import escape_formula, escape_text_columns, xlsx_text
from claims_audit.report.views import findings_with_payer
from claims_audit.rules.engine import FINDING_COLUMNS
from claims_audit.rules.registry import CATEGORIES

MAX_WIDTH = 60
WIDTH_SAMPLE = 2000  # rows looked at to size a column
EXCEL_ROWS = 1_048_576  # Excel's row limit, header included
USD_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
ALL_SHEET = "all findings"
NUMBER = r"-?(?:0|[1-9]\d{0,8})(?:\.\d+)?"  # plain, short: not an NDC, no leading zero
QUANTITY_COLUMNS = ("observed", "expected")
IDENTIFIER_CATEGORIES = ("code", "diagnosis")  # their observed/expected are identifiers
_AFTER_CODE = FINDING_COLUMNS.index("hcpcs_code") + 1
SHEET_COLUMNS = [
    *FINDING_COLUMNS[:_AFTER_CODE],  # finding_id .. hcpcs_code
    "payer_type",
    *FINDING_COLUMNS[_AFTER_CODE:],
    "status",
]
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,  # never met (NaN is written empty), but never a crash
}


def numbers_where_numeric(
    values: pd.Series, rules: pd.Series, identifiers: pd.Series | None = None
) -> pd.Series:
    """Text cells as numbers where the rule's column is a quantity (every value of that rule
    present is a plain number, and the line is not marked in `identifiers`), text (escaped)
    otherwise; missing values are None."""
    text = values.astype("string")
    numeric = text.str.fullmatch(NUMBER).fillna(False).astype(bool)
    if identifiers is not None:
        numeric &= ~identifiers.to_numpy(dtype=bool)
    absent = text.isna() | text.eq("")
    quantity = (numeric | absent).groupby(rules.to_numpy(), observed=True).transform("all")
    convert = (numeric & quantity).to_numpy()
    out = escape_formula(xlsx_text(text)).astype(object)
    out = out.where(out.notna(), None)
    if convert.any():
        out[convert] = pd.to_numeric(text[convert]).astype(object).to_numpy()
    return out


def sheet_values(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the cells to write: escaped text, numbers as numbers, None for empty."""
    out = escape_text_columns(frame, xlsx=True).astype(object)
    if "rule_code" not in frame:
        return out.where(out.notna(), None)
    identifiers = None
    if "category" in frame:
        identifiers = frame["category"].astype("string").isin(IDENTIFIER_CATEGORIES)
    for name in QUANTITY_COLUMNS:
        if name in frame:
            out[name] = numbers_where_numeric(frame[name], frame["rule_code"], identifiers)
    return out.where(out.notna(), None)


def _widths(frame: pd.DataFrame) -> list[int]:
    sample = frame.head(WIDTH_SAMPLE)
    widths = []
    for name in frame.columns:
        lengths = sample[name].astype("string").fillna("").str.len()
        longest = int(lengths.max()) if len(lengths) else 0
        widths.append(min(MAX_WIDTH, max(len(str(name)), longest) + 2))
    return widths


def kept_rows(rows: int) -> int:
    """Data rows a sheet holds: all when they fit under the header, else one fewer than fit,
    the last row saying how many more there are."""
    return rows if rows <= EXCEL_ROWS - 1 else EXCEL_ROWS - 2


def _write_sheet(book, name: str, frame: pd.DataFrame, usd, what: str) -> None:
    """One sheet: header, rows (cut at Excel's limit with a last line saying how many more
    are in findings.csv), frozen header, filter, widths, $ format on *_usd columns."""
    ws = book.add_worksheet(name)
    keep = kept_rows(len(frame))
    more = len(frame) - keep
    part = frame.head(keep)
    cells = sheet_values(part)
    for i, (column, width) in enumerate(zip(frame.columns, _widths(cells), strict=True)):
        ws.set_column(i, i, width, usd if str(column).endswith("_usd") else None)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, keep, max(0, len(frame.columns) - 1))
    ws.write_row(0, 0, [str(c) for c in frame.columns])
    columns = [cells[c].tolist() for c in cells.columns]
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        ws.write_row(i, 0, row)
    if more:
        ws.write_string(keep + 1, 0, f"{more:,} more {what} are in {_csv_of(name)}")


def _csv_of(sheet: str) -> str:
    return {"rejects": "rejects.csv", "resolved": "resolved.csv"}.get(sheet, "findings.csv")


def summary_rows(result: AuditResult) -> tuple[pd.DataFrame, list[int]]:
    """The summary sheet (measure, value) and the positions of its dollar rows."""
    summary = result.summary
    totals, severity, impact = summary["totals"], summary["findings_by_severity"], summary["impact"]
    rows: list[tuple[str, object]] = [
        ("lines audited", totals["rows_audited"]),
        ("rows rejected", totals["rows_rejected"]),
        ("CPT lines not audited", totals["lines_not_audited_out_of_scope"]),
        ("findings", totals["findings"]),
        ("lines with findings", totals["lines_with_findings"]),
        ("errors", severity["error"]),
        ("warnings", severity["warning"]),
        ("info", severity["info"]),
    ]
    usd = [len(rows), len(rows) + 1]
    rows += [
        ("missed revenue (USD)", impact["missed_revenue_usd"]),
        ("overpayment risk (USD)", impact["overpayment_risk_usd"]),
    ]
    baseline = summary.get("baseline")
    if baseline:
        rows += [
            ("baseline", baseline.get("path") or "(none)"),
            ("new", baseline["new"]),
            ("persisting", baseline["persisting"]),
            ("resolved", baseline["resolved"]),
            ("suppressed", baseline["suppressed"]),
            ("expired suppressions (ignored)", baseline["expired_suppressions"]),
        ]
    rows += [
        (f"{code} {v['name']} ({v['severity']})", v["count"])
        for code, v in summary["findings_by_rule"].items()
    ]
    rows.append(("reference bundle", summary["reference"]["path"]))
    rows += [(f"rows read from {f['path']}", f["rows_read"]) for f in summary["inputs"][:100]]
    frame = pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": object})
    frame["measure"] = escape_formula(xlsx_text(frame["measure"]))
    text = frame["value"].map(lambda v: isinstance(v, str))  # numbers stay numbers
    frame.loc[text, "value"] = escape_formula(xlsx_text(frame.loc[text, "value"])).astype(object)
    return frame, usd


def _write_summary(book, frame: pd.DataFrame, usd_rows: list[int], usd, notes: list[str]):
    ws = book.add_worksheet("summary")
    ws.set_column(0, 0, min(MAX_WIDTH, int(frame["measure"].str.len().max()) + 2))
    ws.set_column(1, 1, 22)
    ws.freeze_panes(1, 0)
    ws.write_row(0, 0, ["measure", "value"])
    for i, (measure, value) in enumerate(frame.itertuples(index=False), start=1):
        ws.write(i, 0, measure)
        ws.write(i, 1, value, usd if i - 1 in usd_rows else None)
    for j, note in enumerate(notes, start=len(frame) + 1):  # sheets cut at Excel's limit
        ws.write_row(j, 0, [note, "see findings.csv"])


def _sheets(result: AuditResult, show_phi: bool) -> list[tuple[str, pd.DataFrame, str]]:
    """(sheet name, frame, what its rows are) in workbook order."""
    findings = findings_with_payer(result.findings, result.lines)
    findings = findings[[c for c in SHEET_COLUMNS if c in findings.columns]]
    sheets = [(ALL_SHEET, findings, "findings")]
    for category in CATEGORIES:
        part = findings[findings["category"] == category]
        if len(part):
            sheets.append((category, part, f"{category} findings"))
    sheets.append(("rejects", masked_rejects(result.rejects, show_phi), "rejected rows"))
    resolved = getattr(result, "resolved", None)
    if resolved is not None and len(resolved):
        sheets.append(("resolved", resolved, "resolved findings"))
    return sheets


def write_xlsx(result: AuditResult, path: Path, show_phi: bool = False) -> None:
    """Write findings.xlsx; patient ids in the rejects are masked unless `show_phi`."""
    try:
        import xlsxwriter
    except ImportError:
        raise OutputError("--format xlsx needs XlsxWriter: pip install xlsxwriter") from None
    overview, usd_rows = summary_rows(result)
    sheets = _sheets(result, show_phi)
    notes = [
        f"sheet {name}: first {kept_rows(len(frame)):,} of {len(frame):,} rows"
        for name, frame, _ in sheets
        if kept_rows(len(frame)) < len(frame)
    ]
    try:
        book = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        usd = book.add_format({"num_format": USD_FORMAT})
        _write_summary(book, overview, usd_rows, usd, notes)
        for name, frame, what in sheets:
            _write_sheet(book, name, frame, usd, what)
        book.close()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    except xlsxwriter.exceptions.FileCreateError as exc:
        raise OutputError(f"{path}: cannot write ({exc})") from None
