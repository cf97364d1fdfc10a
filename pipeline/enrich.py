"""Enrich: attach to every claim line its reference facts and its drug group's documented dose.

One join step: code record (validity dates, NOC flag, billing unit), NDC crosswalk, MUE for the
claim type's setting, ASP payment limit, container type, OPPS status indicator. Then the drug
group (claim, code, service date) aggregates that the unit and modifier rules need, and the
expected units under the configured rounding policy. Lookups run once per distinct key
(categoricals); group aggregates use integer group ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.columns import group_any, group_ids, group_sum, lookup, pair_lookup, per_value, recode
from pipeline.parsing import has_code, normalize_ndc, round_units, to_billing_units
from pipeline.reference import Bundle

CPT_PATTERN = r"^(\d{5}|\d{4}[FTU])$"
MUE_SETTING = {"professional": "practitioner", "institutional": "outpatient_hospital"}


def _by(table: pd.DataFrame, key: str, column: str) -> pd.Series:
    return table.drop_duplicates(key).set_index(key)[column]


def attach_codes(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    hcpcs = bundle["hcpcs"]
    code = lines["hcpcs_code"]
    lines["is_cpt"] = per_value(code, lambda c: c.str.match(CPT_PATTERN).fillna(False)).astype(bool)
    lines["in_scope"] = ~lines["is_cpt"]
    lines["code_known"] = per_value(code, lambda c: c.isin(hcpcs["hcpcs_code"])).astype(bool)
    drug_codes = set(bundle["payment_limits"]["hcpcs_code"]) | set(
        bundle["ndc_crosswalk"]["hcpcs_code"]
    )
    lines["is_drug"] = per_value(
        code, lambda c: c.str.startswith("J").fillna(False) | c.isin(drug_codes)
    ).astype(bool)
    lines["code_add_date"] = lookup(code, _by(hcpcs, "hcpcs_code", "add_date")).astype(
        "datetime64[ns]"
    )
    lines["code_termination_date"] = lookup(
        code, _by(hcpcs, "hcpcs_code", "termination_date")
    ).astype("datetime64[ns]")
    lines["billing_unit_amount"] = lookup(
        code, _by(hcpcs, "hcpcs_code", "billing_unit_amount")
    ).astype("float64")
    lines["billing_unit"] = lookup(code, _by(hcpcs, "hcpcs_code", "billing_unit")).astype(
        "category"
    )
    lines["is_noc"] = lookup(code, _by(hcpcs, "hcpcs_code", "is_noc")).eq(True)
    lines["payment_limit_usd"] = lookup(
        code, _by(bundle["payment_limits"], "hcpcs_code", "payment_limit_usd")
    ).astype("float64")
    lines["opps_si"] = lookup(code, _by(bundle["opps"], "hcpcs_code", "status_indicator")).astype(
        "category"
    )
    mue = bundle["mue"]
    institutional = (lines["claim_type"] == "institutional").to_numpy()
    for column, dtype in (("mue_value", "float64"), ("mai", "float64")):
        values = {}
        for claim_type, setting in MUE_SETTING.items():
            table = mue[mue["setting"] == setting]
            values[claim_type] = lookup(code, _by(table, "hcpcs_code", column)).astype(dtype)
        lines[column] = np.where(institutional, values["institutional"], values["professional"])
    return lines


def attach_ndc(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    xwalk = bundle["ndc_crosswalk"]
    lines["ndc11"] = recode(lines["ndc"], normalize_ndc)
    lines["ndc_malformed"] = (lines["ndc"].notna() & lines["ndc11"].isna()).to_numpy()
    codes_by_ndc = (
        xwalk.sort_values(["ndc11", "hcpcs_code"]).groupby("ndc11")["hcpcs_code"].agg(" ".join)
    )
    lines["xwalk_codes"] = lookup(lines["ndc11"], codes_by_ndc).astype("category")
    pair = pair_lookup(
        lines["ndc11"],
        lines["hcpcs_code"],
        xwalk.assign(_match=True),
        "ndc11",
        "hcpcs_code",
        ["_match", "billing_units_per_item", "pkg_size", "drug_name"],
    )
    lines["xwalk_match"] = pair["_match"].eq(True).to_numpy()
    lines["ndc_units_per_item"] = pair["billing_units_per_item"].astype("float64").to_numpy()
    lines["ndc_pkg_size"] = pair["pkg_size"].astype("float64").to_numpy()
    # container: by NDC (label fact) first, else a code-level curated row
    container = bundle["container"]
    by_ndc = container.dropna(subset=["ndc11"])
    by_code = container[container["ndc11"].isna()].dropna(subset=["hcpcs_code"])
    kind = lookup(lines["ndc11"], _by(by_ndc, "ndc11", "container")).astype("object")
    by_code_kind = lookup(lines["hcpcs_code"], _by(by_code, "hcpcs_code", "container"))
    kind = kind.where(kind.notna(), by_code_kind.astype("object"))
    lines["container"] = kind.astype("category")
    return lines


def attach_modifiers(lines: pd.DataFrame) -> pd.DataFrame:
    lines["has_jw"] = per_value(lines["modifiers"], lambda m: has_code(m, "JW")).astype(bool)
    lines["has_jz"] = per_value(lines["modifiers"], lambda m: has_code(m, "JZ")).astype(bool)
    return lines


def attach_groups(lines: pd.DataFrame, rounding: str) -> pd.DataFrame:
    """Drug groups (claim, code, service date): documented dose, waste and expected units.

    The administration line documents the dose and any waste; the JW line may repeat the waste
    (then the group uses the administration lines' figure, else the JW lines').
    """
    args = (lines["billing_unit_amount"], lines["billing_unit"])
    unit = lines["administered_unit"]
    lines["admin_bu"] = to_billing_units(lines["administered_amount"], unit, *args)
    lines["waste_bu"] = to_billing_units(lines["wasted_amount"], unit, *args)
    g = group_ids(lines["claim_id"], lines["hcpcs_code"], lines["service_date"])
    lines["group_id"] = g
    has_jw = lines["has_jw"]
    not_jw = ~has_jw
    waste_docd = lines["wasted_amount"].fillna(0) > 0
    lines["group_has_jw"] = group_any(has_jw, g).to_numpy()
    lines["group_has_waste"] = group_any(waste_docd, g).to_numpy()
    group_admin = group_sum(lines["admin_bu"].where(not_jw), g)
    waste_admin = group_sum(lines["waste_bu"].where(not_jw & waste_docd), g)
    waste_jw = group_sum(lines["waste_bu"].where(has_jw & waste_docd), g)
    group_waste = waste_admin.fillna(waste_jw).where(lines["group_has_waste"], 0.0)
    lines["group_admin_bu"] = group_admin
    lines["group_waste_bu"] = group_waste
    expected_admin = round_units(lines["admin_bu"], rounding)
    expected_jw = round_units(group_admin + group_waste, rounding) - round_units(
        group_admin, rounding
    )
    lines["expected_units"] = np.where(has_jw, expected_jw, expected_admin)
    lines["expected_jw_units"] = expected_jw
    return lines


def enrich(lines: pd.DataFrame, bundle: Bundle, rounding: str = "up") -> pd.DataFrame:
    """Return the lines with every reference fact and drug-group aggregate the rules read."""
    lines = lines.copy(deep=False)  # new columns only: the validated frame stays as it was
    lines = attach_codes(lines, bundle)
    lines = attach_ndc(lines, bundle)
    lines = attach_modifiers(lines)
    return attach_groups(lines, rounding)
