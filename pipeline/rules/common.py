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
    combination_rows,
    distinct_combinations,
    group_ids,
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
    v = np.round(values.to_numpy(dtype="float64", na_value=np.nan), 3)
    text = pa.array(v, from_pandas=True).cast(ARROW_TEXT)
    return pd.Series(text, index=values.index, dtype=TEXT)


def join_text(*parts: pd.Series | str) -> pd.Series:
    """Text Series and literal strings concatenated in one Arrow kernel (NA where a part is NA):
    what a chain `a + " of " + b` gives, without a new column per `+`. At least one part is a
    Series; the result has its index."""
    index = next(part.index for part in parts if isinstance(part, pd.Series))
    arrays = [pa.scalar(p, ARROW_TEXT) if isinstance(p, str) else arrow_text(p) for p in parts]
    joined = pc.binary_join_element_wise(*arrays, pa.scalar("", ARROW_TEXT))
    return pd.Series(joined, index=index, dtype=TEXT)


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
    v = values.astype("float64")
    return (np.abs(v - np.round(v)) < WHOLE_EPS) & v.notna()


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
    return ctx.shared(lines, key, lambda: distinct_combinations(lines, columns))


def per_distinct(lines: pd.DataFrame, ctx: RuleContext, columns: list[str], fn) -> pd.Series:
    """`per_combination(lines, columns, fn)`, the combinations found once (`distinct_of`)."""
    if lines.empty:
        return pd.Series(index=lines.index, dtype="object")
    ids, small = distinct_of(lines, ctx, columns)
    return combination_rows(fn(small), ids, lines.index)


def policy_of_pairs(pairs: pd.DataFrame, ctx: RuleContext, column: str) -> pd.Series:
    """Per (code, NDC) row of `pairs`: the curated drug-policy value of `column`, an
    NDC-specific row winning over a code row (NA where neither has one)."""
    policy = ctx.bundle["drug_policy"].dropna(subset=[column])
    by_ndc = policy.dropna(subset=["ndc11"]).drop_duplicates(POLICY_KEY)
    by_code = policy[policy["ndc11"].isna()].drop_duplicates("hcpcs_code")
    by_code = by_code.set_index("hcpcs_code")[column]
    keys = pairs[POLICY_KEY].astype("object")
    found = keys.merge(by_ndc[[*POLICY_KEY, column]], how="left")[column]
    return found.where(found.notna(), keys["hcpcs_code"].map(by_code))


def drug_policy(lines: pd.DataFrame, ctx: RuleContext, column: str) -> pd.Series:
    """Per-line value of a curated drug-policy column (`policy_of_pairs`), looked up once per
    distinct (code, NDC) of the lines; text comes back as a categorical."""
    return per_distinct(lines, ctx, POLICY_KEY, lambda p: policy_of_pairs(p, ctx, column))


PATIENT_CODE_DAY = ["patient_key", "hcpcs_code", "service_date"]


def finer_groups(
    lines: pd.DataFrame, ctx: RuleContext, columns: list[str], among: np.ndarray | None = None
) -> np.ndarray:
    """Group ids of `columns` (which include the patient, code and date of service) for every
    line. Only lines that share their (patient, code, date) with another line (of `among`, a
    mask; all lines by default) can share a group: `group_ids` runs on those few, every other
    line is a group of its own. The (patient, code, date) groups are found once per frame."""
    coarse = ctx.shared(
        lines, ("patient_code_day",), lambda: group_ids(*(lines[c] for c in PATIENT_CODE_DAY))
    )
    weights = None if among is None else among.astype(np.float64)
    shared = np.bincount(coarse, weights=weights)[coarse] > 1
    at, alone = np.flatnonzero(shared), np.flatnonzero(~shared)
    ids = np.empty(len(lines), dtype=np.int64)
    ids[at] = group_ids(*(lines[c].iloc[at] for c in columns))
    ids[alone] = (ids[at].max() + 1 if len(at) else 0) + np.arange(len(alone))
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
        codes[hit] = names.index(name)
    return pd.Series(pd.Categorical.from_codes(codes, categories=names), index=index)


def container_is(lines: pd.DataFrame, kind: str) -> pd.Series:
    """The curated container type is `kind` (`single_dose`, `multi_dose`); unknown is False."""
    return (lines["container"] == kind).fillna(False).astype(bool)


def at_rate(units: pd.Series, lines: pd.DataFrame) -> pd.Series:
    """Dollars for billing units at the payment of the line's setting (`rate_usd`: ASP limit,
    OPPS rate, 0 when packaged, NaN when unknown: the impact is then empty). Adding 0.0 turns
    a negative zero (units x a packaged drug's 0.0) into 0.0."""
    return units * lines["rate_usd"] + 0.0
