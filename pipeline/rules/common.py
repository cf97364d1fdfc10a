"""Small vectorised helpers shared by the rule modules: number formatting, policy lookups, and
the coverage vocabulary (applicable lines, "not evaluated" reasons) the rules share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import (
    ARROW_TEXT,
    TEXT,
    arrow_text,
    as_text,
    codes_of,
    combination_rows,
    distinct_combinations,
    group_ids,
    is_categorical,
    per_combination,
)
from claims_audit.config import Config
from claims_audit.reference import Bundle

WHOLE_EPS = 1e-9
# "not evaluated" reasons (CONTRACT interface 3; the engine counts them per rule)
NO_DOSE = "no_dose"
UNKNOWN_CONTAINER = "unknown_container"
NO_MUE = "no_mue"
NO_BILLING_UNIT = "no_billing_unit"
NO_SUBMISSION_DATE = "no_submission_date"
NO_FILING_LIMIT = "no_filing_limit"
OUTSIDE_REFERENCE_PERIOD = "outside_reference_period"
NO_RATE = "no_rate"
NO_POLICY = "no_policy"
MISSING_INPUT = "missing_input"


@dataclass
class RuleContext:
    """What a rule may read besides the lines: the configuration, the bundle, prior claims.

    While the engine runs the rules (`sharing`), a value several rules derive alike from the
    same frame (a policy column, the distinct payers, a unit slip) is computed once (`shared`).
    """

    config: Config
    bundle: Bundle
    history: pd.DataFrame | None = None
    _shared: dict[int, dict] = field(default_factory=dict, init=False, repr=False, compare=False)

    @contextmanager
    def sharing(self, *frames: pd.DataFrame | None) -> Iterator[None]:
        """Keep the values `shared` derives from these frames until the block ends (the frames
        stay alive meanwhile, so their ids cannot be reused)."""
        self._shared = {id(f): {} for f in frames if f is not None}
        try:
            yield
        finally:
            self._shared = {}

    def shared(self, frame: pd.DataFrame, key: tuple, compute: Callable[[], object]):
        """`compute()` for `frame`, once per `key` inside `sharing` (else on every call)."""
        store = self._shared.get(id(frame))
        if store is None:
            return compute()
        if key not in store:
            store[key] = compute()
        return store[key]


def fmt_num(values: pd.Series) -> pd.Series:
    """Numbers as short text: `38`, `37.5`, `0.658` (3 decimals at most); NA stays NA."""
    text = number_text(values.to_numpy(dtype="float64", na_value=np.nan))
    return pd.Series(text, index=values.index, dtype=TEXT)


def number_text(values: np.ndarray) -> pa.Array:
    """`fmt_num` of float64 numbers, as Arrow text (NaN: null)."""
    return pa.array(np.round(values, 3), from_pandas=True).cast(ARROW_TEXT)


def join_text(*parts: pd.Series | str) -> pd.Series:
    """Text Series and literal strings concatenated in one Arrow kernel (NA where a part is NA):
    what a chain `a + " of " + b` gives, without a new column per `+`. At least one part is a
    Series; the result has its index."""
    index = next(part.index for part in parts if isinstance(part, pd.Series))
    arrays = [pa.scalar(p, ARROW_TEXT) if isinstance(p, str) else arrow_text(p) for p in parts]
    joined = pc.binary_join_element_wise(*arrays, pa.scalar("", ARROW_TEXT))
    return pd.Series(joined, index=index, dtype=TEXT)


def text_of(codes: np.ndarray, texts: list[str], index: pd.Index) -> pd.Series:
    """Per row, `texts[code]` as TEXT: one Arrow take from a small table (no per-row strings
    built in Python)."""
    table = pa.array(texts, ARROW_TEXT)
    return pd.Series(table.take(pa.array(codes, type=pa.int64())), index=index, dtype=TEXT)


# days since 1970 of the years Arrow writes as `YYYY-MM-DD` when it casts a date32 to text
_FOUR_DIGIT_YEARS = (
    int(np.datetime64("1000-01-01", "D").astype(np.int64)),
    int(np.datetime64("9999-12-31", "D").astype(np.int64)),
)


def fmt_date(values: pd.Series) -> pd.Series:
    """Dates as `YYYY-MM-DD` text (the day of a timestamp); NaT stays NA. Whole days are cast
    to Arrow dates and those to text (what `strftime("%Y-%m-%d")` writes, without parsing a
    format per value)."""
    stamps = values.to_numpy(dtype="datetime64[s]")
    missing = np.isnat(stamps)
    days = stamps.astype(np.int64) // 86_400  # floor: a time before 1970 is on the day before
    known = days[~missing]
    if len(known) and (known.min() < _FOUR_DIGIT_YEARS[0] or known.max() > _FOUR_DIGIT_YEARS[1]):
        text = pc.strftime(pa.array(stamps, from_pandas=True), format="%Y-%m-%d")
    else:
        dates = pa.array(np.where(missing, 0, days).astype(np.int32), mask=missing)
        text = dates.cast(pa.date32()).cast(ARROW_TEXT)
    return pd.Series(text, index=values.index, dtype=TEXT)


def is_whole(values: pd.Series) -> pd.Series:
    """Per row: the number is whole (within `WHOLE_EPS`); NA is not."""
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series((np.abs(v - np.round(v)) < WHOLE_EPS) & ~np.isnan(v), index=values.index)


def unit_text(rows: pd.DataFrame) -> pd.Series:
    """`10 mg` style description of each row's billing unit."""
    return join_text(fmt_num(rows["billing_unit_amount"]), " ", as_text(rows["billing_unit"]))


