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

from claims_audit.columns import (
    as_category,
    concat_frames,
    group_ids,
    is_categorical,
    per_value,
    recode,
)
from claims_audit.ingest import RawInput
from claims_audit.parsing import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_LIST_ENTRIES,
    TEXT,
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


def type_columns(
    raw: pd.DataFrame, date_formats: tuple[str, ...] | list[str] = ()
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Parse every canonical column to its type, once per distinct value; return the typed frame
    and the V003 (unparseable) / V004 (unit not allowed) rejects. `date_formats`: the strptime
    formats the config adds to the built-in date formats (`parse_dates`)."""
    typed = pd.DataFrame(index=raw.index)
    problems: list[pd.DataFrame] = []
    parsers = dict(_PARSERS, date=partial(parse_dates, formats=tuple(date_formats)))
    date_what = ", ".join(["YYYY-MM-DD", "MM/DD/YYYY", "YYYYMMDD", *date_formats])
    for name in FIELDS:
        meta = FIELD_META[name]
        values = raw[name]
        if meta.get("default") is not None:
            values = _fill_default(values, meta["default"])
        kind = meta["kind"]
        if kind in _PARSERS:
            parsed = per_value(values, parsers[kind])
            if kind != "date":  # `1e400` parses to infinity: not a usable number
                parsed = parsed.where(np.isfinite(parsed))
            bad = values.notna() & parsed.isna()
            what = f"not a date ({date_what})" if kind == "date" else ("not a number")
            out_of_range, why = _out_of_range(values, parsed, kind)
            bad &= ~out_of_range
            if kind == "int":
                fractional = parsed.notna() & (parsed % 1 != 0)
                bad |= fractional & ~out_of_range
                what = "not a whole number"
            parsed = parsed.where(~out_of_range & ~bad)
            if kind == "int":
                parsed = parsed.astype("Int64")
            if out_of_range.any():
                index = out_of_range[out_of_range].index
                problems.append(_reject_records(raw, index, name, "V004", why))
            if bad.any():
                problems.append(_reject_records(raw, bad[bad].index, name, "V003", what))
            values = parsed
        elif meta.get("identifier"):
            values = values.astype(TEXT)
        else:
            rule = normalize_diagnosis_codes if name == "diagnosis_codes" else _text_rule(meta)
            values = recode(values, rule) if rule else as_category(values)
            if kind == "codes":
                too_many = per_value(raw[name], count_codes) > MAX_LIST_ENTRIES
                if too_many.any():
                    problems.append(
                        _reject_records(
                            raw,
                            too_many[too_many].index,
                            name,
                            "V004",
                            f"more than {MAX_LIST_ENTRIES} codes in the list",
                        )
                    )
            if kind == "unit":
                bad = raw[name].notna() & values.isna()
                if bad.any():
                    problems.append(
                        _reject_records(
                            raw,
                            bad[bad].index,
                            name,
                            "V004",
                            "unit not one of mg, mcg, g, units, IU, mL",
                        )
                    )
        typed[name] = values
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
    return typed, problems


def _out_of_range(values: pd.Series, parsed: pd.Series, kind: str) -> tuple[pd.Series, str]:
    """Values that parse but are outside the range a claim line can hold (V004), and why:
    dates outside FIRST_YEAR..LAST_YEAR, whole numbers beyond 2^53 (not exact as float64),
    decimals beyond MAX_NUMBER or positive below MIN_POSITIVE."""
    if kind == "date":
        outside = values.notna() & per_value(values, date_out_of_range).astype(bool)
        return outside, f"date outside the years {FIRST_YEAR}-{LAST_YEAR}"
    if kind == "int":
        return parsed.notna() & (parsed.abs() >= _MAX_INT), "whole number out of range"
    size = parsed.abs()
    outside = parsed.notna() & ((size > MAX_NUMBER) | ((size > 0) & (size < MIN_POSITIVE)))
    return outside, f"number out of range (at most {MAX_NUMBER:.0e}, none below {MIN_POSITIVE:.0e})"


SCHEMA_CHUNK_ROWS = 1_000_000


def schema_failures(typed: pd.DataFrame, raw: pd.DataFrame) -> list[pd.DataFrame]:
    """Run the pandera schema lazily and turn its failure cases into V002/V004 rejects."""
    found = []
    for start in range(0, len(typed), SCHEMA_CHUNK_ROWS):  # bounded memory on large batches
        try:
            with warnings.catch_warnings():  # pandera's own concat of failure cases warns
                warnings.simplefilter("ignore", FutureWarning)
                SCHEMA.validate(typed.iloc[start : start + SCHEMA_CHUNK_ROWS], lazy=True)
        except pandera.errors.SchemaErrors as exc:
            found.append(exc.failure_cases)
    if not found:
        return []
    cases = pd.concat(found, ignore_index=True)
    cases = cases[cases["index"].notna() & cases["column"].isin(FIELDS)]
    cases = cases[~cases["check"].astype(str).str.startswith(("coerce_dtype", "dtype"))]
    out = []
    for (column, check), group in cases.groupby(["column", "check"], sort=True):
        code = "V002" if check == "not_nullable" else "V004"
        why = REASONS[code] if code == "V002" else f"fails check {check}"
        index = pd.Index(group["index"].astype("int64").unique())
        if code == "V002":  # a value that is there but did not parse is V003/V004, not V002
            index = index[raw[column].isna().to_numpy()[index]]
        if len(index):
            out.append(_reject_records(raw, index, column, code, why))
    return out


def duplicate_lines(typed: pd.DataFrame, raw: pd.DataFrame, bad_index: pd.Index) -> pd.DataFrame:
    """V005: a later row repeating an earlier (claim_id, line_number) of the batch."""
    key = group_ids(typed["claim_id"], typed["line_number"])
    ok = ~typed.index.isin(bad_index)
    counts = np.bincount(key, weights=ok.astype(np.float64))
    candidates = ok & (counts[key] > 1)  # only repeated keys need the order check
    dup = pd.Series(key[candidates], index=typed.index[candidates]).duplicated(keep="first")
    return _reject_records(
        raw,
        dup[dup].index,
        "line_number",
        "V005",
        "duplicate (claim_id, line_number) of an earlier row",
    )


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
    typed, problems = type_columns(raw, date_formats)
    problems += schema_failures(typed, raw)
    rejects = pd.concat(problems) if problems else pd.DataFrame(columns=REJECT_COLUMNS)
    rejects["_priority"] = rejects["reason_code"].map(_PRIORITY)
    rejects = (
        rejects.reset_index(names="_row")
        .sort_values(["_row", "column", "_priority"], kind="stable")
        .drop_duplicates(["_row", "column"])
    )
    bad_index = pd.Index(rejects["_row"].unique())
    dups = duplicate_lines(typed, raw, bad_index)
    if len(dups):
        found = dups.reset_index(names="_row")
        rejects = pd.concat([rejects, found], ignore_index=True) if len(rejects) else found
    bad_index = bad_index.union(dups.index)

    keep = ~typed.index.isin(bad_index)
    lines = typed.take(np.flatnonzero(keep)) if len(bad_index) else typed  # no copy if all good
    lines.index = pd.RangeIndex(len(lines))
    lines["line_number"] = lines["line_number"].to_numpy(dtype="int64")
    lines["source_file"] = raw["source_file"].array[keep]
    lines["source_row"] = raw["source_row"].to_numpy()[keep].astype("int64")
    return Validated(lines=lines, rejects=rejects[REJECT_COLUMNS], rows_rejected={})


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
