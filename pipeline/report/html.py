"""report.html: one self-contained page (inline CSS/JS/data, no network) rendered with Jinja2.

All values are HTML-escaped by Jinja's autoescape; data for the table travels as JSON inside a
`<script type="application/json">` block with `<`, `>` and `&` escaped.
"""

from __future__ import annotations

import json

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.audit import AuditResult
from pipeline.rules import REGISTRY

MAX_TABLE_ROWS = 5000
TABLE_COLUMNS = ["claim_id", "line_number", "rule_code", "severity", "hcpcs_code", "message",
                 "observed", "expected", "impact_usd"]

_env = Environment(
    loader=PackageLoader("pipeline.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def json_for_script(data) -> str:
    """JSON safe to embed in a <script> element (no `</script>` breakout)."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def top_findings(findings: pd.DataFrame, limit: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """The rows the table shows: largest $ impact first, then errors, then claim order."""
    ranked = findings.assign(
        _abs=findings["impact_usd"].abs().fillna(-1),
        _sev=(findings["severity"] == "error").astype(int),
    ).sort_values(["_abs", "_sev", "claim_id", "line_number", "rule_code"],
                  ascending=[False, False, True, True, True], kind="stable")
    return ranked.head(limit)[TABLE_COLUMNS]


def render_html(result: AuditResult, show_phi: bool = False) -> str:
    summary = result.summary
    shown = top_findings(result.findings)
    rows = shown.astype(object).where(shown.notna(), None).to_dict("records")
    rules = [
        {"code": r.code, "name": r.name, "category": r.category, "severity": r.severity,
         "citation": r.citation, "explanation": r.explanation,
         "count": summary["findings_by_rule"].get(r.code, {}).get("count", 0)}
        for r in sorted(REGISTRY.values(), key=lambda r: r.code)
    ]
    rejects = result.rejects.head(1000)
    template = _env.get_template("report.html.j2")
    return template.render(
        summary=summary,
        totals=summary["totals"],
        impact=summary["impact"],
        rules=rules,
        shown=len(shown),
        total_findings=len(result.findings),
        findings_json=json_for_script(rows),
        rejects=rejects.astype(object).where(rejects.notna(), "").to_dict("records"),
        rejects_total=len(result.rejects),
        show_phi=show_phi,
    )
