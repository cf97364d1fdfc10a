"""Enrich: attach to every claim line its reference facts and its drug group's documented dose.

One join step: code record (validity dates, NOC flag, billing unit), NDC crosswalk, MUE for the
claim type's setting (value, MAI, rationale), ASP payment limit, container type, OPPS status
indicator and rate. Then the claim facts (void, provider), the payment of the line's setting
(`rate_usd`, `separately_payable`), the drug group (claim, code, service date) aggregates that
the unit and modifier rules need, and the expected units under the configured rounding policy.
Joins are integer takes: the bundle's side (each table by its key) is built once per bundle
(`bundle_lookups`), a fact is evaluated once per distinct key (categoricals) and taken to the
rows by code; group aggregates use integer group ids.

Scope (SPEC section 5): `in_scope` lines are HCPCS Level II (anything that is not a CPT code,
so that malformed codes reach C001) of claims that are not voids; `cpt_in_scope` lines are CPT
codes of such claims (judged by U003 only). Void claims (claim_frequency 8) are in neither.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import (
    ARROW_TEXT,
    arrow_text,
    as_category,
    categorical_rows,
    distinct_values,
    factorized,
    group_any,
    group_ids,
    group_sum,
    pair_ids,
    recode,
)
from claims_audit.parsing import billing_units_of, has_code, normalize_ndc, round_units
from claims_audit.reference import Bundle

DATE = "datetime64[ns]"
CPT_PATTERN = r"^([0-9]{5}|[0-9]{4}[FTU])$"  # ASCII digits: `\d` matches Arabic-Indic too
# the same for Arrow (RE2): Python's `re.match` lets `$` match before a final newline too
_CPT_ARROW = CPT_PATTERN.removesuffix("$") + r"\n?$"
MUE_SETTING = {"professional": "practitioner", "institutional": "outpatient_hospital"}
# OPPS status indicators of separately paid drugs (Addendum B rate) and of packaged ones
OPPS_PAID = ("K", "G")
OPPS_PACKAGED = "N"
VOID, REPLACEMENT = "8", "7"  # claim_frequency codes (837 CLM05-3)
NO_PROVIDER = ""  # provider_key of every line without a provider_id: one shared provider
# a drug NOC descriptor ("Unclassified drugs", "... biologicals", "NOC drugs, ..."): a true NOC
# code of a drug, as opposed to a supply or device NOC code (A, E, L, Q4100 ...)
DRUG_DESCRIPTOR = r"(?i)\bdrugs?\b|\bbiologic"
JOINED_TABLES = ("hcpcs", "payment_limits", "ndc_crosswalk", "opps", "mue", "container")


# -- the bundle's side of the joins, built once per bundle ---------------------------------


def _by(table: pd.DataFrame, key: str, column: str) -> pd.Series:
    """`column` of `table` indexed by `key`, the first row of each key (a row without a key
    matches nothing)."""
    return table.dropna(subset=[key]).drop_duplicates(key).set_index(key)[column]


@dataclass(frozen=True)
class PairTable:
    """A reference table keyed by two text columns (its first row per pair): the distinct
    values of each key column and, sorted, each row's packed key (position in `a` times
    len(`b`) plus position in `b`), with the rows' value columns in that order."""

    a: pd.Index
    b: pd.Index
    keys: np.ndarray
    values: pd.DataFrame

    @classmethod
    def of(cls, table: pd.DataFrame, a_col: str, b_col: str, columns: list[str]) -> PairTable:
        """`table` keyed by (`a_col`, `b_col`), keeping the value `columns`."""
        rows = table.dropna(subset=[a_col, b_col]).drop_duplicates([a_col, b_col])
        a, b = pd.Index(rows[a_col].unique()), pd.Index(rows[b_col].unique())
        keys = a.get_indexer(rows[a_col]).astype(np.int64) * len(b) + b.get_indexer(rows[b_col])
        order = np.argsort(keys, kind="stable")
        return cls(a, b, keys[order], rows[columns].iloc[order].reset_index(drop=True))

    def rows_of(
        self, a: pd.Series, b: pd.Series, pair_a: np.ndarray, pair_b: np.ndarray
    ) -> np.ndarray:
        """Each distinct pair's row of `values` (-1: the table lacks it); `pair_a`, `pair_b`:
        the pairs' codes in the categoricals `a` and `b` (`pair_ids`)."""
        # per category its position in the table's key values, then -1 for the NA code (-1)
        a_pos = np.append(self.a.get_indexer(a.cat.categories), -1)[pair_a]
        b_pos = np.append(self.b.get_indexer(b.cat.categories), -1)[pair_b]
        if not len(self.keys):
            return np.full(len(a_pos), -1)
        key = a_pos * len(self.b) + b_pos
        found = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = (a_pos >= 0) & (b_pos >= 0) & (self.keys[found] == key)
        return np.where(hit, found, -1)

    def column(self, name: str, rows: np.ndarray) -> pd.Series:
        """`name` of the given rows of `values`, NA for row -1 (as a left merge leaves it)."""
        return pd.Series(self.values[name].array.take(rows, allow_fill=True))


