"""Schemas of the reference bundle tables (SPEC section 4), checked by pandera on load.

A bundle is a directory holding `manifest.json` and one file per table, `<table>.parquet`
(built bundles) or `<table>.csv` (the curated starter bundle in `reference/`).
Every table carries a `source` column naming the file (and quarter) each fact comes from.
NDCs are stored normalised, 11 digits in 5-4-2 form with hyphens (`55513-0710-01`).

Every number must be finite and in a sane range (`inf`, `-inf` and negative values fail; NaN only
where the column is nullable): amounts, rates and counts lie in [0, MAX_VALUE], and a positive
amount or rate is at least MIN_POSITIVE, so that no fact rounds to 0 in a message. The largest
published values are far inside (2026: payment limit $770,620, OPPS rate $4.5M, billing unit
3,000,000 units, MUE 90,000).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

BILLING_UNITS = ["mg", "mcg", "g", "units", "mL"]
MUE_SETTINGS = ["practitioner", "outpatient_hospital"]
CONTAINER_TYPES = ["single_dose", "multi_dose"]
NDC11_PATTERN = r"^[0-9]{5}-[0-9]{4}-[0-9]{2}$"  # ASCII digits only (`\d` is Unicode)
HCPCS_PATTERN = r"^[A-Z0-9]{5}$"
MAX_VALUE = 1e9  # units, amounts, dollars, days: anything larger is a broken table
MIN_POSITIVE = 1e-6  # smallest positive amount or rate (ASP: $0.002, billing unit 0.01 mg)
MAX_DAYS = 36_600.0  # a dosing interval of at most 100 years


def _not_tiny(series: pd.Series) -> pd.Series:
    """0, or at least MIN_POSITIVE (NaN is left to the column's nullable flag)."""
    return series.isna() | (series == 0) | (series >= MIN_POSITIVE)


class _Table(pa.DataFrameModel):
    source: Series[str] = pa.Field(
        description="CMS file (and quarter) or curated source of the row"
    )

    class Config:
        coerce = True
        strict = "filter"


class HcpcsTable(_Table):
    hcpcs_code: Series[str] = pa.Field(str_matches=HCPCS_PATTERN, unique=True)
    short_description: Series[str] = pa.Field(nullable=True)
    long_description: Series[str] = pa.Field(nullable=True)
    add_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    effective_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    termination_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    is_noc: Series[bool]
    billing_unit_amount: Series[float] = pa.Field(nullable=True, ge=MIN_POSITIVE, le=MAX_VALUE)
    billing_unit: Series[str] = pa.Field(nullable=True, isin=BILLING_UNITS)
    billing_unit_text: Series[str] = pa.Field(nullable=True, description="dosage text as published")


class ModifiersTable(_Table):
    modifier: Series[str] = pa.Field(str_matches=r"^[A-Z0-9]{2}$", unique=True)
    description: Series[str] = pa.Field(nullable=True)
    add_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    termination_date: Series[pd.Timestamp] = pa.Field(nullable=True)


class NdcCrosswalkTable(_Table):
    ndc11: Series[str] = pa.Field(str_matches=NDC11_PATTERN)
    hcpcs_code: Series[str] = pa.Field(str_matches=HCPCS_PATTERN)
    drug_name: Series[str] = pa.Field(nullable=True)
    labeler: Series[str] = pa.Field(nullable=True)
    pkg_size: Series[float] = pa.Field(nullable=True, ge=0, le=MAX_VALUE)
    pkg_qty: Series[float] = pa.Field(nullable=True, ge=0, le=MAX_VALUE)
    billing_units_per_item: Series[float] = pa.Field(nullable=True, ge=0, le=MAX_VALUE)
    billing_units_per_package: Series[float] = pa.Field(nullable=True, ge=0, le=MAX_VALUE)

    @pa.check("pkg_size", "pkg_qty", "billing_units_per_item", "billing_units_per_package")
    def not_tiny(cls, series: pd.Series) -> pd.Series:
        return _not_tiny(series)


class PaymentLimitsTable(_Table):
    hcpcs_code: Series[str] = pa.Field(str_matches=HCPCS_PATTERN, unique=True)
    payment_limit_usd: Series[float] = pa.Field(ge=0, le=MAX_VALUE)
    dosage_text: Series[str] = pa.Field(nullable=True)
    quarter: Series[str] = pa.Field(str_matches=r"^[0-9]{4}Q[1-4]$")

    @pa.check("payment_limit_usd")
    def not_tiny(cls, series: pd.Series) -> pd.Series:
        return _not_tiny(series)


class MueTable(_Table):
    hcpcs_code: Series[str] = pa.Field(str_matches=HCPCS_PATTERN)
    setting: Series[str] = pa.Field(isin=MUE_SETTINGS)
    mue_value: Series[int] = pa.Field(ge=0, le=MAX_VALUE)
    mai: Series[int] = pa.Field(isin=[1, 2, 3])
    rationale: Series[str] = pa.Field(nullable=True)

    @pa.dataframe_check
    def one_row_per_code_and_setting(cls, df: pd.DataFrame) -> bool:
        return not df.duplicated(["hcpcs_code", "setting"]).any()


class OppsTable(_Table):
    hcpcs_code: Series[str] = pa.Field(str_matches=HCPCS_PATTERN, unique=True)
    status_indicator: Series[str] = pa.Field(nullable=True)
    apc: Series[str] = pa.Field(nullable=True)
    payment_rate_usd: Series[float] = pa.Field(nullable=True, ge=0, le=MAX_VALUE)

    @pa.check("payment_rate_usd")
    def not_tiny(cls, series: pd.Series) -> pd.Series:
        return _not_tiny(series)


class ContainerTable(_Table):
    """Curated: single- vs multi-dose package, from the FDA label (keyed by NDC, else by code)."""

    ndc11: Series[str] = pa.Field(nullable=True, str_matches=NDC11_PATTERN)
    hcpcs_code: Series[str] = pa.Field(nullable=True, str_matches=HCPCS_PATTERN)
    product: Series[str] = pa.Field(nullable=True)
    container: Series[str] = pa.Field(isin=CONTAINER_TYPES)


class DrugPolicyTable(_Table):
    """Curated: dosing interval, indications and prior-auth requirements (optionally per NDC).

    `indications` holds ICD-10-CM prefixes (no dots) separated by spaces; `requires_prior_auth`
    holds payer types separated by spaces. Empty means "no curated fact": the rule does not fire.
    """

    hcpcs_code: Series[str] = pa.Field(str_matches=HCPCS_PATTERN)
    ndc11: Series[str] = pa.Field(nullable=True, str_matches=NDC11_PATTERN)
    min_days_between_doses: Series[float] = pa.Field(nullable=True, ge=0, le=MAX_DAYS)
    indications: Series[str] = pa.Field(nullable=True)
    requires_prior_auth: Series[str] = pa.Field(nullable=True)


TABLE_SCHEMAS: dict[str, type[_Table]] = {
    "hcpcs": HcpcsTable,
    "modifiers": ModifiersTable,
    "ndc_crosswalk": NdcCrosswalkTable,
    "payment_limits": PaymentLimitsTable,
    "mue": MueTable,
    "opps": OppsTable,
    "container": ContainerTable,
    "drug_policy": DrugPolicyTable,
}
OPTIONAL_TABLES = {"opps", "drug_policy"}
