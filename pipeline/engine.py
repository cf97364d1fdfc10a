"""The rule engine: run every enabled rule over the enriched lines and build the findings table.

Rules see only in-scope lines' verdicts (CPT codes are out of scope, counted, never findings).
A finding's id is a stable hash of (claim_id, line_number, rule_code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.columns import TEXT, as_text
from pipeline.rules import effective_rules
from pipeline.rules.common import RuleContext, fmt_date, fmt_num

FINDING_COLUMNS = [
    "finding_id",
    "claim_id",
    "line_number",
    "rule_code",
    "rule_name",
    "severity",
    "category",
    "message",
    "hcpcs_code",
    "observed",
    "expected",
    "units_delta",
    "impact_usd",
    "citation",
]
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class RuleRun:
    findings: pd.DataFrame
    not_evaluated: dict[str, int] = field(default_factory=dict)
    evaluated: dict[str, int] = field(default_factory=dict)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SHIFTS = np.arange(60, -1, -4, dtype=np.uint64)


def finding_ids(claim_id: pd.Series, line_number: pd.Series, rule_code: pd.Series) -> pd.Series:
    """Stable 16-hex-digit id from (claim_id, line_number, rule_code), vectorised."""
    key = pd.DataFrame(
        {
            "claim_id": claim_id.astype(object),
            "line_number": line_number.astype("int64"),
            "rule_code": rule_code.astype(object),
        }
    )
    hashed = pd.util.hash_pandas_object(key, index=False, hash_key="claims-audit-v01")
    nibbles = (hashed.to_numpy()[:, None] >> _SHIFTS) & np.uint64(15)
    digits = _HEX[nibbles.astype(np.uint8)].view("S16").ravel()
    text = pa.array(digits, type=pa.binary(16)).cast(pa.string())
    return pd.Series(text, index=claim_id.index, dtype=TEXT)


def _bool(values) -> np.ndarray:
    """A mask as a plain numpy bool array (NA counts as False)."""
    if isinstance(values, pd.Series):
        return (
            values.fillna(False).to_numpy(dtype=bool)
            if values.hasnans
            else values.to_numpy(dtype=bool)
        )
    return np.asarray(values, dtype=bool)


class FlaggedRows:
    """The flagged rows of the lines, read column by column as text (categoricals and objects
    converted on first access only): what a rule's message and value callables receive."""

    def __init__(self, lines: pd.DataFrame, positions: np.ndarray):
        self._lines, self._pos = lines, positions
        self.index = lines.index[positions]
        self._cache: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._cache:
            col = self._lines[name]
            values = pd.Series(col.array.take(self._pos), index=self.index, name=name)
            if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
                values = as_text(values)
            self._cache[name] = values
        return self._cache[name]

    def pick(self, values: pd.Series) -> pd.Series:
        """The flagged rows' entries of a full-length Series computed by the rule."""
        return pd.Series(values.array.take(self._pos), index=self.index, name=values.name)

    def __len__(self) -> int:
        return len(self._pos)


def _values(spec, rows: FlaggedRows, kind: str) -> pd.Series:
    """A Flags field for the flagged rows: None, a constant, a callable of the rows, or a
    full-length Series (numbers are formatted here, on the few flagged rows only)."""
    if spec is None:
        return pd.Series(None, index=rows.index, dtype=TEXT if kind == "text" else kind)
    if isinstance(spec, str):
        return pd.Series(spec, index=rows.index, dtype=TEXT)
    values = spec(rows) if callable(spec) else rows.pick(spec)
    if kind == "float64":
        return pd.Series(values, index=rows.index).astype("float64")
    values = pd.Series(values, index=rows.index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return fmt_num(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        return fmt_date(values)
    return as_text(values)


def run_rules(lines: pd.DataFrame, ctx: RuleContext) -> RuleRun:
    """Evaluate every enabled rule; return sorted findings and per-rule coverage counts."""
    in_scope = lines["in_scope"].to_numpy(dtype=bool)
    frames, not_evaluated, evaluated = [], {}, {}
    for r in effective_rules(ctx.config):
        flags = r.func(lines, ctx)
        ok = in_scope if flags.evaluated is None else _bool(flags.evaluated) & in_scope
        evaluated[r.code] = int(ok.sum())
        not_evaluated[r.code] = int((in_scope & ~ok).sum())
        positions = np.flatnonzero(_bool(flags.mask) & in_scope)
        if not len(positions):
            continue
        rows = FlaggedRows(lines, positions)
        frames.append(
            pd.DataFrame(
                {
                    "claim_id": rows["claim_id"].astype(TEXT),
                    "line_number": rows["line_number"].astype("int64"),
                    "rule_code": r.code,
                    "rule_name": r.name,
                    "severity": r.severity,
                    "category": r.category,
                    "message": _values(flags.message, rows, "text"),
                    "hcpcs_code": rows["hcpcs_code"].astype(TEXT),
                    "observed": _values(flags.observed, rows, "text"),
                    "expected": _values(flags.expected, rows, "text"),
                    "units_delta": _values(flags.units_delta, rows, "float64").round(3),
                    "impact_usd": _values(flags.impact_usd, rows, "float64").round(2),
                    "citation": r.citation,
                },
                index=rows.index,
            )
        )
    findings = pd.concat(frames, ignore_index=True) if frames else empty_findings()
    findings["finding_id"] = finding_ids(
        findings["claim_id"], findings["line_number"], findings["rule_code"].astype(TEXT)
    )
    for c in ("rule_code", "rule_name", "severity", "category", "citation"):
        findings[c] = findings[c].astype(TEXT)
    return RuleRun(sort_findings(findings[FINDING_COLUMNS]), not_evaluated, evaluated)


def empty_findings() -> pd.DataFrame:
    findings = pd.DataFrame({c: pd.Series(dtype=TEXT) for c in FINDING_COLUMNS})
    findings["line_number"] = findings["line_number"].astype("int64")
    for c in ("units_delta", "impact_usd"):
        findings[c] = findings[c].astype("float64")
    return findings


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings in report order: by claim, line and rule (one finding per rule and line)."""
    ordered = findings.sort_values(["claim_id", "line_number", "rule_code"], kind="stable")
    return ordered.reset_index(drop=True)


def merge_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The findings of several batches as one table, in report order."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_findings()
    if len(frames) == 1:
        return frames[0]  # run_rules already sorted it
    return sort_findings(pd.concat(frames, ignore_index=True)[FINDING_COLUMNS])
