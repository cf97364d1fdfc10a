"""The rule engine: run every enabled rule over the enriched lines and build the findings table.

Rules see only in-scope lines' verdicts (CPT codes are out of scope, counted, never findings).
A finding's id is a stable hash of (claim_id, line_number, rule_code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline.rules import effective_rules
from pipeline.rules.common import RuleContext

FINDING_COLUMNS = [
    "finding_id", "claim_id", "line_number", "rule_code", "rule_name", "severity", "category",
    "message", "hcpcs_code", "observed", "expected", "units_delta", "impact_usd", "citation",
]
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class RuleRun:
    findings: pd.DataFrame
    not_evaluated: dict[str, int] = field(default_factory=dict)
    evaluated: dict[str, int] = field(default_factory=dict)


def finding_ids(claim_id: pd.Series, line_number: pd.Series, rule_code: pd.Series) -> pd.Series:
    """Stable 16-hex-digit id from (claim_id, line_number, rule_code), vectorised."""
    key = claim_id.astype("string") + "\x1f" + line_number.astype("string") + "\x1f" + rule_code
    hashed = pd.util.hash_pandas_object(key.astype(object), index=False, encoding="utf8",
                                        hash_key="claims-audit-v1")
    return hashed.map("{:016x}".format).astype("string")


def _column(values: pd.Series | None, index: pd.Index, dtype: str) -> pd.Series:
    if values is None:
        return pd.Series(pd.NA, index=index, dtype=dtype)
    return values.reindex(index).astype(dtype)


def run_rules(lines: pd.DataFrame, ctx: RuleContext) -> RuleRun:
    """Evaluate every enabled rule; return sorted findings and per-rule coverage counts."""
    in_scope = lines["in_scope"]
    frames, not_evaluated, evaluated = [], {}, {}
    for r in effective_rules(ctx.config):
        flags = r.func(lines, ctx)
        ok = flags.evaluated if flags.evaluated is not None else pd.Series(True, index=lines.index)
        ok = ok.fillna(False).astype(bool) & in_scope
        evaluated[r.code] = int(ok.sum())
        not_evaluated[r.code] = int((in_scope & ~ok).sum())
        mask = flags.mask.fillna(False).astype(bool) & in_scope
        if not mask.any():
            continue
        rows = lines[mask]
        idx = rows.index
        frames.append(
            pd.DataFrame(
                {
                    "claim_id": rows["claim_id"].astype("string"),
                    "line_number": rows["line_number"].astype("int64"),
                    "rule_code": r.code,
                    "rule_name": r.name,
                    "severity": r.severity,
                    "category": r.category,
                    "message": flags.message(rows).astype("string"),
                    "hcpcs_code": rows["hcpcs_code"].astype("string"),
                    "observed": _column(flags.observed, idx, "string"),
                    "expected": _column(flags.expected, idx, "string"),
                    "units_delta": _column(flags.units_delta, idx, "float64").round(3),
                    "impact_usd": _column(flags.impact_usd, idx, "float64").round(2),
                    "citation": r.citation,
                },
                index=idx,
            )
        )
    if frames:
        findings = pd.concat(frames, ignore_index=True)
    else:
        findings = pd.DataFrame({c: pd.Series(dtype="string") for c in FINDING_COLUMNS})
        findings["line_number"] = findings["line_number"].astype("int64")
        for c in ("units_delta", "impact_usd"):
            findings[c] = findings[c].astype("float64")
    findings["finding_id"] = finding_ids(
        findings["claim_id"], findings["line_number"], findings["rule_code"].astype("string")
    )
    for c in ("rule_code", "rule_name", "severity", "category", "citation"):
        findings[c] = findings[c].astype("string")
    findings = findings[FINDING_COLUMNS].sort_values(
        ["claim_id", "line_number", "rule_code"], kind="stable"
    )
    return RuleRun(findings.reset_index(drop=True), not_evaluated, evaluated)
