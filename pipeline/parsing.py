"""Vectorised parsers for claim fields: NDC, dates, modifiers, amounts, money and units.

One place for each idea: every stage that needs an NDC normalised or a modifier list split
calls these functions. All take and return pandas Series; none loops over rows in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pd.StringDtype("pyarrow")  # Arrow-backed text: string kernels run in C++
# `to_pandas(types_mapper=TEXT_TYPES.get)`: Arrow text comes back as TEXT
TEXT_TYPES = {pa.string(): TEXT, pa.large_string(): TEXT}
ARROW_TEXT = pa.large_string()  # the Arrow type TEXT holds: kernels on it need no cast


def arrow_text(values: pd.Series) -> pa.Array:
    """A Series as one Arrow `ARROW_TEXT` array (NA as null), for the Arrow string kernels."""
    text = pa.array(values.astype(TEXT).array)
    if text.type != ARROW_TEXT:
        text = text.cast(ARROW_TEXT)
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


_GROUP = re.compile(r"(?<!\\)\((?!\?)")  # an unnamed capturing group's opening parenthesis


def extract(values: pd.Series, pattern: str) -> pd.DataFrame:
    """`Series.str.extract(pattern)` in one Arrow kernel (pandas runs it in Python per value):
    one text column per capturing group (0, 1, ...), NA where the pattern does not match."""
    groups = extract_groups(arrow_text(values), pattern)
    columns = {k: pd.Series(part, index=values.index, dtype=TEXT) for k, part in enumerate(groups)}
    return pd.DataFrame(columns, index=values.index)


def extract_groups(text: pa.Array, pattern: str) -> list[pa.Array]:
    """`extract` on Arrow text: one Arrow text array per capturing group, null where the
    pattern does not match."""
    count = iter(range(pattern.count("(")))
    named = _GROUP.sub(lambda _: f"(?P<g{next(count)}>", pattern)
    return pc.extract_regex(text, pattern=named).flatten()  # null where no match


# -- NDC ---------------------------------------------------------------------------------

# digits are ASCII `[0-9]`, never `\d`: on Unicode text `\d` also matches Arabic-Indic and
# other decimal digits, which no code, NDC, date or amount of a claim holds
_NDC_PREFIX = r"^(?:[Nn]4[ ]?)?"  # 837 / CMS-1500 style: N4 before the NDC
_NDC_PLAIN = _NDC_PREFIX + r"([0-9]{11})$"
_NDC_SEGMENTED = _NDC_PREFIX + r"([0-9]{4,5})[-. ]([0-9]{3,4})[-. ]([0-9]{1,2})$"


def normalize_ndc(values: pd.Series) -> pd.Series:
    """Return NDCs as 11 digits in 5-4-2 form (`00781-3422-92`), or NA when not convertible.

    Accepted (SPEC 3): 11 digits, or 5-4-2, 4-4-2, 5-3-2, 5-4-1 segments separated by hyphens,
    spaces or dots (the short segment is padded with a leading zero), each optionally after an
    `N4` prefix (837 / CMS-1500 style: `N400781342292`). An unsegmented 10-digit NDC is
    ambiguous: NA; so is anything holding other than ASCII digits.
    """
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NA, index=values.index, dtype="string")

    plain = extract(text, _NDC_PLAIN)[0]
    hit = plain.notna()
    p = plain[hit]
    out[hit] = p.str[:5] + "-" + p.str[5:9] + "-" + p.str[9:]

    parts = extract(text, _NDC_SEGMENTED)
    lengths = parts.apply(lambda col: col.str.len()).astype("Int64")  # column-wise, 3 calls
    total = lengths.sum(axis=1, min_count=3)
    # exactly one segment short: 4-4-2, 5-3-2 or 5-4-1; or already 5-4-2
    ok = (total == 10) | ((lengths[0] == 5) & (lengths[1] == 4) & (lengths[2] == 2))
    ok = ok.fillna(False).astype(bool)
    seg = parts[ok]
    out[ok] = seg[0].str.zfill(5) + "-" + seg[1].str.zfill(4) + "-" + seg[2].str.zfill(2)
    return out


# -- dates -------------------------------------------------------------------------------

_DATE_FORMATS = (
    (r"^([0-9]{4})-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"),
    (r"^[0-9]{1,2}/[0-9]{1,2}/([0-9]{4})$", "%m/%d/%Y"),
    (r"^([0-9]{4})[0-9]{4}$", "%Y%m%d"),
)
# the years a claim's dates may fall in (SPEC 3: dates outside are V004); inside pandas'
# nanosecond range, so no date arithmetic downstream can overflow
FIRST_YEAR, LAST_YEAR = 1900, 2100


def parse_dates(values: pd.Series, formats: tuple[str, ...] | list[str] = ()) -> pd.Series:
    """Parse ISO `YYYY-MM-DD`, `MM/DD/YYYY` and `YYYYMMDD`, then the strptime `formats` of the
    config (`[policy] date_formats`, e.g. `%m/%d/%y`, in order, on what is still unparsed);
    anything else (or an impossible date) is NaT, as is a date outside FIRST_YEAR..LAST_YEAR
    (`date_out_of_range` tells which for the built-in formats). Values that are already dates
    keep their calendar date (time of day and time zone dropped). A two-digit year is never
    read by default (ambiguous); `%y` reads 00-68 as 2000-2068 and 69-99 as 1969-1999."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)  # the wall-clock date where it was recorded
        inside = (values.dt.year >= FIRST_YEAR) & (values.dt.year <= LAST_YEAR)
        return values.where(inside).astype("datetime64[ns]").dt.normalize()
    text = pc.utf8_trim_whitespace(arrow_text(values))
    rows = pd.Series(text, dtype=TEXT)  # what strptime parses (by position)
    hits, outside = _date_forms(text)
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    for (_, fmt), hit in zip(_DATE_FORMATS, hits, strict=True):
        hit &= ~outside
        if hit.any():
            found = pd.to_datetime(rows[hit], format=fmt, errors="coerce")
            out[hit] = found.to_numpy(dtype="datetime64[ns]")
    if formats:
        _parse_config_dates(rows, outside, formats, out)
    return pd.Series(out, index=values.index)


