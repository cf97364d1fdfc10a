"""Findings as the reports show them: joined to the line's payer type, ranked for a person."""

from __future__ import annotations

import pandas as pd

from claims_audit.columns import TEXT

UNKNOWN_PAYER = "unknown"
STATUS_ORDER = {"new": 0, "persisting": 1, "suppressed": 2}


def findings_with_payer(findings: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """The findings with `payer_type` from their claim line (`unknown` where the lines are not
    kept, as with the dask engine)."""
    out = findings.copy()
    keys = ["claim_id", "line_number"]
    if findings.empty or lines.empty or not {*keys, "payer_type"} <= set(lines.columns):
        out["payer_type"] = pd.Series(UNKNOWN_PAYER, index=out.index, dtype=TEXT)
        return out
    wanted = lines[lines["claim_id"].isin(findings["claim_id"].unique())]
    payer = wanted[[*keys, "payer_type"]].astype({"claim_id": TEXT, "payer_type": TEXT})
    joined = (
        out[keys]
        .astype({"claim_id": TEXT})
        .merge(payer.drop_duplicates(keys), on=keys, how="left", validate="many_to_one")
    )
    out["payer_type"] = joined["payer_type"].fillna(UNKNOWN_PAYER).to_numpy()
    return out


def ranked_findings(findings: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Findings in the order a person reads them: new before persisting before suppressed (when
    compared with a baseline), then largest |$ impact|, errors first, then claim order."""
    keys = {
        "_status": findings["status"].map(STATUS_ORDER).fillna(3) if "status" in findings else 0,
        "_abs": findings["impact_usd"].abs().fillna(-1),
        "_sev": (findings["severity"] == "error").astype(int),
    }
    ranked = findings.assign(**keys).sort_values(
        ["_status", "_abs", "_sev", "claim_id", "line_number", "rule_code"],
        ascending=[True, False, False, True, True, True],
        kind="stable",
    )
    ranked = ranked.drop(columns=list(keys))
    return ranked if limit is None else ranked.head(limit)
