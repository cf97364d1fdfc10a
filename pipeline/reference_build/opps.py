"""OPPS Addendum B (hospital outpatient payment by code, quarterly; optional) -> `opps`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims_audit.reference_build.sources import (
    Column,
    Fixes,
    Source,
    clean_codes,
    describe,
    parse_number,
    read_cms_csv,
)

PRODUCT = "OPPS Addendum B"
COLUMNS = [
    Column("hcpcs_code", "hcpcs code", r"hcpcs code"),
    Column("status_indicator", "si", r"si"),
    Column("apc", "apc", r"apc"),
    Column("payment_rate", "payment rate", r"payment rate"),
]
OPPS_COLUMNS = ["hcpcs_code", "status_indicator", "apc", "payment_rate_usd", "source"]


def opps_table(path: Path | None, fixes: Fixes) -> tuple[pd.DataFrame, Source | None]:
    """Status indicator, APC and payment rate (`$3,179.530` -> 3179.53) by code; with no file, an
    empty table with the right columns."""
    if path is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in OPPS_COLUMNS}), None
    df, banner = read_cms_csv(path, COLUMNS, PRODUCT)
    source = describe(path, PRODUCT, banner)
    df = clean_codes(df, "hcpcs_code", "opps", path, fixes)
    table = pd.DataFrame(
        {
            "hcpcs_code": df["hcpcs_code"],
            "status_indicator": df["status_indicator"],
            "apc": df["apc"],
            "payment_rate_usd": parse_number(df, "payment_rate", path, "payment rate"),
            "source": source.label,
        }
    )
    return table, source
