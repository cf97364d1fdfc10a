"""Small vectorised helpers shared by the rule modules: number formatting, policy lookups, and
the coverage vocabulary (applicable lines, "not evaluated" reasons) the rules share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import ARROW_TEXT, TEXT, arrow_text, as_text, per_combination
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
    """What a rule may read besides the lines: the configuration, the bundle, prior claims."""

    config: Config
    bundle: Bundle
    history: pd.DataFrame | None = None


def fmt_num(values: pd.Series) -> pd.Series:
    """Numbers as short text: `38`, `37.5`, `0.658` (3 decimals at most); NA stays NA."""
    v = values.astype("float64").round(3)
    text = pa.array(v.to_numpy(), from_pandas=True).cast(ARROW_TEXT)
    return pd.Series(text, index=values.index, dtype=TEXT)


def join_text(*parts: pd.Series | str) -> pd.Series:
    """Text Series and literal strings concatenated in one Arrow kernel (NA where a part is NA):
    what a chain `a + " of " + b` gives, without a new column per `+`. At least one part is a
    Series; the result has its index."""
    index = next(part.index for part in parts if isinstance(part, pd.Series))
    arrays = [pa.scalar(p, ARROW_TEXT) if isinstance(p, str) else arrow_text(p) for p in parts]
    joined = pc.binary_join_element_wise(*arrays, pa.scalar("", ARROW_TEXT))
    return pd.Series(joined, index=index, dtype=TEXT)


def fmt_date(values: pd.Series) -> pd.Series:
    dates = pa.array(values.to_numpy(dtype="datetime64[s]"), from_pandas=True)
    return pd.Series(pc.strftime(dates, format="%Y-%m-%d"), index=values.index, dtype=TEXT)


def is_whole(values: pd.Series) -> pd.Series:
    v = values.astype("float64")
    return (np.abs(v - np.round(v)) < WHOLE_EPS) & v.notna()


def unit_text(rows: pd.DataFrame) -> pd.Series:
    """`10 mg` style description of each row's billing unit."""
    return join_text(fmt_num(rows["billing_unit_amount"]), " ", as_text(rows["billing_unit"]))


def drug_policy(lines: pd.DataFrame, bundle: Bundle, column: str) -> pd.Series:
    """Per-line value of a curated drug-policy column: an NDC-specific row wins over a code row.
    Looked up once per distinct (code, NDC) of the lines; text comes back as a categorical."""
    policy = bundle["drug_policy"].dropna(subset=[column])
    by_ndc = policy.dropna(subset=["ndc11"]).drop_duplicates(["hcpcs_code", "ndc11"])
    by_code = policy[policy["ndc11"].isna()].drop_duplicates("hcpcs_code")
    by_code = by_code.set_index("hcpcs_code")[column]

    def value(pairs: pd.DataFrame) -> pd.Series:
        keys = pairs.astype("object")
        found = keys.merge(by_ndc[["hcpcs_code", "ndc11", column]], how="left")[column]
        return found.where(found.notna(), keys["hcpcs_code"].map(by_code))

    return per_combination(lines, ["hcpcs_code", "ndc11"], value)


def payer_requires(lines: pd.DataFrame, ctx: RuleContext, key: str) -> pd.Series:
    """Per line: the payer's configured boolean setting `key` is true (payer_id over type),
    decided once per distinct (payer_type, payer_id)."""
    payers = ["payer_type", "payer_id"] if "payer_id" in lines else ["payer_type"]

    def setting(combos: pd.DataFrame) -> pd.Series:
        return ctx.config.payer_setting(combos, key).eq(True).fillna(False).astype(bool)

    if lines.empty:
        return pd.Series(False, index=lines.index)
    return per_combination(lines, payers, setting).astype(bool)


def reasons(index: pd.Index, *cases: tuple[pd.Series, str], default: str) -> pd.Series:
    """Per-line "not evaluated" reason: the name of the first case whose condition holds
    (a categorical built from integer codes: no per-line strings)."""
    names = list(dict.fromkeys([name for _, name in cases] + [default]))
    codes = np.full(len(index), names.index(default), dtype=np.int8)
    for condition, name in reversed(cases):  # the first case wins: apply it last
        hit = np.asarray(pd.Series(condition).fillna(False), dtype=bool)
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
