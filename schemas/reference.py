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


def _one_row_per_code_and_setting(df: pd.DataFrame) -> bool:
    """At most one MUE per (code, setting)."""
    return not df.duplicated(["hcpcs_code", "setting"]).any()


def _text(*checks: pa.Check, nullable: bool = False, unique: bool = False, **kw) -> pa.Column:
    """A text column (`str`) with its checks."""
    return pa.Column(str, checks=list(checks) or None, nullable=nullable, unique=unique, **kw)


def _pattern(pattern: str, nullable: bool = False, unique: bool = False) -> pa.Column:
    """A text column whose every value matches `pattern`."""
    return _text(pa.Check.str_matches(pattern), nullable=nullable, unique=unique)


def _number(high: float = MAX_VALUE, nullable: bool = True, not_tiny: bool = False) -> pa.Column:
    """A float column within [0, high]; with `not_tiny`, no positive value below MIN_POSITIVE."""
    checks = [pa.Check.ge(0), pa.Check.le(high)]
    if not_tiny:
        checks.append(pa.Check(_not_tiny, name="not_tiny"))
    return pa.Column(float, checks=checks, nullable=nullable)


def _dates() -> pa.Column:
    """A date column, nullable."""
    return pa.Column("datetime64[ns]", nullable=True)


def _table(
    name: str,
    columns: dict[str, pa.Column],
    description: str | None = None,
    checks: list[pa.Check] | None = None,
) -> pa.DataFrameSchema:
    """The schema of one bundle table: its `source` column first, then `columns`; types are
    coerced and other columns dropped. A `DataFrameSchema`, not a pandera `DataFrameModel`:
    building a model imports every dataframe library pandera supports (dask takes about half a
    second) and loading a bundle needs none of them (issue 14)."""
    source = _text(description="CMS file (and quarter) or curated source of the row")
    return pa.DataFrameSchema(
        {"source": source, **columns},
        checks=checks,
        coerce=True,
        strict="filter",
        name=name,
        description=description,
    )


_HCPCS = {
    "hcpcs_code": _pattern(HCPCS_PATTERN, unique=True),
    "short_description": _text(nullable=True),
    "long_description": _text(nullable=True),
    "add_date": _dates(),
    "effective_date": _dates(),
    "termination_date": _dates(),
    "is_noc": pa.Column(bool),
    "billing_unit_amount": pa.Column(
        float, checks=[pa.Check.ge(MIN_POSITIVE), pa.Check.le(MAX_VALUE)], nullable=True
    ),
    "billing_unit": _text(pa.Check.isin(BILLING_UNITS), nullable=True),
    "billing_unit_text": _text(nullable=True, description="dosage text as published"),
}
_MODIFIERS = {
    "modifier": _pattern(r"^[A-Z0-9]{2}$", unique=True),
    "description": _text(nullable=True),
    "add_date": _dates(),
    "termination_date": _dates(),
}
_NDC_CROSSWALK = {
    "ndc11": _pattern(NDC11_PATTERN),
    "hcpcs_code": _pattern(HCPCS_PATTERN),
    "drug_name": _text(nullable=True),
    "labeler": _text(nullable=True),
    "pkg_size": _number(not_tiny=True),
    "pkg_qty": _number(not_tiny=True),
    "billing_units_per_item": _number(not_tiny=True),
    "billing_units_per_package": _number(not_tiny=True),
}
_PAYMENT_LIMITS = {
    "hcpcs_code": _pattern(HCPCS_PATTERN, unique=True),
    "payment_limit_usd": _number(nullable=False, not_tiny=True),
    "dosage_text": _text(nullable=True),
    "quarter": _pattern(r"^[0-9]{4}Q[1-4]$"),
}
_MUE = {
    "hcpcs_code": _pattern(HCPCS_PATTERN),
    "setting": _text(pa.Check.isin(MUE_SETTINGS)),
    "mue_value": pa.Column(int, checks=[pa.Check.ge(0), pa.Check.le(MAX_VALUE)]),
    "mai": pa.Column(int, checks=[pa.Check.isin([1, 2, 3])]),
    "rationale": _text(nullable=True),
}
_OPPS = {
    "hcpcs_code": _pattern(HCPCS_PATTERN, unique=True),
    "status_indicator": _text(nullable=True),
    "apc": _text(nullable=True),
    "payment_rate_usd": _number(not_tiny=True),
}
_CONTAINER = {
    "ndc11": _pattern(NDC11_PATTERN, nullable=True),
    "hcpcs_code": _pattern(HCPCS_PATTERN, nullable=True),
    "product": _text(nullable=True),
    "container": _text(pa.Check.isin(CONTAINER_TYPES)),
}
_DRUG_POLICY = {
    "hcpcs_code": _pattern(HCPCS_PATTERN),
    "ndc11": _pattern(NDC11_PATTERN, nullable=True),
    "min_days_between_doses": _number(MAX_DAYS),
    "indications": _text(nullable=True),
    "requires_prior_auth": _text(nullable=True),
}

TABLE_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "hcpcs": _table("HcpcsTable", _HCPCS),
    "modifiers": _table("ModifiersTable", _MODIFIERS),
    "ndc_crosswalk": _table("NdcCrosswalkTable", _NDC_CROSSWALK),
    "payment_limits": _table("PaymentLimitsTable", _PAYMENT_LIMITS),
    "mue": _table(
        "MueTable",
        _MUE,
        checks=[pa.Check(_one_row_per_code_and_setting, name="one_row_per_code_and_setting")],
    ),
    "opps": _table("OppsTable", _OPPS),
    "container": _table(
        "ContainerTable",
        _CONTAINER,
        "Curated: single- vs multi-dose package, from the FDA label (keyed by NDC, else by code).",
    ),
    "drug_policy": _table(
        "DrugPolicyTable",
        _DRUG_POLICY,
        "Curated: dosing interval, indications and prior-auth requirements (optionally per NDC)."
        "\n\n`indications` holds ICD-10-CM prefixes (no dots) separated by spaces; "
        '`requires_prior_auth` holds payer types separated by spaces. Empty means "no curated '
        'fact": the rule does not fire.',
    ),
}
OPTIONAL_TABLES = {"opps", "drug_policy"}
