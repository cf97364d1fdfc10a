"""Enrich: attach to every claim line its reference facts and its drug group's documented dose.

One join step: code record (validity dates, NOC flag, billing unit), NDC crosswalk, MUE for the
claim type's setting (value, MAI, rationale), ASP payment limit, container type, OPPS status
indicator and rate. Then the claim facts (void, provider), the payment of the line's setting
(`rate_usd`, `separately_payable`), the drug group (claim, code, service date) aggregates that
the unit and modifier rules need, and the expected units under the configured rounding policy.
Lookups run once per distinct key (categoricals); group aggregates use integer group ids.

Scope (SPEC section 5): `in_scope` lines are HCPCS Level II (anything that is not a CPT code,
so that malformed codes reach C001) of claims that are not voids; `cpt_in_scope` lines are CPT
codes of such claims (judged by U003 only). Void claims (claim_frequency 8) are in neither.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import (
    ARROW_TEXT,
    arrow_text,
    factorized,
    group_any,
    group_ids,
    group_sum,
    lookup,
    pair_lookup,
    per_value,
    recode,
)
from claims_audit.parsing import has_code, normalize_ndc, round_units, to_billing_units
from claims_audit.reference import Bundle

DATE = "datetime64[ns]"
CPT_PATTERN = r"^([0-9]{5}|[0-9]{4}[FTU])$"  # ASCII digits: `\d` matches Arabic-Indic too
MUE_SETTING = {"professional": "practitioner", "institutional": "outpatient_hospital"}
# OPPS status indicators of separately paid drugs (Addendum B rate) and of packaged ones
OPPS_PAID = ("K", "G")
OPPS_PACKAGED = "N"
VOID, REPLACEMENT = "8", "7"  # claim_frequency codes (837 CLM05-3)
NO_PROVIDER = ""  # provider_key of every line without a provider_id: one shared provider
# a drug NOC descriptor ("Unclassified drugs", "... biologicals", "NOC drugs, ..."): a true NOC
# code of a drug, as opposed to a supply or device NOC code (A, E, L, Q4100 ...)
DRUG_DESCRIPTOR = r"(?i)\bdrugs?\b|\bbiologic"


def _by(table: pd.DataFrame, key: str, column: str) -> pd.Series:
    return table.drop_duplicates(key).set_index(key)[column]


def attach_codes(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    hcpcs = bundle["hcpcs"]
    code = lines["hcpcs_code"]
    lines["is_cpt"] = per_value(code, lambda c: c.str.match(CPT_PATTERN).fillna(False)).astype(bool)
    lines["code_known"] = per_value(code, lambda c: c.isin(hcpcs["hcpcs_code"])).astype(bool)
    drug_codes = set(bundle["payment_limits"]["hcpcs_code"]) | set(
        bundle["ndc_crosswalk"]["hcpcs_code"]
    )
    lines["is_drug"] = per_value(
        code, lambda c: c.str.startswith("J").fillna(False) | c.isin(drug_codes)
    ).astype(bool)
    lines["code_add_date"] = lookup(code, _by(hcpcs, "hcpcs_code", "add_date"), DATE)
    lines["code_termination_date"] = lookup(
        code, _by(hcpcs, "hcpcs_code", "termination_date"), DATE
    )
    lines["billing_unit_amount"] = lookup(
        code, _by(hcpcs, "hcpcs_code", "billing_unit_amount"), "float64"
    )
    lines["billing_unit"] = lookup(code, _by(hcpcs, "hcpcs_code", "billing_unit"), "category")
    lines["is_noc"] = lookup(code, _by(hcpcs, "hcpcs_code", "is_noc")).eq(True)
    drug_text = per_value(
        code,
        lambda c: (
            c.str.startswith("J").fillna(False)
            | c.astype("object")
            .map(_by(hcpcs, "hcpcs_code", "long_description"))
            .astype("string")
            .str.contains(DRUG_DESCRIPTOR)
            .fillna(False)
        ),
    ).astype(bool)
    lines["payment_limit_usd"] = lookup(
        code, _by(bundle["payment_limits"], "hcpcs_code", "payment_limit_usd")
    ).astype("float64")
    # a true drug NOC code: NOC, no descriptor unit, no payment limit, a drug descriptor
    lines["is_drug_noc"] = (
        lines["is_noc"]
        & lines["billing_unit_amount"].isna()
        & lines["payment_limit_usd"].isna()
        & drug_text
    )
    opps = bundle["opps"]
    lines["opps_si"] = lookup(code, _by(opps, "hcpcs_code", "status_indicator"), "category")
    rate_column = "payment_rate_usd" if "payment_rate_usd" in opps else "payment_rate"
    lines["opps_rate_usd"] = lookup(code, _by(opps, "hcpcs_code", rate_column), "float64")
    # the MUE of the line's setting, looked up once per distinct (code, setting) pair
    setting = (
        lines["claim_type"]
        .astype("category")
        .cat.rename_categories(lambda c: MUE_SETTING.get(c, c))
    )
    mue = bundle["mue"][["hcpcs_code", "setting", "mue_value", "mai", "rationale"]]
    found = pair_lookup(
        code, setting, mue, "hcpcs_code", "setting", ["mue_value", "mai", "rationale"]
    )
    lines["mue_value"] = found["mue_value"].astype("float64").to_numpy()
    lines["mai"] = found["mai"].astype("float64").to_numpy()
    lines["mue_rationale"] = found["rationale"].astype("category")
    return lines


def _column(lines: pd.DataFrame, name: str) -> pd.Series:
    """An optional input column; all-NA when the frame lacks it (e.g. hand-built frames)."""
    if name in lines:
        return lines[name]
    return pd.Series(None, index=lines.index, dtype="category")


def attach_claim(lines: pd.DataFrame) -> pd.DataFrame:
    """Claim facts: void and replacement claims, the provider key, the scope of each line.

    `in_scope` (HCPCS Level II rules) and `cpt_in_scope` (U003) leave void claims out;
    `provider_key` is the provider_id, or one shared key for the lines without one;
    `claim_key` and `patient_key` are the ids as categoricals, for grouping.
    """
    frequency = _column(lines, "claim_frequency")
    lines["is_void"] = (frequency == VOID).fillna(False).to_numpy(dtype=bool)
    lines["is_replacement"] = (frequency == REPLACEMENT).fillna(False).to_numpy(dtype=bool)
    lines["in_scope"] = ~lines["is_cpt"] & ~lines["is_void"]
    lines["cpt_in_scope"] = lines["is_cpt"] & ~lines["is_void"]
    provider = _column(lines, "provider_id")
    provider = (
        provider if isinstance(provider.dtype, pd.CategoricalDtype) else provider.astype("category")
    )
    if NO_PROVIDER not in provider.cat.categories:
        provider = provider.cat.add_categories([NO_PROVIDER])
    lines["provider_key"] = provider.fillna(NO_PROVIDER)
    lines["claim_key"] = factorized(lines["claim_id"])  # ids factorised once per batch
    lines["patient_key"] = factorized(lines["patient_id"])
    return lines


def attach_payment(lines: pd.DataFrame) -> pd.DataFrame:
    """The payment per billing unit in the line's setting (SPEC 5 "Dollar impact").

    Professional: the ASP payment limit. Institutional (OPPS): the Addendum B payment rate when
    the status indicator is K or G, 0.0 when it is N (packaged: never separately paid), NaN when
    unknown (no OPPS row, or another indicator). `separately_payable` is False only for
    institutional lines with status indicator N.
    """
    institutional = (lines["claim_type"] == "institutional").fillna(False).to_numpy(dtype=bool)
    si = lines["opps_si"]  # a categorical: compared by code
    packaged = institutional & (si == OPPS_PACKAGED).fillna(False).to_numpy(dtype=bool)
    paid = si.isin(OPPS_PAID).to_numpy(dtype=bool)
    opps_rate = np.where(paid, lines["opps_rate_usd"], np.where(packaged, 0.0, np.nan))
    lines["rate_usd"] = np.where(institutional, opps_rate, lines["payment_limit_usd"])
    lines["separately_payable"] = ~packaged
    return lines


def codes_by_ndc(xwalk: pd.DataFrame) -> pd.Series:
    """Per crosswalked NDC, its HCPCS codes in code order joined by spaces (Arrow kernels)."""
    pairs = xwalk.dropna(subset=["ndc11"]).sort_values(["ndc11", "hcpcs_code"])
    table = pa.table({"ndc11": arrow_text(pairs["ndc11"]), "code": arrow_text(pairs["hcpcs_code"])})
    lists = table.group_by("ndc11", use_threads=False).aggregate([("code", "list")])
    joined = pc.binary_join(lists["code_list"], pa.scalar(" ", ARROW_TEXT))
    keys = pd.Index(lists["ndc11"].to_pylist(), name="ndc11", dtype=object)
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=keys, name="hcpcs_code")


def attach_ndc(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    xwalk = bundle["ndc_crosswalk"]
    lines["ndc11"] = recode(lines["ndc"], normalize_ndc)
    lines["ndc_malformed"] = (lines["ndc"].notna() & lines["ndc11"].isna()).to_numpy()
    lines["xwalk_codes"] = lookup(lines["ndc11"], codes_by_ndc(xwalk), "category")
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


def billable_waste(admin_bu: pd.Series, waste_bu: pd.Series, rounding: str) -> pd.Series:
    """Billable units of a documented waste: units(given + discarded) - units(given), the JW
    line's units; below one unit the waste is not billable (JZ is then right).

    Without a documented dose the worth is known only to be at least floor(waste) for every
    rounding policy: that lower bound is used (never more than CMS would pay), and a waste
    under one unit is then unknown (NaN), as is a waste not convertible to the billing unit.
    """
    with_dose = round_units(admin_bu + waste_bu, rounding) - round_units(admin_bu, rounding)
    no_dose = np.floor(waste_bu + 1e-9).where(waste_bu >= 1.0 - 1e-9)
    return with_dose.where(admin_bu.notna(), no_dose)


def attach_groups(lines: pd.DataFrame, rounding: str) -> pd.DataFrame:
    """Drug groups (claim, code, service date): documented dose, waste and expected units.

    The administration line documents the dose and any waste; the JW line may repeat the waste
    (then the group uses the administration lines' figure, else the JW lines').
    """
    args = (lines["billing_unit_amount"], lines["billing_unit"])
    unit = lines["administered_unit"]
    lines["admin_bu"] = to_billing_units(lines["administered_amount"], unit, *args)
    lines["waste_bu"] = to_billing_units(lines["wasted_amount"], unit, *args)
    g = group_ids(lines["claim_key"], lines["hcpcs_code"], lines["service_date"])
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
    billable = billable_waste(group_admin, group_waste, rounding)
    lines["group_billable_waste"] = billable.where(lines["group_has_waste"], 0.0)
    return lines


def enrich(lines: pd.DataFrame, bundle: Bundle, rounding: str = "up") -> pd.DataFrame:
    """Return the lines with every reference fact and drug-group aggregate the rules read."""
    lines = lines.copy(deep=False)  # new columns only: the validated frame stays as it was
    lines = attach_codes(lines, bundle)
    lines = attach_claim(lines)
    lines = attach_payment(lines)
    lines = attach_ndc(lines, bundle)
    lines = attach_modifiers(lines)
    return attach_groups(lines, rounding)
