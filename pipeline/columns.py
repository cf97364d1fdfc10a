"""Column helpers that keep the pipeline vectorised on millions of lines.

Low-cardinality text columns (codes, modifiers, NDCs, dates as read, payer fields) are pandas
categoricals: work that needs strings (parsing, normalising, lookups) runs once per distinct
value and is taken back to the rows by integer code. Groups (drug group, patient-day) are
integer ids, and their sums and flags come from `numpy.bincount`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.parsing import (  # noqa: F401 (one definition; re-exported)
    ARROW_TEXT,
    TEXT,
    arrow_text,
)


def is_categorical(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.CategoricalDtype)


def per_value(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply `fn` once per distinct value of a categorical (NA included) and take the result
    back to the rows; a plain Series is passed to `fn` as it is."""
    if not is_categorical(values):
        return fn(values)
    categories = values.cat.categories
    # the categories and NA last (reindex adds it), as text, numbers or dates
    cats = pd.Series(categories.astype(_category_dtype(categories))).reindex(
        range(len(categories) + 1)
    )
    mapped = pd.Series(fn(cats))
    codes = values.cat.codes.to_numpy()
    idx = np.where(codes < 0, len(categories), codes)
    return pd.Series(mapped.array.take(idx), index=values.index)


def _category_dtype(categories: pd.Index):
    if pd.api.types.is_datetime64_any_dtype(categories):
        return categories.dtype
    if pd.api.types.is_numeric_dtype(categories):
        return "float64"
    return "string"


def recode(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Categorical whose categories are `fn` of the old ones (merged where equal; NA dropped)."""
    values = as_category(values)
    cats = pd.Series(values.cat.categories.astype("object"))
    new = fn(cats.astype("string")).astype("object")
    new = new.where(pd.notna(new), None)
    codes, uniques = pd.factorize(new, use_na_sentinel=True)
    old_codes = values.cat.codes.to_numpy()
    lut = np.append(codes, -1).astype(np.int64)  # old code -1 (NA) -> index -1 -> -1
    new_codes = lut[old_codes]
    return pd.Series(
        pd.Categorical.from_codes(new_codes, categories=pd.Index(uniques, dtype="object")),
        index=values.index,
    )


def as_category(values: pd.Series) -> pd.Series:
    return values if is_categorical(values) else values.astype("category")


def as_text(values: pd.Series) -> pd.Series:
    """Arrow-backed text for messages and outputs (use on flagged rows, not on every line). A
    categorical of text is decoded by Arrow: its categories taken by the rows' codes."""
    if is_categorical(values) and pd.api.types.is_object_dtype(values.cat.categories):
        codes = values.cat.codes.to_numpy()
        categories = pd.Series(values.cat.categories)
        if pd.api.types.infer_dtype(categories, skipna=True) == "string":
            taken = arrow_text(categories).take(pa.array(codes, mask=codes < 0))
            return pd.Series(taken, index=values.index, dtype=TEXT)
    return values.astype(TEXT)


def lookup(keys: pd.Series, mapping: pd.Series, dtype: str | None = None) -> pd.Series:
    """Vectorised `keys.map(mapping)`, done once per distinct key for categoricals. `dtype`:
    the result's type, given to the distinct values before they go to the rows; `category`
    builds the categorical from integer codes (a join as an integer take)."""
    mapping = mapping[~mapping.index.duplicated()]
    if dtype == "category" and is_categorical(keys) and not mapping.index.hasnans:
        return _category_lookup(keys, mapping)
    if dtype is None:
        return per_value(keys, lambda k: k.astype("object").map(mapping))
    return per_value(keys, lambda k: k.astype("object").map(mapping).astype(dtype)).astype(dtype)


def _category_lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """`lookup` of categorical keys into a categorical: each category is mapped once and the
    rows take their value's code (an NA key, or a key `mapping` lacks, is NA)."""
    mapped = pd.Series(keys.cat.categories.astype("object")).map(mapping)
    codes, uniques = pd.factorize(mapped, use_na_sentinel=True)
    lut = np.append(codes, -1).astype(np.int64)  # key code -1 (NA) -> -1
    taken = lut[keys.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(taken, categories=uniques), index=keys.index)


def codes_of(values: pd.Series) -> np.ndarray:
    """Integer codes for grouping: categorical codes, datetimes as int64, else factorized."""
    if is_categorical(values):
        return values.cat.codes.to_numpy().astype(np.int64)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy().astype("datetime64[D]").astype(np.int64)
    return pd.factorize(values, use_na_sentinel=True)[0].astype(np.int64)


def factorized(values: pd.Series) -> pd.Series:
    """High-cardinality text (claim and patient ids) factorised once: a categorical whose codes
    every later grouping reads, instead of hashing the strings again each time."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=uniques), index=values.index)


def group_ids(*columns: pd.Series) -> np.ndarray:
    """Dense int64 group id per row (in order of first appearance) for the combination of the
    given columns. Codes are packed into one int64 key; it is re-densified only when the next
    column would overflow it."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    key_span = 1
    for col in columns:
        codes = codes_of(col)
        if len(codes):
            codes = codes - codes.min()
        span = int(codes.max()) + 1 if len(codes) else 1
        if key_span * span >= 2**62:
            key = pd.factorize(key)[0].astype(np.int64)
            key_span = int(key.max()) + 1 if len(key) else 1
        key = key * span + codes
        key_span *= span
    return pd.factorize(key)[0].astype(np.int64)


def first_rows(ids: np.ndarray) -> np.ndarray:
    """The row position of each group's first line, in group id order: `group_ids` numbers the
    groups in order of first appearance, so a first line is one that raises the running
    maximum of the ids (one pass, no sort)."""
    running = np.maximum.accumulate(ids) if len(ids) else ids
    return np.flatnonzero(np.diff(running, prepend=-1) > 0)


def group_sum(values: pd.Series, groups: np.ndarray) -> pd.Series:
    """Per-row sum of `values` over its group; NaN where the group has no value at all."""
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(v)
    total = np.bincount(groups, weights=np.where(present, v, 0.0))
    count = np.bincount(groups, weights=present.astype(np.float64))
    out = np.where(count[groups] > 0, total[groups], np.nan)
    return pd.Series(out, index=values.index)


def group_any(mask: pd.Series, groups: np.ndarray) -> pd.Series:
    hits = np.bincount(groups, weights=mask.to_numpy(dtype=bool).astype(np.float64))
    return pd.Series(hits[groups] > 0, index=mask.index)


def pair_lookup(
    a: pd.Series, b: pd.Series, table: pd.DataFrame, a_col: str, b_col: str, columns: list[str]
) -> pd.DataFrame:
    """Look up `columns` of `table` by the pair (a, b), evaluating each distinct pair once."""
    ids = group_ids(a, b)
    first = first_rows(ids)
    pairs = pd.DataFrame(
        {a_col: as_text(a.iloc[first]).to_numpy(), b_col: as_text(b.iloc[first]).to_numpy()}
    )
    found = pairs.merge(
        table.drop_duplicates([a_col, b_col])[[a_col, b_col, *columns]],
        on=[a_col, b_col],
        how="left",
    )
    for c in columns:
        if found[c].dtype == object:
            found[c] = found[c].astype("category")
    out = found[columns].take(ids)
    out.index = a.index
    return out


def concat_frames(frames: list[pd.DataFrame], columns: list[str], dtypes: dict) -> pd.DataFrame:
    """Concatenate per-file frames keeping categoricals categorical (categories unified) and
    adding absent columns as all-NA of their canonical dtype. A column typed differently in
    two files (e.g. numbers in one Parquet file, text in a CSV) becomes text categories."""
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in columns})
    frames = [f.copy(deep=False) for f in frames]
    for name in columns:
        for f in frames:
            if name not in f:
                f[name] = pd.Series(None, index=f.index, dtype=dtypes[name])
        if len(frames) == 1:
            continue
        kinds = {
            (str(f[name].cat.categories.dtype) if is_categorical(f[name]) else str(f[name].dtype))
            for f in frames
        }
        categorical = any(is_categorical(f[name]) for f in frames)
        if len(kinds) > 1 or (categorical and not all(is_categorical(f[name]) for f in frames)):
            for f in frames:
                f[name] = f[name].astype("string").astype("category")
            categorical = True
        if categorical:
            union = pd.Index(
                np.concatenate([f[name].cat.categories.to_numpy(dtype=object) for f in frames])
            ).unique()
            for f in frames:
                f[name] = f[name].cat.set_categories(union)
    if len(frames) == 1:
        return (
            frames[0].reset_index(drop=True)
            if not isinstance(frames[0].index, pd.RangeIndex)
            else frames[0]
        )
    return pd.concat(frames, ignore_index=True)


