"""Masking of PHI (patient identifiers) for everything a person may read: reports, rejects, logs."""

from __future__ import annotations

import pandas as pd


def mask_id(values: pd.Series, keep: int = 4) -> pd.Series:
    """`P***1234` style: first character, stars, last `keep` characters (all stars when short)."""
    text = values.astype("string")
    short = text.str.len() <= keep + 1
    masked = text.str[:1] + "***" + text.str[-keep:]
    return masked.where(~short, "***").where(text.notna(), pd.NA)
