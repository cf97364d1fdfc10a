"""Output safety: neutralise spreadsheet formulas in text cells (CSV/XLSX injection).

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return may be run as a
formula by a spreadsheet; such text is written with a leading apostrophe. Every text column is
escaped, categoricals included; numbers stay numbers.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(values: pd.Series) -> pd.Series:
    """Prefix a quote to text that a spreadsheet would execute (`=`, `+`, `-`, `@`, tab, CR)."""
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
    if not risky.any():
        return text
    return text.where(~risky, "'" + text)


def is_text_column(values: pd.Series) -> bool:
    """Text that reaches a cell: strings, objects and categoricals of text."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return pd.api.types.is_string_dtype(categories) or pd.api.types.is_object_dtype(categories)
    return pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)


def escape_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Escape every text column of a frame (categoricals once per category); numbers are left
    as numbers."""
    out = frame.copy()
    for name in out.columns:
        values = out[name]
        if not is_text_column(values):
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = pd.Series(values.cat.categories, dtype="object")
            risky = categories.astype("string").str.startswith(FORMULA_PREFIXES).fillna(False)
            if risky.any():
                out[name] = escape_formula(values)
            continue
        out[name] = escape_formula(values)
    return out
