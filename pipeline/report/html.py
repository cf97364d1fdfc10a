"""report.html: one self-contained page (inline CSS, JS, data and SVG charts; no network)
rendered with Jinja2.

Every value is escaped: Jinja autoescapes the markup, the table's data travels as JSON in a
`<script type="application/json">` block with `<`, `>` and `&` escaped and reaches the page
through `textContent` only, and a Content-Security-Policy lets only the report's own script
(by its hash) run.

The findings table embeds every finding, column-oriented with repeated text dictionary-encoded
(`table_columns`), ranked (new first, then largest |$ impact|) and paged in the browser. When
that JSON would pass TABLE_BYTES_BUDGET, each rule keeps its top findings (rules with few
findings whole, the largest cut to one quota: `pick_rows`) and the page says, per rule, how many
more are in the findings files. The rule filter lists every rule with findings and its count.
Charts are SVG aggregated from all findings. The whole page stays under 20 MB at any scale.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from importlib.resources import files

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from claims_audit.audit import AuditResult
from claims_audit.money import format_usd
from claims_audit.privacy import masked_rejects
from claims_audit.report.baseline import run_snapshot
from claims_audit.report.charts import CHART_TITLES, render_charts
from claims_audit.report.views import findings_with_payer, ranked_findings
from claims_audit.rules import REGISTRY
from claims_audit.rules.engine import impact_split

MAX_TABLE_ROWS = 1_000_000  # rows the browser holds at most (then each rule's top ones)
TABLE_BYTES_BUDGET = 16_000_000  # the findings JSON; the rest of the page is well under 1 MB
MAX_OPTIONS = 1000  # values in the code and payer filters (the most frequent)
MAX_GAPS = 6  # rules named in the "not evaluated" notice at the top
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
    loader=PackageLoader("claims_audit.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["usd"] = format_usd


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


def _text_column(col: pd.Series) -> dict:
    """Text as `{"dict": [distinct values], "codes": [index or -1 for NA]}` when values repeat
    (at most half as many distinct values as rows), else `{"values": [text or None]}`."""
    text = col.astype("string").str.slice(0, MAX_TEXT)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    if len(uniques) <= len(text) / 2:
        return {"dict": [str(v) for v in uniques], "codes": codes.tolist()}
    return {"values": text.astype(object).where(text.notna(), None).tolist()}


def _number_column(col: pd.Series, scale: int = 1) -> dict:
    """Numbers as `{"values": [...], "scale": s}`: integers (value x scale, e.g. cents) or
    None for NA, so the JSON stays short and holds no NaN."""
    values = col.astype("float64").to_numpy() * scale
    ints = np.rint(values)
    out = pd.Series(ints).astype("Int64").astype(object).where(~np.isnan(values), None)
    return {"values": out.tolist(), "scale": scale}


def table_columns(frame: pd.DataFrame, columns: list[str]) -> dict:
    """The table, column-oriented (see `_text_column` / `_number_column`): $ in cents, other
    numbers as whole numbers when they are (text columns otherwise)."""
    out = {}
    for name in columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            whole = col.dropna().astype("float64")
            scale = 100 if name.endswith("_usd") or not (whole == whole.round()).all() else 1
            out[name] = _number_column(col, scale)
        else:
            out[name] = _text_column(col)
    return out


def quota_per_rule(counts: pd.Series, rows: int) -> int:
    """The largest q such that taking min(count, q) findings of each rule fits in `rows`: rules
    with few findings are shown whole, the largest ones are cut to their top q (at least 1, so
    every rule is in the table even when `rows` is below the number of rules)."""
    if counts.sum() <= rows:
        return int(counts.max()) if len(counts) else 0
    low, high = 0, int(counts.max())
    while low < high:
        mid = (low + high + 1) // 2
        if int(counts.clip(upper=mid).sum()) <= rows:
            low = mid
        else:
            high = mid - 1
    return max(1, low)


def pick_rows(ranked: pd.DataFrame, rows: int) -> pd.DataFrame:
    """At most `rows` of the ranked findings, every rule kept (its top findings by rank)."""
    if len(ranked) <= rows:
        return ranked
    quota = quota_per_rule(ranked["rule_code"].value_counts(), rows)
    return ranked[ranked.groupby("rule_code", observed=True).cumcount() < quota]


def table_payload(
    findings: pd.DataFrame,
    columns: list[str],
    max_rows: int | None = None,
    budget: int = TABLE_BYTES_BUDGET,
) -> tuple[pd.DataFrame, str]:
    """The rows the table embeds and their JSON: every finding when the JSON fits `budget`
    bytes (and `max_rows`), else each rule's top findings, as many as fit."""
    ranked = ranked_findings(findings)
    rows = min(len(ranked), max_rows or len(ranked))
    while True:
        part = pick_rows(ranked, rows)
        payload = json_for_script(table_columns(part, columns))
        size = len(payload.encode())
        if size <= budget or rows <= 1:
            return part, payload
        rows = max(1, min(rows - 1, int(rows * budget / size * 0.97)))