def _parse_config_dates(rows: pd.Series, outside: np.ndarray, formats, out: np.ndarray) -> None:
    """`parse_dates`' second step: the config's strptime `formats`, in order, on the trimmed
    text that is still unparsed (`out` NaT) and has no built-in format's out-of-range year;
    a date outside FIRST_YEAR..LAST_YEAR stays NaT. Fills `out` in place."""
    text = arrow_text(rows)
    # ASCII digits only: strptime would read other decimal digits too
    other = pc.fill_null(pc.match_substring_regex(text, r"[^\x00-\x7f]"), True)
    readable = ~other.to_numpy(zero_copy_only=False) & ~outside
    for fmt in formats:
        todo = np.isnat(out) & readable
        if not todo.any():
            break
        found = pd.to_datetime(rows[todo], format=fmt, errors="coerce")
        inside = (found.dt.year >= FIRST_YEAR) & (found.dt.year <= LAST_YEAR)
        out[todo] = found.where(inside).to_numpy(dtype="datetime64[ns]")


def date_out_of_range(values: pd.Series) -> pd.Series:
    """True where the text has a date format (`parse_dates`) but a year outside
    FIRST_YEAR..LAST_YEAR (`9999-12-31`, `01/01/1678`): a V004, not an unparseable date."""
    text = pc.utf8_trim_whitespace(arrow_text(values))
    return pd.Series(_date_forms(text)[1], index=values.index)


def _date_forms(text: pa.Array) -> tuple[list[np.ndarray], np.ndarray]:
    """Where the trimmed `text` has each built-in date format (`_DATE_FORMATS` order), and where
    it has one with a year outside FIRST_YEAR..LAST_YEAR."""
    hits, years = [], np.full(len(text), np.nan)
    for pattern, _ in _DATE_FORMATS:
        year = pc.cast(extract_groups(text, pattern)[0], pa.float64())
        year = year.to_numpy(zero_copy_only=False)  # NaN where the format does not match
        hits.append(~np.isnan(year))
        years = np.where(np.isnan(years), year, years)
    return hits, (years < FIRST_YEAR) | (years > LAST_YEAR)  # NaN: neither


# -- numbers -----------------------------------------------------------------------------


_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"  # ASCII digits only


def parse_decimal(values: pd.Series) -> pd.Series:
    """Parse plain decimals (`12`, `12.5`, `-3`, `.5`); anything else is NaN. Numbers pass."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    number = _trimmed_decimals(arrow_text(values))[1]
    return pd.Series(number, index=values.index, dtype="float64")


def _trimmed_decimals(text: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The text trimmed of surrounding whitespace, and its `_decimals`. Arrow reads no value
    with surrounding whitespace as a number, so when it reads every value as it is, the text
    is its own trim and the trim (a copy of every string) is skipped."""
    try:
        number = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        text = pc.utf8_trim_whitespace(text)
        return (text, *_decimals(text))
    return (text, *_decimals(text, number))


