"""ASP files (Medicare Part B drugs, quarterly) -> `payment_limits` and `ndc_crosswalk`.

The payment limit file's dosage column also gives each code's billing unit (see `hcpcs_table`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims_audit.errors import ReferenceBuildError
from claims_audit.parsing import normalize_ndc
from claims_audit.reference_build.sources import (
    Column,
    Fixes,
    Source,
    clean_codes,
    describe,
    parse_number,
    read_cms_csv,
)

PRICING_PRODUCT = "Medicare Part B ASP payment limit file"
CROSSWALK_PRODUCT = "ASP NDC-HCPCS crosswalk"

# header names are matched case-insensitively (see sources.read_cms_csv)
PRICING_COLUMNS = [
    Column("hcpcs_code", "hcpcs code", r"hcpcs code"),
    Column("dosage_text", "hcpcs code dosage", r"hcpcs code dosage"),
    Column("payment_limit", "payment limit", r"payment limit"),
]
CROSSWALK_COLUMNS = [
    Column("hcpcs_code", "_YYYY_CODE", r"_\d{4}_code"),
    Column("labeler", "labeler name", r"labeler name"),
    Column("ndc", "ndc2", r"ndc2"),
    Column("drug_name", "drug name", r"drug name"),
    Column("pkg_size", "pkg size", r"pkg size"),
    Column("pkg_qty", "pkg qty", r"pkg qty"),
    Column("billunits", "billunits", r"billunits"),
    Column("billunitspkg", "billunitspkg", r"billunitspkg"),
]


def read_pricing(path: Path, fixes: Fixes) -> tuple[pd.DataFrame, Source]:
    """The payment limit file: hcpcs_code, dosage_text, payment_limit_usd (NaN where empty)."""
    df, banner = read_cms_csv(path, PRICING_COLUMNS, PRICING_PRODUCT)
    source = describe(path, PRICING_PRODUCT, banner)
    df = clean_codes(df, "hcpcs_code", "payment_limits", path, fixes)
    df = df.assign(payment_limit_usd=parse_number(df, "payment_limit", path, "payment limit"))
    dup = df["hcpcs_code"].duplicated()
    if dup.any():
        first = df[dup].iloc[0]
        raise ReferenceBuildError(
            f"{path}: data row {first['_row']}: code {first['hcpcs_code']} is listed twice"
        )
    return df, source


def payment_limits_table(pricing: pd.DataFrame, source: Source, fixes: Fixes) -> pd.DataFrame:
    """Limit per billing unit by code. A row without a limit is dropped and recorded (A9606 is
    priced per microCurie in a note)."""
    no_limit = pricing["payment_limit_usd"].isna()
    fixes.add(
        "payment_limits",
        source.path,
        pricing[no_limit],
        "payment_limit",
        "dropped: no payment limit",
    )
    pricing = pricing[~no_limit]
    return pd.DataFrame(
        {
            "hcpcs_code": pricing["hcpcs_code"],
            "payment_limit_usd": pricing["payment_limit_usd"],
            "dosage_text": pricing["dosage_text"],
            "quarter": source.quarter,
            "source": source.label,
        }
    )


def ndc_crosswalk_table(path: Path, fixes: Fixes) -> tuple[pd.DataFrame, Source]:
    """One row per (NDC, code) pair as published: an NDC billed under two codes keeps both rows.

    NDC2 is normalised to 5-4-2; a value that is not an NDC (e.g. a 12-digit UPC) drops its row,
    recorded in the manifest.
    """
    df, banner = read_cms_csv(path, CROSSWALK_COLUMNS, CROSSWALK_PRODUCT)
    source = describe(path, CROSSWALK_PRODUCT, banner)
    df = clean_codes(df, "hcpcs_code", "ndc_crosswalk", path, fixes)
    ndc11 = normalize_ndc(df["ndc"])
    fixes.add("ndc_crosswalk", path, df[ndc11.isna()], "ndc", "dropped: not an NDC")
    df = df.assign(ndc11=ndc11)[ndc11.notna()]
    table = pd.DataFrame(
        {
            "ndc11": df["ndc11"],
            "hcpcs_code": df["hcpcs_code"],
            "drug_name": df["drug_name"],
            "labeler": df["labeler"],
            "pkg_size": parse_number(df, "pkg_size", path, "pkg size"),
            "pkg_qty": parse_number(df, "pkg_qty", path, "pkg qty"),
            "billing_units_per_item": parse_number(df, "billunits", path, "billunits"),
            "billing_units_per_package": parse_number(df, "billunitspkg", path, "billunitspkg"),
            "source": source.label,
        }
    )
    return table, source