@dataclass(frozen=True)
class Lookups:
    """The reference side of every enrich join: facts by code and by NDC (each a Series on its
    unique key), the code lists, and the (code, setting) MUE and (NDC, code) crosswalk tables."""

    tables: tuple[pd.DataFrame | None, ...]  # the bundle's tables these were built from
    hcpcs_codes: pd.Series
    drug_codes: pd.Index
    by_code: dict[str, pd.Series]
    by_ndc: dict[str, pd.Series]
    mue: PairTable
    xwalk: PairTable


def _lookups(bundle: Bundle, tables: tuple) -> Lookups:
    """Build the bundle's `Lookups` (`tables`: the table objects they are built from)."""
    hcpcs, limits, xwalk = bundle["hcpcs"], bundle["payment_limits"], bundle["ndc_crosswalk"]
    opps, container = bundle["opps"], bundle["container"]
    rate_column = "payment_rate_usd" if "payment_rate_usd" in opps else "payment_rate"
    descriptor = hcpcs["long_description"].astype("string").str.contains(DRUG_DESCRIPTOR)
    hcpcs = hcpcs.assign(_drug_text=descriptor.fillna(False).astype(bool))
    by_code = {c: _by(hcpcs, "hcpcs_code", c) for c in ("billing_unit", "is_noc", "_drug_text")}
    for c in ("add_date", "termination_date"):
        by_code[c] = _by(hcpcs, "hcpcs_code", c).astype(DATE)
    by_code["billing_unit_amount"] = _by(hcpcs, "hcpcs_code", "billing_unit_amount").astype(
        "float64"
    )
    by_code["payment_limit_usd"] = _by(limits, "hcpcs_code", "payment_limit_usd")
    by_code["opps_si"] = _by(opps, "hcpcs_code", "status_indicator")
    by_code["opps_rate_usd"] = _by(opps, "hcpcs_code", rate_column).astype("float64")
    by_code["container"] = _by(container[container["ndc11"].isna()], "hcpcs_code", "container")
    by_ndc = {"container": _by(container, "ndc11", "container"), "xwalk": codes_by_ndc(xwalk)}
    mue_columns = ["mue_value", "mai", "rationale"]
    xwalk_columns = ["billing_units_per_item", "pkg_size"]
    return Lookups(
        tables=tables,
        hcpcs_codes=hcpcs["hcpcs_code"],
        drug_codes=pd.Index(pd.concat([limits["hcpcs_code"], xwalk["hcpcs_code"]]).unique()),
        by_code=by_code,
        by_ndc=by_ndc,
        mue=PairTable.of(bundle["mue"], "hcpcs_code", "setting", mue_columns),
        xwalk=PairTable.of(xwalk, "ndc11", "hcpcs_code", xwalk_columns),
    )


