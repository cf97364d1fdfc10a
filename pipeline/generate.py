"""Synthetic claim lines with known, labelled defects (`claims-audit sample generate`).

Every fact comes from the reference bundle in use: codes from its HCPCS table, NDCs from its
crosswalk (under the code they crosswalk to), doses in the code's billing unit, container types,
MUEs (HCPCS and CPT), payment limits, OPPS status indicators and curated drug policy. Lines are
clean under every rule (with the default configuration) except where a defect is planted on
purpose; each planted defect is written to a labels file `<out>.labels.parquet` (claim_id,
line_number, rule_code) so that an audit of the output can be checked exactly: findings == labels.

The claims follow the revised SPEC as a payer reads it (default configuration): JW and JZ only on
Medicare lines (the one payer type that requires them by default) of single-dose containers the
reference knows, on separately payable lines (never on a hospital drug that OPPS packages, status
indicator N); other payers', multiple-dose, unknown-container and SI N lines document their waste
on the administration line and carry neither modifier (M001 must stay silent there). Each patient
sees one billing provider per claim type (`provider_id`, an NPI-like 10-digit number); a few
claims are replacements (claim_frequency 7, repeating an original claim's drug line: never a
duplicate) or voids (8: counted, not audited). Defects are planted only where a payer would deny
them: JW/JZ defects on Medicare lines, A001 on professional lines, D002 inside the ICD-10-CM
release, P002 past Medicare's one calendar year.

Generation is vectorised (numpy, no per-row Python), deterministic for a seed, and written in
chunks of whole patients (bounded memory at any size).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claims_audit.enrich import CPT_PATTERN
from claims_audit.errors import PipelineError
from claims_audit.parsing import round_units, to_billing_units
from claims_audit.reference import Bundle
from claims_audit.rules.diagnosis import ICD10CM_RELEASE, billable_icd10_codes
from claims_audit.rules.units import SLIP_RATIOS

OUTPUT_COLUMNS = [
    "claim_id",
    "line_number",
    "patient_id",
    "payer_type",
    "payer_id",
    "provider_id",
    "claim_frequency",
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
# How each defect is planted, on a claim of its own (one defect per claim; where the bundle
# lacks what a defect needs, e.g. a NOC code with crosswalked NDCs, it is not planted).
PLANTED_AS = {
    "A001": "charge 40-90% of payment limit x units (professional lines)",
    "C001": "a code that does not exist (J + 4 digits, or a 6-character typo); NDC dropped",
    "C002": "an extra claim billing a terminated or not-yet-added code of the bundle",
    "C003": "NDC dropped from a true drug NOC code's line (no descriptor unit; not Medicaid)",
    "D001": "diagnosis codes dropped",
    "D002": "a category header or non-code appended to the diagnoses (E11, C50, ...), on a line "
    "served inside the ICD-10-CM release",
    "D003": "diagnoses replaced by billable codes outside the curated indications",
    "F001": "the administration line resubmitted on an extra claim (same day, units, mods)",
    "F002": "an extra visit sooner than the curated interval after the patient's last one",
    "M001": "the JW line of a Medicare single-dose group with billable waste left out",
    "M002": "JZ left off a Medicare single-dose separately payable line with no billable waste",
    "M003": "JZ added to the administration line of a Medicare group with waste and a JW line",
    "M004": "JW line units one more (or less) than units(given + wasted) - units(given)",
    "M005": "JZ on a Medicare multi-dose container line (separately payable)",
    "M006": "an unknown or terminated modifier added (separately payable lines)",
    "M007": "the wasted amount left out of a Medicare group that has a JW line",
    "N001": "NDC dropped on a Medicaid line",
    "N002": "NDC as 10 digits without hyphens, or with a 3-digit package segment",
    "N003": "NDC of another code (same container type, same curated policy)",
    "N004": "a well-formed NDC that no reference table lists",
    "N005": "UN quantity worth half the billed units",
    "P001": "prior auth number dropped where curated policy requires one",
    "P002": "Medicare claim submitted 367-450 days after service (past one calendar year)",
    "P003": "secondary claim without the other payer's paid amount",
    "U001": "billed units of the dose + 1",
    "U002": "billed units of the dose - 1",
    "U003": "a dose of MUE + 1..3 units (billed correctly), or a CPT line over its MUE",
    "U004": "units x 10, / 10, or the amount in its own unit (descriptor not 1)",
    "U005": "half a unit added, on a line without documented dose",
}
PLANTABLE = tuple(sorted(PLANTED_AS))
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
CURATED_WEIGHT = 50.0  # a product with curated facts is this much likelier than one without
EPS = 1e-9
REPLACEMENT_RATE = 0.003  # claims repeated by a replacement claim (7), as a fraction of claims
VOID_RATE = 0.002  # claims repeated by a void claim (8)
NO_NPI_SHARE = 0.5  # share of the "other" payer's patients whose feed carries no provider_id


def _npi(first9: str) -> str:
    """An NPI-like 10-digit id: nine digits and the Luhn check digit over the 80840 prefix."""
    total = 0
    for i, ch in enumerate(reversed("80840" + first9)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return first9 + str((10 - total % 10) % 10)


# billing providers: physician practices (professional claims), hospitals (institutional)
PROVIDERS_PROF = np.array([_npi(str(152834096 + 7919 * k)) for k in range(8)], dtype=object)
PROVIDERS_INST = np.array([_npi(str(194205561 + 6007 * k)) for k in range(4)], dtype=object)


# -- the product catalog ---------------------------------------------------------------------


@cache
def _icd_leaves() -> np.ndarray:
    """Billable ICD-10-CM codes (no dot), sorted: the set the diagnosis rules accept."""
    return np.array(sorted(billable_icd10_codes()))


def is_billable_icd10(code: str) -> bool:
    return code in billable_icd10_codes()


def billable_under(prefix: str, limit: int = MAX_DX_CANDIDATES) -> list[str]:
    """Billable ICD-10-CM codes (no dot) starting with `prefix`, the first `limit` of them."""
    leaves = _icd_leaves()
    lo = np.searchsorted(leaves, prefix, side="left")
    hi = np.searchsorted(leaves, prefix + "\uffff", side="left")
    return [str(c) for c in leaves[lo:hi][:limit]]


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
    code_id: np.ndarray  # dense id of each product's code
    xwalk_pairs: set[str]  # "code|ndc11" pairs of the crosswalk
    cpt_mue: dict[str, dict[str, float]]  # setting tag (prof/inst) -> CPT code -> MUE
    policy_pairs: set[str]  # "code|ndc11" pairs with an NDC-specific curated policy row
    start: date
    end: date


def _days(values) -> np.ndarray:
    """Dates -> float days since 1970-01-01 (NaN for NaT)."""
    ts = pd.to_datetime(pd.Series(values)).astype("datetime64[s]")
    out = ts.astype("int64").to_numpy() / 86400.0
    return np.where(ts.isna().to_numpy(), np.nan, out)


def _container_class(values: pd.Series) -> np.ndarray:
    return values.map({"single_dose": 1, "multi_dose": 2}).fillna(0).astype("int8").to_numpy()


def _policy_value(prod: pd.DataFrame, policy: pd.DataFrame, column: str) -> np.ndarray:
    """A curated drug-policy column per product, as the rules read it: the row for the product's
    (code, NDC) wins over the code's own row (one without an NDC)."""
    rows = policy.dropna(subset=[column])
    by_ndc = rows.dropna(subset=["ndc11"])
    by_ndc = by_ndc.drop_duplicates(["hcpcs_code", "ndc11"]).set_index(
        by_ndc["hcpcs_code"] + "|" + by_ndc["ndc11"]
    )[column]
    by_code = (
        rows[rows["ndc11"].isna()].drop_duplicates("hcpcs_code").set_index("hcpcs_code")[column]
    )
    key = (prod["hcpcs_code"] + "|" + prod["ndc11"].fillna("")).astype(object)
    value = key.map(by_ndc.to_dict())
    return value.fillna(prod["hcpcs_code"].astype(object).map(by_code.to_dict())).to_numpy()


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
    # a true drug NOC code (C003): on the NOC list and no descriptor unit (J3490, J9999); NOS
    # codes with a unit (J3301 10 mg) are ordinary codes here
    prod["is_noc"] = (
        code.map(hcpcs["is_noc"]).fillna(False).astype(bool)
        & code.map(hcpcs["billing_unit_amount"]).isna()
        & code.str[0].isin(["J", "C", "Q"])
    )
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
    for column in ("indications", "min_days_between_doses", "requires_prior_auth"):
        prod[column] = _policy_value(prod, bundle["drug_policy"], column)
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
    # drugs with curated facts (container type, policy) are the interesting ones: favour them
    curated = (prod["cls"].to_numpy() > 0) | prod["indications"].notna().to_numpy()
    weights = weights * np.where(curated[clean_idx], CURATED_WEIGHT, 1.0)

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
    keep = dx_count[c002_idx] > 0
    c002_idx, lo, hi = c002_idx[keep], lo[keep], hi[keep]
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
        code_id=pd.factorize(prod["hcpcs_code"])[0],
        xwalk_pairs=set(xwalk["hcpcs_code"] + "|" + xwalk["ndc11"]),
        policy_pairs=policy_pairs,
        cpt_mue={
            tag: mue[(mue["setting"] == setting) & mue["hcpcs_code"].str.match(CPT_PATTERN)]
            .drop_duplicates("hcpcs_code")
            .set_index("hcpcs_code")["mue_value"]
            .astype("float64")
            .to_dict()
            for setting, tag in (("practitioner", "prof"), ("outpatient_hospital", "inst"))
        },
        start=start,
        end=end,
    )