def text_at(lines: pd.DataFrame, where: pd.Series, columns: list[str], fn) -> pd.Series:
    """`per_combination` of the lines `where` holds (a check that concerns few lines), its
    text `fn` results (object values) as one categorical over all the lines: NA elsewhere,
    built from integer codes (no frame of the other lines, no reindex)."""
    at = np.flatnonzero(where.to_numpy(dtype=bool))
    found = per_combination(lines[columns].iloc[at], columns, fn)
    codes = np.full(len(lines), -1, dtype=np.int64)
    categories = pd.Index([], dtype=object)
    if len(at):
        codes[at] = found.cat.codes.to_numpy()
        categories = found.cat.categories
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=lines.index)


POLICY_KEY = ["hcpcs_code", "ndc11"]  # what a curated drug-policy row is looked up by


def distinct_of(lines: pd.DataFrame, ctx: RuleContext, columns: list[str]) -> tuple:
    """`distinct_combinations(lines, columns)`: each line's combination id and one row per
    combination, found once per frame for every rule that reads the same columns."""
    key = ("distinct", *columns)
    return ctx.shared(lines, key, lambda: few_combinations(lines, columns))


_FEW_COMBINATIONS = 1 << 16  # largest key space `few_combinations` counts in a table


def _of_objects(values: pd.Series) -> bool:
    """A categorical whose categories are objects (text): read as text as its rows are."""
    return is_categorical(values) and pd.api.types.is_object_dtype(values.cat.categories)


