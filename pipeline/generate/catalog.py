"""What the generator may draw from a reference bundle: products, their facts, payer policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from claims_audit.config import Config
from claims_audit.enrich import CPT_PATTERN, DRUG_DESCRIPTOR
from claims_audit.errors import PipelineError
from claims_audit.reference import Bundle
from claims_audit.rules.diagnosis import billable_icd10_codes

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
# every (payer type, payer id) pair: a patient has one of them
COMBO_TYPE = np.array([t for t, ids in enumerate(PAYER_IDS.values()) for _ in ids])
COMBO_ID = np.array([i for ids in PAYER_IDS.values() for i in ids], dtype=object)
MEDICARE, MEDICAID, COMMERCIAL, OTHER = 0, 2, 3, 4
MAX_CLEAN_LAG_DAYS = 90  # submission at most this long after service on clean claims
COPY_LAG_DAYS = (10, 41)  # a copy (duplicate, replacement, void) is submitted this much later
CPT_ADMIN = np.array(["96413", "96365", "96372", "96374", "96401"])  # first administration
CPT_ADDON = np.array(["96415", "96375", "96366", "96367"])  # add-on hours / sequential pushes
CPT_VISIT = np.array(["99213", "99214"])  # office visits (filler claims)
# diagnosis codes for drugs without curated indications, and comorbidities (checked billable)
PRIMARY_DX = [
    "Z5111", "Z5112", "C3490", "C50911", "C189", "C61", "D631", "D509", "N186",
    "M0579", "K5090", "G35", "L409", "C9000", "C8330", "D6942", "M810", "E1165",
]  # fmt: skip
COMORBID_DX = ["I10", "E119", "E785", "J449", "N183", "F17210", "E669", "K219", "Z7982", "G4700"]
INVALID_DX = ["E11", "C50", "M81", "Z51", "R69X"]  # categories (not billable) / not codes
BAD_MODIFIERS = ["ZX", "Q9", "YY", "K7"]
MAX_DX_CANDIDATES = 8
CURATED_WEIGHT = 50.0  # a product with curated facts is this much likelier than one without


def npi(first9: str) -> str:
    """An NPI-like 10-digit id: nine digits and the Luhn check digit over the 80840 prefix."""
    total = 0
    for i, ch in enumerate(reversed("80840" + first9)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return first9 + str((10 - total % 10) % 10)


# billing providers: physician practices (professional claims), hospitals (institutional)
PROVIDERS_PROF = np.array([npi(str(152834096 + 7919 * k)) for k in range(8)], dtype=object)
PROVIDERS_INST = np.array([npi(str(194205561 + 6007 * k)) for k in range(4)], dtype=object)
HOSPITALS_340B = PROVIDERS_INST[:2]  # report TB on Medicare drug lines (separately payable)


@cache
def _icd_leaves() -> np.ndarray:
    """Billable ICD-10-CM codes (no dot), sorted: the set the diagnosis rules accept."""
    return np.array(sorted(billable_icd10_codes()))


def billable_under(prefix: str, limit: int = MAX_DX_CANDIDATES) -> list[str]:
    """Billable ICD-10-CM codes (no dot) starting with `prefix`, the first `limit` of them."""
    leaves = _icd_leaves()
    lo = np.searchsorted(leaves, prefix, side="left")
    hi = np.searchsorted(leaves, prefix + "\uffff", side="left")
    return [str(c) for c in leaves[lo:hi][:limit]]


def _checked(codes: list[str]) -> list[str]:
    good = [c for c in codes if c in billable_icd10_codes()]
    if not good:
        raise PipelineError("no billable ICD-10-CM code in the generator's diagnosis lists")
    return good


@dataclass
class PayerPolicy:
    """The configuration's payer settings for each (payer type, payer id) pair, as arrays."""

    require_jw: np.ndarray
    require_jz: np.ndarray
    require_ndc: np.ndarray
    filing_limit: np.ndarray  # days (NaN: none; Medicare then applies its calendar-year rule)
    prior_auth: set[str]  # "combo|code" pairs the configuration requires prior auth for


