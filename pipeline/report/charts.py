"""The report's charts: Vega-Lite specs built with altair from the full findings (aggregated
first, so a chart's size does not grow with the run) and rendered to inline SVG at build time
with vl-convert: no JavaScript library, no network when the report is opened."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd

SEVERITIES = ("error", "warning", "info")
SEVERITY_COLORS = ("#b42318", "#dc6803", "#667085")
IMPACT_KINDS = ("missed revenue", "overpayment risk")
IMPACT_COLORS = ("#027a48", "#b42318")
TOP_CODES = 20  # codes in the $ impact chart
MAX_LABEL = 36  # characters of a category label (input text such as an unknown code)
WIDTH = 380
_UNSAFE_ELEMENTS = {"script", "foreignobject", "iframe", "object", "embed"}


def charts_available() -> bool:
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        return False
    return True


def _label(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    return text.where(text.str.len() <= MAX_LABEL, text.str.slice(0, MAX_LABEL - 1) + "…")


def _severity_color():
    import altair as alt

    return alt.Color(
        "severity:N",
        scale=alt.Scale(domain=list(SEVERITIES), range=list(SEVERITY_COLORS)),
        legend=alt.Legend(orient="bottom", title=None),
        sort=list(SEVERITIES),
    )


def _bar_height(n: int) -> int:
    return max(40, 20 * n)


def findings_by_rule(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings per rule: rule (code and name), severity, findings; most frequent first."""
    if findings.empty:
        return pd.DataFrame(columns=["rule", "severity", "findings"])
    counts = (
        findings.assign(rule=findings["rule_code"].astype(str) + " " + findings["rule_name"])
        .groupby(["rule", "severity"], observed=True)
        .size()
        .rename("findings")
        .reset_index()
    )
    return counts.sort_values(["findings", "rule"], ascending=[False, True], kind="stable")


def impact_by_code(findings: pd.DataFrame, top: int = TOP_CODES) -> pd.DataFrame:
    """Missed revenue (+) and overpayment risk (-) per HCPCS code, the `top` codes by total $."""
    impact = findings.dropna(subset=["impact_usd"])
    if impact.empty:
        return pd.DataFrame(columns=["code", "kind", "usd"])
    usd = impact["impact_usd"].astype("float64")
    per_code = (
        pd.DataFrame(
            {
                "code": impact["hcpcs_code"].astype(str),
                "missed revenue": usd.clip(lower=0),
                "overpayment risk": usd.clip(upper=0),
            }
        )
        .groupby("code")[list(IMPACT_KINDS)]
        .sum()
    )
    per_code["total"] = per_code["missed revenue"] - per_code["overpayment risk"]
    per_code = per_code.sort_values("total", ascending=False, kind="stable").head(top)
    long = (
        per_code.drop(columns="total").reset_index().melt("code", var_name="kind", value_name="usd")
    )
    return long[long["usd"] != 0].round({"usd": 2}).reset_index(drop=True)