def few_combinations(lines: pd.DataFrame, columns: list[str]) -> tuple:
    """`distinct_combinations` of categoricals of text (ids numbered in key order, not in order of
    first appearance): the rows' codes are packed into one key; the keys are counted in a
    table when the combined categories are few (payer type and id), else factorised, and each
    combination's values are read from the categories (no search for first rows). Other
    columns: `distinct_combinations` itself."""
    cols = [lines[c] for c in columns]
    spans = [len(c.cat.categories) + 1 if _of_objects(c) else 0 for c in cols]
    space = np.prod(spans, dtype=np.float64)
    if not all(spans) or not len(lines) or space >= 2**62:
        return distinct_combinations(lines, columns)
    key = np.zeros(len(lines), dtype=np.int64)
    for col, span in zip(cols, spans, strict=True):
        key = key * span + (col.array.codes.astype(np.int64) + 1)  # NA (code -1) first
    if space <= _FEW_COMBINATIONS:
        keys = np.flatnonzero(np.bincount(key, minlength=int(space)))
        table = np.empty(int(space), dtype=np.int64)
        table[keys] = np.arange(len(keys))
        ids = table[key]
    else:
        ids, keys = pd.factorize(key)
    small = {}
    for name, col, span in reversed(list(zip(columns, cols, spans, strict=True))):
        values = pd.concat([pd.Series([pd.NA]), pd.Series(col.cat.categories)], ignore_index=True)
        small[name] = values.astype("string").take(keys % span).reset_index(drop=True)
        keys = keys // span
    return ids.astype(np.int64), pd.DataFrame({c: small[c] for c in columns})


def per_distinct(lines: pd.DataFrame, ctx: RuleContext, columns: list[str], fn) -> pd.Series:
    """`per_combination(lines, columns, fn)`, the combinations found once (`distinct_of`)."""
    if lines.empty:
        return pd.Series(index=lines.index, dtype="object")
    ids, small = distinct_of(lines, ctx, columns)
    return combination_rows(fn(small), ids, lines.index)


def _policy_rows(keys: pd.DataFrame, policy: pd.DataFrame, column: str) -> pd.Series:
    """Per (code, NDC) row of `keys` (object text, a RangeIndex): the value of `column` of
    the curated rows `policy` (those that have one), an NDC-specific row winning over a code
    row."""
    by_ndc = policy.dropna(subset=["ndc11"]).drop_duplicates(POLICY_KEY)
    by_code = policy[policy["ndc11"].isna()].drop_duplicates("hcpcs_code")
    by_code = by_code.set_index("hcpcs_code")[column]
    found = keys.merge(by_ndc[[*POLICY_KEY, column]], how="left")[column]
    return found.where(found.notna(), keys["hcpcs_code"].map(by_code))


_NA_KINDS = (np.dtype("float64"), np.dtype(object))  # policy values that hold NA as NaN


def policy_of_pairs(pairs: pd.DataFrame, ctx: RuleContext, column: str) -> pd.Series:
    """Per (code, NDC) row of `pairs`: the curated drug-policy value of `column`, an
    NDC-specific row winning over a code row (NA where neither has one). Only the pairs of a
    code with a curated row are joined (the table has few codes); the others are NA."""
    policy = ctx.bundle["drug_policy"].dropna(subset=[column])
    curated = pairs["hcpcs_code"].isin(policy["hcpcs_code"]).to_numpy(dtype=bool)
    at = np.flatnonzero(curated)
    kind = policy[column].dtype
    if not len(at) and kind in _NA_KINDS:  # what the join gives: all NA
        return pd.Series(np.full(len(pairs), np.nan, dtype=kind))
    keys = pairs[POLICY_KEY].iloc[at].reset_index(drop=True)  # labels as the join's rows
    found = _policy_rows(keys.astype("object"), policy, column)
    if found.dtype not in _NA_KINDS:  # NA in another type: as the join of all pairs gives
        return _policy_rows(pairs[POLICY_KEY].astype("object"), policy, column)
    values = np.full(len(pairs), np.nan, dtype=found.dtype)
    values[at] = found.to_numpy()
    return pd.Series(values)


def drug_policy(lines: pd.DataFrame, ctx: RuleContext, column: str) -> pd.Series:
    """Per-line value of a curated drug-policy column (`policy_of_pairs`), looked up once per
    distinct (code, NDC) of the lines; text comes back as a categorical."""
    return per_distinct(lines, ctx, POLICY_KEY, lambda p: policy_of_pairs(p, ctx, column))