def capped_rules(findings: pd.DataFrame, shown: pd.DataFrame, rules: dict) -> list[dict]:
    """Per rule whose findings are not all in the table: code, name, total, shown, more."""
    total = findings["rule_code"].value_counts()
    here = shown["rule_code"].value_counts().reindex(total.index, fill_value=0)
    return [
        {
            "code": str(code),
            "name": rules.get(str(code), {}).get("name", ""),
            "total": int(total[code]),
            "shown": int(here[code]),
            "more": int(total[code] - here[code]),
        }
        for code in sorted(total.index)
        if here[code] < total[code]
    ]


def filter_options(findings: pd.DataFrame, column: str, limit: int = MAX_OPTIONS) -> list:
    """(value, count) over all findings, by value; the `limit` most frequent when more."""
    counts = findings[column].astype("string").value_counts()
    top = counts.head(limit)
    return sorted((str(k)[:MAX_TEXT], int(v)) for k, v in top.items())


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
        **impact_split(impact),
        "top": _frame_rows(ranked_findings(new, TOP_NEW), TOP_NEW),
    }


def coverage_gaps(summary: dict) -> tuple[list[str], int]:
    """The rules that left lines not evaluated, most lines first, as "P002 616,798
    (no_filing_limit)" (the first MAX_GAPS), and how many more rules did."""
    gaps = sorted(
        (-sum(c["not_evaluated"].values()), code, sorted(c["not_evaluated"]))
        for code, c in (summary.get("coverage_by_rule") or {}).items()
        if c["not_evaluated"]
    )
    shown = [f"{code} {-n:,} ({', '.join(why)})" for n, code, why in gaps[:MAX_GAPS]]
    return shown, max(0, len(gaps) - MAX_GAPS)


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_html(
    result: AuditResult,
    show_phi: bool = False,
    max_rows: int | None = MAX_TABLE_ROWS,
    generated_at: datetime | None = None,
    budget: int = TABLE_BYTES_BUDGET,
) -> str:
    """The report page as text. patient_id never reaches it (rejects are masked unless
    `show_phi`); the findings table embeds at most `max_rows` rows and `budget` bytes of JSON,
    every rule represented."""
    summary = result.summary
    findings = findings_with_payer(result.findings, result.lines)
    baseline = summary.get("baseline") or {}
    compared = bool(baseline.get("path"))
    current = run_snapshot(result.findings, summary.get("started_at"))
    history = baseline.get("history") if compared else None
    charts = render_charts(findings, history, current)

    columns = [c for c in TABLE_COLUMNS if c in findings.columns]
    shown, payload = table_payload(findings, columns, max_rows, budget)
    rules = _rules(summary)
    capped = capped_rules(findings, shown, rules)
    script = files("claims_audit.report").joinpath("templates/report.js").read_text("utf-8")
    rejects = masked_rejects(result.rejects, show_phi)
    resolved = getattr(result, "resolved", None)
    reject_reasons = (
        rejects.groupby("reason_code").size().sort_index().to_dict() if len(rejects) else {}
    )
    gaps, more_gaps = coverage_gaps(summary)
    meta = {
        "columns": columns,
        "n": len(shown),
        "total": len(findings),
        "rules": rules,
        "capped": {c["code"]: c for c in capped},
    }
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
        gaps=gaps,
        more_gaps=more_gaps,
        rates=summary.get("rates") or {},
        icd10cm=summary.get("icd10cm_release"),
        notices=summary.get("reference_period_notices") or [],
        void_lines=summary.get("void_lines", 0),
        charts=charts,
        chart_titles=CHART_TITLES,
        columns=[(c, COLUMN_TITLES[c]) for c in columns],
        shown=len(shown),
        total_findings=len(findings),
        capped=capped,
        table_json='{"meta":' + json_for_script(meta) + ',"table":' + payload + "}",
        table_bytes=len(payload),
        filter_rules=filter_options(findings, "rule_code"),
        filter_codes=filter_options(findings, "hcpcs_code"),
        filter_payers=filter_options(findings, "payer_type"),
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
