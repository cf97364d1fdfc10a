"""`diff_bundles`: what changed between two reference bundles (e.g. two quarters).

Codes added, removed, terminated (or reinstated); billing unit changes; MUE value and MAI
changes; payment limit changes; NDC-to-code pairs added or removed. One row per change:
change_type, key, old, new.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims_audit.reference import Bundle, load_bundle


def _text(values: pd.Series) -> pd.Series:
    """Values as display text, NA kept (dates as ISO, floats without trailing zeros)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    if pd.api.types.is_float_dtype(values):
        return _number(values)
    return values.astype("string")


def _number(values: pd.Series) -> pd.Series:
    """Floats as short text: 93.832 -> `93.832`, 10.0 -> `10`."""
    return values.astype("string").str.replace(r"\.0$", "", regex=True)


def _rows(change_type: str, key: pd.Series, old: pd.Series | None, new: pd.Series | None):
    empty = pd.Series(pd.NA, index=key.index, dtype="string")
    return pd.DataFrame(
        {
            "change_type": change_type,
            "key": key.astype("string"),
            "old": empty if old is None else _text(old),
            "new": empty if new is None else _text(new),
        }
    )


def _changes(
    old: pd.DataFrame,
    new: pd.DataFrame,
    keys: list[str],
    prefix: str,
    compare: dict[str, str],
    shown: str,
) -> list[pd.DataFrame]:
    """Added/removed rows by `keys` (showing column `shown`) and, for rows in both, one change
    per column of `compare` ({column: change_type}) whose value differs."""
    both = old.merge(new, on=keys, how="outer", suffixes=("_old", "_new"), indicator=True)
    key = both[keys[0]].astype("string")
    for column in keys[1:]:
        key = key + " " + both[column].astype("string")
    added, removed = both["_merge"] == "right_only", both["_merge"] == "left_only"
    out = [
        _rows(f"{prefix}_added", key[added], None, both.loc[added, f"{shown}_new"]),
        _rows(f"{prefix}_removed", key[removed], both.loc[removed, f"{shown}_old"], None),
    ]
    common = both["_merge"] == "both"
    for column, change_type in compare.items():
        a, b = both[f"{column}_old"], both[f"{column}_new"]
        differs = common & ~((a == b).fillna(False) | (a.isna() & b.isna()))
        out.append(_rows(change_type, key[differs], a[differs], b[differs]))
    return out


def _billing_unit(df: pd.DataFrame) -> pd.Series:
    parsed = _number(df["billing_unit_amount"]) + " " + df["billing_unit"].astype("string")
    unparsed = "not parsed: " + df["billing_unit_text"].astype("string").fillna("(none)")
    return parsed.fillna(unparsed)


def diff_bundles(old: Path | str | Bundle, new: Path | str | Bundle) -> pd.DataFrame:
    """Changes from bundle `old` to bundle `new`, sorted by change_type and key."""
    a = old if isinstance(old, Bundle) else load_bundle(old)
    b = new if isinstance(new, Bundle) else load_bundle(new)

    def codes(bundle: Bundle) -> pd.DataFrame:
        df = bundle["hcpcs"]
        return pd.DataFrame(
            {
                "hcpcs_code": df["hcpcs_code"],
                "short_description": df["short_description"],
                "termination_date": df["termination_date"],
                "billing_unit": _billing_unit(df),
            }
        )

    parts = _changes(
        codes(a),
        codes(b),
        ["hcpcs_code"],
        "code",
        {"termination_date": "code_terminated", "billing_unit": "billing_unit_changed"},
        "short_description",
    )
    parts += _changes(
        a["mue"],
        b["mue"],
        ["hcpcs_code", "setting"],
        "mue",
        {"mue_value": "mue_value_changed", "mai": "mue_mai_changed"},
        "mue_value",
    )
    parts += _changes(
        a["payment_limits"],
        b["payment_limits"],
        ["hcpcs_code"],
        "payment_limit",
        {"payment_limit_usd": "payment_limit_changed"},
        "payment_limit_usd",
    )
    ndc = ["ndc11", "hcpcs_code"]
    parts += _changes(
        a["ndc_crosswalk"].drop_duplicates(ndc),
        b["ndc_crosswalk"].drop_duplicates(ndc),
        ndc,
        "ndc",
        {},
        "drug_name",
    )
    result = pd.concat(parts, ignore_index=True)
    # a termination date that went away is a reinstatement, not a termination
    reinstated = (result["change_type"] == "code_terminated") & result["new"].isna()
    result.loc[reinstated, "change_type"] = "code_reinstated"
    return result.sort_values(["change_type", "key"], kind="mergesort").reset_index(drop=True)
