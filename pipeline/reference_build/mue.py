"""NCCI MUE tables (practitioner, outpatient hospital; quarterly) -> `mue`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import claims_audit.reference_build.sources as src
from claims_audit.errors import ReferenceBuildError

# setting -> (product, words that the value column's header must contain)
SETTINGS = {
    "practitioner": ("NCCI MUE table, practitioner services", "practitioner services"),
    "outpatient_hospital": (
        "NCCI MUE table, outpatient hospital services",
        "outpatient hospital services",
    ),
}


def mue_table(path: Path, setting: str, fixes: src.Fixes) -> tuple[pd.DataFrame, src.Source]:
    """One MUE file. The value column names its setting (`Practitioner Services MUE Values`), so
    the practitioner file handed to --mue-outpatient fails. MAI `3 Date of Service Edit: Clinical`
    -> 3; anything but 1, 2 or 3 stops the build."""
    product, words = SETTINGS[setting]
    columns = [
        src.Column("hcpcs_code", "hcpcs/cpt code", r"hcpcs/ ?cpt code"),
        src.Column("mue_value", f"{words} mue values", rf"{words} mue values"),
        src.Column("mai", "mue adjudication indicator", r"mue adjudication indicator"),
        src.Column("rationale", "mue rationale", r"mue rationale"),
    ]
    df, banner = src.read_cms_csv(path, columns, product)
    source = src.describe(path, product, banner)
    df = src.clean_codes(df, "hcpcs_code", "mue", path, fixes)
    value = src.parse_number(df, "mue_value", path, "mue value", required=True)
    mai = pd.to_numeric(df["mai"].str.extract(r"^([123])(?!\d)", expand=False), errors="coerce")
    for bad, column, expected in (
        (mai.isna(), "mai", "1, 2 or 3 followed by its label"),
        (value % 1 != 0, "mue_value", "a whole number of units"),
    ):
        if bad.any():
            first = df[bad].iloc[0]
            raise ReferenceBuildError(
                f"{path}: data row {first['_row']}: {column} {first[column]!r} is not {expected} "
                f"({int(bad.sum())} such row(s))"
            )
    table = pd.DataFrame(
        {
            "hcpcs_code": df["hcpcs_code"],
            "setting": setting,
            "mue_value": value.astype("int64"),
            "mai": mai.astype("int64"),
            "rationale": df["rationale"],
            "source": source.label,
        }
    )
    return table, source
