"""Enrich: attach to every claim line its reference facts and its drug group's documented dose.

One join step: code record (validity dates, NOC flag, billing unit), NDC crosswalk, MUE for the
claim type's setting, ASP payment limit, container type, OPPS status indicator. Then the drug
group (claim, code, service date) aggregates that the unit and modifier rules need, and the
expected units under the configured rounding policy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.parsing import has_code, normalize_ndc, round_units, to_billing_units
from pipeline.reference import Bundle

CPT_PATTERN = r"^(\d{5}|\d{4}[FTU])$"
MUE_SETTING = {"professional": "practitioner", "institutional": "outpatient_hospital"}


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str, column: str) -> pd.Series:
    """Vectorised dictionary lookup of one reference column by a unique key."""
    mapping = table.drop_duplicates(key).set_index(key)[column]
    return keys.astype("object").map(mapping)


def attach_codes(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    hcpcs = bundle["hcpcs"]
    code = lines["hcpcs_code"]
    lines["is_cpt"] = code.str.match(CPT_PATTERN).fillna(False).astype(bool)
    lines["in_scope"] = ~lines["is_cpt"]
    lines["code_known"] = code.isin(hcpcs["hcpcs_code"]).astype(bool)
    for column, target in [
        ("add_date", "code_add_date"),
        ("termination_date", "code_termination_date"),
        ("billing_unit_amount", "billing_unit_amount"),
        ("billing_unit", "billing_unit"),
        ("short_description", "code_description"),
    ]:
        lines[target] = _lookup(code, hcpcs, "hcpcs_code", column)
    for col in ("code_add_date", "code_termination_date"):
        lines[col] = pd.to_datetime(lines[col]).astype("datetime64[s]")
    lines["billing_unit_amount"] = lines["billing_unit_amount"].astype("float64")
    lines["billing_unit"] = lines["billing_unit"].astype("string")
    drug_codes = set(bundle["payment_limits"]["hcpcs_code"]) | set(
        bundle["ndc_crosswalk"]["hcpcs_code"]
    )
    lines["is_drug"] = (code.str.startswith("J").fillna(False) | code.isin(drug_codes)).astype(bool)
    lines["is_noc"] = _lookup(code, hcpcs, "hcpcs_code", "is_noc").fillna(False).astype(bool)
    lines["payment_limit_usd"] = _lookup(
        code, bundle["payment_limits"], "hcpcs_code", "payment_limit_usd"
    ).astype("float64")
    lines["opps_si"] = _lookup(code, bundle["opps"], "hcpcs_code", "status_indicator").astype(
        "string"
    )
    setting = lines["claim_type"].map(MUE_SETTING)
    mue = bundle["mue"]
    key = mue["hcpcs_code"] + "|" + mue["setting"]
    mue = mue.assign(_key=key)
    line_key = (code.astype("string") + "|" + setting.astype("string")).astype("object")
    lines["mue_value"] = line_key.map(mue.set_index("_key")["mue_value"]).astype("float64")
    lines["mai"] = line_key.map(mue.set_index("_key")["mai"]).astype("Int64")
    return lines


def attach_ndc(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    xwalk = bundle["ndc_crosswalk"]
    lines["ndc11"] = normalize_ndc(lines["ndc"])
    lines["ndc_malformed"] = (lines["ndc"].notna() & lines["ndc11"].isna()).astype(bool)
    codes_by_ndc = (
        xwalk.sort_values(["ndc11", "hcpcs_code"]).groupby("ndc11")["hcpcs_code"].agg(" ".join)
    )
    lines["xwalk_codes"] = lines["ndc11"].astype("object").map(codes_by_ndc).astype("string")
    pair = xwalk["ndc11"] + "|" + xwalk["hcpcs_code"]
    by_pair = xwalk.assign(_key=pair).drop_duplicates("_key").set_index("_key")
    line_pair = (lines["ndc11"] + "|" + lines["hcpcs_code"]).astype("object")
    lines["xwalk_match"] = line_pair.isin(by_pair.index).astype(bool)
    lines["ndc_units_per_item"] = line_pair.map(by_pair["billing_units_per_item"]).astype(
        "float64"
    )
    lines["ndc_pkg_size"] = line_pair.map(by_pair["pkg_size"]).astype("float64")
    lines["ndc_drug_name"] = line_pair.map(by_pair["drug_name"]).astype("string")
    # container: by NDC (label fact) first, else a code-level curated row
    container = bundle["container"]
    by_ndc = container.dropna(subset=["ndc11"])
    by_code = container[container["ndc11"].isna()].dropna(subset=["hcpcs_code"])
    kind = _lookup(lines["ndc11"], by_ndc, "ndc11", "container")
    kind = kind.fillna(_lookup(lines["hcpcs_code"], by_code, "hcpcs_code", "container"))
    lines["container"] = kind.astype("string")
    return lines


def attach_modifiers(lines: pd.DataFrame) -> pd.DataFrame:
    lines["has_jw"] = has_code(lines["modifiers"], "JW")
    lines["has_jz"] = has_code(lines["modifiers"], "JZ")
    return lines


def _group_sum(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Per-line sum of `values` over its group; NaN where the group has no value at all."""
    total = values.groupby(groups).transform("sum")
    return total.where(values.notna().groupby(groups).transform("any"))


