"""report.html: one self-contained page (inline CSS, JS, data and SVG charts; no network)
rendered with Jinja2.

Every value is escaped: Jinja autoescapes the markup, the table's data travels as JSON in a
`<script type="application/json">` block with `<`, `>` and `&` escaped and reaches the page
through `textContent` only, and a Content-Security-Policy lets only the report's own script
(by its hash) run. The table holds the top findings (new first, then largest |$ impact|) within
a size budget; charts are aggregated from all findings, so the file stays small at any scale.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from importlib.resources import files

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.audit import AuditResult
from pipeline.report.baseline import run_snapshot
from pipeline.report.charts import charts_available, render_charts
from pipeline.report.outputs import masked_rejects
from pipeline.report.views import findings_with_payer, ranked_findings
from pipeline.rules import REGISTRY

MAX_TABLE_ROWS = 5000
TABLE_BYTES_BUDGET = 10_000_000  # the findings JSON; the whole file stays under 20 MB
MAX_TEXT = 300  # characters of one table cell
MAX_LIST_ROWS = 500  # rows of the rejects and resolved tables
MAX_INPUT_FILES = 200  # input files listed in the provenance
TOP_NEW = 10
TABLE_COLUMNS = [
    "status",
    "claim_id",
    "line_number",
    "rule_code",
    "severity",
    "hcpcs_code",
    "payer_type",
    "message",
    "observed",
    "expected",
    "impact_usd",
]
COLUMN_TITLES = {
    "status": "status",
    "claim_id": "claim",
    "line_number": "line",
    "rule_code": "rule",
    "severity": "severity",
    "hcpcs_code": "code",
    "payer_type": "payer",
    "message": "message",
    "observed": "observed",
    "expected": "expected",
    "impact_usd": "impact $",
}

_env = Environment(
    loader=PackageLoader("pipeline.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def json_for_script(data) -> str:
    """JSON safe to embed in a <script> element (no `</script>` breakout)."""
    text = json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _records(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    """Rows as lists of JSON-ready values: text capped at MAX_TEXT, NA as None."""
    out = {}
    for name in columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.astype("float64").round(2)
            out[name] = [None if pd.isna(v) else (int(v) if v.is_integer() else v) for v in values]
        else:
            text = col.astype("string").str.slice(0, MAX_TEXT)
            out[name] = [None if pd.isna(v) else str(v) for v in text]
    return [list(row) for row in zip(*(out[c] for c in columns), strict=True)]


def table_payload(findings: pd.DataFrame, columns: list[str], limit: int) -> tuple[list, str]:
    """The table's rows and their JSON, halving the row count until the JSON fits the budget."""
    ranked = ranked_findings(findings, limit)
    while True:
        rows = _records(ranked, columns)
        payload = json_for_script(rows)
        if len(payload.encode()) <= TABLE_BYTES_BUDGET or len(ranked) <= 1:
            return rows, payload
        ranked = ranked.head(len(ranked) // 2)


def _rules(summary: dict) -> dict:
    by_rule = summary.get("findings_by_rule", {})
    not_evaluated = summary.get("not_evaluated_by_rule", {})
    disabled = set(summary.get("disabled_rules", []))
    return {
        r.code: {
            "name": r.name,
            "category": r.category,
            "severity": by_rule.get(r.code, {}).get("severity", r.severity),
            "citation": r.citation,
            "explanation": list(r.explanation.items()),
            "remittance": r.remittance.describe(),
            "count": by_rule.get(r.code, {}).get("count", 0),
            "not_evaluated": not_evaluated.get(r.code, 0),
            "disabled": r.code in disabled,
        }
        for r in sorted(REGISTRY.values(), key=lambda r: r.code)
    }


def coverage_rows(summary: dict) -> list[dict]:
    """The coverage table: per rule run, lines evaluated, not applicable and not evaluated
    (with the reasons, largest first)."""
    rows = []
    for code, c in (summary.get("coverage_by_rule") or {}).items():
        reasons = sorted(c["not_evaluated"].items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append(
            {
                "code": code,
                "evaluated": c["evaluated"],
                "not_applicable": c["not_applicable"],
                "not_evaluated": sum(c["not_evaluated"].values()),
                "reasons": ", ".join(f"{reason} {n:,}" for reason, n in reasons),
            }
        )
    return rows


def _frame_rows(frame: pd.DataFrame | None, limit: int) -> list[dict]:
    if frame is None or frame.empty:
        return []
    part = frame.head(limit)
    text = part.astype("string").apply(lambda c: c.str.slice(0, MAX_TEXT))
    return text.astype(object).where(text.notna(), "").to_dict("records")


def _new_since_baseline(findings: pd.DataFrame) -> dict:
    new = findings[findings["status"] == "new"]
    impact = new["impact_usd"].astype("float64")
    return {
        "count": len(new),
        "by_severity": {s: int((new["severity"] == s).sum()) for s in ("error", "warning", "info")},
        "missed_revenue_usd": round(float(impact[impact > 0].sum()), 2),
        "overpayment_risk_usd": round(float(-impact[impact < 0].sum()), 2),
        "top": _frame_rows(ranked_findings(new, TOP_NEW), TOP_NEW),
    }


def _distinct(rows: list[list], position: int) -> list[str]:
    return sorted({row[position] for row in rows if row[position] is not None})


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_html(
    result: AuditResult,
    show_phi: bool = False,
    max_rows: int = MAX_TABLE_ROWS,
    generated_at: datetime | None = None,
) -> str:
    """The report page as text. patient_id never reaches it (rejects are masked unless
    `show_phi`); the findings table holds at most `max_rows` rows."""
    summary = result.summary
    findings = findings_with_payer(result.findings, result.lines)
    baseline = summary.get("baseline") or {}
    compared = bool(baseline.get("path"))
    current = run_snapshot(result.findings, summary.get("started_at"))
    history = baseline.get("history") if compared else None
    charts = render_charts(findings, history, current) if charts_available() else {}

    columns = [c for c in TABLE_COLUMNS if c in findings.columns]
    rows, payload = table_payload(findings, columns, max_rows)
    rules = _rules(summary)
    script = files("pipeline.report").joinpath("templates/report.js").read_text("utf-8")
    rejects = masked_rejects(result.rejects, show_phi)
    resolved = getattr(result, "resolved", None)
    reject_reasons = (
        rejects.groupby("reason_code").size().sort_index().to_dict() if len(rejects) else {}
    )
    template = _env.get_template("report.html.j2")
    return template.render(
        generated_at=(generated_at or datetime.now().astimezone()).isoformat(timespec="seconds"),
        summary=summary,
        totals=summary["totals"],
        severity=summary["findings_by_severity"],
        impact=summary["impact"],
        engine=summary.get("engine", "pandas"),
        rules=rules,
        coverage=coverage_rows(summary),
        rates=summary.get("rates") or {},
        icd10cm=summary.get("icd10cm_release"),
        notices=summary.get("reference_period_notices") or [],
        void_lines=summary.get("void_lines", 0),
        charts=charts,
        charts_missing=not charts_available(),
        columns=[(c, COLUMN_TITLES[c]) for c in columns],
        shown=len(rows),
        total_findings=len(findings),
        table_json=json_for_script({"columns": columns, "rows": rows, "rules": rules}),
        table_bytes=len(payload),
        filter_rules=_distinct(rows, columns.index("rule_code")),
        filter_codes=_distinct(rows, columns.index("hcpcs_code")),
        filter_payers=_distinct(rows, columns.index("payer_type")),
        compared=compared,
        has_status="status" in columns,
        baseline=baseline,
        new=_new_since_baseline(findings) if compared else None,
        resolved=_frame_rows(resolved, MAX_LIST_ROWS),
        resolved_total=0 if resolved is None else len(resolved),
        rejects=_frame_rows(rejects, MAX_LIST_ROWS),
        rejects_total=len(rejects),
        reject_reasons=reject_reasons,
        list_limit=MAX_LIST_ROWS,
        inputs=summary["inputs"][:MAX_INPUT_FILES],
        inputs_total=len(summary["inputs"]),
        config_json=json.dumps(summary["config"].get("settings", {}), indent=2, sort_keys=True),
        script=script,
        script_hash=_script_hash(script),
    )
