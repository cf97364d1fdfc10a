"""Small vectorised helpers shared by the rule modules: number formatting and policy lookups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    text = v.astype("string").str.replace(r"\.0$", "", regex=True)
    return text.where(v.notna(), pd.NA)


def fmt_date(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d").astype("string")


def is_whole(values: pd.Series) -> pd.Series:
    v = values.astype("float64")
    return (np.abs(v - np.round(v)) < WHOLE_EPS) & v.notna()


def unit_text(rows: pd.DataFrame) -> pd.Series:
    """`10 mg` style description of each row's billing unit."""
    return fmt_num(rows["billing_unit_amount"]) + " " + rows["billing_unit"].astype("string")


def drug_policy(lines: pd.DataFrame, bundle: Bundle, column: str) -> pd.Series:
    """Per-line value of a curated drug-policy column: an NDC-specific row wins over a code row."""
    policy = bundle["drug_policy"].dropna(subset=[column])
    by_ndc = policy.dropna(subset=["ndc11"])
    by_code = policy[policy["ndc11"].isna()]
    key_ndc = (lines["hcpcs_code"].astype("string") + "|" + lines["ndc11"]).astype("object")
    ndc_map = by_ndc.set_index(by_ndc["hcpcs_code"] + "|" + by_ndc["ndc11"])[column]
    code_map = by_code.drop_duplicates("hcpcs_code").set_index("hcpcs_code")[column]
    value = key_ndc.map(ndc_map[~ndc_map.index.duplicated()])
    return value.fillna(lines["hcpcs_code"].astype("object").map(code_map))


def policy_key(lines: pd.DataFrame, bundle: Bundle, column: str) -> pd.Series:
    """Which curated row applies (`code|ndc` or `code|`), so schedules of one code stay apart."""
    policy = bundle["drug_policy"].dropna(subset=[column])
    ndc_keys = set(policy.dropna(subset=["ndc11"]).pipe(lambda p: p["hcpcs_code"] + "|" + p["ndc11"]))
    key_ndc = (lines["hcpcs_code"].astype("string") + "|" + lines["ndc11"].fillna(""))
    return key_ndc.where(key_ndc.isin(ndc_keys), lines["hcpcs_code"].astype("string") + "|")