def _decimals(text: pa.Array, number: pa.Array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Trimmed Arrow text as float64: the plain decimals parsed by Arrow (correctly rounded),
    anything else NaN; and where the text is a plain decimal. `number`: the text already cast
    to float64 (when that succeeded)."""
    try:  # Arrow reads exactly the plain decimals, and the words `inf`, `nan`, `infinity`
        if number is None:
            number = pc.cast(text, pa.float64())
        number = number.to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # text that is no number at all: only the plain decimals parse
        ok = pc.fill_null(pc.match_substring_regex(text, f"^({_NUMBER})$"), False)
        number = pc.cast(pc.if_else(ok, text, pa.scalar(None, text.type)), pa.float64())
        return number.to_numpy(zero_copy_only=False), ok.to_numpy(zero_copy_only=False)
    ok = ~text.is_null().to_numpy(zero_copy_only=False)
    words = ok & ~np.isfinite(number)  # `1e400` is a decimal (infinite), `inf` a word
    if words.any():
        decimal = pc.match_substring_regex(text.filter(pa.array(words)), f"^({_NUMBER})$")
        ok[words] = decimal.to_numpy(zero_copy_only=False)
        number = np.where(ok, number, np.nan)
    return number, ok


# an amount of money as exports write it: an optional sign, then an optional `$`, then digits
# with or without comma thousands separators (groups of exactly three), an optional fraction.
# `$1,185.00`, `-$3.50`, `1185` pass; `$-3.50`, `1,18.5`, `1.185,00`, `USD 3` do not
_MONEY = r"([+-]?)\$?((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"


def parse_money(values: pd.Series) -> pd.Series:
    """Parse amounts of money: what `parse_decimal` takes, plus a `$` after the optional sign
    and comma thousands separators (`$1,185.00` = 1185.0, `-$3.50` = -3.5); ASCII digits
    only, anything else NaN. Numbers pass."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text, number, plain = _trimmed_decimals(arrow_text(values))
    other = ~plain & ~text.is_null().to_numpy(zero_copy_only=False)
    if other.any():  # a decimal has no `$` or comma; an amount without them is a decimal
        rest = text.filter(pa.array(other))
        amount = pc.match_substring_regex(rest, f"^({_MONEY})$")
        rest = pc.replace_substring(pc.replace_substring(rest, "$", ""), ",", "")
        number = number.copy()
        number[other] = _decimals(pc.if_else(amount, rest, pa.scalar(None, rest.type)))[0]
    return pd.Series(number, index=values.index, dtype="float64")


# -- modifiers and code lists ------------------------------------------------------------

MAX_MODIFIERS = 4
# longest list split: an institutional claim carries at most 25 diagnosis codes. A longer list
# (a 64 KiB field of `A,A,A...`) would make a frame as wide as the list: it is NA instead, and
# validation rejects it (V004)
MAX_LIST_ENTRIES = 25
_SEPARATORS = r"[\s,:|;]+"


def count_codes(values: pd.Series) -> pd.Series:
    """Number of entries of a list field (0 when empty)."""
    text = values.astype("string").str.replace(_SEPARATORS, " ", regex=True).str.strip()
    return (text.str.count(" ") + 1).where(text.fillna("") != "", 0).fillna(0).astype("int64")


def split_codes(values: pd.Series, width: int | None = None) -> pd.DataFrame:
    """Split a list field on space, comma, colon or pipe into upper-case columns (NA padded).
    A list of more than MAX_LIST_ENTRIES entries is NA."""
    text = values.astype("string").str.upper().str.replace(_SEPARATORS, " ", regex=True).str.strip()
    text = text.where(text.str.count(" ").fillna(0) < MAX_LIST_ENTRIES)
    parts = text.str.split(" ", expand=True)
    if parts.shape[1] == 0 or (parts.shape[1] == 1 and text.isna().all()):
        parts = pd.DataFrame(index=values.index, columns=[0], dtype="string")
    parts = parts.astype("string").replace("", pd.NA)
    if width is not None:
        parts = parts.reindex(columns=range(max(width, parts.shape[1])))
    return parts


def normalize_code_list(values: pd.Series) -> pd.Series:
    """Canonical list text: upper case, single spaces, sorted entries (`JW,59` -> `59 JW`)."""
    parts = split_codes(values)
    arr = parts.to_numpy(dtype=object, na_value="\uffff")
    arr.sort(axis=1)  # the NA marker sorts last
    joined = np.full(len(arr), "", dtype=object)
    for i in range(arr.shape[1]):  # at most a handful of columns, each a numpy object op
        entry = arr[:, i]  # no entry holds whitespace: the separators were replaced
        spaced = np.where(joined == "", entry, joined + " " + entry)
        joined = np.where(entry == "\uffff", joined, spaced)
    return pd.Series(joined, index=values.index, dtype="string").where(joined != "", pd.NA)


def normalize_diagnosis_codes(values: pd.Series) -> pd.Series:
    """ICD-10-CM code list in canonical form: dots removed (`C34.11` = `C3411`), then as
    `normalize_code_list` (upper case, sorted entries, single spaces)."""
    return normalize_code_list(values.astype("string").str.replace(".", "", regex=False))


def has_code(values: pd.Series, code: str) -> pd.Series:
    """True where the list field contains `code` as a whole entry."""
    text = " " + values.astype("string").fillna("") + " "
    return text.str.contains(f" {code} ", regex=False).astype(bool)


# -- amounts and units -------------------------------------------------------------------

# administered_unit spellings (upper case) -> canonical unit
UNIT_SPELLINGS: dict[str, str] = {
    "MG": "mg",
    "MCG": "mcg",
    "UG": "mcg",
    "G": "g",
    "GM": "g",
    "ML": "mL",
    "UNITS": "units",
    "UNIT": "units",
    "U": "units",
    "IU": "units",
}
# canonical unit -> (family, factor to the family's base unit)
BILLING_UNIT_TO_BASE: dict[str, tuple[str, float]] = {
    "mg": ("mg", 1.0),
    "mcg": ("mg", 0.001),
    "g": ("mg", 1000.0),
    "units": ("units", 1.0),
    "mL": ("mL", 1.0),
}


def normalize_unit(values: pd.Series) -> pd.Series:
    """Canonical administered unit (`mg`, `mcg`, `g`, `units`, `mL`) or NA when unknown."""
    return values.astype("string").str.strip().str.upper().map(UNIT_SPELLINGS).astype("string")


def to_billing_units(
    amount: pd.Series, unit: pd.Series, billing_amount: pd.Series, billing_unit: pd.Series
) -> pd.Series:
    """Amount expressed in (fractional) billing units of the code; NaN where not comparable.

    `unit` and `billing_unit` are canonical (`normalize_unit`). g = 1000 mg, mg = 1000 mcg,
    IU = units; mL only against mL descriptors; anything else is NaN ("not evaluated").
    """
    return billing_units_of([amount], unit, billing_amount, billing_unit)[0]


def billing_units_of(
    amounts: list[pd.Series], unit: pd.Series, billing_amount: pd.Series, billing_unit: pd.Series
) -> list[pd.Series]:
    """`to_billing_units` of several amounts given in the same `unit` (a line's dose and its
    waste): the units' families and factors are looked up once for all."""
    families = sorted({family for family, _ in BILLING_UNIT_TO_BASE.values()})
    family = {k: float(families.index(v[0])) for k, v in BILLING_UNIT_TO_BASE.items()}
    factor = {k: v[1] for k, v in BILLING_UNIT_TO_BASE.items()}
    # the unit family as a number (NaN: unknown), mapped once per category of a categorical
    same = _per_unit(unit, family) == _per_unit(billing_unit, family)  # NaN equals nothing
    unit_factor = _per_unit(unit, factor)
    per = billing_amount.to_numpy(dtype="float64", na_value=np.nan) * _per_unit(
        billing_unit, factor
    )
    out = []
    for amount in amounts:  # a handful of columns, each a numpy operation
        given = amount.to_numpy(dtype="float64", na_value=np.nan) * unit_factor
        with np.errstate(divide="ignore", invalid="ignore"):  # as pandas: x/0 is inf, 0/0 NaN
            value = given / per
        out.append(pd.Series(np.where(same, value, np.nan), index=amount.index))
    return out


def _per_unit(unit: pd.Series, table: dict[str, float]) -> np.ndarray:
    """Per row, the number `table` gives its unit (NaN: none); a categorical's categories are
    looked up once and taken to the rows by code."""
    if not isinstance(unit.dtype, pd.CategoricalDtype):
        return unit.map(table).astype("float64").to_numpy()
    per_category = pd.Series(unit.cat.categories).map(table).astype("float64").to_numpy()
    return np.append(per_category, np.nan)[unit.cat.codes.to_numpy()]  # code -1 (NA): NaN


ROUNDING_POLICIES = ("up", "nearest", "exact")
_EPS = 1e-9


def round_units(value: pd.Series, policy: str = "up") -> pd.Series:
    """Whole billable units: `up` = ceil (CMS), `nearest` = half up, `exact` = floor."""
    if isinstance(value, pd.Series):
        v = value.astype("float64")
    else:  # an array: no copy when it is float64 already
        v = np.asarray(value, dtype="float64")
    if policy == "up":
        return np.ceil(v - _EPS)
    if policy == "nearest":
        return np.floor(v + 0.5 + _EPS)
    if policy == "exact":
        return np.floor(v + _EPS)
    raise ValueError(f"unknown rounding policy {policy!r}")