def attach_groups(lines: pd.DataFrame, rounding: str) -> pd.DataFrame:
    """Drug groups (claim, code, service date): documented dose, waste and expected units.

    The administration line documents the dose and any waste; the JW line may repeat the waste
    (then the group uses the administration lines' figure, else the JW lines').
    """
    args = (lines["billing_unit_amount"], lines["billing_unit"])
    lines["admin_bu"] = to_billing_units(lines["administered_amount"], lines["administered_unit"],
                                         *args)
    lines["waste_bu"] = to_billing_units(lines["wasted_amount"], lines["administered_unit"], *args)
    lines["group_id"] = lines.groupby(
        ["claim_id", "hcpcs_code", "service_date"], sort=False, observed=True
    ).ngroup()
    g = lines["group_id"]
    not_jw = ~lines["has_jw"]
    waste_docd = lines["wasted_amount"].fillna(0) > 0
    lines["group_has_jw"] = lines["has_jw"].groupby(g).transform("any").astype(bool)
    lines["group_has_waste"] = waste_docd.groupby(g).transform("any").astype(bool)
    lines["group_dose_documented"] = (
        (lines["administered_amount"].notna() & not_jw).groupby(g).transform("any").astype(bool)
    )
    admin = lines["admin_bu"].where(not_jw)
    group_admin = _group_sum(admin, g)
    waste_admin = _group_sum(lines["waste_bu"].where(not_jw & waste_docd), g)
    waste_jw = _group_sum(lines["waste_bu"].where(lines["has_jw"] & waste_docd), g)
    group_waste = waste_admin.fillna(waste_jw)
    lines["group_admin_bu"] = group_admin
    lines["group_waste_bu"] = group_waste.where(lines["group_has_waste"], 0.0)
    expected_admin = round_units(lines["admin_bu"], rounding)
    expected_jw = round_units(group_admin + lines["group_waste_bu"], rounding) - round_units(
        group_admin, rounding
    )
    lines["expected_units"] = np.where(lines["has_jw"], expected_jw, expected_admin)
    lines["expected_jw_units"] = expected_jw
    return lines


def enrich(lines: pd.DataFrame, bundle: Bundle, rounding: str = "up") -> pd.DataFrame:
    """Return the lines with every reference fact and drug-group aggregate the rules read."""
    lines = lines.copy()
    lines = attach_codes(lines, bundle)
    lines = attach_ndc(lines, bundle)
    lines = attach_modifiers(lines)
    return attach_groups(lines, rounding)
