"""The report's charts: horizontal bar charts drawn as inline SVG in Python, from the full
findings aggregated first (a chart's size does not grow with the run). No dependency, no
JavaScript, no network: the SVG is part of the page.

Every chart adds up to the headline: findings by rule and by payer type sum to the number of
findings, the $ chart's bars (the top codes and one "other codes" bar) to the missed revenue and
overpayment risk. Each bar's total is a `<text class="total">` label; its `<title>` (the
tooltip) gives the split.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from claims_audit.money import format_usd
from claims_audit.report.safety import XLSX_ILLEGAL

SEVERITIES = ("error", "warning", "info")
SEVERITY_COLORS = ("#b42318", "#dc6803", "#667085")
IMPACT_KINDS = ("missed revenue", "overpayment risk")
IMPACT_COLORS = ("#027a48", "#b42318")
RUN_KINDS = ("baseline", "this run")
RUN_COLORS = ("#98a2b3", "#175cd3")
TOP_CODES = 20  # codes in the $ impact chart; the others are one bar
MAX_LABEL = 36  # characters of a category label (input text such as an unknown code)
WIDTH = 380  # of the plot area, in px
ROW = 22  # px per bar (per group of bars when grouped)
CHAR_PX = 6.6  # label width estimate per character at 11 px
FONT = "font-family:system-ui,sans-serif;font-size:11px"
_UNSAFE_ELEMENTS = {"script", "foreignobject", "iframe", "object", "embed"}


@dataclass
class Bars:
    """One chart: a bar per label, a segment (stacked) or a bar (grouped) per series.
    Stacked values may be negative: they stack left of zero (the $ chart)."""

    labels: list[str]
    values: np.ndarray  # (labels, series)
    series: tuple[str, ...]
    colors: tuple[str, ...]
    grouped: bool = False
    money: bool = False
    unit: str = "findings"


def _xml(text: str) -> str:
    """Text escaped for SVG; characters XML cannot hold (C0 controls, ...) shown as U+FFFD."""
    return escape(re.sub(XLSX_ILLEGAL, "\ufffd", text))


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


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
    """Missed revenue (+) and overpayment risk (-) per HCPCS code, the `top` codes by total $
    (largest first), then one row `N other codes` for the rest; zero parts left out."""
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
    per_code = per_code.sort_values("total", ascending=False, kind="stable")
    shown, rest = per_code.head(top), per_code.iloc[top:]
    if len(rest):
        shown = pd.concat([shown, rest.sum().to_frame(f"{len(rest)} other codes").T])
    long = (
        shown.drop(columns="total")
        .rename_axis("code")
        .reset_index()
        .melt("code", var_name="kind", value_name="usd")
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
        rows.append((code, "baseline", int(before.get(code, 0))))
        rows.append((code, "this run", int(now.get(code, 0))))
    return pd.DataFrame(rows, columns=["rule", "run", "findings"])


def _pivot(data: pd.DataFrame, label: str, series: str, value: str, order: list, kinds) -> Bars:
    """Long data -> Bars with one row per label (in `order`) and a column per kind."""
    wide = data.pivot_table(index=label, columns=series, values=value, aggfunc="sum")
    wide = wide.reindex(index=order, columns=list(kinds)).fillna(0)
    return Bars([str(x) for x in wide.index], wide.to_numpy(dtype="float64"), tuple(kinds), ())


def _first_seen(values: pd.Series) -> list:
    return list(dict.fromkeys(values))


def rule_bars(data: pd.DataFrame) -> Bars:
    bars = _pivot(data, "rule", "severity", "findings", _first_seen(data["rule"]), SEVERITIES)
    bars.colors = SEVERITY_COLORS
    return bars


def impact_bars(data: pd.DataFrame) -> Bars:
    bars = _pivot(data, "code", "kind", "usd", _first_seen(data["code"]), IMPACT_KINDS)
    bars.colors, bars.money, bars.unit = IMPACT_COLORS, True, ""
    return bars


def payer_bars(data: pd.DataFrame) -> Bars:
    totals = data.groupby("payer_type")["findings"].sum()
    order = list(totals.sort_values(ascending=False, kind="stable").index)
    bars = _pivot(data, "payer_type", "severity", "findings", order, SEVERITIES)
    bars.colors = SEVERITY_COLORS
    return bars


def trend_bars(data: pd.DataFrame) -> Bars:
    order = _first_seen(data.sort_values("order", kind="stable")["run"])
    bars = _pivot(data, "run", "severity", "findings", order, SEVERITIES)
    bars.colors = SEVERITY_COLORS
    return bars


def change_bars(data: pd.DataFrame) -> Bars:
    bars = _pivot(data, "rule", "run", "findings", _first_seen(data["rule"]), RUN_KINDS)
    bars.colors, bars.grouped = RUN_COLORS, True
    return bars


def _count(v: float) -> str:
    return f"{round(v):,}"


def _usd(v: float) -> str:
    return format_usd(v)


def _usd_axis(v: float) -> str:
    return format_usd(v, decimals=0)


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _ticks(low: float, high: float, integer: bool) -> list[float]:
    step = _nice_step(high - low)
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _tooltip(bars: Bars, label: str, row: np.ndarray) -> str:
    fmt = _usd if bars.money else _count
    parts = ", ".join(f"{s} {fmt(v)}" for s, v in zip(bars.series, row, strict=True) if v)
    return f"{label}: {parts}" if parts else label


@dataclass(frozen=True)
class _Plot:
    """Where a chart's parts go: the value range, the ticks and the pixel geometry."""

    low: float
    high: float
    ticks: list[float]
    left: float
    value_room: float
    band: float
    top: int
    plot_h: float
    width: int
    height: int

    def x(self, v: float) -> float:
        return self.left + (v - self.low) / (self.high - self.low) * WIDTH


