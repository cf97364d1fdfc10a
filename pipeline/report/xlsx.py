"""findings.xlsx: a summary sheet, one sheet per rule category, the rejects and (with a
baseline) the resolved findings. Frozen header, autofilter, sensible widths, dollars formatted;
every text cell escaped against formula injection and made writable to XLSX (control
characters shown as control pictures, cells cut at Excel's limit: `safety.xlsx_text`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.audit import AuditResult
from pipeline.engine import FINDING_COLUMNS
from pipeline.errors import OutputError
from pipeline.report.outputs import masked_rejects
from pipeline.report.safety import escape_formula, escape_text_columns, xlsx_text
from pipeline.report.views import findings_with_payer
from pipeline.rules.registry import CATEGORIES

MAX_WIDTH = 60
WIDTH_SAMPLE = 2000  # rows looked at to size a column
MAX_SHEET_ROWS = 1_048_575  # Excel's row limit, less the header
USD_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
_AFTER_CODE = FINDING_COLUMNS.index("hcpcs_code") + 1
SHEET_COLUMNS = [
    *FINDING_COLUMNS[:_AFTER_CODE],  # finding_id .. hcpcs_code
    "payer_type",
    *FINDING_COLUMNS[_AFTER_CODE:],
    "status",
]


def _format_sheet(ws, frame: pd.DataFrame, usd_rows: list[int] | None = None) -> None:
    """Freeze the header, filter, size the columns, format dollars (columns named *_usd, or
    the `value` cells of `usd_rows` on the summary sheet)."""
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    sample = frame.head(WIDTH_SAMPLE)
    for i, name in enumerate(frame.columns, start=1):
        lengths = sample[name].astype("string").fillna("").str.len()
        longest = int(lengths.max()) if len(lengths) else 0
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = min(MAX_WIDTH, max(len(str(name)), longest) + 2)
        if str(name).endswith("_usd"):
            for cell in ws[letter][1:]:
                cell.number_format = USD_FORMAT
    for row in usd_rows or []:
        ws.cell(row=row + 2, column=2).number_format = USD_FORMAT


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


def _write_sheet(writer, name: str, frame: pd.DataFrame, notes: list[str]) -> None:
    if len(frame) > MAX_SHEET_ROWS:
        notes.append(f"sheet {name}: first {MAX_SHEET_ROWS:,} of {len(frame):,} rows")
        frame = frame.head(MAX_SHEET_ROWS)
    frame = escape_text_columns(frame, xlsx=True)
    frame.to_excel(writer, sheet_name=name, index=False)
    _format_sheet(writer.sheets[name], frame)


def write_xlsx(result: AuditResult, path: Path, show_phi: bool = False) -> None:
    """Write findings.xlsx; patient ids in the rejects are masked unless `show_phi`."""
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise OutputError(
            "--format xlsx needs openpyxl: pip install 'claims-audit[xlsx]'"
        ) from None
    findings = findings_with_payer(result.findings, result.lines)
    findings = findings[[c for c in SHEET_COLUMNS if c in findings.columns]]
    overview, usd_rows = summary_rows(result)
    notes: list[str] = []
    try:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            overview.to_excel(writer, sheet_name="summary", index=False)
            for category in CATEGORIES:
                part = findings[findings["category"] == category]
                if len(part):
                    _write_sheet(writer, category, part, notes)
            if len(result.rejects):
                _write_sheet(writer, "rejects", masked_rejects(result.rejects, show_phi), notes)
            resolved = getattr(result, "resolved", None)
            if resolved is not None and len(resolved):
                _write_sheet(writer, "resolved", resolved, notes)
            ws = writer.sheets["summary"]
            for note in notes:  # rows cut at Excel's limit: say so on the summary sheet
                ws.append([note, "see findings.parquet"])
            _format_sheet(ws, overview, usd_rows)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
