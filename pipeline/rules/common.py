"""Small vectorised helpers shared by the rule modules: number formatting and policy lookups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.columns import TEXT, as_text, lookup, pair_lookup
from pipeline.config import Config
from pipeline.reference import Bundle

WHOLE_EPS = 1e-9


@dataclass
class RuleContext:
    """What a rule may read besides the lines: the configuration, the bundle, prior claims."""

    config: Config
    bundle: Bundle
    history: pd.DataFrame | None = None


def fmt_num(values: pd.Series) -> pd.Series:
    """Numbers as short text: `38`, `37.5`, `0.658` (3 decimals at most); NA stays NA."""
    v = values.astype("float64").round(3)
    text = pa.array(v.to_numpy(), from_pandas=True).cast(pa.string())
    return pd.Series(text, index=values.index, dtype=TEXT)


def fmt_date(values: pd.Series) -> pd.Series:
    dates = pa.array(values.to_numpy(dtype="datetime64[s]"), from_pandas=True)
    return pd.Series(pc.strftime(dates, format="%Y-%m-%d"), index=values.index, dtype=TEXT)


def is_whole(values: pd.Series) -> pd.Series:
    v = values.astype("float64")
    return (np.abs(v - np.round(v)) < WHOLE_EPS) & v.notna()


def unit_text(rows: pd.DataFrame) -> pd.Series:
    """`10 mg` style description of each row's billing unit."""
    return fmt_num(rows["billing_unit_amount"]) + " " + as_text(rows["billing_unit"])


def drug_policy(lines: pd.DataFrame, bundle: Bundle, column: str) -> pd.Series:
    """Per-line value of a curated drug-policy column: an NDC-specific row wins over a code row."""
    policy = bundle["drug_policy"].dropna(subset=[column])
    by_ndc = policy.dropna(subset=["ndc11"])
    by_code = policy[policy["ndc11"].isna()].drop_duplicates("hcpcs_code")
    value = pair_lookup(
        lines["hcpcs_code"], lines["ndc11"], by_ndc, "hcpcs_code", "ndc11", [column]
    )[column]
    by_code_value = lookup(lines["hcpcs_code"], by_code.set_index("hcpcs_code")[column])
    if isinstance(value.dtype, pd.CategoricalDtype):  # text: NDC rows first, then code rows
        value = value.astype("object")
    return value.where(value.notna(), by_code_value)