def _plot(bars: Bars, labels: list[str], fmt: Callable[[float], str]) -> _Plot:
    values = bars.values
    if bars.grouped:
        low, high = min(0.0, values.min()), max(0.0, values.max())
    else:
        low = min(0.0, np.where(values < 0, values, 0).sum(axis=1).min())
        high = max(0.0, np.where(values > 0, values, 0).sum(axis=1).max())
    if high == low:
        high = low + 1
    ticks = _ticks(low, high, integer=not bars.money)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    value_room = 8 + CHAR_PX * max(len(fmt(v)) for v in (low, high, values.sum()))
    left = 8 + CHAR_PX * max(len(x) for x in labels) + (value_room if low < 0 else 0)
    band = ROW * (len(bars.series) if bars.grouped else 1) + (6 if bars.grouped else 0)
    top, plot_h = 6, band * len(labels)
    width = int(left + WIDTH + value_room)
    return _Plot(low, high, ticks, left, value_room, band, top, plot_h, width, int(plot_h + 50))


def _axis(plot: _Plot, axis_fmt: Callable[[float], str]) -> list[str]:
    bottom = plot.top + plot.plot_h
    return [
        f'<line x1="{plot.x(t):.1f}" x2="{plot.x(t):.1f}" y1="{plot.top}" y2="{bottom}" '
        f'stroke="{"#98a2b3" if t == 0 else "#e4e7ec"}"/>'
        f'<text x="{plot.x(t):.1f}" y="{bottom + 14}" text-anchor="middle" '
        f'fill="#5b6577">{escape(axis_fmt(t))}</text>'
        for t in plot.ticks
    ]


