"""Findings as the reports show them: joined to the line's payer type, ranked for a person."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import TEXT
from claims_audit.parsing import arrow_text

UNKNOWN_PAYER = "unknown"
STATUS_ORDER = {"new": 0, "persisting": 1, "suppressed": 2}


def findings_with_payer(findings: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """The findings with `payer_type` from their claim line (`unknown` where the lines are not
    kept, as with the dask engine, or the payer is missing)."""
    out = findings.copy()
    keys = ["claim_id", "line_number"]
    if findings.empty or lines.empty or not {*keys, "payer_type"} <= set(lines.columns):
        out["payer_type"] = pd.Series(UNKNOWN_PAYER, index=out.index, dtype=TEXT)
        return out
    at = line_positions(lines, findings)
    payer = pc.take(arrow_text(lines["payer_type"]), pa.array(at, mask=at < 0))
    out["payer_type"] = pd.Series(payer.fill_null(UNKNOWN_PAYER), dtype=TEXT).to_numpy()
    return out


def line_positions(lines: pd.DataFrame, findings: pd.DataFrame) -> np.ndarray:
    """Per finding, the row of `lines` with its (claim_id, line_number), the first such row
    (-1: none): both keys as integer codes over the two frames (Arrow dictionary encoding of the
    claims, numpy for the rest), one sorted search."""
    claims = pa.chunked_array([arrow_text(lines["claim_id"]), arrow_text(findings["claim_id"])])
    codes = pc.dictionary_encode(claims, null_encoding="encode").combine_chunks().indices
    claim = codes.to_numpy(zero_copy_only=False)
    numbers = np.concatenate([_line_numbers(lines), _line_numbers(findings)])
    line = np.unique(numbers, return_inverse=True)[1].reshape(-1)
    key = claim.astype(np.int64) * (int(line.max()) + 1) + line
    mine, theirs = key[: len(lines)], key[len(lines) :]
    known, first = np.unique(mine, return_index=True)
    at = np.searchsorted(known, theirs).clip(max=len(known) - 1)
    return np.where(known[at] == theirs, first[at], -1)


def _line_numbers(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(frame["line_number"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )


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