def linked_labels(patient: np.ndarray, claim: np.ndarray) -> np.ndarray:
    """Per line, the smallest patient code of its linked group: patients are linked when a
    claim carries several of them (a data error), so such patients and all their claims stay
    together. Integer codes, -1 for a missing id (which links nothing)."""
    patient, claim = patient.copy(), claim.copy()
    for codes in (patient, claim):
        missing = codes < 0
        codes[missing] = codes.max(initial=-1) + 1 + np.arange(missing.sum())
    label = patient
    while True:  # spread the smallest label over claims, then patients, until nothing moves
        by_claim = pd.Series(label).groupby(claim, sort=False).transform("min").to_numpy()
        by_patient = pd.Series(by_claim).groupby(patient, sort=False).transform("min").to_numpy()
        if np.array_equal(by_patient, label):
            return label
        label = by_patient


def per_combination(frame: pd.DataFrame, columns: list[str], fn) -> pd.Series:
    """Evaluate `fn` once per distinct combination of `columns` and take the result to the rows.

    `fn` receives a small frame (one row per combination, text columns as text) and returns a
    Series aligned to it. This keeps string-heavy checks (diagnoses, modifier lists, policy
    lists) proportional to the distinct values, not to the number of lines.
    """
    if frame.empty:
        return pd.Series(index=frame.index, dtype="object")
    ids = group_ids(*(frame[c] for c in columns))
    first = first_rows(ids)
    small = frame.iloc[first][columns].reset_index(drop=True)
    for c in columns:
        if is_categorical(small[c]):
            small[c] = small[c].astype("string")
    result = pd.Series(fn(small)).reset_index(drop=True)
    if result.dtype == object:  # text: a categorical, taken to the rows by integer code
        codes, uniques = pd.factorize(result, use_na_sentinel=True)
        return pd.Series(pd.Categorical.from_codes(codes[ids], uniques), index=frame.index)
    out = result.take(ids)
    out.index = frame.index
    return out


def joined_per_label(parts: pd.Series, index: pd.Index, sep: str) -> pd.Series:
    """Per label of `index`, the text entries of `parts` that carry it (its index holds labels
    of `index`, several entries per label) joined by `sep` in their order; NA where none. The
    vectorised `parts.groupby(level=0).agg(sep.join).reindex(index)` (Arrow list kernels)."""
    where = index.get_indexer(parts.index)
    order = np.argsort(where, kind="stable")
    counts = np.bincount(where, minlength=len(index))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    values = arrow_text(parts).take(pa.array(order, type=pa.int64()))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, values), pa.scalar(sep, ARROW_TEXT))
    return pd.Series(joined, index=index, dtype=TEXT).where(counts > 0)
