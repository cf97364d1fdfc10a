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
    distinct, positions = distinct_values(values)
    return pd.Series(pd.Series(fn(distinct)).array.take(positions), index=values.index)


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
    # old code -> new code, in the new categorical's integer type; old code -1 (NA) -> -1
    table = pd.Categorical.from_codes(
        np.append(codes, -1), categories=pd.Index(uniques, dtype="object")
    )
    old_codes = values.cat.codes.to_numpy()
    if np.array_equal(codes, np.arange(len(codes))):  # each category renamed: same codes
        new_codes = old_codes.astype(table.codes.dtype)  # a copy
    else:
        new_codes = table.codes[old_codes]
    return pd.Series(
        pd.Categorical.from_codes(new_codes, dtype=table.dtype, validate=False),
        index=values.index,
    )


def as_category(values: pd.Series) -> pd.Series:
    return values if is_categorical(values) else values.astype("category")


def distinct_text(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """`distinct_values` with text as Arrow-backed TEXT (what Arrow kernels read, so parsers
    need no conversion from Python strings and back); a row holding NA has the position -1,
    the last (numpy takes it so: the codes serve as they are). Arrow text that is not
    categorical is dictionary-encoded by Arrow: its distinct values in order of appearance."""
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        encoded = pc.dictionary_encode(arrow_text(values))
        text = pa.concat_arrays([encoded.dictionary, pa.nulls(1, ARROW_TEXT)])
        rows = encoded.indices.fill_null(-1).to_numpy().astype(np.intp)
        return pd.Series(text, dtype=TEXT), rows
    values = as_category(values)
    categories = values.cat.categories
    if not (
        pd.api.types.is_object_dtype(categories)
        and pd.api.types.infer_dtype(categories, skipna=True) == "string"
    ):
        return distinct_values(values)
    text = pa.array(np.append(categories.to_numpy(), None), type=ARROW_TEXT, from_pandas=True)
    return pd.Series(text, dtype=TEXT), values.cat.codes.to_numpy().astype(np.intp)


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


_SORT_PROBE = 1 << 12  # `sorted_codes` looks at this many values first


def sorted_codes(values: pd.Series) -> np.ndarray | None:
    """`codes_of` Arrow-backed text without hashing when the text is in sorted order (the claim
    ids of a partition usually are): equal values are then one run of rows, and the runs are
    numbered in order. None when the text is not sorted or holds NA."""
    if not isinstance(values.array, pd.arrays.ArrowStringArray) or values.hasnans:
        return None
    if len(values) < 2:
        return np.zeros(len(values), dtype=np.int64)
    text = arrow_text(values)
    head = text.slice(0, min(len(text), _SORT_PROBE))  # unsorted text is mostly found here
    for part in (head, text) if len(head) < len(text) else (text,):
        if not pc.all(pc.less_equal(part.slice(0, len(part) - 1), part.slice(1))).as_py():
            return None
    change = pc.not_equal(text.slice(0, len(text) - 1), text.slice(1))
    return np.concatenate([[0], np.cumsum(change.to_numpy(zero_copy_only=False))])


def factorized(values: pd.Series) -> pd.Series:
    """High-cardinality text (claim and patient ids) factorised once: a categorical whose codes
    every later grouping reads, instead of hashing the strings again each time. Text in sorted
    order (a partition's claim ids) is numbered by runs (`sorted_codes`), without hashing: the
    same codes and categories as `pd.factorize`."""
    codes = sorted_codes(values)
    if codes is not None:
        uniques = pd.Index(values.array.take(first_rows(codes)))
    else:
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
    return pd.factorize(key)[0].astype(np.int64, copy=False)


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
    total = np.bincount(groups, weights=np.where(present, v, 0.0)).astype(np.float64, copy=False)
    # per group (not per row): NaN where no value is present, then one take to the rows
    total[~_groups_hit(groups, present, len(total))] = np.nan
    return pd.Series(total[groups], index=values.index)


def group_any(mask: pd.Series, groups: np.ndarray) -> pd.Series:
    hits = _groups_hit(groups, mask.to_numpy(dtype=bool), int(groups.max(initial=-1)) + 1)
    return pd.Series(hits[groups], index=mask.index)


def _groups_hit(groups: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    """Per group id (0..count-1), whether any of its rows is True in `mask`."""
    hit = np.zeros(count, dtype=bool)
    hit[groups[mask]] = True
    return hit


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
    ids, small = distinct_combinations(frame, columns)
    return combination_rows(fn(small), ids, frame.index)


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


def distinct_combinations(
    frame: pd.DataFrame, columns: list[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """The first half of `per_combination`, for callers that evaluate several functions over
    the same combinations: each row's combination id, and one row per combination (text
    columns as text)."""
    ids = group_ids(*(frame[c] for c in columns))
    small = frame[columns].iloc[first_rows(ids)].reset_index(drop=True)  # columns first
    for c in columns:
        if is_categorical(small[c]):
            small[c] = small[c].astype("string")
    return ids, small


def combination_rows(result: pd.Series, ids: np.ndarray, index: pd.Index) -> pd.Series:
    """The second half of `per_combination`: the per-combination `result` taken to the rows
    by their combination `ids` (text as a categorical built from integer codes)."""
    result = pd.Series(result).reset_index(drop=True)
    if result.dtype == object:
        codes, uniques = pd.factorize(result, use_na_sentinel=True)
        return pd.Series(pd.Categorical.from_codes(codes[ids], uniques), index=index)
    out = result.take(ids)
    out.index = index
    return out


def distinct_values(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The first half of `per_value`, for callers that evaluate several functions of the same
    categorical: its categories (as text, numbers or dates) then NA, and each row's position
    among them, so that `result.to_numpy()[positions]` takes a per-value result to the rows."""
    values = as_category(values)
    categories = values.cat.categories
    distinct = pd.Series(categories.astype(_category_dtype(categories))).reindex(
        range(len(categories) + 1)
    )
    codes = values.cat.codes.to_numpy()
    return distinct, np.where(codes < 0, len(categories), codes)


def categorical_rows(per_value_result: pd.Series, positions: np.ndarray) -> pd.Categorical:
    """A per-value result (`distinct_values` order, NA's result NA) taken to the rows as a
    categorical built from integer codes, its categories in order of first appearance among
    the values (as `lookup(..., "category")` builds them)."""
    codes, uniques = pd.factorize(per_value_result, use_na_sentinel=True)
    return pd.Categorical.from_codes(codes[positions], categories=uniques)


_DENSE_PAIRS = 1 << 22  # largest key space `pair_ids` marks in a bit map


def pair_ids(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct pairs of two integer code arrays (categorical codes, -1 for NA): each row's
    pair id and each pair's two codes. A bit map over the key space finds the pairs when it is
    small (no hashing), else the packed keys are factorised; ids are dense, in no set order."""
    a = a.astype(np.int64) + 1
    b = b.astype(np.int64) + 1
    b_span = int(b.max()) + 1 if len(b) else 1
    key = a * b_span + b
    space = (int(a.max()) + 1 if len(a) else 1) * b_span
    if space <= min(_DENSE_PAIRS, max(8 * len(key), 1 << 12)):
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        keys = np.flatnonzero(seen)
        lut = np.empty(space, dtype=np.intp)
        lut[keys] = np.arange(len(keys))
        ids = lut[key]
    else:
        ids, keys = pd.factorize(key)
    return ids, keys // b_span - 1, keys % b_span - 1