def payer_policy(config: Config | None) -> PayerPolicy:
    """Resolve the payer settings the audit will apply (payer_id over payer_type) per pair."""
    config = config or Config()
    pairs = pd.DataFrame({"payer_type": PAYER_TYPES[COMBO_TYPE], "payer_id": COMBO_ID})

    def flag(key: str) -> np.ndarray:
        return config.payer_setting(pairs, key).eq(True).to_numpy(dtype=bool)

    limit = config.payer_setting(pairs, "filing_limit_days")
    codes = config.payer_setting(pairs, "require_prior_auth")
    prior_auth = {
        f"{combo}|{str(code).strip().upper()}"
        for combo, listed in enumerate(codes.to_numpy())
        if isinstance(listed, list)
        for code in listed
    }
    return PayerPolicy(
        require_jw=flag("require_jw"),
        require_jz=flag("require_jz"),
        require_ndc=flag("require_ndc"),
        filing_limit=pd.to_numeric(limit, errors="coerce").to_numpy(dtype="float64"),
        prior_auth=prior_auth,
    )


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
    tb_valid: bool  # the 340B modifier TB is valid over the whole window
    invalid_dx: np.ndarray
    unknown_codes: np.ndarray  # J codes the bundle does not hold (C001)
    noc: pd.DataFrame  # true drug NOC codes of the bundle with an unknown container (C003)
    code_id: np.ndarray  # dense id of each product's code
    xwalk_pairs: set[str]  # "code|ndc11" pairs of the crosswalk
    cpt_mue: dict[str, dict[str, float]]  # setting tag (prof/inst) -> CPT code -> MUE
    policy_pairs: set[str]  # "code|ndc11" pairs with an NDC-specific curated policy row
    payers: PayerPolicy
    prior_auth: np.ndarray  # (n_products, n_payer_pairs): prior auth required
    start: date
    end: date

    @property
    def window(self) -> tuple[int, int]:
        """First and last service day of the window, in days since 1970-01-01."""
        return epoch_day(self.start), epoch_day(self.end)


def epoch_day(day) -> int:
    return (pd.Timestamp(day) - pd.Timestamp(0)).days


def _days(values) -> np.ndarray:
    """Dates -> float days since 1970-01-01 (NaN for NaT)."""
    ts = pd.to_datetime(pd.Series(values)).astype("datetime64[s]")
    out = ts.astype("int64").to_numpy() / 86400.0
    return np.where(ts.isna().to_numpy(), np.nan, out)


def _container_class(values: pd.Series) -> np.ndarray:
    """single_dose -> 1, multi_dose -> 2, unknown -> 0."""
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


