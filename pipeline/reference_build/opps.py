"""OPPS Addendum B (hospital outpatient payment by code, quarterly; optional) -> `opps`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import claims_audit.reference_build.sources as src

PRODUCT = "OPPS Addendum B"
COLUMNS = [
    src.Column("hcpcs_code", "hcpcs code", r"hcpcs code"),
    src.Column("status_indicator", "si", r"si"),
    src.Column("apc", "apc", r"apc"),
    src.Column("payment_rate", "payment rate", r"payment rate"),
]
OPPS_COLUMNS = ["hcpcs_code", "status_indicator", "apc", "payment_rate_usd", "source"]


def opps_table(path: Path | None, fixes: src.Fixes) -> tuple[pd.DataFrame, src.Source | None]:
    """Status indicator, APC and payment rate (`$3,179.530` -> 3179.53) by code; with no file, an
    empty table with the right columns."""
    if path is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in OPPS_COLUMNS}), None
    df, banner = src.read_cms_csv(path, COLUMNS, PRODUCT)
    source = src.describe(path, PRODUCT, banner)
    df = src.clean_codes(df, "hcpcs_code", "opps", path, fixes)
    table = pd.DataFrame(
        {
            "hcpcs_code": df["hcpcs_code"],
            "status_indicator": df["status_indicator"],
            "apc": df["apc"],
            "payment_rate_usd": src.parse_number(df, "payment_rate", path, "payment rate"),
            "source": source.label,
        }
    )
    return table, source
