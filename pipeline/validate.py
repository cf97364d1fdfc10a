"""Validate: type every canonical column and check it against the pandera schema.

Rows that fail go to rejects with a reason code (V002 empty required value, V003 unparseable,
V004 out of range / not allowed, V005 duplicate claim line); good rows go on, typed.
Nothing is dropped without a reject record.

Ranges (V004): dates within FIRST_YEAR..LAST_YEAR (1900-2100), whole numbers below 2^53, other
numbers finite, at most MAX_NUMBER (1e9) and no positive value below MIN_POSITIVE (1e-6). Every
file reaches validation as canonical text (`claims_audit.ingest`), so the verdict on a row is the
same whichever files it is combined with (V005 duplicates across files aside).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow.compute as pc

from claims_audit.columns import (
    as_category,
    codes_of,
    concat_frames,
    distinct_text,
    is_categorical,
    pair_ids,
    recode,
    sorted_codes,
)
from claims_audit.ingest import RawInput
from claims_audit.parsing import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_LIST_ENTRIES,
    TEXT,
    arrow_text,
    count_codes,
    date_out_of_range,
    normalize_code_list,
    normalize_diagnosis_codes,
    normalize_unit,
    parse_dates,
    parse_decimal,
    parse_money,
)
from claims_audit.privacy import PHI_FLAG, phi_rejects
from claims_audit.rejects import REJECT_COLUMNS
from claims_audit.schemas.claims import FIELD_META, FIELDS, MAX_NUMBER, MIN_POSITIVE, SCHEMA

REASONS = {
    "V001": "required column missing",
    "V002": "required value is empty",
    "V003": "value cannot be parsed",
    "V004": "value out of range or not allowed",
    "V005": "duplicate (claim_id, line_number)",
    "V006": "undecodable bytes or malformed CSV record",
}
_PRIORITY = {"V006": 0, "V003": 1, "V002": 2, "V004": 3, "V005": 4}
_PARSERS = {
    "decimal": parse_decimal,
    "money": parse_money,
    "int": parse_decimal,
    "date": parse_dates,
}
_MAX_INT = 2.0**53  # whole numbers beyond this are not exact as float64


@dataclass
class Validated:
    lines: pd.DataFrame  # ClaimLines columns + source_file, source_row
    rejects: pd.DataFrame  # REJECT_COLUMNS
    rows_rejected: dict[str, int]  # per source_file


def _reject_records(raw: pd.DataFrame, index: pd.Index, column: str, code: str, why: str):
    rows = raw.loc[index]
    value = rows[column].astype("string") if column in rows else pd.Series(pd.NA, index=index)
    return pd.DataFrame(
        {
            "source_file": rows["source_file"].astype("string"),
            "source_row": rows["source_row"],
            "column": column,
            "value": value.fillna("").str.slice(0, 200),
            "reason_code": code,
            "message": rows["source_file"].astype("string")
            + " row "
            + rows["source_row"].astype("string")
            + f" column {column}: {why}",
        },
        index=index,
    )


def _fill_default(values: pd.Series, default: str) -> pd.Series:
    if is_categorical(values) and default not in values.cat.categories:
        values = values.cat.add_categories([default])
    return values.fillna(default)


def _text_rule(meta: dict):
    """The per-value normalisation of a text column: case folding, or code-list / unit forms."""
    kind, case = meta["kind"], meta.get("case")
    if kind == "unit":
        return normalize_unit
    if kind == "codes":
        return normalize_code_list
    if case == "lower":
        return lambda c: c.str.lower()
    if case == "upper":
        return lambda c: c.str.upper()
    return None


def map_values(raw: pd.DataFrame, values: dict[str, dict[str, str]] | None) -> pd.DataFrame:
    """The config's `[values]` applied: per column, a source value (trimmed, lower-cased) found
    in the column's table becomes its canonical value; other values stay as they are. Once per
    distinct value (the columns are categoricals); the frame is not modified in place."""
    if not values:
        return raw
    raw = raw.copy(deep=False)
    for name, mapping in values.items():
        if name not in raw.columns:
            continue
        table = pd.Series(mapping, dtype=object)

        def mapped(cats: pd.Series, table=table) -> pd.Series:
            found = cats.str.strip().str.lower().astype(object).map(table)
            return found.where(found.notna(), cats.astype(object))

        raw[name] = recode(raw[name], mapped)
    return raw


@dataclass
class TypedColumns:
    """What `type_columns` makes of the raw lines."""

    frame: pd.DataFrame  # every canonical column, typed (the raw frame's index)
    problems: list[pd.DataFrame]  # the V002/V003/V004 rejects found while typing
    # per parsed (number or date) column: its typed distinct values, and each row's position
    # among them, so the schema checks a value once (`schema_failures`)
    distinct: dict[str, tuple[pd.Series, np.ndarray]]


def type_columns(raw: pd.DataFrame, date_formats: tuple[str, ...] | list[str] = ()) -> TypedColumns:
    """Parse every canonical column to its type, once per distinct value: the typed frame, the
    V002/V003 (unparseable)/V004 (out of range, unit not allowed) rejects, and the parsed
    columns' typed distinct values. `date_formats`: the strptime formats the config adds to the
    built-in date formats (`parse_dates`)."""
    parsers = dict(_PARSERS, date=partial(parse_dates, formats=tuple(date_formats)))
    date_what = ", ".join(["YYYY-MM-DD", "MM/DD/YYYY", "YYYYMMDD", *date_formats])
    columns: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    distinct: dict[str, tuple[pd.Series, np.ndarray]] = {}
    for name in FIELDS:
        meta = FIELD_META[name]
        values = raw[name]
        if meta.get("default") is not None:
            values = _fill_default(values, meta["default"])
        kind = meta["kind"]
        if kind in _PARSERS:
            what = f"not a date ({date_what})" if kind == "date" else "not a number"
            parsed = _parse_column(raw, name, values, parsers[kind], what, problems)
            values, distinct[name] = parsed
        elif meta.get("identifier"):
            values = values.astype(TEXT)
        else:
            values = _normalise_column(raw, name, values, meta, problems)
        columns[name] = values
    typed = pd.DataFrame(columns, index=raw.index, copy=False)  # one block a column: no copy
    # a documented dose needs its unit
    no_unit = typed["administered_amount"].notna() & raw["administered_unit"].isna()
    if no_unit.any():
        problems.append(
            _reject_records(
                raw,
                no_unit[no_unit].index,
                "administered_unit",
                "V002",
                "administered_unit is required with administered_amount",
            )
        )
    return TypedColumns(typed, problems, distinct)


def _parse_column(
    raw: pd.DataFrame, name: str, values: pd.Series, parse, what: str, problems: list
) -> tuple[pd.Series, tuple[pd.Series, np.ndarray]]:
    """One number or date column parsed and range-checked once per distinct value: the typed
    rows, and the typed distinct values with each row's position among them. The V003 / V004
    rejects of its rows are appended to `problems`."""
    kind = FIELD_META[name]["kind"]
    distinct, rows, parsed = _parsed(values, parse, kind)
    present = np.arange(len(parsed)) < len(parsed) - 1  # the NA value is last
    # `1e400` parses to infinity: not a usable number
    missing = np.isnat(parsed) if kind == "date" else ~np.isfinite(parsed)
    out_of_range, why = _out_of_range(distinct, present, parsed, missing, kind)
    bad = present & missing & ~out_of_range
    if kind == "int":
        with np.errstate(invalid="ignore"):
            bad |= ~missing & (np.mod(parsed, 1) != 0) & ~out_of_range
        what = "not a whole number"
    for flagged, code, reason in ((out_of_range, "V004", why), (bad, "V003", what)):
        hit = np.flatnonzero(flagged[rows]) if flagged.any() else []
        if len(hit):
            problems.append(_reject_records(raw, raw.index[hit], name, code, reason))
    na = np.datetime64("NaT") if kind == "date" else np.nan
    typed = pd.Series(np.where(out_of_range | bad, na, parsed))
    if kind == "int":
        typed = typed.astype("Int64")
    column = pd.Series(typed.array.take(rows), index=raw.index)
    if not values.hasnans:  # the NA value (last) belongs to no row
        typed = typed.iloc[:-1]
    return column, (typed, rows)


def _parsed(values: pd.Series, parse, kind: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """A column's distinct values (NA last), each row's position among them (-1 for NA: the
    last) and the parsed distinct values. Near-unique Arrow text of numbers (charges:
    `_near_unique`) is parsed per row instead, its "distinct values" the rows that hold one (in
    row order, then NA): parsing a number costs less than hashing its text to find the
    distinct ones, and a parser gives a value the same result whichever values it parses.
    (The text is returned as it is then: only dates read it again.)"""
    if kind != "date" and _near_unique(values):
        number = parse(values).to_numpy()
        held = values.notna().to_numpy()
        rows = np.cumsum(held, dtype=np.intp) - 1
        rows[~held] = -1
        return values, rows, np.append(number[held], np.nan)
    distinct, rows = distinct_text(values)
    return distinct, rows, parse(distinct).to_numpy()


_PROBE = 1 << 13  # rows `_near_unique` looks at


def _near_unique(values: pd.Series) -> bool:
    """Whether Arrow text looks near-unique: most of its first _PROBE rows hold a value, and
    most of those values are distinct (then hashing every value to find the distinct ones
    costs more than it saves). Only a question of speed: both ways give the same result."""
    if not isinstance(values.array, pd.arrays.ArrowStringArray):
        return False
    head = arrow_text(values.iloc[:_PROBE]).drop_null()
    return 2 * len(head) > min(len(values), _PROBE) and 2 * len(pc.unique(head)) > len(head)


def _normalise_column(
    raw: pd.DataFrame, name: str, values: pd.Series, meta: dict, problems: list
) -> pd.Series:
    """One text column as a categorical of its normalised values (case folding, code-list and
    unit forms: once per distinct value). V004 rejects (a list of too many codes, a unit not
    allowed) are appended to `problems`."""
    rule = normalize_diagnosis_codes if name == "diagnosis_codes" else _text_rule(meta)
    # a new categorical either way: the typed frame shares no array with the raw one
    values = recode(values, rule) if rule else as_category(values).copy()
    if meta["kind"] == "codes":
        distinct, rows = distinct_text(raw[name])
        # more than MAX_LIST_ENTRIES entries need one separator between each two
        length = pc.fill_null(pc.utf8_length(arrow_text(distinct)), 0)
        long = length.to_numpy(zero_copy_only=False) > 2 * MAX_LIST_ENTRIES
        too_many = np.zeros(len(distinct), dtype=bool)
        if long.any():
            too_many[long] = (count_codes(distinct[long]) > MAX_LIST_ENTRIES).to_numpy()
        hit = np.flatnonzero(too_many[rows]) if too_many.any() else []
        if len(hit):
            why = f"more than {MAX_LIST_ENTRIES} codes in the list"
            problems.append(_reject_records(raw, raw.index[hit], name, "V004", why))
    if meta["kind"] == "unit":
        bad = raw[name].notna().to_numpy() & (values.cat.codes.to_numpy() < 0)
        if bad.any():
            why = "unit not one of mg, mcg, g, units, IU, mL"
            problems.append(_reject_records(raw, raw.index[bad], name, "V004", why))
    return values


def _out_of_range(
    distinct: pd.Series, present: np.ndarray, parsed: np.ndarray, missing: np.ndarray, kind: str
) -> tuple[np.ndarray, str]:
    """Distinct values that parse but are outside the range a claim line can hold (V004), and
    why: dates outside FIRST_YEAR..LAST_YEAR, whole numbers beyond 2^53 (not exact as float64),
    decimals beyond MAX_NUMBER or positive below MIN_POSITIVE. `present`: not the NA value;
    `missing`: no usable value parsed."""
    if kind == "date":
        outside = present & date_out_of_range(distinct).to_numpy(dtype=bool)
        return outside, f"date outside the years {FIRST_YEAR}-{LAST_YEAR}"
    size = np.abs(parsed)
    if kind == "int":
        return ~missing & (size >= _MAX_INT), "whole number out of range"
    outside = ~missing & ((size > MAX_NUMBER) | ((size > 0) & (size < MIN_POSITIVE)))
    return outside, f"number out of range (at most {MAX_NUMBER:.0e}, none below {MIN_POSITIVE:.0e})"


# the schema's columns with a check beyond their type, without the type: `type_columns` gives
# every column its type, pandera's type checks would only repeat that
_VALUES_CHECKED = [name for name, col in SCHEMA.columns.items() if col.checks or not col.nullable]
_UNTYPED = SCHEMA.update_columns({name: {"dtype": None} for name in _VALUES_CHECKED}).columns
_CHECKED = {name: _UNTYPED[name] for name in _VALUES_CHECKED}


def schema_failures(typed: TypedColumns, raw: pd.DataFrame) -> list[pd.DataFrame]:
    """Run the pandera schema's column checks lazily and turn their failure cases into V002/V004
    rejects. Every check is of one value, so each column is checked once per distinct value
    (`_distinct_typed`) and the failures are taken to the rows."""
    found = []
    for name, column in _CHECKED.items():
        values, rows = _distinct_typed(typed, name)
        if not column.checks and not values.hasnans:  # not nullable, and no value is NA
            continue
        for check, positions in _failure_cases(column, values):
            if rows is None:
                index = pd.Index(positions)  # the values are the rows (labels)
            else:
                failed = np.zeros(len(values), dtype=bool)
                failed[positions] = True
                index = typed.frame.index[failed[rows]]
            found.append((name, check, index))
    out = []
    for column, check, index in sorted(found, key=lambda f: (f[0], f[1])):
        code = "V002" if check == "not_nullable" else "V004"
        why = REASONS[code] if code == "V002" else f"fails check {check}"
        if code == "V002":  # a value that is there but did not parse is V003/V004, not V002
            index = index[raw[column].isna().to_numpy()[index]]
        if len(index):
            out.append(_reject_records(raw, index, column, code, why))
    return out


def _distinct_typed(typed: TypedColumns, name: str) -> tuple[pd.Series, np.ndarray | None]:
    """A typed column's distinct values (NA, last, only where a row is NA) and each row's
    position among them: a parsed column's from typing, a categorical's categories (its codes
    the positions: -1, NA, is the last); other columns (the identifiers) are their rows
    (positions None)."""
    if name in typed.distinct:
        return typed.distinct[name]
    column = typed.frame[name]
    if not is_categorical(column):
        return column, None
    count = len(column.cat.categories)
    everyone = np.arange(count + column.hasnans)
    everyone[count:] = -1  # NA
    values = pd.Series(pd.Categorical.from_codes(everyone, dtype=column.dtype))
    return values, column.cat.codes.to_numpy()


def _failure_cases(column, values: pd.Series) -> list[tuple[str, np.ndarray]]:
    """The value checks of one pandera schema column that `values` fail: per check, the
    positions (index labels) of the failing values, in order."""
    try:
        with warnings.catch_warnings():  # pandera's own concat of failure cases warns
            warnings.simplefilter("ignore", FutureWarning)
            column.validate(pd.DataFrame({column.name: values}), lazy=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases[cases["index"].notna()]
    cases = cases[~cases["check"].astype(str).str.startswith(("coerce_dtype", "dtype"))]
    return [
        (check, group["index"].astype("int64").unique())
        for check, group in cases.groupby("check", sort=True)
    ]


def duplicate_lines(typed: TypedColumns, bad_index: pd.Index) -> pd.Index:
    """V005: the rows (labels) repeating an earlier (claim_id, line_number) of the batch, of
    those not rejected already (`bad_index`)."""
    key = _line_keys(typed)
    index = typed.frame.index
    ok = _good_rows(index, bad_index)
    counts = np.bincount(key, weights=ok.astype(np.float64)) if len(bad_index) else np.bincount(key)
    candidates = ok & (counts[key] > 1)  # only repeated keys need the order check
    if not candidates.any():
        return index[:0]
    dup = pd.Series(key[candidates], index=index[candidates]).duplicated(keep="first")
    return dup[dup].index


def _line_keys(typed: TypedColumns) -> np.ndarray:
    """Per row, an integer key of its (claim_id, line_number), equal for equal pairs: the two
    codes packed (no hashing) while the key space is small enough to count in, else dense
    pair ids (`pair_ids`)."""
    numbers, rows = typed.distinct["line_number"]
    line = pd.factorize(numbers, use_na_sentinel=True)[0][rows] + 1  # equal numbers, equal codes
    claim = sorted_codes(typed.frame["claim_id"])
    if claim is None:
        claim = codes_of(typed.frame["claim_id"]) + 1  # NA (-1) is 0
    if not len(line):
        return line
    span = int(line.max()) + 1
    if (int(claim.max()) + 1) * span <= 8 * len(line) + 4096:
        return claim * span + line
    return pair_ids(claim, line)[0]


def combine_inputs(inputs: list[RawInput]) -> pd.DataFrame:
    """The raw lines of every input, one frame: canonical columns (absent ones all-NA),
    `source_file` and `source_row`."""
    frames = []
    for item in inputs:
        frame = item.frame.copy(deep=False)
        frame["source_file"] = pd.Categorical.from_codes(
            np.zeros(len(frame), dtype=np.int8), categories=[str(item.path)]
        )
        frames.append(frame)
    dtypes = {name: TEXT if FIELD_META[name].get("identifier") else "category" for name in FIELDS}
    dtypes.update(source_file="category", source_row="int64")
    return concat_frames(frames, [*FIELDS, "source_file", "source_row"], dtypes)


def validate_frame(
    raw: pd.DataFrame,
    values: dict[str, dict[str, str]] | None = None,
    date_formats: tuple[str, ...] | list[str] = (),
) -> Validated:
    """Validate combined raw lines (all of them, or a batch holding whole claims): the typed
    good lines and the schema rejects of the bad rows (`finish_rejects` adds the ingest ones).
    `values` and `date_formats`: the config's `[values]` (`map_values`, applied first) and
    `[policy] date_formats`."""
    raw = map_values(raw, values)
    typed = type_columns(raw, date_formats)
    problems = typed.problems + schema_failures(typed, raw)
    rejects = pd.concat(problems) if problems else pd.DataFrame(columns=REJECT_COLUMNS)
    rejects["_priority"] = rejects["reason_code"].map(_PRIORITY)
    rejects = (
        rejects.reset_index(names="_row")
        .sort_values(["_row", "column", "_priority"], kind="stable")
        .drop_duplicates(["_row", "column"])
    )
    bad_index = pd.Index(rejects["_row"].unique())
    dups = duplicate_lines(typed, bad_index)
    if len(dups):
        why = "duplicate (claim_id, line_number) of an earlier row"
        found = _reject_records(raw, dups, "line_number", "V005", why).reset_index(names="_row")
        rejects = pd.concat([rejects, found], ignore_index=True) if len(rejects) else found
    bad_index = bad_index.union(dups)

    keep = _good_rows(typed.frame.index, bad_index)
    lines = typed.frame.take(np.flatnonzero(keep)) if len(bad_index) else typed.frame  # no copy
    lines.index = pd.RangeIndex(len(lines))
    lines["line_number"] = lines["line_number"].to_numpy(dtype="int64")
    lines["source_file"] = raw["source_file"].array[keep]
    lines["source_row"] = raw["source_row"].to_numpy()[keep].astype("int64")
    return Validated(lines=lines, rejects=rejects[REJECT_COLUMNS], rows_rejected={})


def _good_rows(index: pd.Index, bad_index: pd.Index) -> np.ndarray:
    """Which rows of `index` are not among the labels `bad_index`."""
    if not len(bad_index):  # no hashing (an empty label index is of objects)
        return np.ones(len(index), dtype=bool)
    return ~index.isin(bad_index)


def finish_rejects(parts: list[pd.DataFrame], inputs: list[RawInput]) -> Validated:
    """All the rejects of a run (schema rejects of every part, ingest rejects of every input)
    in file and row order, and the rows rejected per file; `lines` is left empty. The rejects
    carry a `phi` flag (`claims_audit.privacy.phi_rejects`): the value is a patient id of the batch
    or sits in a PHI column, so every writer masks it unless --show-phi."""
    parts = [r[REJECT_COLUMNS] for r in parts if len(r)] + [
        i.rejects[REJECT_COLUMNS] for i in inputs if len(i.rejects)
    ]
    rejects = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REJECT_COLUMNS)
    rejects["source_row"] = rejects["source_row"].astype("Int64")
    rejects[PHI_FLAG] = phi_rejects(rejects, [i.patient_ids for i in inputs])
    rejects = rejects.sort_values(["source_file", "source_row", "column"], kind="stable")
    rows_rejected = (
        rejects.drop_duplicates(["source_file", "source_row"])
        .groupby("source_file")
        .size()
        .to_dict()
    )
    return Validated(
        lines=pd.DataFrame(),
        rejects=rejects.reset_index(drop=True),
        rows_rejected={str(k): int(v) for k, v in rows_rejected.items()},
    )


def validate_inputs(
    inputs: list[RawInput],
    values: dict[str, dict[str, str]] | None = None,
    date_formats: tuple[str, ...] | list[str] = (),
) -> Validated:
    """Validate the batch: typed good lines, and a reject record for every bad row
    (`values`, `date_formats`: as for `validate_frame`)."""
    checked = validate_frame(combine_inputs(inputs), values, date_formats)
    done = finish_rejects([checked.rejects], inputs)
    return Validated(lines=checked.lines, rejects=done.rejects, rows_rejected=done.rows_rejected)