def _by_code(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop_duplicates("hcpcs_code").set_index("hcpcs_code")


def _container_tables(bundle: Bundle) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The curated container table keyed by NDC, and keyed by code (rows without an NDC)."""
    container = bundle["container"]
    by_ndc = container.dropna(subset=["ndc11"]).drop_duplicates("ndc11").set_index("ndc11")
    by_code = _by_code(container[container["ndc11"].isna()].dropna(subset=["hcpcs_code"]))
    return by_ndc, by_code


def _products(bundle: Bundle) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (Level II code, crosswalked NDC), or per code without NDC, with its facts."""
    hcpcs = _by_code(bundle["hcpcs"])
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
    prod["add_day"] = _days(code.map(hcpcs["add_date"]))
    prod["term_day"] = _days(code.map(hcpcs["termination_date"]))
    prod["pay_limit"] = code.map(_by_code(bundle["payment_limits"])["payment_limit_usd"])
    prod["pay_limit"] = prod["pay_limit"].astype("float64")
    # a true drug NOC code (C003), as enrich reads it: on the NOC list, no descriptor unit, no
    # payment limit, a J code or a drug descriptor (J3490, J9999); NOS codes with a unit and a
    # limit (J3301 10 mg) are ordinary codes here
    described = code.map(hcpcs["long_description"]).astype("string").str.contains(DRUG_DESCRIPTOR)
    prod["is_noc"] = (
        code.map(hcpcs["is_noc"]).fillna(False).astype(bool)
        & prod["bua"].isna()
        & prod["pay_limit"].isna()
        & (code.str.startswith("J") | described.fillna(False).astype(bool))
    )
    mue = bundle["mue"]
    for setting, tag in (("practitioner", "prof"), ("outpatient_hospital", "inst")):
        rows = _by_code(mue[mue["setting"] == setting])
        prod[f"mue_{tag}"] = code.map(rows["mue_value"]).astype("float64")
    opps = _by_code(bundle["opps"])
    prod["packaged_si"] = (code.map(opps["status_indicator"]) == "N").fillna(False).astype(bool)
    by_ndc, by_code = _container_tables(bundle)
    code_kind = code.map(by_code["container"])
    prod["cls"] = _container_class(prod["ndc11"].map(by_ndc["container"]).fillna(code_kind))
    prod["cls_no_ndc"] = _container_class(code_kind)
    return prod, xwalk


def _add_policy(prod: pd.DataFrame, policy: pd.DataFrame) -> set[str]:
    """Curated drug policy per product, exactly as the rules look it up; returns the
    "code|ndc11" pairs that have an NDC-specific row."""
    for column in ("indications", "min_days_between_doses", "requires_prior_auth"):
        prod[column] = _policy_value(prod, policy, column)
    ndc_rows = policy.dropna(subset=["ndc11"])
    policy_pairs = set(ndc_rows["hcpcs_code"] + "|" + ndc_rows["ndc11"])
    prod["ndc_policy"] = (prod["hcpcs_code"] + "|" + prod["ndc11"].fillna("")).isin(policy_pairs)
    prod["min_days"] = pd.to_numeric(prod["min_days_between_doses"], errors="coerce")
    return policy_pairs


def _prior_auth(prod: pd.DataFrame, payers: PayerPolicy) -> np.ndarray:
    """(n_products, n_payer_pairs): prior auth required by curated policy (its payer types)
    or by the configuration (its codes per payer)."""
    listed = " " + prod["requires_prior_auth"].fillna("").astype(str) + " "
    by_type = np.column_stack(
        [listed.str.contains(f" {t} ", regex=False).to_numpy(bool) for t in PAYER_TYPES]
    )
    by_config = np.column_stack(
        [
            (f"{combo}|" + prod["hcpcs_code"]).isin(payers.prior_auth).to_numpy(bool)
            for combo in range(len(COMBO_TYPE))
        ]
    )
    return by_type[:, COMBO_TYPE] | by_config


def _valid_over(prod: pd.DataFrame, s_day: int, e_day: int) -> pd.Series:
    """The product's code is valid over the whole window and VALIDITY_MARGIN_DAYS after it."""
    return (prod["add_day"].isna() | (prod["add_day"] <= s_day)) & (
        prod["term_day"].isna() | (prod["term_day"] >= e_day + VALIDITY_MARGIN_DAYS)
    )


def _clean_products(prod: pd.DataFrame, s_day: int, e_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Products usable on clean lines (crosswalked NDC, valid over the window and after it,
    payable in both settings, a dosing interval under a year) and their draw weights."""
    mue_ok = ~(prod["mue_prof"].eq(0) | prod["mue_inst"].eq(0))
    clean = (
        prod["ndc11"].notna()
        & _valid_over(prod, s_day, e_day)
        & mue_ok
        & (prod["min_days"].isna() | (prod["min_days"] <= 366))
    )
    idx = np.flatnonzero(clean.to_numpy())
    codes = prod.loc[idx, "hcpcs_code"]
    weights = 1.0 / codes.map(codes.value_counts()).to_numpy(dtype="float64")
    # drugs with curated facts (container type, policy) are the interesting ones: favour them
    curated = (prod["cls"].to_numpy() > 0) | prod["indications"].notna().to_numpy()
    return idx, weights * np.where(curated[idx], CURATED_WEIGHT, 1.0)


def _not_effective(prod: pd.DataFrame, s_day: int, e_day: int) -> tuple[np.ndarray, ...]:
    """C002: products whose code is terminated before the window's end or added after its
    start, and per product the service-day range where it is not effective."""
    term_lo = np.maximum(prod["term_day"].to_numpy() + 1, s_day)
    add_hi = np.minimum(prod["add_day"].to_numpy() - 1, e_day)
    terminated = (prod["term_day"].notna() & (prod["term_day"] < e_day)).to_numpy()
    future = (prod["add_day"].notna() & (prod["add_day"] > s_day)).to_numpy()
    mue_ok = ~(prod["mue_prof"].eq(0) | prod["mue_inst"].eq(0)).to_numpy()
    ok = (terminated | future) & ~prod["is_noc"].to_numpy() & mue_ok
    idx = np.flatnonzero(ok & prod["min_days"].isna().to_numpy())
    lo = np.where(terminated[idx], term_lo[idx], s_day)
    hi = np.where(terminated[idx], e_day, add_hi[idx])
    return idx, lo.astype("int64"), hi.astype("int64")


def _diagnoses(indications: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per product: supporting billable diagnoses, and billable ones outside its indications."""
    primary, comorbid = _checked(PRIMARY_DX), _checked(COMORBID_DX)
    generic = primary + comorbid
    n = len(indications)
    cand, count = np.empty((n, MAX_DX_CANDIDATES), dtype=object), np.zeros(n, dtype="int64")
    bad, bad_count = np.empty((n, len(generic)), dtype=object), np.zeros(n, dtype="int64")
    texts = pd.Series(indications, dtype="object")
    keys = texts.where(texts.notna() & texts.astype(str).str.strip().ne(""), None)
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    for k, text in [(-1, "")] + list(enumerate(uniques)):  # one pass per distinct text
        if isinstance(text, str) and text.strip():
            prefixes = text.replace(",", " ").split()
            support = [c for p in prefixes for c in billable_under(p.replace(".", "").upper())]
            support = list(dict.fromkeys(support))[:MAX_DX_CANDIDATES]
            others = [c for c in generic if not any(c.startswith(p) for p in prefixes)]
        else:
            support, others = primary[:MAX_DX_CANDIDATES], []
        rows = codes == k
        count[rows], bad_count[rows] = len(support), len(others)
        cand[np.ix_(rows, np.arange(len(support)))] = support
        bad[np.ix_(rows, np.arange(len(others)))] = others
    return cand, count, bad, bad_count, np.array(comorbid, dtype=object)


def _bad_modifiers(bundle: Bundle, start: date, end: date) -> np.ndarray:
    """Modifiers M006 judges invalid: unknown to the bundle, or terminated before the window.
    JW and JZ must be valid throughout (clean lines carry them)."""
    modifiers = bundle["modifiers"].set_index("modifier")
    for needed in ("JW", "JZ"):
        term = modifiers["termination_date"].get(needed) if needed in modifiers.index else None
        if needed not in modifiers.index or (
            pd.notna(term)
            and pd.Timestamp(term) <= pd.Timestamp(end) + pd.Timedelta(days=VALIDITY_MARGIN_DAYS)
        ):
            raise PipelineError(f"reference bundle: modifier {needed} missing or terminated")
    bad = [m for m in BAD_MODIFIERS if m not in modifiers.index]
    terminated = modifiers.index[
        pd.to_datetime(modifiers["termination_date"]).lt(pd.Timestamp(start))
    ]
    return np.array(bad + [m for m in terminated if m.isalnum() and len(m) == 2], dtype=object)


def _valid_throughout(bundle: Bundle, modifier: str, start: date, end: date) -> bool:
    rows = bundle["modifiers"][bundle["modifiers"]["modifier"] == modifier]
    if rows.empty:
        return False
    add, term = (pd.to_datetime(rows[k].iloc[0]) for k in ("add_date", "termination_date"))
    last = pd.Timestamp(end) + pd.Timedelta(days=VALIDITY_MARGIN_DAYS)
    return (pd.isna(add) or add <= pd.Timestamp(start)) and (pd.isna(term) or term > last)


def _unknown_codes(codes: set[str]) -> np.ndarray:
    """Every J code (J0000-J9999) the bundle does not hold: with the full CMS bundle none of
    them is a real code, so C001 never prices a real drug."""
    every = np.char.add("J", np.char.zfill(np.arange(10_000).astype(str), 4)).astype(object)
    return every[~pd.Series(every).isin(codes).to_numpy()]


def _noc_codes(prod: pd.DataFrame, s_day: int, e_day: int) -> pd.DataFrame:
    """C003's codes: true drug NOC codes valid over the window whose container type the code
    alone leaves unknown (so no JW/JZ rule judges the line), with their MUEs and limit."""
    valid = _valid_over(prod, s_day, e_day)
    noc = prod[prod["is_noc"] & (prod["cls_no_ndc"] == 0) & valid].drop_duplicates("hcpcs_code")
    noc = noc[~(noc["mue_prof"].eq(0) | noc["mue_inst"].eq(0))]
    return noc[["hcpcs_code", "mue_prof", "mue_inst", "pay_limit"]].reset_index(drop=True)


def _ndc_classes(xwalk: pd.DataFrame, by_ndc: pd.DataFrame) -> dict[int, np.ndarray]:
    cls = pd.Series(
        _container_class(xwalk["ndc11"].map(by_ndc["container"])), index=xwalk["ndc11"].to_numpy()
    )
    cls = cls[~cls.index.duplicated()]
    return {k: np.array(sorted(cls.index[cls.to_numpy() == k])) for k in (0, 1, 2)}


def _cpt_mue(mue: pd.DataFrame) -> dict[str, dict[str, float]]:
    cpt = mue[mue["hcpcs_code"].str.match(CPT_PATTERN)]
    return {
        tag: _by_code(cpt[cpt["setting"] == setting])["mue_value"].astype("float64").to_dict()
        for setting, tag in (("practitioner", "prof"), ("outpatient_hospital", "inst"))
    }


def build_catalog(
    bundle: Bundle,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    config: Config | None = None,
) -> Catalog:
    """Every (code, NDC) product of the bundle with its facts; which are usable, and how."""
    prod, xwalk = _products(bundle)
    policy = bundle["drug_policy"]
    policy_pairs = _add_policy(prod, policy)
    s_day, e_day = epoch_day(start), epoch_day(end)
    clean, weights = _clean_products(prod, s_day, e_day)
    if len(clean) == 0:
        raise PipelineError(
            "reference bundle has no crosswalked code valid over "
            f"{start}..{end}: nothing to generate claims from"
        )
    c002, lo, hi = _not_effective(prod, s_day, e_day)
    cand, count, bad, bad_count, comorbid = _diagnoses(prod["indications"].to_numpy())
    # a product whose indications match no billable code cannot be clean (D003 would fire)
    keep = count[clean] > 0
    clean, weights = clean[keep], weights[keep]
    keep = count[c002] > 0
    c002, lo, hi = c002[keep], lo[keep], hi[keep]
    if len(clean) == 0:
        raise PipelineError("reference bundle: no usable product with a billable indication")
    by_ndc, _ = _container_tables(bundle)
    container = bundle["container"]
    codes = set(bundle["hcpcs"]["hcpcs_code"])
    payers = payer_policy(config)
    return Catalog(
        products=prod,
        clean=clean,
        clean_weights=weights / weights.sum(),
        c002=c002,
        c002_lo=lo,
        c002_hi=hi,
        dx_cand=cand,
        dx_count=count,
        dx_bad=bad,
        dx_bad_count=bad_count,
        comorbid=comorbid,
        ndc_by_class=_ndc_classes(xwalk, by_ndc),
        known_ndcs=set(xwalk["ndc11"])
        | set(container["ndc11"].dropna())
        | set(policy["ndc11"].dropna()),
        bad_modifiers=_bad_modifiers(bundle, start, end),
        tb_valid=_valid_throughout(bundle, "TB", start, end),
        invalid_dx=np.array(
            [c for c in INVALID_DX if c not in billable_icd10_codes()], dtype=object
        ),
        unknown_codes=_unknown_codes(codes),
        noc=_noc_codes(prod, s_day, e_day),
        code_id=pd.factorize(prod["hcpcs_code"])[0],
        xwalk_pairs=set(xwalk["hcpcs_code"] + "|" + xwalk["ndc11"]),
        cpt_mue=_cpt_mue(bundle["mue"]),
        policy_pairs=policy_pairs,
        payers=payers,
        prior_auth=_prior_auth(prod, payers),
        start=start,
        end=end,
    )