PATIENT_CODE_DAY = ["patient_key", "hcpcs_code", "service_date"]


def packed_key(*columns: pd.Series) -> np.ndarray:
    """One int64 per row that is equal exactly where the rows' values of `columns` are all
    equal: their integer codes (`codes_of`) packed, without the hashing `group_ids` does to
    number the groups; `group_ids` itself when the packed codes would overflow."""
    key, span = np.zeros(len(columns[0]), dtype=np.int64), 1
    for col in columns:
        codes = codes_of(col)
        low = int(codes.min()) if len(codes) else 0
        width = int(codes.max()) - low + 1 if len(codes) else 1
        if span * width >= 2**62:
            return group_ids(*columns)
        key, span = key * width + (codes - low), span * width
    return key


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads keys over a table
_TABLE_BITS = 20


def member(key: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per row: its `key` (int64) is one of `keys` (int64, distinct and sorted). Each row is
    screened through a bit table of the keys' hashes; only rows whose bit is set are looked up
    by binary search (a few, when `keys` are few: no hash table, no sort of the rows)."""
    out = np.zeros(len(key), dtype=bool)
    if not len(keys):
        return out

    def bucket(k: np.ndarray) -> np.ndarray:
        return (k.view(np.uint64) * _FIBONACCI) >> np.uint64(64 - _TABLE_BITS)

    table = np.zeros(1 << _TABLE_BITS, dtype=bool)
    table[bucket(keys)] = True
    at = np.flatnonzero(table[bucket(key)])
    found = np.minimum(np.searchsorted(keys, key[at]), len(keys) - 1)
    out[at] = keys[found] == key[at]
    return out


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of an int64 array, sorted (one sort, no hashing)."""
    ordered = np.sort(values)
    return (
        ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) else ordered
    )