def _bar_row(bars: Bars, plot: _Plot, i: int, label: str, fmt: Callable[[float], str]) -> str:
    """One label's bars (stacked, or one per series when grouped) with their value texts."""
    row, y0 = bars.values[i], plot.top + i * plot.band
    label_x = plot.left - 6 - (plot.value_room if plot.low < 0 else 0)
    out = [
        f"<g><title>{_xml(_tooltip(bars, bars.labels[i], row))}</title>",
        f'<text x="{label_x:.1f}" y="{y0 + plot.band / 2 + 4:.1f}" text-anchor="end">'
        f"{_xml(label)}</text>",
    ]
    pos = neg = 0.0
    for j, v in enumerate(row):
        if not v:
            continue
        if bars.grouped:
            start, end, y, h = 0.0, v, y0 + 3 + j * ROW, ROW - 4
        elif v > 0:
            start, end, pos, y, h = pos, pos + v, pos + v, y0 + 3, ROW - 6
        else:
            start, end, neg, y, h = neg, neg + v, neg + v, y0 + 3, ROW - 6
        a, b = sorted((plot.x(start), plot.x(end)))
        out.append(
            f'<rect class="bar" x="{a:.1f}" y="{y:.1f}" width="{max(b - a, 1):.1f}" '
            f'height="{h}" fill="{bars.colors[j]}"/>'
        )
        if bars.grouped:
            out.append(_value_text(plot.x(v), y + h - 4, fmt(v), v < 0))
    if not bars.grouped:
        if pos or not neg:
            out.append(_value_text(plot.x(pos), y0 + plot.band / 2 + 4, fmt(pos), False))
        if neg:
            out.append(_value_text(plot.x(neg), y0 + plot.band / 2 + 4, fmt(neg), True))
    out.append("</g>")
    return "".join(out)


def _legend(bars: Bars, plot: _Plot) -> list[str]:
    legend_y, cursor, out = plot.top + plot.plot_h + 34, plot.left, []
    for name, color, used in zip(bars.series, bars.colors, bars.values.any(axis=0), strict=True):
        if not used:
            continue
        out.append(
            f'<rect x="{cursor:.1f}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{cursor + 14:.1f}" y="{legend_y}">{_xml(name)}</text>'
        )
        cursor += 24 + CHAR_PX * len(name)
    if bars.unit:
        out.append(
            f'<text x="{plot.left + WIDTH:.1f}" y="{legend_y}" text-anchor="end" '
            f'fill="#5b6577">{escape(bars.unit)}</text>'
        )
    return out


def svg_bars(bars: Bars, title: str) -> str:
    """The chart as an SVG element (labels escaped; sized to its rows)."""
    fmt: Callable[[float], str] = _usd if bars.money else _count
    labels = [_label(x) for x in bars.labels]
    plot = _plot(bars, labels, fmt)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plot.width}" height="{plot.height}" '
        f'viewBox="0 0 {plot.width} {plot.height}" role="img" aria-label="{escape(title)}" '
        f'style="{FONT};max-width:100%;height:auto">'
    )
    rows = [_bar_row(bars, plot, i, label, fmt) for i, label in enumerate(labels)]
    axis = _axis(plot, _usd_axis if bars.money else _count)
    return "".join([head, *axis, *rows, *_legend(bars, plot), "</svg>"])


def _value_text(at: float, y: float, text: str, left: bool) -> str:
    anchor, dx = ("end", -3) if left else ("start", 3)
    return (
        f'<text class="total" x="{at + dx:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
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


CHART_TITLES = {
    "by_rule": "Findings by rule",
    "impact_by_code": f"$ impact by HCPCS code (top {TOP_CODES}, then the others)",
    "by_payer": "Findings by payer type",
    "trend": "Findings per run (trend against the baseline)",
    "rule_change": "Rules whose count changed since the baseline",
}


def render_charts(
    findings: pd.DataFrame, history: list[dict] | None, current: dict | None
) -> dict[str, str | None]:
    """SVG per chart (None when a chart has no data): by_rule, impact_by_code, by_payer, and
    with a baseline trend and rule_change. `findings` must carry `payer_type`."""
    frames = {
        "by_rule": (findings_by_rule(findings), rule_bars),
        "impact_by_code": (impact_by_code(findings), impact_bars),
        "by_payer": (findings_by_payer(findings), payer_bars),
    }
    if history and current is not None:
        frames["trend"] = (trend_points(history, current), trend_bars)
        frames["rule_change"] = (rule_change(history[-1], current), change_bars)
    return {
        name: check_svg(svg_bars(build(data), CHART_TITLES[name])) if len(data) else None
        for name, (data, build) in frames.items()
    }
