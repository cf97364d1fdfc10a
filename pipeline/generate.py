"""Synthetic claim lines with known, labelled defects (`claims-audit sample generate`).

Every fact comes from the reference bundle in use: codes from its HCPCS table, NDCs from its
crosswalk (under the code they crosswalk to), doses in the code's billing unit, container types,
MUEs, payment limits and curated drug policy. Lines are clean under every rule (with the default
configuration) except where a defect is planted on purpose; each planted defect is written to a
labels file `<out>.labels.parquet` (claim_id, line_number, rule_code) so that an audit of the
output can be checked exactly: findings == labels.

Generation is vectorised (numpy, no per-row Python), deterministic for a seed, and written in
chunks of whole patients (bounded memory at any size).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from pipeline.enrich import CPT_PATTERN
from pipeline.errors import PipelineError
from pipeline.reference import Bundle
from pipeline.rules.common import drug_policy
from pipeline.rules.diagnosis import is_billable_icd10

OUTPUT_COLUMNS = [
    "claim_id",
    "line_number",
    "patient_id",
    "payer_type",
    "payer_id",
    "claim_type",
    "place_of_service",
    "service_date",
    "submission_date",
    "hcpcs_code",
    "modifiers",
    "billed_units",
    "charge_usd",
    "ndc",
    "ndc_unit_qualifier",
    "ndc_quantity",
    "administered_amount",
    "administered_unit",
    "wasted_amount",
    "diagnosis_codes",
    "prior_auth_number",
    "payer_sequence",
    "other_payer_paid_usd",
]
LABEL_COLUMNS = ["claim_id", "line_number", "rule_code"]

# every rule the generator can plant, each on its own claim (see `_plant`)
PLANTABLE = (
    "A001",
    "C001",
    "C002",
    "C003",
    "D001",
    "D002",
    "D003",
    "F001",
    "F002",
    "M001",
    "M002",
    "M003",
    "M004",
    "M005",
    "M006",
    "M007",
    "N001",
    "N002",
    "N003",
    "N004",
    "N005",
    "P001",
    "P002",
    "P003",
    "U001",
    "U002",
    "U003",
    "U004",
    "U005",
)
DEFAULT_DEFECT_RATE = 0.004  # per rule, as a fraction of claims: ~11% of claims carry a defect
DEFAULT_CHUNK_ROWS = 500_000
DEFAULT_START, DEFAULT_END = date(2025, 7, 1), date(2026, 3, 31)
VALIDITY_MARGIN_DAYS = 400  # clean codes stay valid this long after the window (F002 repeats)

PAYER_TYPES = np.array(["medicare", "medicare_advantage", "medicaid", "commercial", "other"])
PAYER_WEIGHTS = np.array([0.40, 0.18, 0.15, 0.24, 0.03])
PAYER_IDS = {
    "medicare": ["MCR-JL", "MCR-J15", "MCR-JH"],
    "medicare_advantage": ["HUMANA-MA", "UHC-MA", "AETNA-MA"],
    "medicaid": ["MCD-TX", "MCD-CA", "MCD-NY"],
    "commercial": ["BCBS-TX", "UHC", "AETNA", "CIGNA"],
    "other": ["TRICARE", "VA-CCN"],
}
MEDICARE, MEDICAID = 0, 2
CPT_ADMIN = np.array(["96413", "96365", "96372", "96374", "96401"])  # first administration
CPT_ADDON = np.array(["96415", "96375", "96366", "96367"])  # add-on hours / sequential pushes
CPT_VISIT = np.array(["99213", "99214"])  # office visits (filler claims)
# diagnosis codes for drugs without curated indications, and comorbidities (checked billable)
PRIMARY_DX = [
    "Z5111",
    "Z5112",
    "C3490",
    "C50911",
    "C189",
    "C61",
    "D631",
    "D509",
    "N186",
    "M0579",
    "K5090",
    "G35",
    "L409",
    "C9000",
    "C8330",
    "D6942",
    "M810",
    "E1165",
]
COMORBID_DX = ["I10", "E119", "E785", "J449", "N183", "F17210", "E669", "K219", "Z7982", "G4700"]
INVALID_DX = ["E11", "C50", "M81", "Z51", "R69X"]  # categories (not billable) / not codes
BAD_MODIFIERS = ["ZX", "Q9", "YY", "K7"]
MAX_DX_CANDIDATES = 8
EPS = 1e-9


# -- the product catalog ---------------------------------------------------------------------


@cache
def _icd_leaves() -> np.ndarray:
    import simple_icd_10_cm as icd

    leaves = [c for c in icd.get_all_codes(False) if icd.is_leaf(c)]
    return np.array(sorted(leaves))


def billable_under(prefix: str, limit: int = MAX_DX_CANDIDATES) -> list[str]:
    """Billable ICD-10-CM codes (no dot) starting with `prefix`, the first `limit` of them."""
    leaves = _icd_leaves()
    lo = np.searchsorted(leaves, prefix, side="left")
    hi = np.searchsorted(leaves, prefix + "\uffff", side="left")
    return [c for c in leaves[lo:hi][: limit * 4] if is_billable_icd10(c)][:limit]


def _checked(codes: list[str]) -> list[str]:
    good = [c for c in codes if is_billable_icd10(c)]
    if not good:
        raise PipelineError("no billable ICD-10-CM code in the generator's diagnosis lists")
    return good


@dataclass
class Catalog:
    """Products (code, NDC) of a bundle with every fact the generator needs, as arrays."""

    products: pd.DataFrame
    clean: np.ndarray  # product indices usable on clean lines
    clean_weights: np.ndarray
    c002: np.ndarray  # product indices of codes not effective somewhere in the window
    c002_lo: np.ndarray  # per c002 entry: service-date range (days since epoch) where invalid
    c002_hi: np.ndarray
    dx_cand: np.ndarray  # (n_products, MAX_DX_CANDIDATES) supporting diagnoses
    dx_count: np.ndarray
    dx_bad: np.ndarray  # (n_products, k) billable codes that do NOT match the indications
    dx_bad_count: np.ndarray
    comorbid: np.ndarray
    ndc_by_class: dict[int, np.ndarray]  # crosswalk NDCs by their NDC-level container class
    known_ndcs: set[str]
    bad_modifiers: np.ndarray
    invalid_dx: np.ndarray
    all_codes: set[str]
    start: date
    end: date


def _days(values) -> np.ndarray:
    """Dates -> float days since 1970-01-01 (NaN for NaT)."""
    ts = pd.to_datetime(pd.Series(values)).astype("datetime64[s]")
    out = ts.astype("int64").to_numpy() / 86400.0
    return np.where(ts.isna().to_numpy(), np.nan, out)


def _container_class(values: pd.Series) -> np.ndarray:
    return values.map({"single_dose": 1, "multi_dose": 2}).fillna(0).astype("int8").to_numpy()


def build_catalog(bundle: Bundle, start: date = DEFAULT_START, end: date = DEFAULT_END) -> Catalog:
    """Every (code, NDC) product of the bundle with its facts; which are usable, and how."""
    hcpcs = bundle["hcpcs"].drop_duplicates("hcpcs_code").set_index("hcpcs_code")
    level2 = hcpcs.index[~hcpcs.index.str.match(CPT_PATTERN)]
    xwalk = bundle["ndc_crosswalk"]
    xwalk = xwalk[xwalk["hcpcs_code"].isin(level2)].drop_duplicates(["hcpcs_code", "ndc11"])
    with_ndc = xwalk[["hcpcs_code", "ndc11", "billing_units_per_item", "pkg_size"]]
    without = pd.DataFrame({"hcpcs_code": level2.difference(xwalk["hcpcs_code"])})
    prod = (
        pd.concat([with_ndc, without], ignore_index=True)
        .sort_values(["hcpcs_code", "ndc11"], na_position="first", kind="stable")
        .reset_index(drop=True)
    )
    code = prod["hcpcs_code"]
    prod["bua"] = code.map(hcpcs["billing_unit_amount"]).astype("float64")
    prod["bunit"] = code.map(hcpcs["billing_unit"]).astype("object")
    prod["convertible"] = prod["bua"].gt(0) & prod["bunit"].notna()
    prod["per_item"] = prod["billing_units_per_item"].astype("float64")
    prod["is_noc"] = code.map(hcpcs["is_noc"]).fillna(False).astype(bool)
    prod["add_day"] = _days(code.map(hcpcs["add_date"]))
    prod["term_day"] = _days(code.map(hcpcs["termination_date"]))
    limits = bundle["payment_limits"].drop_duplicates("hcpcs_code").set_index("hcpcs_code")
    prod["pay_limit"] = code.map(limits["payment_limit_usd"]).astype("float64")
    mue = bundle["mue"]
    for setting, tag in (("practitioner", "prof"), ("outpatient_hospital", "inst")):
        rows = mue[mue["setting"] == setting].drop_duplicates("hcpcs_code").set_index("hcpcs_code")
        prod[f"mue_{tag}"] = code.map(rows["mue_value"]).astype("float64")
    opps = bundle["opps"].drop_duplicates("hcpcs_code").set_index("hcpcs_code")
    prod["packaged_si"] = (code.map(opps["status_indicator"]) == "N").fillna(False).astype(bool)
    container = bundle["container"]
    by_ndc = container.dropna(subset=["ndc11"]).drop_duplicates("ndc11").set_index("ndc11")
    by_code = (
        container[container["ndc11"].isna()]
        .dropna(subset=["hcpcs_code"])
        .drop_duplicates("hcpcs_code")
        .set_index("hcpcs_code")
    )
    code_kind = code.map(by_code["container"])
    ndc_kind = prod["ndc11"].map(by_ndc["container"])
    prod["cls"] = _container_class(ndc_kind.fillna(code_kind))
    prod["cls_no_ndc"] = _container_class(code_kind)
    # curated drug policy, exactly as the rules look it up (an NDC row wins over a code row)
    keyed = pd.DataFrame(
        {"hcpcs_code": code.astype("string"), "ndc11": prod["ndc11"].astype("string")}
    )
    for column in ("indications", "min_days_between_doses", "requires_prior_auth"):
        prod[column] = drug_policy(keyed, bundle, column).to_numpy()
    policy = bundle["drug_policy"]
    ndc_rows = policy.dropna(subset=["ndc11"])
    policy_pairs = set(ndc_rows["hcpcs_code"] + "|" + ndc_rows["ndc11"])
    prod["ndc_policy"] = (code + "|" + prod["ndc11"].fillna("")).isin(policy_pairs)
    prod["min_days"] = pd.to_numeric(prod["min_days_between_doses"], errors="coerce")
    prod["pa_payers"] = prod["requires_prior_auth"].fillna("").astype(str)

    s_day = (pd.Timestamp(start) - pd.Timestamp(0)).days
    e_day = (pd.Timestamp(end) - pd.Timestamp(0)).days
    mue_ok = ~(prod["mue_prof"].eq(0) | prod["mue_inst"].eq(0))
    valid_all = (prod["add_day"].isna() | (prod["add_day"] <= s_day)) & (
        prod["term_day"].isna() | (prod["term_day"] >= e_day + VALIDITY_MARGIN_DAYS)
    )
    clean = (
        prod["ndc11"].notna()
        & valid_all
        & mue_ok
        & (prod["min_days"].isna() | (prod["min_days"] <= 366))
    )
    clean_idx = np.flatnonzero(clean.to_numpy())
    if len(clean_idx) == 0:
        raise PipelineError(
            "reference bundle has no crosswalked code valid over "
            f"{start}..{end}: nothing to generate claims from"
        )
    per_code = prod.loc[clean_idx, "hcpcs_code"].map(
        prod.loc[clean_idx, "hcpcs_code"].value_counts()
    )
    weights = 1.0 / per_code.to_numpy(dtype="float64")

    # not effective: terminated before the window's end, or added after its start
    term_lo = np.maximum(prod["term_day"].to_numpy() + 1, s_day)
    add_hi = np.minimum(prod["add_day"].to_numpy() - 1, e_day)
    terminated = prod["term_day"].notna() & (prod["term_day"] < e_day)
    future = prod["add_day"].notna() & (prod["add_day"] > s_day)
    c002 = (terminated | future) & ~prod["is_noc"] & mue_ok
    c002 &= prod["min_days"].isna()
    c002_idx = np.flatnonzero(c002.to_numpy())
    lo = np.where(terminated.to_numpy()[c002_idx], term_lo[c002_idx], s_day)
    hi = np.where(terminated.to_numpy()[c002_idx], e_day, add_hi[c002_idx])

    # diagnoses: supporting codes per product; non-matching billable codes for D003
    primary, comorbid = _checked(PRIMARY_DX), _checked(COMORBID_DX)
    generic = primary + comorbid
    n = len(prod)
    dx_cand = np.empty((n, MAX_DX_CANDIDATES), dtype=object)
    dx_count = np.zeros(n, dtype="int64")
    dx_bad = np.empty((n, len(generic)), dtype=object)
    dx_bad_count = np.zeros(n, dtype="int64")
    by_text: dict[str, tuple[list[str], list[str]]] = {}
    for i, text in enumerate(prod["indications"].to_numpy()):
        key = text if isinstance(text, str) and text.strip() else ""
        if key not in by_text:
            if key:
                prefixes = key.replace(",", " ").split()
                support: list[str] = []
                for p in prefixes:
                    support += billable_under(p.replace(".", "").upper())
                support = list(dict.fromkeys(support))[:MAX_DX_CANDIDATES]
                bad = [c for c in generic if not any(c.startswith(p) for p in prefixes)]
            else:
                support, bad = primary[:MAX_DX_CANDIDATES], []
            by_text[key] = (support, bad)
        support, bad = by_text[key]
        dx_count[i] = len(support)
        dx_cand[i, : len(support)] = support
        dx_bad_count[i] = len(bad)
        dx_bad[i, : len(bad)] = bad
    # a product whose indications match no billable code cannot be clean (D003 would fire)
    keep = dx_count[clean_idx] > 0
    clean_idx, weights = clean_idx[keep], weights[keep]
    if len(clean_idx) == 0:
        raise PipelineError("reference bundle: no usable product with a billable indication")

    all_ndcs = (
        set(xwalk["ndc11"]) | set(container["ndc11"].dropna()) | set(policy["ndc11"].dropna())
    )
    cls_by_ndc = pd.Series(
        _container_class(xwalk["ndc11"].map(by_ndc["container"])), index=xwalk["ndc11"].to_numpy()
    )
    cls_by_ndc = cls_by_ndc[~cls_by_ndc.index.duplicated()]
    ndc_by_class = {
        k: np.array(sorted(cls_by_ndc.index[cls_by_ndc.to_numpy() == k])) for k in (0, 1, 2)
    }
    modifiers = bundle["modifiers"].set_index("modifier")
    for needed in ("JW", "JZ"):
        term = modifiers["termination_date"].get(needed) if needed in modifiers.index else None
        if needed not in modifiers.index or (
            pd.notna(term)
            and pd.Timestamp(term) <= pd.Timestamp(end) + pd.Timedelta(days=VALIDITY_MARGIN_DAYS)
        ):
            raise PipelineError(f"reference bundle: modifier {needed} missing or terminated")
    bad_mods = [m for m in BAD_MODIFIERS if m not in modifiers.index]
    terminated_mods = modifiers.index[
        pd.to_datetime(modifiers["termination_date"]).lt(pd.Timestamp(start))
    ]
    bad_mods += [m for m in terminated_mods if m.isalnum() and len(m) == 2]
    invalid_dx = [c for c in INVALID_DX if not is_billable_icd10(c)]
    return Catalog(
        products=prod,
        clean=clean_idx,
        clean_weights=weights / weights.sum(),
        c002=c002_idx,
        c002_lo=lo.astype("int64"),
        c002_hi=hi.astype("int64"),
        dx_cand=dx_cand,
        dx_count=dx_count,
        dx_bad=dx_bad,
        dx_bad_count=dx_bad_count,
        comorbid=np.array(comorbid, dtype=object),
        ndc_by_class=ndc_by_class,
        known_ndcs=all_ndcs,
        bad_modifiers=np.array(bad_mods, dtype=object),
        invalid_dx=np.array(invalid_dx, dtype=object),
        all_codes=set(bundle["hcpcs"]["hcpcs_code"]),
        start=start,
        end=end,
    )