def repeated(key: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """Per row: its `key` (int64, or uint64 hashes) occurs more than once among the rows
    `among` marks (a mask; all rows by default): the keys are sorted once, and the rows look
    up the repeated ones (`member`)."""
    ordered = np.sort(key if among is None else key[among])
    return member(key, distinct_sorted(ordered[1:][ordered[1:] == ordered[:-1]]))


def packed_order(*keys: np.ndarray) -> np.ndarray:
    """`np.lexsort(keys[::-1])` (the first key sorts first; stable): integer keys packed into
    one int64 and sorted once when their spans fit, else lexsort."""
    packed, span = np.zeros(len(keys[0]), dtype=np.int64), 1
    for key in keys:
        low = int(key.min()) if len(key) else 0
        width = int(key.max()) - low + 1 if len(key) else 1
        if span * width >= 2**62:
            return np.lexsort(keys[::-1])
        packed, span = packed * width + (key - low), span * width
    return np.argsort(packed, kind="stable")


def first_by_claim_line(
    lines: pd.DataFrame, at: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The lines `at` (positions) in (claim_id, line_number) order (stable), and for each the
    position of the first of them with its key (`keys`, one per line of `at`) in that order:
    an Arrow rank of the claim ids, one packed sort, then a stable sort by key."""
    claim = arrow_text(pd.Series(lines["claim_id"].array.take(at)))
    rank = pc.rank(claim, sort_keys="ascending", tiebreaker="dense").to_numpy()
    order = packed_order(rank, lines["line_number"].to_numpy(dtype="int64")[at])
    keyed = keys[order]
    by_key = np.argsort(keyed, kind="stable")
    starts = np.ones(len(by_key), dtype=bool)
    starts[1:] = keyed[by_key[1:]] != keyed[by_key[:-1]]
    first = np.empty(len(by_key), dtype=np.int64)
    first[by_key] = by_key[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    return at[order], at[order[first]]


def finer_groups(
    lines: pd.DataFrame, ctx: RuleContext, columns: list[str], among: np.ndarray | None = None
) -> np.ndarray:
    """Group ids of `columns` (which include the patient, code and date of service) for every
    line. Only lines that share their (patient, code, date) with another line (of `among`, a
    mask; all lines by default) can share a group: `group_ids` runs on those few, every other
    line is a group of its own (ids are below twice the lines, not dense). The lines whose
    (patient, code, date) repeats among all lines are found once per frame; a key that repeats
    among `among` is one of theirs, so `among` is judged on those few lines only."""

    def repeating() -> tuple[np.ndarray, np.ndarray]:
        coarse = packed_key(*(lines[c] for c in PATIENT_CODE_DAY))
        at = np.flatnonzero(repeated(coarse))
        return at, coarse[at]

    at, coarse = ctx.shared(lines, ("patient_code_day",), repeating)
    if among is not None:
        at = at[repeated(coarse, among[at])]
    ids = np.arange(len(at), len(at) + len(lines), dtype=np.int64)  # a line alone: its own id
    ids[at] = group_ids(*(lines[c].iloc[at] for c in columns))  # ids below len(at)
    return ids


def payer_columns(lines: pd.DataFrame) -> list[str]:
    """The columns that name a line's payer (its payer_id where the lines have one)."""
    return ["payer_type", "payer_id"] if "payer_id" in lines else ["payer_type"]


def per_payer(lines: pd.DataFrame, ctx: RuleContext, fn) -> pd.Series:
    """`fn` of the distinct payers (payer_type, payer_id) of the lines, taken to the lines."""
    return per_distinct(lines, ctx, payer_columns(lines), fn)


def payer_requires(lines: pd.DataFrame, ctx: RuleContext, key: str) -> pd.Series:
    """Per line: the payer's configured boolean setting `key` is true (payer_id over type),
    decided once per distinct (payer_type, payer_id)."""

    def setting(combos: pd.DataFrame) -> pd.Series:
        return ctx.config.payer_setting(combos, key).eq(True).fillna(False).astype(bool)

    if lines.empty:
        return pd.Series(False, index=lines.index)
    return per_payer(lines, ctx, setting).astype(bool)


def reasons(index: pd.Index, *cases: tuple[pd.Series, str], default: str) -> pd.Series:
    """Per-line "not evaluated" reason: the name of the first case whose condition holds
    (a categorical built from integer codes: no per-line strings)."""
    names = list(dict.fromkeys([name for _, name in cases] + [default]))
    codes = np.full(len(index), names.index(default), dtype=np.int8)
    for condition, name in reversed(cases):  # the first case wins: apply it last
        holds = pd.Series(condition)
        if holds.dtype != np.bool_:  # NA counts as False
            holds = holds.fillna(False)
        hit = holds.to_numpy(dtype=bool)
        np.putmask(codes, hit, names.index(name))
    categorical = pd.Categorical.from_codes(codes, categories=names, validate=False)
    return pd.Series(categorical, index=index)


def category_is(values: pd.Series, value: str) -> np.ndarray:
    """Per row: the value is `value` (NA is not), on a categorical's integer codes."""
    if is_categorical(values):
        code = values.cat.categories.get_indexer([value])[0]
        if code < 0:
            return np.zeros(len(values), dtype=bool)
        return values.array.codes == code
    return (values == value).fillna(False).to_numpy(dtype=bool)


def container_is(lines: pd.DataFrame, kind: str) -> pd.Series:
    """The curated container type is `kind` (`single_dose`, `multi_dose`); unknown is False."""
    return pd.Series(category_is(lines["container"], kind), index=lines.index)


def at_rate(units: pd.Series, lines) -> pd.Series:
    """Dollars for billing units at the payment of the line's setting (`rate_usd` of `lines`,
    the lines or a rule's flagged rows: ASP limit,
    OPPS rate, 0 when packaged, NaN when unknown: the impact is then empty). Adding 0.0 turns
    a negative zero (units x a packaged drug's 0.0) into 0.0."""
    return units * lines["rate_usd"] + 0.0