_LOOKUPS: dict[int, tuple[weakref.ref, Lookups]] = {}


def bundle_lookups(bundle: Bundle) -> Lookups:
    """The bundle's `Lookups`, built on its first enrich and kept while it lives (and while its
    tables are the same objects): every partition joins against the same bundle."""
    tables = tuple(bundle.tables.get(name) for name in JOINED_TABLES)
    key = id(bundle)
    kept = _LOOKUPS.get(key)
    same = kept is not None and kept[0]() is bundle
    if same and all(x is y for x, y in zip(kept[1].tables, tables, strict=True)):
        return kept[1]
    lookups = _lookups(bundle, tables)
    _LOOKUPS[key] = (weakref.ref(bundle, lambda _: _LOOKUPS.pop(key, None)), lookups)
    return lookups


# -- the lines' side ------------------------------------------------------------------------


def attach_codes(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    """The code's facts, each evaluated once per distinct code and taken to the rows by code."""
    ref = bundle_lookups(bundle)
    codes, rows = distinct_values(lines["hcpcs_code"])
    keys = codes.astype("object")
    by = {name: keys.map(mapping) for name, mapping in ref.by_code.items()}
    text = arrow_text(codes)  # Arrow kernels, not Python per code
    starts_j = _flags(pc.starts_with(text, "J"), codes.index)
    bua = by["billing_unit_amount"]
    limit = by["payment_limit_usd"].astype("float64")
    is_noc = by["is_noc"].eq(True)
    drug_text = starts_j | by["_drug_text"].eq(True)
    per_code = {
        "is_cpt": _flags(pc.match_substring_regex(text, _CPT_ARROW), codes.index),
        "code_known": codes.isin(ref.hcpcs_codes),
        "is_drug": starts_j | codes.isin(ref.drug_codes),
        "code_add_date": by["add_date"],
        "code_termination_date": by["termination_date"],
        "billing_unit_amount": bua,
        "billing_unit": by["billing_unit"],
        "is_noc": is_noc,
        "payment_limit_usd": limit,
        # a true drug NOC code: NOC, no descriptor unit, no payment limit, a drug descriptor
        "is_drug_noc": is_noc & bua.isna() & limit.isna() & drug_text,
        "opps_si": by["opps_si"],
        "opps_rate_usd": by["opps_rate_usd"],
    }
    for name, values in per_code.items():
        categorical = name in ("billing_unit", "opps_si")
        lines[name] = categorical_rows(values, rows) if categorical else _taken(values, rows)
    return attach_mue(lines, ref)


def _flags(found: pa.Array, index: pd.Index) -> pd.Series:
    """An Arrow boolean result as plain booleans (null, as for an NA code: False)."""
    return pd.Series(pc.fill_null(found, False).to_numpy(zero_copy_only=False), index=index)


def _taken(per_key: pd.Series, rows: np.ndarray) -> np.ndarray:
    """A per-key result taken to the rows (a nullable boolean as plain bool)."""
    if pd.api.types.is_bool_dtype(per_key.dtype):
        return per_key.to_numpy(dtype=bool)[rows]
    return per_key.to_numpy()[rows]


def attach_mue(lines: pd.DataFrame, ref: Lookups) -> pd.DataFrame:
    """The MUE of the line's setting, looked up once per distinct (code, setting) pair."""
    setting = (
        lines["claim_type"]
        .astype("category")
        .cat.rename_categories(lambda c: MUE_SETTING.get(c, c))
    )
    code = as_category(lines["hcpcs_code"])
    ids, pair_code, pair_setting = pair_ids(code.cat.codes.to_numpy(), setting.cat.codes.to_numpy())
    rows = ref.mue.rows_of(code, setting, pair_code, pair_setting)
    for name, column in (("mue_value", "mue_value"), ("mai", "mai")):
        lines[name] = ref.mue.column(column, rows).astype("float64").to_numpy()[ids]
    rationale = ref.mue.column("rationale", rows).astype("category")  # sorted, as merged
    lines["mue_rationale"] = pd.Categorical.from_codes(
        rationale.cat.codes.to_numpy()[ids], dtype=rationale.dtype
    )
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
    is_cpt, is_void = lines["is_cpt"].to_numpy(), lines["is_void"].to_numpy()
    lines["in_scope"] = ~is_cpt & ~is_void
    lines["cpt_in_scope"] = is_cpt & ~is_void
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
    si, rows = distinct_values(lines["opps_si"])  # once per status indicator
    packaged = institutional & si.eq(OPPS_PACKAGED).fillna(False).to_numpy(dtype=bool)[rows]
    paid = si.isin(OPPS_PAID).to_numpy(dtype=bool)[rows]
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


# raw NDC text -> its `normalize_ndc`, kept across the batches of a process (whose NDCs are
# mostly the same ones): a batch normalises only the texts no earlier batch had
_NDC_MEMO = pd.Series(dtype="string", index=pd.Index([], dtype=object))
NDC_MEMO_LIMIT = 1 << 16  # texts kept at most (then it starts again)


def normalized_ndcs(texts: pd.Series) -> pd.Series:
    """`normalize_ndc` of distinct NDC texts (a categorical's categories), from the memo where
    an earlier batch normalised them."""
    global _NDC_MEMO
    memo = _NDC_MEMO
    at = memo.index.get_indexer(texts)
    new = at < 0
    if new.any():
        if len(memo) + int(new.sum()) > NDC_MEMO_LIMIT:  # full: start again with these texts
            memo, new = memo.iloc[:0], np.ones(len(texts), dtype=bool)
        fresh = texts[new]
        done = pd.Series(normalize_ndc(fresh).array, index=fresh.to_numpy(dtype=object))
        memo = pd.concat([memo, done])
        _NDC_MEMO = memo
        at = memo.index.get_indexer(texts)
    return pd.Series(memo.array.take(at), index=texts.index)


def attach_ndc(lines: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    """The NDC's facts: normalised NDC, crosswalk codes and match, units per item, package
    size, container (by NDC, else by code); once per distinct NDC or (NDC, code) pair."""
    ref = bundle_lookups(bundle)
    ndc11 = recode(lines["ndc"], normalized_ndcs)
    lines["ndc11"] = ndc11
    lines["ndc_malformed"] = (lines["ndc"].notna() & ndc11.isna()).to_numpy()
    ndcs, rows = distinct_values(ndc11)
    ndc_keys = ndcs.astype("object")
    lines["xwalk_codes"] = categorical_rows(ndc_keys.map(ref.by_ndc["xwalk"]), rows)
    code = as_category(lines["hcpcs_code"])
    ids, pair_ndc, pair_code = pair_ids(ndc11.cat.codes.to_numpy(), code.cat.codes.to_numpy())
    found = ref.xwalk.rows_of(ndc11, code, pair_ndc, pair_code)
    lines["xwalk_match"] = (found >= 0)[ids]
    for name, column in (
        ("ndc_units_per_item", "billing_units_per_item"),
        ("ndc_pkg_size", "pkg_size"),
    ):
        lines[name] = ref.xwalk.column(column, found).astype("float64").to_numpy()[ids]
    # container: by NDC (label fact) first, else a code-level curated row; indices -1 (NA) pick
    # the NA key, last in `distinct_values`
    by_ndc = ndc_keys.map(ref.by_ndc["container"]).astype("object").to_numpy()[pair_ndc]
    code_keys = distinct_values(code)[0].astype("object")
    by_code = code_keys.map(ref.by_code["container"]).astype("object").to_numpy()[pair_code]
    kind = pd.Series(np.where(pd.notna(by_ndc), by_ndc, by_code)).astype("category")
    lines["container"] = pd.Categorical.from_codes(kind.cat.codes.to_numpy()[ids], dtype=kind.dtype)
    return lines


def attach_modifiers(lines: pd.DataFrame) -> pd.DataFrame:
    """JW and JZ among the line's modifiers, once per distinct modifier list."""
    modifiers, rows = distinct_values(lines["modifiers"])
    lines["has_jw"] = has_code(modifiers, "JW").to_numpy(dtype=bool)[rows]
    lines["has_jz"] = has_code(modifiers, "JZ").to_numpy(dtype=bool)[rows]
    return lines


def billable_waste(admin_bu: pd.Series, waste_bu: pd.Series, rounding: str) -> pd.Series:
    """Billable units of a documented waste: units(given + discarded) - units(given), the JW
    line's units; below one unit the waste is not billable (JZ is then right).

    Without a documented dose the worth is known only to be at least floor(waste) for every
    rounding policy: that lower bound is used (never more than CMS would pay), and a waste
    under one unit is then unknown (NaN), as is a waste not convertible to the billing unit.
    """
    if not admin_bu.index.equals(waste_bu.index):
        admin_bu, waste_bu = admin_bu.align(waste_bu)
    admin = admin_bu.to_numpy(dtype="float64", na_value=np.nan)
    waste = waste_bu.to_numpy(dtype="float64", na_value=np.nan)
    with_dose = round_units(admin + waste, rounding) - round_units(admin, rounding)
    no_dose = np.where(waste >= 1.0 - 1e-9, np.floor(waste + 1e-9), np.nan)
    return pd.Series(np.where(np.isnan(admin), no_dose, with_dose), index=admin_bu.index)


def attach_groups(lines: pd.DataFrame, rounding: str) -> pd.DataFrame:
    """Drug groups (claim, code, service date): documented dose, waste and expected units.

    The administration line documents the dose and any waste; the JW line may repeat the waste
    (then the group uses the administration lines' figure, else the JW lines').
    """
    args = (lines["billing_unit_amount"], lines["billing_unit"])
    unit = lines["administered_unit"]
    amounts = [lines["administered_amount"], lines["wasted_amount"]]
    admin_bu, waste_bu = billing_units_of(amounts, unit, *args)
    lines["admin_bu"], lines["waste_bu"] = admin_bu, waste_bu
    g = group_ids(lines["claim_key"], lines["hcpcs_code"], lines["service_date"])
    lines["group_id"] = g
    has_jw = lines["has_jw"].to_numpy()
    waste_docd = lines["wasted_amount"].to_numpy(dtype="float64", na_value=np.nan) > 0
    has_waste = group_any(pd.Series(waste_docd), g).to_numpy()
    lines["group_has_jw"] = group_any(lines["has_jw"], g).to_numpy()
    lines["group_has_waste"] = has_waste
    admin, waste = admin_bu.to_numpy(), waste_bu.to_numpy()
    group_admin = group_sum(pd.Series(np.where(has_jw, np.nan, admin)), g).to_numpy()
    waste_admin = group_sum(pd.Series(np.where(~has_jw & waste_docd, waste, np.nan)), g)
    waste_jw = group_sum(pd.Series(np.where(has_jw & waste_docd, waste, np.nan)), g)
    group_waste = np.where(has_waste, waste_admin.fillna(waste_jw).to_numpy(), 0.0)
    lines["group_admin_bu"] = group_admin
    lines["group_waste_bu"] = group_waste
    expected_admin = round_units(admin, rounding)
    expected_jw = round_units(group_admin + group_waste, rounding) - round_units(
        group_admin, rounding
    )
    lines["expected_units"] = np.where(has_jw, expected_jw, expected_admin)
    lines["expected_jw_units"] = expected_jw
    billable = billable_waste(pd.Series(group_admin), pd.Series(group_waste), rounding)
    lines["group_billable_waste"] = np.where(has_waste, billable.to_numpy(), 0.0)
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
