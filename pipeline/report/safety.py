"""Output safety: neutralise spreadsheet formulas in text cells."""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(values: pd.Series) -> pd.Series:
    """Prefix a quote to text that a spreadsheet would execute (`=`, `+`, `-`, `@`, tab, CR)."""
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
    return text.where(~risky, "'" + text)


def escape_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Escape every text column of a frame; numbers are left as numbers."""
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_string_dtype(out[name]) or out[name].dtype == object:
            out[name] = escape_formula(out[name])
    return out
