"""Output safety: neutralise spreadsheet formulas in text cells (CSV/XLSX injection), and make
any text the validator lets through writable to XLSX.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return may be run as a
formula by a spreadsheet; such text is written with a leading apostrophe. Every text column is
escaped, categoricals included; numbers stay numbers.

XLSX (XML 1.0) cannot hold the C0 control characters other than tab, LF and CR (openpyxl raises
IllegalCharacterError), nor U+FFFE, U+FFFF or a lone surrogate; Excel refuses a cell of more than
32,767 characters. For XLSX a control character is shown as its Unicode control picture (NUL ->
U+2400, U+0001 -> U+2401, ...), the others as U+FFFD, and a longer text is cut with a note. This
runs before the formula escaping, so a value such as "\\x01=1+1" can never become a formula.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
XLSX_MAX_CELL = 32_767
XLSX_CUT_NOTE = " ...(cut: longer than Excel's 32,767 characters per cell)"
_XLSX_TABLE = {
    **{c: 0x2400 + c for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]},
    **{c: 0xFFFD for c in [*range(0xD800, 0xE000), 0xFFFE, 0xFFFF]},
}


def escape_formula(values: pd.Series) -> pd.Series:
    """Prefix a quote to text that a spreadsheet would execute (`=`, `+`, `-`, `@`, tab, CR)."""
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
    if not risky.any():
        return text
    return text.where(~risky, "'" + text)


def xlsx_text(values: pd.Series) -> pd.Series:
    """Text that XLSX can hold: forbidden characters replaced (control pictures, U+FFFD) and
    cells cut at Excel's limit with a note. Missing values stay missing."""
    text = values.astype("string")
    illegal = text.str.contains(XLSX_ILLEGAL, regex=True).fillna(False).astype(bool)
    if illegal.any():
        text = text.where(~illegal, text.str.translate(_XLSX_TABLE))
    long = text.str.len().gt(XLSX_MAX_CELL).fillna(False).astype(bool)
    if long.any():
        cut = text.str.slice(0, XLSX_MAX_CELL - len(XLSX_CUT_NOTE)) + XLSX_CUT_NOTE
        text = text.where(~long, cut)
    return text


def is_text_column(values: pd.Series) -> bool:
    """Text that reaches a cell: strings, objects and categoricals of text."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return pd.api.types.is_string_dtype(categories) or pd.api.types.is_object_dtype(categories)
    return pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)


def escape_text_columns(frame: pd.DataFrame, xlsx: bool = False) -> pd.DataFrame:
    """Escape every text column of a frame (categoricals once per category); numbers are left
    as numbers. `xlsx`: also make the text writable to XLSX (`xlsx_text`), first."""
    out = frame.copy()
    for name in out.columns:
        values = out[name]
        if not is_text_column(values):
            continue
        if xlsx:
            out[name] = escape_formula(xlsx_text(values))
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = pd.Series(values.cat.categories, dtype="object")
            risky = categories.astype("string").str.startswith(FORMULA_PREFIXES).fillna(False)
            if risky.any():
                out[name] = escape_formula(values)
            continue
        out[name] = escape_formula(values)
    return out
