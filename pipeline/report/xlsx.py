"""findings.xlsx: a summary sheet and one sheet per rule category, frozen header, autofilter,
sensible widths, dollars formatted; text escaped against formula injection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.audit import AuditResult
from pipeline.errors import OutputError
from pipeline.report.safety import escape_text_columns
from pipeline.rules.registry import CATEGORIES

MAX_WIDTH = 60


def _format_sheet(ws, frame: pd.DataFrame) -> None:
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for i, name in enumerate(frame.columns, start=1):
        sample = frame[name].astype("string").fillna("").str.len()
        width = min(MAX_WIDTH, max(len(name), int(sample.max()) if len(sample) else 0) + 2)
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = width
        if name.endswith("_usd"):
            for cell in ws[letter][1:]:
                cell.number_format = '"$"#,##0.00;[Red]-"$"#,##0.00'


def write_xlsx(result: AuditResult, path: Path) -> None:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise OutputError("--format xlsx needs openpyxl: pip install 'claims-audit[xlsx]'") from None
    summary = result.summary
    rows = [("lines audited", summary["totals"]["rows_audited"]),
            ("rows rejected", summary["totals"]["rows_rejected"]),
            ("findings", summary["totals"]["findings"]),
            ("errors", summary["findings_by_severity"]["error"]),
            ("warnings", summary["findings_by_severity"]["warning"]),
            ("missed revenue (USD)", summary["impact"]["missed_revenue_usd"]),
            ("overpayment risk (USD)", summary["impact"]["overpayment_risk_usd"])]
    rows += [(f"{code} {v['name']}", v["count"]) for code, v in summary["findings_by_rule"].items()]
    overview = pd.DataFrame(rows, columns=["measure", "value"])
    try:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            overview.to_excel(writer, sheet_name="summary", index=False)
            _format_sheet(writer.sheets["summary"], overview)
            for category in CATEGORIES:
                part = result.findings[result.findings["category"] == category]
                if part.empty:
                    continue
                part = escape_text_columns(part)
                part.to_excel(writer, sheet_name=category, index=False)
                _format_sheet(writer.sheets[category], part)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