# -- helpers -----------------------------------------------------------------------------------


def _pick(
    rng: np.random.Generator, table: np.ndarray, rows: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Row-wise random choice: for each i, one of the first `counts[i]` of `table[rows[i]]`."""
    idx = (rng.random(len(rows)) * counts).astype("int64")
    return table[rows, np.minimum(idx, np.maximum(counts - 1, 0))]


def _first_per_key(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each key, in order of appearance."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def _billing_units(amount: np.ndarray, bua: np.ndarray, bunit: np.ndarray) -> np.ndarray:
    """The engine's own conversion (same floats) of an amount in the code's billing unit."""
    unit = pd.Series(bunit, dtype="object")
    return to_billing_units(
        pd.Series(amount, dtype="float64"), unit, pd.Series(bua, dtype="float64"), unit
    ).to_numpy(dtype="float64")


def _ceil_units(values: np.ndarray) -> np.ndarray:
    return round_units(pd.Series(values, dtype="float64"), "up").to_numpy(dtype="float64")


def _is_slip(billed, expected, amount, bua) -> np.ndarray:
    """`claims_audit.rules.units.unit_slip` for a dose-documented, non-JW line."""
    with np.errstate(invalid="ignore", divide="ignore"):
        as_amount = np.isclose(billed, amount) & ~np.isclose(bua, 1.0)
        ratio = np.where(expected > 0, billed / np.where(expected > 0, expected, 1), -1)
    power = np.zeros(len(billed), dtype=bool)
    for r in SLIP_RATIOS:
        power |= np.isclose(ratio, r)
    return ~np.isclose(billed, expected) & (as_amount | power)


def _contains_word(texts: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Per row: `words[i]` is one of the space-separated entries of `texts[i]`."""
    padded = " " + pd.Series(texts, dtype="object").fillna("").astype(str) + " "
    keys = " " + pd.Series(words, dtype="object").astype(str) + " "
    out = np.zeros(len(texts), dtype=bool)
    for word in pd.unique(keys):  # a handful of payer types: vectorised per value
        rows = (keys == word).to_numpy()
        out[rows] = padded[rows].str.contains(word, regex=False).to_numpy()
    return out


def _ndc_digits(ndc11: np.ndarray) -> np.ndarray:
    return pd.Series(ndc11, dtype="object").str.replace("-", "", regex=False).to_numpy()


def _random_ndcs(rng: np.random.Generator, n: int, known: set[str]) -> np.ndarray:
    """Well-formed 5-4-2 NDCs that no reference table lists."""
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        text = pd.Series(rng.integers(10**9, 10**11, len(todo))).astype(str).str.zfill(11)
        ndc = (text.str[:5] + "-" + text.str[5:9] + "-" + text.str[9:]).to_numpy()
        fresh = ~pd.Series(ndc).isin(known).to_numpy()
        out[todo[fresh]] = ndc[fresh]
        todo = todo[~fresh]
    return out


# -- one block of patients ---------------------------------------------------------------------


@dataclass
class Block:
    """Lines of whole patients (numeric/object columns) and their planted labels."""

    lines: pd.DataFrame  # one row per claim line, ordered by claim then line number
    labels: pd.DataFrame  # row (position in `lines`), rule_code
    n_patients: int
    n_claims: int


def _make_block(
    cat: Catalog, rng: np.random.Generator, n_patients: int, rate: dict[str, float]
) -> Block:
    """Patients, claims, drug groups and lines, with defects planted at `rate` per claim."""
    P = cat.products
    s_day = (pd.Timestamp(cat.start) - pd.Timestamp(0)).days
    e_day = (pd.Timestamp(cat.end) - pd.Timestamp(0)).days
    window = e_day - s_day

    # patients: payer, site of care, a regimen of 1-3 drugs (distinct codes)
    payer = rng.choice(len(PAYER_TYPES), n_patients, p=PAYER_WEIGHTS)
    payer_pick = rng.random(n_patients)
    inst = rng.random(n_patients) < 0.3
    # one billing provider per patient (a practice, or a hospital for institutional patients)
    provider = np.where(
        inst,
        PROVIDERS_INST[rng.integers(0, len(PROVIDERS_INST), n_patients)],
        PROVIDERS_PROF[rng.integers(0, len(PROVIDERS_PROF), n_patients)],
    ).astype(object)
    no_npi = (payer == np.flatnonzero(PAYER_TYPES == "other")[0]) & (
        rng.random(n_patients) < NO_NPI_SHARE
    )
    provider[no_npi] = None
    n_reg = rng.choice([1, 2, 3], n_patients, p=[0.55, 0.30, 0.15])
    reg_patient = np.repeat(np.arange(n_patients), n_reg)
    reg_prod = rng.choice(cat.clean, len(reg_patient), p=cat.clean_weights)
    code_id = cat.code_id
    keep = _first_per_key(reg_patient.astype("int64") * (code_id.max() + 1) + code_id[reg_prod])
    reg_patient, reg_prod = reg_patient[keep], reg_prod[keep]
    n_reg = np.bincount(reg_patient, minlength=n_patients)
    reg_start = np.concatenate([[0], np.cumsum(n_reg)[:-1]])
    min_days = np.nan_to_num(P["min_days"].to_numpy()[reg_prod], nan=0.0)
    max_min = np.maximum.reduceat(min_days, reg_start)
    cycle = np.maximum(rng.choice([14, 21, 28], n_patients), np.ceil(max_min)).astype("int64")
    max_claims = window // (cycle + 3) + 1
    n_claims = np.minimum(
        rng.choice(np.arange(1, 9), n_patients, p=[0.2, 0.18, 0.16, 0.14, 0.12, 0.09, 0.06, 0.05]),
        max_claims,
    )

    # regular claims: one per visit, visits at least a cycle apart
    c_patient = np.repeat(np.arange(n_patients), n_claims)
    c_first = np.concatenate([[0], np.cumsum(n_claims)[:-1]])
    k = np.arange(len(c_patient)) - c_first[c_patient]
    gap = np.where(k > 0, cycle[c_patient] + rng.integers(0, 4, len(c_patient)), 0)
    cum = np.cumsum(gap)
    offset = cum - np.repeat(cum[c_first], n_claims)
    span = offset[c_first + n_claims - 1]
    first_day = s_day + (rng.random(n_patients) * (window - span + 1)).astype("int64")
    c_day = first_day[c_patient] + offset
    c_last = c_first + n_claims - 1
    n_regular = len(c_patient)
    g_claim = np.repeat(np.arange(n_regular), n_reg[c_patient])
    g_first = np.concatenate([[0], np.cumsum(n_reg[c_patient])[:-1]])
    g_within = np.arange(len(g_claim)) - np.repeat(g_first, n_reg[c_patient])
    g_reg = reg_start[c_patient[g_claim]] + g_within  # regimen entry of each group
    g_prod = reg_prod[g_reg]

    # F002: a repeat dose sooner than the curated interval, after the patient's last visit
    n_f2 = int(round(rate.get("F002", 0) * n_regular))
    md = P["min_days"].to_numpy()[g_prod]
    cand = rng.permutation(np.flatnonzero(np.isin(g_claim, c_last) & (md >= 2)))
    cand = cand[_first_per_key(c_patient[g_claim[cand]])][:n_f2]
    anchor_claims = g_claim[cand]
    f2_patient, f2_prod = c_patient[anchor_claims], g_prod[cand]
    f2_day = (
        c_day[anchor_claims] + 1 + (rng.random(len(cand)) * (np.ceil(md[cand]) - 1)).astype("int64")
    )

    # C002: a code billed outside its add/termination dates, on a claim of its own
    n_c2 = int(round(rate.get("C002", 0) * n_regular)) if len(cat.c002) else 0
    c2_patient = rng.choice(n_patients, min(n_c2, n_patients), replace=False)
    c2_entry = rng.integers(0, max(len(cat.c002), 1), len(c2_patient))
    c2_prod = cat.c002[c2_entry] if len(cat.c002) else np.zeros(0, dtype="int64")
    ok = ~(P["ndc11"].isna().to_numpy()[c2_prod] & (payer[c2_patient] == MEDICAID))
    c2_patient, c2_entry, c2_prod = c2_patient[ok], c2_entry[ok], c2_prod[ok]
    lo, hi = cat.c002_lo[c2_entry], cat.c002_hi[c2_entry]
    c2_day = lo + (rng.random(len(c2_entry)) * (hi - lo + 1)).astype("int64")

    c_patient = np.concatenate([c_patient, f2_patient, c2_patient])
    c_day = np.concatenate([c_day, f2_day, c2_day])
    n_claim = len(c_patient)
    extra_claims = np.arange(n_regular, n_claim)
    g_claim = np.concatenate([g_claim, extra_claims])
    g_prod = np.concatenate([g_prod, f2_prod, c2_prod])
    n_group = len(g_claim)
    n_extra = len(extra_claims)
    plants: dict[str, np.ndarray] = {
        "F002": np.arange(n_group - n_extra, n_group - len(c2_prod)),
        "C002": np.arange(n_group - len(c2_prod), n_group),
    }
    taken = np.zeros(n_claim, dtype=bool)
    taken[anchor_claims] = True
    taken[extra_claims] = True

    c_payer, c_inst = payer[c_patient], inst[c_patient]
    c_secondary = rng.random(n_claim) < 0.05
    c_submit = c_day + rng.integers(1, 91, n_claim)

    # -- doses, waste and units: the clean state of every drug group ----------------------------
    gp = g_prod
    G_payer, G_inst = c_payer[g_claim], c_inst[g_claim]
    bua = P["bua"].to_numpy()[gp]
    bunit = P["bunit"].to_numpy()[gp]
    conv = P["convertible"].to_numpy()[gp]
    per = np.nan_to_num(P["per_item"].to_numpy()[gp], nan=0.0)
    has_per = per > 0
    cls = P["cls"].to_numpy()[gp]
    cls_no_ndc = P["cls_no_ndc"].to_numpy()[gp]
    mue = np.where(G_inst, P["mue_inst"].to_numpy()[gp], P["mue_prof"].to_numpy()[gp])
    cap = np.where(np.isnan(mue), 1e9, mue)
    packaged = G_inst & P["packaged_si"].to_numpy()[gp]
    u = rng.random((8, n_group))
    vials = np.minimum(
        rng.choice([1, 2, 3], n_group, p=[0.7, 0.22, 0.08]),
        np.floor(cap / np.where(has_per, per, 1)),
    )
    vial_ok = has_per & (vials >= 1)
    full = vials * per
    dose_bu = np.where(
        vial_ok, full * (0.55 + 0.45 * u[0]), 1 + np.floor(u[0] * np.minimum(cap, 12)) - 0.75 * u[1]
    )
    step = bua / 4
    with np.errstate(invalid="ignore"):
        amount = np.round(np.maximum(np.floor(dose_bu * bua / step), 1) * step, 6)
    admin_bu = _billing_units(np.where(conv, amount, np.nan), bua, bunit)
    exp_admin = _ceil_units(admin_bu)
    raw_units = np.maximum(np.ceil(dose_bu - EPS), 1)
    billed = np.where(conv & ~np.isnan(exp_admin), exp_admin, raw_units)
    dose_doc = conv & (u[2] < 0.88)
    waste_amt = np.round(full * bua - amount, 6)
    waste_bu = _billing_units(np.where(conv, waste_amt, np.nan), bua, bunit)
    total_units = _ceil_units(admin_bu + waste_bu)
    jw_units = total_units - exp_admin
    is_medicare = G_payer == MEDICARE
    # JW/JZ policy applies (default configuration): Medicare, known single-dose container,
    # separately payable (not an institutional line of an OPPS status indicator N drug)
    jw_jz_policy = is_medicare & (cls == 1) & ~packaged
    billable_waste = (
        dose_doc
        & vial_ok
        & (u[3] < 0.55)
        & (waste_amt > 0)
        & (jw_units >= 1)
        & (total_units <= cap)
    )
    has_waste = billable_waste & jw_jz_policy  # documented, with its JW line
    # waste documented where no JW line is due: other payers, multi-dose and unknown containers,
    # packaged hospital drugs (M001 must stay silent on them)
    waste_doc_only = billable_waste & ~jw_jz_policy & (u[4] < 0.6)
    jw_units = np.where(has_waste, jw_units, 0.0)
    jz = jw_jz_policy & ~has_waste
    # waste below one billing unit beside JZ (not billable: JZ is right): half the rounding gap
    gap = exp_admin - admin_bu
    small_amt = np.round(np.nan_to_num(gap * 0.5) * bua, 6)
    small_waste = jz & dose_doc & (gap >= 0.1) & (small_amt > 0) & (u[7] < 0.5)
    waste_value = np.where(small_waste, small_amt, waste_amt)
    pa_needed = _contains_word(P["pa_payers"].to_numpy()[gp], PAYER_TYPES[G_payer])
    pay_limit = P["pay_limit"].to_numpy()[gp]
    ndc_policy = P["ndc_policy"].to_numpy()[gp]
    has_ndc = P["ndc11"].notna().to_numpy()[gp]
    ndc_droppable = (cls_no_ndc == cls) & ~ndc_policy & has_ndc
    is_noc = P["is_noc"].to_numpy()[gp]  # dropping a NOC code's NDC is C003 as well

    # -- candidate values of the unit defects --------------------------------------------------
    u1_b = exp_admin + 1
    u2_b = exp_admin - 1
    u4_a_ok = exp_admin * 10 + jw_units <= cap
    u4_b_ok = (exp_admin >= 10) & np.isclose(np.mod(exp_admin, 10), 0)
    u4_b = np.where(u4_a_ok, exp_admin * 10, np.where(u4_b_ok, exp_admin / 10, amount))
    u4_c_ok = (
        ~np.isclose(bua, 1.0)
        & np.isclose(amount, np.round(amount))
        & (amount >= 1)
        & (amount + jw_units <= cap)
    )
    m4_b = np.where(exp_admin + jw_units + 1 <= cap, jw_units + 1, jw_units - 1)
    u3_units = np.where(np.isnan(mue), np.nan, mue + 1 + np.floor(u[5] * 3))
    u3_amount = np.round(u3_units * bua, 6)
    u3_exp = _ceil_units(_billing_units(np.where(conv, u3_amount, np.nan), bua, bunit))
    u3_ok = ~np.isnan(mue) & np.where(conv, np.isclose(u3_exp, u3_units), True)
    release = [(pd.Timestamp(ICD10CM_RELEASE[k]) - pd.Timestamp(0)).days
               for k in ("valid_from", "valid_to")]  # fmt: skip
    g_day = c_day[g_claim]
    in_release = (g_day >= release[0]) & (g_day <= release[1])  # D002 judges only these
    eligible = {
        "A001": (np.nan_to_num(pay_limit * billed) >= 1.0) & ~G_inst,
        "C001": ~has_waste & (G_payer != MEDICAID),
        "C003": is_noc & ndc_droppable & (G_payer != MEDICAID),
        "D001": np.ones(n_group, dtype=bool),
        "D002": np.full(n_group, len(cat.invalid_dx) > 0) & in_release,
        "D003": P["indications"].notna().to_numpy()[gp] & (cat.dx_bad_count[gp] > 0),
        "F001": ~has_waste & (2 * billed <= cap),
        "M001": has_waste,
        "M002": is_medicare & jz,
        "M003": has_waste,
        "M004": has_waste & (m4_b >= 1),
        "M005": (cls == 2) & is_medicare & ~packaged & ~waste_doc_only,
        "M006": np.full(n_group, len(cat.bad_modifiers) > 0) & ~packaged,
        "M007": has_waste,
        "N001": (G_payer == MEDICAID) & ndc_droppable & ~is_noc,
        "N002": ndc_droppable,
        "N003": ~ndc_policy & has_ndc,
        "N004": ndc_droppable,
        "N005": has_per & has_ndc,
        "P001": pa_needed,
        "U001": dose_doc & ~_is_slip(u1_b, exp_admin, amount, bua) & (u1_b + jw_units <= cap),
        "U002": dose_doc & (u2_b >= 1) & ~_is_slip(u2_b, exp_admin, amount, bua),
        "U003": u3_ok & ~has_waste & ~waste_doc_only & ~small_waste,
        "U004": dose_doc & (u4_a_ok | u4_b_ok | u4_c_ok) & _is_slip(u4_b, exp_admin, amount, bua),
        "U005": ~dose_doc & ~has_waste & (billed + 0.5 <= cap),
    }
    # -- choose the planted defects: one per claim, scarce kinds first -------------------------
    regular_group = g_claim < n_regular
    order = sorted(eligible, key=lambda r: (int(eligible[r][regular_group].sum()), r))
    for rule in order:
        n_target = int(round(rate.get(rule, 0) * n_regular))
        cand = np.flatnonzero(eligible[rule] & regular_group & ~taken[g_claim])
        cand = rng.permutation(cand)
        cand = cand[_first_per_key(g_claim[cand])][:n_target]
        taken[g_claim[cand]] = True
        plants[rule] = np.sort(cand)
    claim_plants: dict[str, np.ndarray] = {}
    for rule in ("P002", "P003"):
        n_target = int(round(rate.get(rule, 0) * n_regular))
        ok = ~taken[:n_regular]
        if rule == "P002":
            ok &= c_payer[:n_regular] == MEDICARE
        cand = rng.permutation(np.flatnonzero(ok))[:n_target]
        taken[cand] = True
        claim_plants[rule] = np.sort(cand)

    # -- group-level defects -------------------------------------------------------------------
    g = plants["U001"]
    billed[g] = u1_b[g]
    g = plants["U002"]
    billed[g] = u2_b[g]
    g = plants["U004"]
    billed[g] = u4_b[g]
    g = plants["U003"]
    amount[g] = np.where(conv[g], u3_amount[g], amount[g])
    dose_doc[g] = conv[g]
    billed[g] = u3_units[g]
    g = plants["U005"]
    billed[g] = billed[g] + 0.5
    jw_line = has_waste.copy()
    jw_line[plants["M001"]] = False
    jw_billed = jw_units.copy()
    jw_billed[plants["M004"]] = m4_b[plants["M004"]]
    waste_doc = has_waste | waste_doc_only | small_waste
    waste_doc[plants["M007"]] = False
    admin_mod = np.where(jz, "JZ", None).astype(object)
    admin_mod[plants["M002"]] = None
    admin_mod[plants["M003"]] = "JZ"
    admin_mod[plants["M005"]] = "JZ"
    g = plants["M006"]
    if len(g):
        bad = cat.bad_modifiers[rng.integers(0, len(cat.bad_modifiers), len(g))]
        current = admin_mod[g]
        admin_mod[g] = np.where(
            pd.isna(current),
            bad,
            pd.Series(current, dtype="object").fillna("").to_numpy() + " " + bad,
        )

    # -- copies of an administration line, each on a claim of its own: F001's resubmitted
    # duplicates (labelled), replacement claims (7: never a duplicate) and voids (8: not audited)
    f1_groups = plants["F001"]
    copy_ok = ~has_waste & (2 * billed <= cap) & regular_group & ~taken[g_claim]
    cand = rng.permutation(np.flatnonzero(copy_ok))
    cand = cand[_first_per_key(g_claim[cand])]
    n_rep, n_void = int(round(REPLACEMENT_RATE * n_regular)), int(round(VOID_RATE * n_regular))
    rep_groups, void_groups = np.sort(cand[:n_rep]), np.sort(cand[n_rep : n_rep + n_void])
    taken[g_claim[cand[: n_rep + n_void]]] = True
    copy_groups = np.concatenate([f1_groups, rep_groups, void_groups]).astype("int64")
    c_frequency = np.concatenate(
        [np.full(n_claim + len(f1_groups), "1"), np.full(len(rep_groups), "7"),
         np.full(len(void_groups), "8")]
    ).astype(object)  # fmt: skip
    f1_claims = np.arange(n_claim, n_claim + len(copy_groups))
    src = g_claim[copy_groups]
    c_patient = np.concatenate([c_patient, c_patient[src]])
    c_day = np.concatenate([c_day, c_day[src]])
    c_payer = np.concatenate([c_payer, c_payer[src]])
    c_inst = np.concatenate([c_inst, c_inst[src]])
    c_secondary = np.concatenate([c_secondary, c_secondary[src]])
    c_submit = np.concatenate([c_submit, c_submit[src] + rng.integers(10, 41, len(src))])
    for rule, claims in claim_plants.items():
        if rule == "P002":
            c_submit[claims] = c_day[claims] + rng.integers(367, 451, len(claims))
        else:
            c_secondary[claims] = True
    n_claim = len(c_patient)

    # -- lines: administration, JW, duplicate, CPT administration -----------------------------
    jw_groups = np.flatnonzero(jw_line)
    # CPT administration lines on regular claims and F002's extra visits (C002's claims and the
    # copies have none: an MUE of 1 per day would make them U003)
    n_cpt = np.where(np.arange(n_claim) < n_regular + len(f2_patient), 1, 0)
    n_cpt += (n_cpt > 0) & (rng.random(n_claim) < 0.25)
    cpt_claim = np.repeat(np.arange(n_claim), n_cpt)
    cpt_k = np.arange(len(cpt_claim)) - np.repeat(np.cumsum(n_cpt) - n_cpt, n_cpt)
    group_rank = (
        np.arange(n_group)
        - np.concatenate([[0], np.cumsum(np.bincount(g_claim, minlength=n_claim))[:-1]])[g_claim]
    )
    kind = np.concatenate(
        [
            np.zeros(n_group, "int8"),
            np.ones(len(jw_groups), "int8"),
            np.full(len(copy_groups), 3, "int8"),
            np.full(len(cpt_claim), 2, "int8"),
        ]
    )
    group = np.concatenate(
        [np.arange(n_group), jw_groups, copy_groups, np.full(len(cpt_claim), -1)]
    )
    claim = np.concatenate([g_claim, g_claim[jw_groups], f1_claims, cpt_claim])
    seq = np.concatenate(
        [
            group_rank * 2,
            group_rank[jw_groups] * 2 + 1,
            np.zeros(len(copy_groups), "int64"),
            1000 + cpt_k,
        ]
    )
    n_line = len(kind)
    drug = kind != 2
    gi = np.where(drug, group, 0)
    prod = g_prod[gi]
    admin = kind == 0

    code = np.where(drug, P["hcpcs_code"].to_numpy()[prod], None).astype(object)
    cpt_first = rng.integers(0, len(CPT_ADMIN), n_line)
    cpt_addon = rng.integers(0, len(CPT_ADDON), n_line)
    code[kind == 2] = np.where(
        seq[kind == 2] == 1000, CPT_ADMIN[cpt_first[kind == 2]], CPT_ADDON[cpt_addon[kind == 2]]
    )
    modifiers = np.where(kind == 1, "JW", None).astype(object)
    modifiers[(kind == 0) | (kind == 3)] = admin_mod[gi[(kind == 0) | (kind == 3)]]
    units = np.where(kind == 1, jw_billed[gi], np.where(drug, billed[gi], 1.0))
    l_dose = admin & dose_doc[gi]
    adm_amount = np.where(l_dose, amount[gi], np.nan)
    adm_unit = np.where(l_dose | (admin & waste_doc[gi]), bunit[gi], None).astype(object)
    wasted = np.where(admin & waste_doc[gi], waste_value[gi], np.nan)
    ndc = np.where(drug, P["ndc11"].to_numpy()[prod], None).astype(object)
    l_per = np.where(drug, per[gi], 0.0)
    qualifier = np.where(
        (l_per > 0) & (rng.random(n_line) < 0.75) & pd.notna(ndc), "UN", None
    ).astype(object)
    limit = np.where(drug, pay_limit[gi], np.nan)
    u_line = rng.random((4, n_line))

    # diagnoses: the drug's indication (or a generic reason), sometimes a comorbidity
    # a patient keeps the same diagnosis for a drug from visit to visit
    reg_dx = _pick(rng, cat.dx_cand, reg_prod, cat.dx_count[reg_prod])
    extra_dx = _pick(rng, cat.dx_cand, g_prod[len(g_reg) :], cat.dx_count[g_prod[len(g_reg) :]])
    primary = np.concatenate([reg_dx[g_reg], extra_dx])
    comorbid = rng.random(n_patients) * 2.5  # below 1: the patient has a comorbidity coded
    with_second = comorbid[c_patient[g_claim]] < 1
    second = cat.comorbid[(comorbid[c_patient[g_claim]] % 1 * len(cat.comorbid)).astype("int64")]
    g_dx = np.where(with_second, primary + "|" + second, primary).astype(object)
    claim_first_group = np.full(n_claim, -1)
    claim_first_group[g_claim[::-1]] = np.arange(n_group)[::-1]
    dx = np.where(drug, g_dx[gi], primary[np.maximum(claim_first_group[claim], 0)]).astype(object)
    pa_group = pa_needed | ((G_payer == 3) & (u[6] > 0.8))
    pa_number = pd.Series(rng.integers(10_000_000, 99_999_999, n_group)).astype(str).to_numpy()
    pa = np.where(drug & pa_group[gi], "PA" + pa_number[gi].astype(object), None).astype(object)

    labels: list[tuple[np.ndarray, str]] = []
    admin_row = np.arange(n_group)  # admin line of group g is row g (before ordering)
    jw_row = np.full(n_group, -1)
    jw_row[jw_groups] = n_group + np.arange(len(jw_groups))
    for rule in (
        "A001",
        "C001",
        "C002",
        "C003",
        "D001",
        "D002",
        "D003",
        "F002",
        "M001",
        "M002",
        "M003",
        "M005",
        "M006",
        "N001",
        "N002",
        "N003",
        "N004",
        "N005",
        "P001",
        "U001",
        "U002",
        "U003",
        "U004",
        "U005",
    ):
        labels.append((admin_row[plants[rule]], rule))
    for rule in ("M004", "M007"):
        labels.append((jw_row[plants[rule]], rule))
    labels.append((n_group + len(jw_groups) + np.arange(len(f1_groups)), "F001"))

    # U003 on a CPT administration line billed over its MUE (the one rule that judges CPT lines),
    # on claims that carry no other defect
    cpt_rows = np.flatnonzero((kind == 2) & (claim < n_regular))
    cpt_rows = cpt_rows[~taken[claim[cpt_rows]]]
    cpt_codes = pd.Series(code[cpt_rows], dtype="object")
    cpt_cap = np.where(
        c_inst[claim[cpt_rows]],
        cpt_codes.map(cat.cpt_mue["inst"]).to_numpy(dtype="float64"),
        cpt_codes.map(cat.cpt_mue["prof"]).to_numpy(dtype="float64"),
    )
    ok = cpt_cap >= 1
    cpt_rows, cpt_cap = cpt_rows[ok], cpt_cap[ok]
    pick = rng.permutation(len(cpt_rows))
    pick = pick[_first_per_key(claim[cpt_rows[pick]])][
        : int(round(rate.get("U003", 0) * n_regular * 0.3))
    ]
    cpt_u3 = cpt_rows[pick]
    units[cpt_u3] = cpt_cap[pick] + 1 + np.floor(rng.random(len(pick)) * 2)
    taken[claim[cpt_u3]] = True
    labels.append((np.sort(cpt_u3), "U003"))

    # -- line-level defects (on the administration line of the chosen group) ------------------
    rows = admin_row[plants["C001"]]
    bogus = "J" + pd.Series(rng.integers(0, 10_000, len(rows))).astype(str).str.zfill(4)
    known = bogus.isin(cat.all_codes).to_numpy()
    typo = pd.Series(code[rows], dtype="object").astype(str) + pd.Series(
        rng.integers(0, 10, len(rows))
    ).astype(str)
    code[rows] = np.where(known | (u_line[0][rows] < 0.5), typo.to_numpy(), bogus.to_numpy())
    for rule in ("C001", "C003", "N001"):
        rows = admin_row[plants[rule]]
        ndc[rows] = qualifier[rows] = None
    rows = admin_row[plants["N002"]]
    digits = _ndc_digits(ndc[rows])
    ten = pd.Series(digits, dtype="object").str[1:]
    long = (
        pd.Series(digits, dtype="object").str[:5]
        + "-"
        + pd.Series(digits).str[5:9]
        + "-"
        + pd.Series(digits).str[9:]
        + "0"
    )
    ndc[rows] = np.where(u_line[1][rows] < 0.5, ten.to_numpy(), long.to_numpy())
    rows = admin_row[plants["N004"]]
    ndc[rows] = _random_ndcs(rng, len(rows), cat.known_ndcs)
    rows = admin_row[plants["N003"]]
    other, done = _other_code_ndc(
        cat, rng, prod[rows], cls[plants["N003"]], cls_no_ndc[plants["N003"]]
    )
    ndc[rows[done]] = other[done]
    labels = [(r[done], rule) if rule == "N003" else (r, rule) for r, rule in labels]
    # NDC quantity: enough packages for the billed units (UN x BILLUNITS >= billed)
    with np.errstate(invalid="ignore", divide="ignore"):
        qty = np.ceil(units / np.where(l_per > 0, l_per, np.nan) - EPS)
        qty = np.where(qty * l_per < units - EPS, qty + 1, qty)
    qty = np.where(qualifier == "UN", np.maximum(qty, 1), np.nan)
    rows = admin_row[plants["N005"]]
    small = np.floor(units[rows] / l_per[rows] * 0.5 * 1000) / 1000
    ok5 = (small > 0) & (small * l_per[rows] < units[rows] - EPS)
    qualifier[rows[ok5]] = "UN"
    qty[rows[ok5]] = small[ok5]
    labels = [(r[ok5], rule) if rule == "N005" else (r, rule) for r, rule in labels]
    # charges: above the payment limit x units, unless A001 is planted
    markup = 1.05 + 1.5 * u_line[2]
    charge = np.where(
        np.isnan(limit),
        np.round(units * (5 + 195 * u_line[2]), 2),
        np.ceil(limit * units * markup * 100) / 100,
    )
    charge[kind == 2] = np.round(80 + 370 * u_line[3][kind == 2], 2)
    rows = admin_row[plants["A001"]]
    charge[rows] = np.floor(limit[rows] * units[rows] * (0.4 + 0.5 * u_line[3][rows]) * 100) / 100
    rows = admin_row[plants["D001"]]
    dx[rows] = None
    rows = admin_row[plants["D002"]]
    bad_dx = cat.invalid_dx[rng.integers(0, max(len(cat.invalid_dx), 1), len(rows))]
    dx[rows] = pd.Series(dx[rows], dtype="object").to_numpy() + "|" + bad_dx
    rows = admin_row[plants["D003"]]
    g = plants["D003"]
    dx[rows] = _pick(rng, cat.dx_bad, g_prod[g], cat.dx_bad_count[g_prod[g]])
    pa[admin_row[plants["P001"]]] = None

    # claim-level defects: every in-scope line of the claim
    line_claim_plant = {r: np.isin(claim, c) & drug for r, c in claim_plants.items()}
    for rule, mask in line_claim_plant.items():
        labels.append((np.flatnonzero(mask), rule))
    secondary = c_secondary[claim]
    paid = np.where(secondary, np.round(charge * 0.55, 2), np.nan)
    paid[np.isin(claim, claim_plants["P003"])] = np.nan

    # order lines by claim, then administration lines, JW lines, CPT lines
    order = np.lexsort((seq, claim))
    inverse = np.empty(n_line, dtype="int64")
    inverse[order] = np.arange(n_line)
    claim_sorted = claim[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(claim_sorted)) + 1])
    counts = np.diff(np.concatenate([starts, [n_line]]))
    line_number = np.arange(n_line) - np.repeat(starts, counts) + 1
    patient = c_patient[claim]
    lines = (
        pd.DataFrame(
            {
                "_claim": claim,
                "provider_id": provider[c_patient[claim]],
                "claim_frequency": c_frequency[claim],
                "_patient": patient,
                "line_number": line_number[inverse],
                "payer": c_payer[claim],
                "payer_pick": payer_pick[patient],
                "inst": c_inst[claim],
                "service_day": c_day[claim],
                "submit_day": c_submit[claim],
                "hcpcs_code": code,
                "modifiers": modifiers,
                "billed_units": units,
                "charge_usd": charge,
                "ndc": ndc,
                "ndc_unit_qualifier": qualifier,
                "ndc_quantity": qty,
                "administered_amount": adm_amount,
                "administered_unit": adm_unit,
                "wasted_amount": wasted,
                "diagnosis_codes": dx,
                "prior_auth_number": pa,
                "secondary": secondary,
                "other_payer_paid_usd": paid,
                "plain_ndc": u_line[1] < 0.3,
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    label_frame = pd.concat(
        [pd.DataFrame({"row": inverse[r], "rule_code": rule}) for r, rule in labels if len(r)]
        or [pd.DataFrame({"row": pd.Series(dtype="int64"), "rule_code": pd.Series(dtype=str)})],
        ignore_index=True,
    )
    return Block(lines, label_frame, n_patients, n_claim)


def _other_code_ndc(
    cat: Catalog,
    rng: np.random.Generator,
    prod: np.ndarray,
    cls: np.ndarray,
    cls_no_ndc: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For N003: an NDC that crosswalks only to other codes and leaves the line's container
    type (and curated policy) as it was. Returns the NDCs and which rows got one."""
    P = cat.products
    codes = P["hcpcs_code"].to_numpy()[prod]
    out = np.empty(len(prod), dtype=object)
    done = np.zeros(len(prod), dtype=bool)
    for _ in range(12):
        todo = np.flatnonzero(~done)
        if not len(todo):
            break
        # an NDC with the same NDC-level container type, or one with none when the code's
        # own container type is the same
        use_none = (cls_no_ndc[todo] == cls[todo]) & (rng.random(len(todo)) < 0.5)
        pool_cls = np.where(use_none, 0, cls[todo])
        pick = np.empty(len(todo), dtype=object)
        for k in (0, 1, 2):
            rows = pool_cls == k
            pool = cat.ndc_by_class[k]
            if rows.any() and len(pool):
                pick[rows] = pool[rng.integers(0, len(pool), rows.sum())]
        pair = pd.Series(codes[todo], dtype="object") + "|" + pd.Series(pick, dtype="object")
        good = (
            pd.notna(pick)
            & ~pair.isin(cat.xwalk_pairs).to_numpy()
            & ~pair.isin(cat.policy_pairs).to_numpy()
        )
        good &= (pool_cls != 0) | (cls_no_ndc[todo] == cls[todo])
        out[todo[good]] = pick[good]
        done[todo[good]] = True
    return out, done


# -- chunks of exactly N rows, formatted as text ----------------------------------------------


def _trim(block: Block, max_rows: int) -> Block:
    """Keep whole patients, as many as fit in `max_rows` lines."""
    per_patient = np.bincount(block.lines["_patient"].to_numpy(), minlength=block.n_patients)
    keep_patient = np.cumsum(per_patient) <= max_rows
    keep = keep_patient[block.lines["_patient"].to_numpy()]
    new_pos = np.cumsum(keep) - 1
    labels = block.labels[keep[block.labels["row"].to_numpy()]]
    labels = labels.assign(row=new_pos[labels["row"].to_numpy()])
    lines = block.lines[keep].reset_index(drop=True)
    return Block(
        lines,
        labels.reset_index(drop=True),
        int(keep_patient.sum()),
        int(lines["_claim"].nunique()),
    )


def _filler(cat: Catalog, rng: np.random.Generator, n: int) -> Block:
    """`n` one-line office-visit claims (CPT, out of scope) to reach an exact row count."""
    s_day = (pd.Timestamp(cat.start) - pd.Timestamp(0)).days
    e_day = (pd.Timestamp(cat.end) - pd.Timestamp(0)).days
    day = rng.integers(s_day, e_day + 1, n)
    none = np.full(n, None, dtype=object)
    nan = np.full(n, np.nan)
    lines = pd.DataFrame(
        {
            "_claim": np.arange(n),
            "provider_id": PROVIDERS_PROF[rng.integers(0, len(PROVIDERS_PROF), n)],
            "claim_frequency": np.full(n, "1", dtype=object),
            "_patient": np.arange(n),
            "line_number": np.ones(n, "int64"),
            "payer": rng.choice(len(PAYER_TYPES), n, p=PAYER_WEIGHTS),
            "payer_pick": rng.random(n),
            "inst": np.zeros(n, dtype=bool),
            "service_day": day,
            "submit_day": day + rng.integers(1, 60, n),
            "hcpcs_code": CPT_VISIT[rng.integers(0, 2, n)],
            "modifiers": none,
            "billed_units": np.ones(n),
            "charge_usd": np.round(90 + 120 * rng.random(n), 2),
            "ndc": none,
            "ndc_unit_qualifier": none,
            "ndc_quantity": nan,
            "administered_amount": nan,
            "administered_unit": none,
            "wasted_amount": nan,
            "diagnosis_codes": cat.comorbid[rng.integers(0, len(cat.comorbid), n)],
            "prior_auth_number": none,
            "secondary": np.zeros(n, dtype=bool),
            "other_payer_paid_usd": nan,
            "plain_ndc": np.zeros(n, dtype=bool),
        }
    )
    labels = pd.DataFrame({"row": pd.Series(dtype="int64"), "rule_code": pd.Series(dtype=str)})
    return Block(lines, labels, n, n)


def _concat(blocks: list[Block]) -> Block:
    lines, labels, rows, patients, claims = [], [], 0, 0, 0
    for b in blocks:
        claim_ids = pd.factorize(b.lines["_claim"])[0]  # lines are ordered by claim
        lines.append(
            b.lines.assign(_claim=claim_ids + claims, _patient=b.lines["_patient"] + patients)
        )
        labels.append(b.labels.assign(row=b.labels["row"] + rows))
        rows += len(b.lines)
        patients += b.n_patients
        claims += int(claim_ids.max()) + 1 if len(claim_ids) else 0
    return Block(
        pd.concat(lines, ignore_index=True), pd.concat(labels, ignore_index=True), patients, claims
    )


def make_chunk(
    cat: Catalog,
    rng: np.random.Generator,
    rows: int,
    rate: dict[str, float],
    lines_per_patient: float = 8.0,
) -> Block:
    """Exactly `rows` claim lines of whole patients (plus office-visit fillers)."""
    blocks: list[Block] = []
    left = rows
    while left > 40:
        n_patients = max(int(left / lines_per_patient * 1.1) + 5, 5)
        block = _trim(_make_block(cat, rng, n_patients, rate), left)
        if not len(block.lines):
            break
        blocks.append(block)
        left -= len(block.lines)
    if left > 0:
        blocks.append(_filler(cat, rng, left))
    return _concat(blocks)


def _text(values: np.ndarray) -> pa.Array:
    """Numbers as the shortest text that reads back to the same float (`60`, `37.5`); NaN: null."""
    values = np.asarray(values, dtype="float64")
    return pc.cast(pa.array(values, mask=np.isnan(values)), pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(days: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(days.astype("int32"), pa.int32()).cast(pa.date32()), pa.string())


def _strings(values) -> pa.Array:
    return pa.array(
        pd.Series(values, dtype="object").where(pd.notna(values), None),
        type=pa.string(),
        from_pandas=True,
    )


_PAYER_ID_TABLE = np.array(
    [ids + [ids[-1]] * (4 - len(ids)) for ids in PAYER_IDS.values()], dtype=object
)
_PAYER_ID_COUNT = np.array([len(ids) for ids in PAYER_IDS.values()])
SCHEMA = pa.schema([(c, pa.string()) for c in OUTPUT_COLUMNS])
LABEL_SCHEMA = pa.schema(
    [("claim_id", pa.string()), ("line_number", pa.int64()), ("rule_code", pa.string())]
)


def to_tables(chunk: Block, claim_offset: int, patient_offset: int) -> tuple[pa.Table, pa.Table]:
    """The chunk as claim-extract text columns (SPEC section 3), and its labels."""
    L = chunk.lines
    payer = L["payer"].to_numpy()
    pick = np.minimum((L["payer_pick"].to_numpy() * _PAYER_ID_COUNT[payer]).astype("int64"), 3)
    inst = L["inst"].to_numpy()
    ndc = pd.Series(L["ndc"], dtype="object")
    hyphenated = (
        ndc.astype("string").str.fullmatch(r"\d{5}-\d{4}-\d{2}").fillna(False).to_numpy(bool)
    )
    plain = hyphenated & L["plain_ndc"].to_numpy()
    ndc = ndc.where(~plain, ndc.str.replace("-", "", regex=False))
    claim_id = _ids("CLM", claim_offset + L["_claim"].to_numpy(), 10)
    columns = {
        "claim_id": claim_id,
        "line_number": pc.cast(pa.array(L["line_number"].to_numpy()), pa.string()),
        "patient_id": _ids("PT", patient_offset + L["_patient"].to_numpy(), 8),
        "payer_type": pa.array(PAYER_TYPES[payer]),
        "payer_id": _strings(_PAYER_ID_TABLE[payer, pick]),
        "provider_id": _strings(L["provider_id"]),
        "claim_frequency": _strings(L["claim_frequency"]),
        "claim_type": pa.array(np.where(inst, "institutional", "professional")),
        "place_of_service": pa.array(np.where(inst, "22", "11")),
        "service_date": _dates(L["service_day"].to_numpy()),
        "submission_date": _dates(L["submit_day"].to_numpy()),
        "hcpcs_code": _strings(L["hcpcs_code"]),
        "modifiers": _strings(L["modifiers"]),
        "billed_units": _text(L["billed_units"]),
        "charge_usd": _text(L["charge_usd"]),
        "ndc": _strings(ndc),
        "ndc_unit_qualifier": _strings(L["ndc_unit_qualifier"]),
        "ndc_quantity": _text(L["ndc_quantity"]),
        "administered_amount": _text(L["administered_amount"]),
        "administered_unit": _strings(L["administered_unit"]),
        "wasted_amount": _text(L["wasted_amount"]),
        "diagnosis_codes": _strings(L["diagnosis_codes"]),
        "prior_auth_number": _strings(L["prior_auth_number"]),
        "payer_sequence": pa.array(np.where(L["secondary"].to_numpy(), "secondary", "primary")),
        "other_payer_paid_usd": _text(L["other_payer_paid_usd"]),
    }
    table = pa.table([columns[c] for c in OUTPUT_COLUMNS], schema=SCHEMA)
    rows = chunk.labels["row"].to_numpy()
    labels = pa.table(
        {
            "claim_id": pc.take(claim_id, pa.array(rows, pa.int64())),
            "line_number": pa.array(L["line_number"].to_numpy()[rows], pa.int64()),
            "rule_code": pa.array(chunk.labels["rule_code"].to_numpy(), pa.string()),
        },
        schema=LABEL_SCHEMA,
    )
    return table, labels


# -- the public entry point -------------------------------------------------------------------


@dataclass
class GenerateResult:
    path: Path
    labels_path: Path
    rows: int
    patients: int
    claims: int
    chunks: int
    planted: dict[str, int] = field(default_factory=dict)


def labels_path_for(out: Path) -> Path:
    return Path(str(out) + ".labels.parquet")


def default_rates(defect_rate: float = DEFAULT_DEFECT_RATE) -> dict[str, float]:
    return {rule: defect_rate for rule in PLANTABLE}


def generate_claims(
    bundle: Bundle,
    rows: int,
    out: Path | str,
    seed: int = 0,
    fmt: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    defect_rate: float = DEFAULT_DEFECT_RATE,
    rates: dict[str, float] | None = None,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Write `rows` synthetic claim lines to `out` (CSV or Parquet) and the planted labels beside
    it (`<out>.labels.parquet`). Same seed, rows and chunk size: the same bytes."""
    if rows < 1:
        raise PipelineError("--rows must be at least 1")
    out = Path(out)
    fmt = fmt or ("parquet" if out.suffix.lower() in (".parquet", ".pq") else "csv")
    if fmt not in ("csv", "parquet"):
        raise PipelineError(f"unknown format {fmt!r} (csv or parquet)")
    rate = default_rates(defect_rate) | (rates or {})
    unknown = set(rate) - set(PLANTABLE)
    if unknown:
        raise PipelineError(f"cannot plant {', '.join(sorted(unknown))}")
    cat = build_catalog(bundle, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels_out = labels_path_for(out)
    # temporary names no one else uses: only files this run created are ever removed
    token = uuid.uuid4().hex[:8]
    tmp, tmp_labels = (
        out.with_name(f".{out.name}.{token}.tmp"),
        labels_out.with_name(f".{labels_out.name}.{token}.tmp"),
    )
    writer = label_writer = None
    planted: dict[str, int] = {}
    claims = patients = written = n_chunks = 0
    try:
        label_writer = pq.ParquetWriter(tmp_labels, LABEL_SCHEMA)
        if fmt == "parquet":
            writer = pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
        else:
            writer = pacsv.CSVWriter(
                tmp,
                SCHEMA,
                write_options=pacsv.WriteOptions(include_header=True, quoting_style="none"),
            )
        while written < rows:
            size = min(chunk_rows, rows - written)
            rng = np.random.default_rng(np.random.SeedSequence([seed, n_chunks]))
            chunk = make_chunk(cat, rng, size, rate)
            table, labels = to_tables(chunk, claims, patients)
            writer.write_table(table)
            label_writer.write_table(labels)
            for code, n in chunk.labels["rule_code"].value_counts().items():
                planted[code] = planted.get(code, 0) + int(n)
            claims += chunk.n_claims
            patients += chunk.n_patients
            written += len(table)
            n_chunks += 1
            if progress:
                progress(written, rows)
    except BaseException:
        for w in (writer, label_writer):
            if w is not None:
                w.close()
        tmp.unlink(missing_ok=True)
        tmp_labels.unlink(missing_ok=True)
        raise
    writer.close()
    label_writer.close()
    tmp.replace(out)
    tmp_labels.replace(labels_out)
    return GenerateResult(
        out, labels_out, written, patients, claims, n_chunks, dict(sorted(planted.items()))
    )