def findings_by_payer(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings per payer type and severity (needs the `payer_type` column)."""
    if findings.empty:
        return pd.DataFrame(columns=["payer_type", "severity", "findings"])
    return (
        findings.groupby(["payer_type", "severity"], observed=True)
        .size()
        .rename("findings")
        .reset_index()
        .astype({"payer_type": str, "severity": str})
    )


def trend_points(history: list[dict], current: dict) -> pd.DataFrame:
    """Findings by severity for each run, oldest first, this run last."""
    runs = [*history, current]
    rows = []
    for i, run in enumerate(runs, start=1):
        when = (run.get("started_at") or "")[:16].replace("T", " ")
        name = {len(runs): "this run", len(runs) - 1: "baseline"}.get(i, f"run {i}")
        label = name + (f" ({when})" if when and i < len(runs) else "")
        for severity in SEVERITIES:
            rows.append((i, label, severity, int(run["by_severity"].get(severity, 0))))
    return pd.DataFrame(rows, columns=["order", "run", "severity", "findings"])


def rule_change(previous: dict, current: dict) -> pd.DataFrame:
    """Findings per rule in the baseline and now, for the rules whose count changed."""
    before, now = previous["by_rule"], current["by_rule"]
    codes = sorted(c for c in set(before) | set(now) if before.get(c, 0) != now.get(c, 0))
    rows = []
    for code in codes:
        rows.append((code, "baseline", int(previous["by_rule"].get(code, 0))))
        rows.append((code, "this run", int(current["by_rule"].get(code, 0))))
    return pd.DataFrame(rows, columns=["rule", "run", "findings"])


def _rule_chart(data: pd.DataFrame):
    import altair as alt

    order = list(dict.fromkeys(data["rule"]))
    data = data.assign(rule=_label(data["rule"]))
    order = list(dict.fromkeys(_label(pd.Series(order))))
    base = alt.Chart(data).encode(
        y=alt.Y("rule:N", sort=order, title=None),
        x=alt.X("sum(findings):Q", title="findings", axis=alt.Axis(tickMinStep=1, format="d")),
    )
    bars = base.mark_bar().encode(color=_severity_color())
    totals = data.groupby("rule", as_index=False)["findings"].sum()
    text = (
        alt.Chart(totals)
        .mark_text(align="left", dx=3, fontSize=10)
        .encode(y=alt.Y("rule:N", sort=order), x="findings:Q", text="findings:Q")
    )
    return (bars + text).properties(width=WIDTH, height=_bar_height(len(order)))


def _impact_chart(data: pd.DataFrame):
    import altair as alt

    order = list(dict.fromkeys(data["code"]))
    data = data.assign(code=_label(data["code"]))
    order = list(dict.fromkeys(_label(pd.Series(order))))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("code:N", sort=order, title=None),
            x=alt.X("usd:Q", title="USD (overpayment risk < 0 < missed revenue)").axis(
                format="$,.0f"
            ),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=list(IMPACT_KINDS), range=list(IMPACT_COLORS)),
                legend=alt.Legend(orient="bottom", title=None),
            ),
        )
        .properties(width=WIDTH, height=_bar_height(len(order)))
    )


def _payer_chart(data: pd.DataFrame):
    import altair as alt

    order = data.groupby("payer_type")["findings"].sum().sort_values(ascending=False, kind="stable")
    data = data.assign(payer_type=_label(data["payer_type"]))
    order = list(_label(pd.Series(order.index)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("payer_type:N", sort=order, title=None),
            x=alt.X("sum(findings):Q", title="findings", axis=alt.Axis(tickMinStep=1, format="d")),
            color=_severity_color(),
        )
        .properties(width=WIDTH, height=_bar_height(len(order)))
    )


def _trend_chart(data: pd.DataFrame):
    import altair as alt

    order = list(dict.fromkeys(data.sort_values("order")["run"]))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("run:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(findings):Q", title="findings", axis=alt.Axis(tickMinStep=1, format="d")),
            color=_severity_color(),
        )
        .properties(width=WIDTH, height=200)
    )


def _change_chart(data: pd.DataFrame):
    import altair as alt

    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("rule:N", title=None),
            yOffset=alt.YOffset("run:N", sort=["baseline", "this run"]),
            x=alt.X("findings:Q", title="findings", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color(
                "run:N",
                scale=alt.Scale(domain=["baseline", "this run"], range=["#98a2b3", "#175cd3"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
        )
        .properties(width=WIDTH, height=_bar_height(data["rule"].nunique()) + 10)
    )


def check_svg(svg: str) -> str:
    """The SVG unchanged, after making sure it holds nothing a browser would execute: no script
    or embedding element, no event-handler attribute, no javascript: link (data values are
    text, escaped by the renderer)."""
    for element in ET.fromstring(svg).iter():
        if element.tag.rsplit("}", 1)[-1].lower() in _UNSAFE_ELEMENTS:
            raise ValueError(f"chart SVG holds a {element.tag} element")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or value.strip().lower().startswith("javascript:"):
                raise ValueError(f"chart SVG holds an executable attribute {name}")
    return svg


def to_svg(chart) -> str:
    """Render an altair chart to an SVG string with vl-convert."""
    import vl_convert

    chart = chart.configure_view(stroke=None).configure_axis(labelFontSize=11, titleFontSize=11)
    return check_svg(vl_convert.vegalite_to_svg(chart.to_json()))


def render_charts(
    findings: pd.DataFrame, history: list[dict] | None, current: dict | None
) -> dict[str, str | None]:
    """SVG per chart (None when a chart has no data): by_rule, impact_by_code, by_payer, and
    with a baseline trend and rule_change. `findings` must carry `payer_type`."""
    charts: dict[str, str | None] = {}
    frames = {
        "by_rule": (findings_by_rule(findings), _rule_chart),
        "impact_by_code": (impact_by_code(findings), _impact_chart),
        "by_payer": (findings_by_payer(findings), _payer_chart),
    }
    if history and current is not None:
        frames["trend"] = (trend_points(history, current), _trend_chart)
        frames["rule_change"] = (rule_change(history[-1], current), _change_chart)
    for name, (data, build) in frames.items():
        charts[name] = to_svg(build(data)) if len(data) else None
    return charts
