"""Regenerate the sample claims of `sample_data/` and the findings an audit of them must produce.

    .venv/bin/python sample_data/make_sample.py

Writes, next to this script:

* `claims.csv` / `claims.parquet`: a realistic claims extract (SPEC section 3 columns, in order);
  the Parquet file holds the same rows with every column as a string.
* `history.csv`: prior claims of some patients (for F002, `--history`).
* `expected_findings.csv`: every finding (claim_id, line_number, rule_code) the rules of SPEC
  section 5 produce on `claims.csv` with `audit.toml`, `history.csv` and the starter bundle,
  with its expected `impact_usd` (empty where the SPEC gives none).
* `bad_rows.csv` + `expected_rejects.csv`: rows that fail validation (V002..V006) beside good ones.
* `README.md`: what is where, and the table of planted defects.

How it is built. Every fact comes from the starter reference bundle in `../reference/` (codes,
billing units, NDCs and their BILLUNITS, payment limits, MUEs, OPPS status, container types,
curated policy). The clean bulk is drawn with a seeded random generator from a few regimens
(bevacizumab, denosumab, octreotide, alteplase, rituximab, dalteparin, ...); the defects are
declared as data in `planted_claims()`, each line naming the rules it must trigger and why.
`policy_cases()` adds, for each condition of the revised SPEC (payer, container, setting,
waste below one unit, provider, claim type, replacement and void claims, Medicare's calendar
year, a modifier's add date, the ICD-10-CM release boundary, MUE 0, CPT MUEs), a claim on which
the rule must fire and one on which it must not; `reference_cases()` plants those that need facts
only some bundles hold. The expected findings are computed by `expected_findings()`, a plain
row-by-row reading of the SPEC's rule table that shares no code with the engine. The script
checks that every bulk line is clean, that every planted line triggers exactly the rules it
declares, and that all 29 rules fire; it stops with an error otherwise.

Claim ids are numbered by submission date, so changing the data renumbers them: the README table
and `changed/make_changed.py` (the baseline demo) refer to them.
"""

from __future__ import annotations

import csv
import math
import random
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import simple_icd_10_cm as icd

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "reference"
SEED = 20260120

COLUMNS = [
    "claim_id", "line_number", "patient_id", "payer_type", "payer_id", "provider_id",
    "claim_frequency", "claim_type",
    "place_of_service", "service_date", "submission_date", "hcpcs_code", "modifiers",
    "billed_units", "charge_usd", "ndc", "ndc_unit_qualifier", "ndc_quantity",
    "administered_amount", "administered_unit", "wasted_amount", "diagnosis_codes",
    "prior_auth_number", "payer_sequence", "other_payer_paid_usd",
]  # fmt: skip
RULES = [
    "C001", "C002", "C003", "U001", "U002", "U003", "U004", "U005", "N001", "N002", "N003",
    "N004", "N005", "M001", "M002", "M003", "M004", "M005", "M006", "M007", "D001", "D002",
    "D003", "F001", "F002", "P001", "P002", "P003", "A001",
]  # fmt: skip
WINDOW_START, WINDOW_END = date(2026, 1, 2), date(2026, 3, 31)
EXTRACT_DATE = date(2026, 4, 15)  # nothing is submitted after the extract was cut
# The ICD-10-CM release of the simple-icd-10-cm tables (code-list-April-2026: fiscal year 2026,
# October 1 to September 30). D002 judges only lines whose service date lies inside it (SPEC 5).
ICD10CM_FY = (date(2025, 10, 1), date(2026, 9, 30))

# =============================================================================================
# Reference facts (the starter bundle)
# =============================================================================================


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / f"{name}.csv", dtype=str, keep_default_na=False)


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


class Ref:
    """The starter bundle as plain dictionaries."""

    def __init__(self) -> None:
        h = _read("hcpcs")
        self.hcpcs = {
            r.hcpcs_code: {
                "bua": float(r.billing_unit_amount) if r.billing_unit_amount else None,
                "unit": r.billing_unit or None,
                "add": _date(r.add_date),
                "term": _date(r.termination_date),
                "noc": r.is_noc == "true",
            }
            for r in h.itertuples()
        }
        x = _read("ndc_crosswalk")
        self.xwalk = {
            (r.ndc11, r.hcpcs_code): (float(r.billing_units_per_item), float(r.pkg_size))
            for r in x.itertuples()
        }
        self.xwalk_codes: dict[str, set[str]] = defaultdict(set)
        for ndc, code in self.xwalk:
            self.xwalk_codes[ndc].add(code)
        p = _read("payment_limits")
        self.limit = {r.hcpcs_code: float(r.payment_limit_usd) for r in p.itertuples()}
        m = _read("mue")
        self.mue = {
            (r.hcpcs_code, r.setting): (int(r.mue_value), int(r.mai)) for r in m.itertuples()
        }
        o = _read("opps")
        rate_column = "payment_rate" if "payment_rate" in o.columns else "payment_rate_usd"
        self.si = {r.hcpcs_code: r.status_indicator for r in o.itertuples()}
        self.opps_rate = {
            r.hcpcs_code: float(getattr(r, rate_column)) for r in o.itertuples()
            if getattr(r, rate_column)
        }  # fmt: skip
        self.mue_rationale = {(r.hcpcs_code, r.setting): r.rationale for r in m.itertuples()}
        c = _read("container")
        self.container = {r.ndc11: r.container for r in c.itertuples() if r.ndc11}
        self.container_by_code = {
            r.hcpcs_code: r.container for r in c.itertuples() if not r.ndc11 and r.hcpcs_code
        }
        mods = _read("modifiers")
        self.modifiers = {
            r.modifier: (_date(r.add_date), _date(r.termination_date)) for r in mods.itertuples()
        }
        self.policy = _read("drug_policy")
        self.drug_codes = set(self.limit) | {code for _, code in self.xwalk}

    def container_of(self, code: str, ndc11: str | None) -> str | None:
        """single_dose, multi_dose or None (unknown): an NDC row wins over a code row."""
        return self.container.get(ndc11 or "") or self.container_by_code.get(code)

    def is_drug_noc(self, code: str) -> bool:
        """A true drug NOC code: on the NOC list, a drug code (J, or C/Q drug codes) and no
        descriptor unit. NOS codes with a unit (J3301 10 mg) and A/E/L supplies are not."""
        h = self.hcpcs.get(code)
        return bool(h and h["noc"] and h["bua"] is None and code[0] in "JCQ")

    def separately_payable(self, code: str, claim_type: str) -> bool:
        """Not an institutional line of a drug that OPPS packages (status indicator N)."""
        return not (claim_type == "institutional" and self.si.get(code) == "N")

    def rate(self, code: str, claim_type: str) -> float | None:
        """Payment per billing unit in the line's setting (SPEC 5): professional: the ASP
        payment limit; institutional: the OPPS rate for SI K/G, 0 for N; None when unknown."""
        if claim_type != "institutional":
            return self.limit.get(code)
        si = self.si.get(code)
        if si == "N":
            return 0.0
        return self.opps_rate.get(code) if si in ("K", "G") else None

    def policy_value(self, code: str, ndc11: str | None, column: str) -> tuple[str, str] | None:
        """(value, schedule key) of a curated policy column: an NDC row wins over a code row."""
        rows = self.policy[self.policy[column] != ""]
        if ndc11:
            hit = rows[(rows["hcpcs_code"] == code) & (rows["ndc11"] == ndc11)]
            if len(hit):
                return hit.iloc[0][column], f"{code}|{ndc11}"
        hit = rows[(rows["hcpcs_code"] == code) & (rows["ndc11"] == "")]
        return (hit.iloc[0][column], f"{code}|") if len(hit) else None


REF = Ref()
UNIT_FACTOR = {"mg": 1.0, "mcg": 0.001, "g": 1000.0, "units": 1.0, "mL": 1.0}
UNIT_FAMILY = {"mg": "mg", "mcg": "mg", "g": "mg", "units": "units", "mL": "mL"}


def in_billing_units(code: str, amount: float, unit: str) -> float | None:
    """Amount in (fractional) billing units of the code; None when not comparable."""
    h = REF.hcpcs.get(code)
    if not h or h["bua"] is None or UNIT_FAMILY.get(unit) != UNIT_FAMILY.get(h["unit"]):
        return None
    return (amount * UNIT_FACTOR[unit]) / (h["bua"] * UNIT_FACTOR[h["unit"]])


def ceil_units(value: float) -> int:
    """CMS rounding (policy `up`): the next whole unit."""
    return math.ceil(value - 1e-9)


def units_for(code: str, amount: float, unit: str) -> int:
    return ceil_units(in_billing_units(code, amount, unit))


# =============================================================================================
# Claims as data
# =============================================================================================


@dataclass
class Line:
    code: str
    units: float
    mods: str = ""
    charge: float | None = None  # None: priced from the charge master below
    ndc: str = ""
    qual: str = ""
    qty: float | None = None
    amount: float | None = None
    unit: str = ""
    waste: float | None = None
    dx: str | None = None  # None: the claim's diagnoses; "" = none on this line
    other_paid: float | None = None
    expect: dict[str, str] = field(default_factory=dict)  # planted: rule code -> why


@dataclass
class Claim:
    patient: str
    payer_type: str
    payer_id: str
    claim_type: str  # professional | institutional
    pos: str
    service: date
    lag_days: int  # submission_date - service_date
    dx: str
    lines: list[Line]
    pa: str = ""
    sequence: str = "primary"
    cob_paid: bool = True  # secondary claims: report the primary's payment on every line
    planted: str = ""  # short title of the planted scenario (README)
    claim_id: str = ""
    provider: str | None = None  # NPI; None: the patient's usual provider for the claim type
    frequency: str = "1"  # claim frequency code: 1 original, 7 replacement, 8 void

    @property
    def submitted(self) -> date:
        return min(self.service + timedelta(days=self.lag_days), max(self.service, EXTRACT_DATE))


# charge master: $ per billed unit (professional office, hospital outpatient)
PRICE = {
    "J9035": (98.50, 185.00), "J0897": (36.80, 62.00), "J2997": (112.00, 168.00),
    "J9312": (99.00, 172.50), "J2353": (245.00, 410.00), "J2354": (1.45, 3.10),
    "J1645": (21.00, 38.00), "J1100": (0.85, 2.40), "J2405": (0.95, 3.25),
    "J1885": (4.50, 9.00), "J0696": (6.25, 11.50), "J1171": (2.10, 4.80),
    "J2371": (0.35, 0.75), "J1837": (0.90, 1.60), "J3397": (55.00, 90.00),
    "J1170": (9.00, 16.00),
    "96413": (185.00, 612.00), "96415": (40.00, 128.00), "96365": (72.00, 345.00),
    "96366": (22.00, 96.00), "96372": (24.00, 98.00), "96374": (45.00, 290.00),
    "96375": (20.00, 85.00), "96402": (42.00, 110.00), "36593": (48.00, 156.00),
    "99214": (165.00, 240.00), "45378": (780.00, 1450.00), "96376": (30.00, 64.00),
}  # fmt: skip


def price(line: Line, claim: Claim) -> float:
    if line.charge is not None:
        return line.charge
    per = PRICE[line.code][claim.claim_type == "institutional"]
    return round(per * line.units, 2)


def cpt(code: str, units: int = 1, mods: str = "") -> Line:
    return Line(code, units, mods)


def drug(
    code: str,
    ndc: str,
    amount: float | None,
    unit: str,
    *,
    units: float | None = None,
    mods: str = "",
    waste: float | None = None,
    qty: float | None = None,
    qual: str = "UN",
    **kw,
) -> Line:
    """A drug line; units default to the documented dose in the code's billing unit (rounded up)."""
    if units is None:
        units = units_for(code, amount, unit)
    if qty is None and ndc and qual == "UN":  # the vials opened
        pair = REF.xwalk.get((ndc, code))
        qty = 1
        if pair and amount:
            total = in_billing_units(code, amount + (waste or 0), unit)
            qty = max(1, math.ceil(total / pair[0] - 1e-9))
    return Line(
        code,
        units,
        mods,
        ndc=ndc,
        qual=qual if ndc else "",
        qty=qty if ndc else None,
        amount=amount,
        unit=unit if amount is not None or waste else "",
        waste=waste,
        **kw,
    )


def jw(code: str, ndc: str, waste: float, unit: str, units: float | None = None, **kw) -> Line:
    """The discarded amount on its own line with modifier JW (the waste repeated there)."""
    return Line(code, units, kw.pop("mods", "JW"), ndc=ndc, qual="UN" if ndc else "",
                qty=1 if ndc else None, unit=unit, waste=waste, **kw)  # fmt: skip


# =============================================================================================
# The clean bulk: regimens drawn with a seeded generator
# =============================================================================================

RNG = random.Random(SEED)

PAYER_IDS = {
    "medicare": ["MCR-JH", "MCR-JL"],
    "medicare_advantage": ["HUMANA-MA", "UHC-MA", "AETNA-MA"],
    "medicaid": ["TX-MEDICAID", "OK-MEDICAID"],
    "commercial": ["BCBS-TX", "AETNA", "UHC", "CIGNA"],
    "other": ["TRICARE-EAST"],
}


def npi(first9: str) -> str:
    """A 10-digit NPI: nine digits and the Luhn check digit over the 80840 prefix (CMS)."""
    total = 0
    for i, ch in enumerate(reversed("80840" + first9)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return first9 + str((10 - total % 10) % 10)


PROVIDERS = {  # billing providers: physician practices, hospital outpatient departments
    "professional": [npi("152834096"), npi("168721035"), npi("104937218")],
    "institutional": [npi("194205561"), npi("122370814")],
}
PROV_A, PROV_B = PROVIDERS["professional"][0], npi("133365079")  # B: an urgent-care practice


def assign_providers(claims: list[Claim]) -> None:
    """A patient sees one practice and one hospital (picked from the patient id, so that adding
    claims does not move anyone); claims of the "other" payer come from a feed without NPIs."""
    for c in claims:
        if c.provider is None:
            if c.payer_type == "other":
                c.provider = ""
            else:
                pool = PROVIDERS[c.claim_type]
                c.provider = random.Random(f"{SEED}|{c.patient}|{c.claim_type}").choice(pool)


COMORBID = ["I10", "E11.9", "E78.5", "J44.9", "N18.30", "E66.9", "K21.9", "Z87.891", "E03.9"]
_patient_numbers = RNG.sample(range(10000, 99999), 400)


def new_patient() -> str:
    return f"MRN{_patient_numbers.pop():06d}"


_pa_numbers = RNG.sample(range(100000, 999999), 200)


def new_pa(payer_id: str) -> str:
    return f"{payer_id.split('-')[0][:4]}PA{_pa_numbers.pop()}"


def pick_payer(weights: dict[str, float]) -> tuple[str, str]:
    kinds = list(weights)
    kind = RNG.choices(kinds, [weights[k] for k in kinds])[0]
    return kind, RNG.choice(PAYER_IDS[kind])


def weekday(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def weekday_back(d: date) -> date:
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def lag(payer_type: str, payer_id: str) -> int:
    return (
        RNG.randint(3, 21)
        if payer_type in ("medicare", "medicare_advantage")
        else RNG.randint(5, 40)
    )


def dx_with_comorbid(*primary: str) -> str:
    codes = list(primary)
    if RNG.random() < 0.45:
        codes.append(RNG.choice(COMORBID))
    return " ".join(dict.fromkeys(codes))


def schedule(first: date, every: int, count: int, jitter: int = 3) -> list[date]:
    """Visit dates `every` days apart (plus a small delay), within the window."""
    dates, d = [], weekday(first)
    while len(dates) < count and d <= WINDOW_END:
        dates.append(d)
        d = weekday(d + timedelta(days=every + RNG.randint(0, jitter)))
    return dates


def medicare_like(payer_type: str) -> bool:
    return payer_type in ("medicare", "medicare_advantage")


def jw_jz_policy(payer_type: str, payer_id: str, code: str, ndc: str, claim_type: str) -> tuple:
    """(JW required, JZ required) for a clean line, as a careful biller applies the policy: only
    for payers that require the modifier (audit.toml), on a single-dose container the reference
    knows, and on a separately payable line (not an OPPS status indicator N hospital drug)."""
    ndc11 = normalize_ndc(ndc) if ndc else None
    applies = REF.container_of(code, ndc11) == "single_dose" and REF.separately_payable(
        code, claim_type
    )
    return (
        applies and CFG.requires(payer_type, payer_id, "require_jw"),
        applies and CFG.requires(payer_type, payer_id, "require_jz"),
    )


def jz_for(payer: tuple[str, str], code: str, ndc: str, claim_type: str = "professional") -> str:
    """ "JZ" where a clean line with nothing discarded must carry it, else ""."""
    return "JZ" if jw_jz_policy(*payer, code, ndc, claim_type)[1] else ""


def vial_plan(dose: int, sizes: tuple[int, int]) -> list[tuple[int, int]]:
    """Vials (size, count) covering `dose` mg with the least drug, then the fewest vials."""
    big, small = sizes
    best = None
    for n_big in range(0, dose // big + 2):
        n_small = max(0, math.ceil((dose - n_big * big) / small))
        key = (n_big * big + n_small * small, n_big + n_small)
        if best is None or key < best[0]:
            best = (key, n_big, n_small)
    _, n_big, n_small = best
    return [(s, n) for s, n in ((big, n_big), (small, n_small)) if n]


def vial_group(
    code: str,
    dose: int,
    ndc_by_size: dict[int, str],
    payer: tuple[str, str],
    document_waste: bool,
    mods: str = "",
    claim_type: str = "professional",
) -> list[Line]:
    """Administration line(s) (one per NDC) and, when waste is documented and the payer requires
    JW, the JW line. The doses here are whole billing units: any waste is billable."""
    plan = vial_plan(dose, tuple(sorted(ndc_by_size, reverse=True)))
    total = sum(s * n for s, n in plan)
    waste = total - dose
    need_jw, need_jz = jw_jz_policy(*payer, code, ndc_by_size[plan[0][0]], claim_type)
    document_waste = document_waste or need_jw  # a JW line needs the waste documented
    jz = need_jz and waste == 0
    base = (mods + " JZ").strip() if jz else mods
    lines, left = [], dose
    for size, count in plan:
        used = min(left, size * count)
        left -= used
        line_waste = size * count - used if document_waste and size * count > used else None
        lines.append(drug(code, ndc_by_size[size], used, "mg", qty=count, mods=base,
                          waste=line_waste))  # fmt: skip
    if waste and need_jw:
        size_with_waste = next(s for s, n in reversed(plan))
        ndc = ndc_by_size[size_with_waste]
        jw_units = units_for(code, dose + waste, "mg") - units_for(code, dose, "mg")
        lines.append(jw(code, ndc, waste, "mg", units=jw_units, mods=(mods + " JW").strip()))
    return lines


AVASTIN = {400: "50242-0061-01", 100: "50242-0060-01"}
RITUXAN = {500: "50242-0053-06", 100: "50242-0051-21"}
BEV_INDICATIONS = [  # (dx, mg/kg, every days)
    (("C18.7", "C78.7"), 5, 14), (("C18.2",), 5, 14), (("C20", "C78.7"), 5, 14),
    (("C34.11",), 15, 21), (("C34.31",), 15, 21), (("C71.1",), 10, 14), (("C71.9",), 10, 14),
    (("C56.1",), 15, 21), (("C56.9",), 15, 21), (("C53.9",), 15, 21), (("C64.1",), 10, 14),
]  # fmt: skip


def bevacizumab_patient(history: list[Claim]) -> list[Claim]:
    (dx, mg_per_kg, every) = RNG.choice(BEV_INDICATIONS)
    payer_type, payer_id = pick_payer({"medicare": 35, "medicare_advantage": 20, "medicaid": 17,
                                       "commercial": 28})  # fmt: skip
    institutional = RNG.random() < 0.35
    weight = RNG.randint(52, 112)
    dose = round(mg_per_kg * weight / 10) * 10
    pa = new_pa(payer_id) if payer_type == "commercial" else ""
    premeds = RNG.random() < 0.4
    document_waste = medicare_like(payer_type) or RNG.random() < 0.5
    patient = new_patient()
    first = WINDOW_START + timedelta(days=RNG.randint(0, 40))
    claims = []
    for i, day in enumerate(schedule(first, every, RNG.randint(1, 3))):
        hours = [cpt("96413")]
        if i == 0 and RNG.random() < 0.5:
            hours.append(cpt("96415"))
        lines = list(hours)
        claim_type = "institutional" if institutional else "professional"
        lines += vial_group("J9035", dose, AVASTIN, (payer_type, payer_id), document_waste,
                            claim_type=claim_type)  # fmt: skip
        if premeds:  # containers the reference does not know: neither JW nor JZ
            lines.append(cpt("96375", 2))
            lines.append(drug("J1100", "63323-0506-01", 10, "mg"))
            lines.append(drug("J2405", "00409-4755-03", 8, "mg"))
        diag = dx_with_comorbid("Z51.11", *dx) if premeds else dx_with_comorbid(*dx)
        claims.append(Claim(patient, payer_type, payer_id,
                            "institutional" if institutional else "professional",
                            "22" if institutional else "11", day, lag(payer_type, payer_id),
                            diag, lines, pa=pa))  # fmt: skip
    if RNG.random() < 0.5:  # the cycle before the first one of this extract
        first_claim = claims[0]
        before = weekday_back(first_claim.service - timedelta(days=every + 1))
        lines = [cpt("96413")] + vial_group(
            "J9035",
            dose,
            AVASTIN,
            (payer_type, payer_id),
            document_waste,
            claim_type=first_claim.claim_type,
        )
        history.append(
            Claim(
                patient,
                payer_type,
                payer_id,
                first_claim.claim_type,
                first_claim.pos,
                before,
                10,
                first_claim.dx,
                lines,
                pa=pa,
            )
        )
    return claims


def rituximab_patient() -> list[Claim]:
    kind = RNG.choice(["nhl", "nhl", "ra"])
    payer_type, payer_id = pick_payer({"medicare": 50, "medicare_advantage": 20, "commercial": 30})
    pa = new_pa(payer_id) if payer_type == "commercial" else ""
    patient = new_patient()
    if kind == "nhl":
        bsa = RNG.choice([1.62, 1.74, 1.86, 1.93, 2.05, 2.18])
        dose, every, count = round(375 * bsa / 10) * 10, 7, RNG.randint(2, 4)
        dx = RNG.choice([("C83.38",), ("C82.00",), ("C83.30",), ("C91.10",)])
        extra_hours = 3
    else:
        dose, every, count = 1000, 14, 2
        dx = RNG.choice([("M05.79",), ("M06.9",)])
        extra_hours = 3
    first = WINDOW_START + timedelta(days=RNG.randint(0, 45))
    claims = []
    for day in schedule(first, every, count, jitter=1):
        lines = [cpt("96413"), cpt("96415", extra_hours)]
        lines += vial_group("J9312", dose, RITUXAN, (payer_type, payer_id), document_waste=True,
                            mods="PO" if payer_type == "medicare" else "",
                            claim_type="institutional")  # fmt: skip
        claims.append(
            Claim(
                patient,
                payer_type,
                payer_id,
                "institutional",
                "19" if payer_type == "medicare" else "22",
                day,
                lag(payer_type, payer_id),
                dx_with_comorbid(*dx),
                lines,
                pa=pa,
            )
        )
    for claim in claims:  # PO goes on every line of an off-campus (excepted) department's claim
        if claim.pos == "19":
            for line in claim.lines:
                if line.code.isdigit():
                    line.mods = "PO"
    return claims


def prolia_patient(history: list[Claim]) -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 45, "medicare_advantage": 30, "commercial": 25})
    patient = new_patient()
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 85)))
    pa = new_pa(payer_id) if payer_type == "commercial" else ""
    ndc = RNG.choice(["55513-0710-01", "55513-0710-21"])
    jz = jz_for((payer_type, payer_id), "J0897", ndc)
    dx = dx_with_comorbid(RNG.choice(["M81.0", "M81.0", "M81.8"]))
    claim = Claim(patient, payer_type, payer_id, "professional", "11", day,
                  lag(payer_type, payer_id), dx,
                  [cpt("96372"), drug("J0897", ndc, 60, "mg", mods=jz)], pa=pa)  # fmt: skip
    if RNG.random() < 0.6:  # the previous dose, six months (and a few days) earlier
        before = weekday(day - timedelta(days=RNG.randint(182, 190)))
        history.append(
            Claim(
                patient,
                payer_type,
                payer_id,
                "professional",
                "11",
                before,
                9,
                dx,
                [cpt("96372"), drug("J0897", ndc, 60, "mg", mods=jz)],
                pa=pa,
            )
        )
    return [claim]


def xgeva_patient(history: list[Claim]) -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 60, "medicare_advantage": 15, "commercial": 25})
    patient = new_patient()
    dx = RNG.choice([("C79.51", "C50.911"), ("C79.51", "C61"), ("C90.00",), ("C79.51", "C34.90")])
    pa = new_pa(payer_id) if payer_type == "commercial" else ""
    jz = jz_for((payer_type, payer_id), "J0897", "55513-0730-01")
    first = WINDOW_START + timedelta(days=RNG.randint(0, 20))
    dates = schedule(first, 28, 3, jitter=2)

    def visit(day: date, lag_days: int) -> Claim:
        return Claim(
            patient,
            payer_type,
            payer_id,
            "professional",
            "11",
            day,
            lag_days,
            dx_with_comorbid(*dx),
            [cpt("96372"), drug("J0897", "55513-0730-01", 120, "mg", mods=jz)],
            pa=pa,
        )

    history.append(visit(weekday_back(dates[0] - timedelta(days=29)), 8))
    return [visit(d, lag(payer_type, payer_id)) for d in dates]


def octreotide_lar_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 55, "medicaid": 15, "commercial": 30})
    patient = new_patient()
    mg, ndc = RNG.choice([(20, "00078-0818-81"), (30, "00078-0825-81"), (20, "00480-9259-08")])
    dx = RNG.choice([("E34.00", "C7B.02"), ("E34.00", "C7A.010"), ("E22.0",)])
    pa = new_pa(payer_id) if payer_type == "commercial" else ""
    jz = jz_for((payer_type, payer_id), "J2353", ndc)  # kits the reference does not type: ""
    first = WINDOW_START + timedelta(days=RNG.randint(0, 25))
    return [
        Claim(patient, payer_type, payer_id, "professional", "11", d, lag(payer_type, payer_id),
              dx_with_comorbid(*dx), [cpt("96402"), drug("J2353", ndc, mg, "mg", mods=jz)], pa=pa)
        for d in schedule(first, 28, 3, jitter=2)
    ]  # fmt: skip


def octreotide_sc_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 50, "medicaid": 25, "commercial": 25})
    patient = new_patient()
    dx = dx_with_comorbid(*RNG.choice([("E22.0",), ("E34.00", "C7A.019"), ("E34.00", "C7B.00")]))
    style = RNG.choice(["vial100", "mdv200", "half_vial", "hospital"])
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 80)))
    claim_type, pos = "professional", "11"
    if style == "vial100":
        lines = [drug("J2354", "63323-0376-01", 100, "mcg",
                      mods=jz_for((payer_type, payer_id), "J2354", "63323-0376-01"))]  # fmt: skip
    elif style == "mdv200":
        lines = [drug("J2354", "25021-0454-05", 200, "mcg", qual="ML", qty=1)]
    elif style == "half_vial":  # 50 mcg from a 100 mcg single-dose vial: 2 units + 2 units JW
        lines = [drug("J2354", "63323-0376-01", 50, "mcg", waste=50)]
        if jw_jz_policy(payer_type, payer_id, "J2354", "63323-0376-01", "professional")[0]:
            lines.append(jw("J2354", "63323-0376-01", 50, "mcg", units=2))
    else:  # hospital outpatient: J2354 is packaged (OPPS SI N): neither JW nor JZ
        claim_type, pos = "institutional", "22"
        lines = [drug("J2354", "63323-0376-01", 100, "mcg")]
    return [Claim(patient, payer_type, payer_id, claim_type, pos, day, lag(payer_type, payer_id),
                  dx, [cpt("96372")] + lines)]  # fmt: skip


ACTIVASE_DX = ["I63.411", "I63.412", "I63.511", "I63.9"]


def alteplase_patient() -> list[Claim]:
    """Acute ischemic stroke in the emergency department: 0.9 mg/kg (at most 90 mg), the rest of
    the vial discarded and billed on a JW line."""
    payer_type, payer_id = pick_payer({"medicare": 55, "medicare_advantage": 15, "commercial": 30})
    weight = RNG.choice([52.0, 58.5, 64.0, 71.2, 78.0, 83.4, 92.0, 104.0])
    dose = min(round(0.9 * weight, 1), 90.0)
    vial, ndc = (50, "50242-0044-13") if dose <= 50 else (100, "50242-0085-27")
    waste = round(vial - dose, 1)
    day = WINDOW_START + timedelta(days=RNG.randint(0, 85))
    pa = new_pa(payer_id) if payer_type == "commercial" else ""
    lines = [cpt("96374"), cpt("96365"), drug("J2997", ndc, dose, "mg", waste=waste)]
    if jw_jz_policy(payer_type, payer_id, "J2997", ndc, "institutional")[0]:  # SI K: paid
        lines.append(
            jw(
                "J2997",
                ndc,
                waste,
                "mg",
                units=units_for("J2997", vial, "mg") - units_for("J2997", dose, "mg"),
            )
        )
    return [Claim(new_patient(), payer_type, payer_id, "institutional", "23", day,
                  lag(payer_type, payer_id), dx_with_comorbid(RNG.choice(ACTIVASE_DX)), lines,
                  pa=pa)]  # fmt: skip


def cathflo_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 70, "commercial": 30})
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 85)))
    jz = jz_for((payer_type, payer_id), "J2997", "50242-0041-64")
    lines = [cpt("36593"), drug("J2997", "50242-0041-64", 2, "mg", mods=jz)]
    return [Claim(new_patient(), payer_type, payer_id, "professional", "11", day,
                  lag(payer_type, payer_id), "T82.868A Z95.828", lines)]  # fmt: skip


def dalteparin_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 50, "medicaid": 20, "commercial": 30})
    style = RNG.choice(["pfs5000", "mdv10000", "pfs15000"])
    payer = (payer_type, payer_id)
    if style == "pfs5000":
        line = drug("J1645", "00069-0196-02", 5000, "units",
                    mods=jz_for(payer, "J1645", "00069-0196-02"))  # fmt: skip
    elif style == "pfs15000":  # a syringe the container table does not list: neither
        line = drug("J1645", "00069-0223-02", 15000, "units",
                    mods=jz_for(payer, "J1645", "00069-0223-02"))  # fmt: skip
    else:  # 10,000 IU drawn from the 95,000 IU multiple-dose vial: no JW/JZ
        line = drug("J1645", "00069-0232-01", 10000, "units", qual="ML", qty=0.4)
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 85)))
    dx = dx_with_comorbid(
        RNG.choice(["I82.411", "I82.4Y1"]), RNG.choice(["C34.90", "C25.9", "C18.9"])
    )
    return [Claim(new_patient(), payer_type, payer_id, "professional", "11", day,
                  lag(payer_type, payer_id), dx, [cpt("96372"), line])]  # fmt: skip


def office_injection_patient() -> list[Claim]:
    """Ceftriaxone 1 g IM or ketorolac 30 mg IM in a physician office, with a visit."""
    payer_type, payer_id = pick_payer({"medicare": 25, "medicare_advantage": 15, "medicaid": 20,
                                       "commercial": 25, "other": 15})  # fmt: skip
    jz = ""  # ceftriaxone and ketorolac vials: container type not in the reference
    if RNG.random() < 0.55:
        ndc = RNG.choice(["00409-7332-01", "25021-0106-10"])
        line, dx = drug("J0696", ndc, 1, "g", mods=jz), RNG.choice(["J18.9", "N39.0", "N30.00"])
    else:
        ndc = RNG.choice(["00409-3795-01", "25021-0701-01"])
        line, dx = (
            drug("J1885", ndc, 30, "mg", mods=jz),
            RNG.choice(["M54.50", "G43.909", "M25.561"]),
        )
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 85)))
    lines = [cpt("99214", mods="25"), cpt("96372"), line]
    return [Claim(new_patient(), payer_type, payer_id, "professional", "11", day,
                  lag(payer_type, payer_id), dx_with_comorbid(dx), lines)]  # fmt: skip


def ed_hydromorphone_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 50, "commercial": 50})
    day = WINDOW_START + timedelta(days=RNG.randint(0, 85))
    ndc, mg = RNG.choice([("00409-1283-31", 1), ("00409-1312-30", 2)])
    lines = [cpt("96374"), drug("J1171", ndc, mg, "mg")]  # packaged in OPPS (SI N): no JZ
    return [Claim(new_patient(), payer_type, payer_id, "institutional", "23", day,
                  lag(payer_type, payer_id), RNG.choice(["G89.3 C79.51", "R10.9", "M54.50"]),
                  lines)]  # fmt: skip


def endoscopy_phenylephrine_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 60, "commercial": 40})
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 85)))
    lines = [cpt("45378"), drug("J2371", "63323-0751-01", 200, "mcg")]
    return [Claim(new_patient(), payer_type, payer_id, "institutional", "22", day,
                  lag(payer_type, payer_id), "Z12.11 I95.9", lines)]  # fmt: skip


def bulk_claims(history: list[Claim]) -> list[Claim]:
    claims: list[Claim] = []
    for _ in range(8):
        claims += bevacizumab_patient(history)
    for _ in range(3):
        claims += rituximab_patient()
    for _ in range(6):
        claims += prolia_patient(history)
    for _ in range(3):
        claims += xgeva_patient(history)
    for _ in range(3):
        claims += octreotide_lar_patient()
    for _ in range(4):
        claims += octreotide_sc_patient()
    for _ in range(4):
        claims += alteplase_patient()
    for _ in range(1):
        claims += cathflo_patient()
    for _ in range(3):
        claims += dalteparin_patient()
    for _ in range(5):
        claims += office_injection_patient()
    for _ in range(2):
        claims += ed_hydromorphone_patient()
    claims += endoscopy_phenylephrine_patient()
    for _ in range(2):
        claims += crossover_patient()
    return claims


def crossover_patient() -> list[Claim]:
    """Coordination of benefits done right: Medicaid as secondary payer of a dual-eligible
    patient, the Medicare payment reported on every line (the Medicare claim itself was in an
    earlier extract)."""
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 70)))
    if RNG.random() < 0.5:
        dx, lines = "M81.0", [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg")]
    else:  # Medicaid does not require JZ here (audit.toml: JW only)
        dx = "E34.00 C7B.02"
        lines = [cpt("96402"), drug("J2353", "00078-0818-81", 20, "mg")]
    return [Claim(new_patient(), "medicaid", RNG.choice(PAYER_IDS["medicaid"]), "professional",
                  "11", day, RNG.randint(30, 45), dx, lines, sequence="secondary")]  # fmt: skip


# =============================================================================================
# Planted defects, declared one by one
# =============================================================================================


def planted_claims(history: list[Claim]) -> list[Claim]:  # noqa: PLR0915 (a list of data)
    P: list[Claim] = []

    def claim(title, payer, claim_type, pos, service, lines, dx, lag_days=12, **kw) -> Claim:
        payer_type, payer_id = payer
        c = Claim(new_patient(), payer_type, payer_id, claim_type, pos, service, lag_days, dx,
                  lines, planted=title, **kw)  # fmt: skip
        P.append(c)
        return c

    MCR, MCR2 = ("medicare", "MCR-JH"), ("medicare", "MCR-JL")
    MA = ("medicare_advantage", "HUMANA-MA")
    MCD = ("medicaid", "TX-MEDICAID")
    AETNA, BCBS, UHC = ("commercial", "AETNA"), ("commercial", "BCBS-TX"), ("commercial", "UHC")
    d = date

    # -- C: codes ---------------------------------------------------------------------------
    claim("octreotide billed under J2297, a code the guides cite but CMS never issued", MCR,
          "professional", "11", d(2026, 1, 13),
          [cpt("96372"), Line("J2297", 4, "", 9.80, amount=100, unit="mcg",
                              expect={"C001": "J2297 is not a HCPCS code (octreotide is J2354, "
                                              "25 mcg)"})],
          "E34.00 C7A.019")  # fmt: skip
    claim("alteplase code typed with an extra digit", AETNA, "professional", "11",
          d(2026, 2, 9),
          [cpt("36593"), Line("J29970", 2, "", 230.00, amount=2, unit="mg",
                              expect={"C001": "J29970 is six characters: not a code"})],
          "T82.868A")  # fmt: skip
    claim("bevacizumab code with a letter O for a zero, Avastin NDC on the line", UHC,
          "professional", "11", d(2026, 3, 4),
          [cpt("96413"), drug("J9O35", "50242-0061-01", 400, "mg", units=40, charge=3940.00,
                              expect={"C001": "J9O35 (letter O) is not a code",
                                      "N003": "the Avastin NDC crosswalks to J9035"})],
          "C34.11", pa=new_pa("UHC"))  # fmt: skip
    claim("hydromorphone billed under J1170 (terminated 2024-09-30)", MCR, "institutional",
          "23", d(2026, 1, 22),
          [cpt("96374"), Line("J1170", 1, "", 16.00, amount=1, unit="mg",
                              expect={"C002": "J1170 was terminated 2024-09-30; J1171 "
                                              "(0.1 mg) replaced it"})],
          "R10.9")  # fmt: skip
    claim("J1170 with an NDC that the crosswalk lists under J1171", AETNA, "institutional", "23",
          d(2026, 2, 27),
          [cpt("96374"), drug("J1170", "00409-1283-31", 1, "mg", units=1, charge=16.00,
                              expect={"C002": "J1170 terminated 2024-09-30",
                                      "N003": "NDC 00409-1283-31 crosswalks to J1171"})],
          "G89.3 C79.51")  # fmt: skip
    claim("posaconazole J1837 billed for a date before the code existed (added 2026-01-01)",
          UHC, "institutional", "22", d(2025, 12, 18),
          [cpt("96365"), drug("J1837", "63323-0685-17", 300, "mg",
                              expect={"C002": "J1837 was added 2026-01-01; service 2025-12-18"})],
          "B44.9 C92.00 D70.1", lag_days=21)  # fmt: skip
    claim("unclassified drug J3490 without the NDC", MCR2, "professional", "11",
          d(2026, 2, 17),
          [cpt("96372"), Line("J3490", 1, "", 85.00,
                              expect={"C003": "NOC code without an NDC: the drug is unknown"})],
          "E27.40")  # fmt: skip
    claim("antineoplastic NOC J9999 without the NDC", BCBS, "professional", "11",
          d(2026, 3, 10),
          [cpt("96413"), Line("J9999", 1, "", 1250.00,
                              expect={"C003": "NOC code without an NDC"})],
          "C25.9 Z51.11", lag_days=15)  # fmt: skip

    # -- U: units ---------------------------------------------------------------------------
    claim("Avastin 375 mg billed as 40 units (the whole 400 mg vial, waste not documented)",
          MCR, "professional", "11", d(2026, 1, 20),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", units=40, mods="JZ",
                              expect={"U001": "375 mg is 38 units of 10 mg; 40 billed"})],
          "C18.7 C78.7")  # fmt: skip
    claim("Rituxan 710 mg billed as the 8 vials opened (80 units)", UHC, "institutional", "22",
          d(2026, 2, 11),
          [cpt("96413"), cpt("96415", 3),
           drug("J9312", "50242-0051-21", 710, "mg", units=80, qty=8,
                expect={"U001": "710 mg is 71 units of 10 mg; 80 billed"})],
          "C83.38", pa=new_pa("UHC"))  # fmt: skip
    claim("Avastin 375 mg billed as 30 units", MCR2, "professional", "11", d(2026, 2, 3),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", units=30, mods="JZ",
                              expect={"U002": "375 mg is 38 units; 30 billed"})],
          "C20")  # fmt: skip
    claim("octreotide 100 mcg billed as 1 unit (J2354 is per 25 mcg)", MCR, "professional", "11",
          d(2026, 1, 27),
          [cpt("96372"), drug("J2354", "63323-0376-01", 100, "mcg", units=1, mods="JZ",
                              expect={"U002": "100 mcg is 4 units of 25 mcg; 1 billed"})],
          "E22.0")  # fmt: skip
    day = d(2026, 2, 24)
    mue_patient = claim("octreotide 600 mcg at the office and 1000 mcg at a second visit the "
                        "same day: 64 units against an MUE of 60 (MAI 3)", MCR, "professional",
                        "11", day,
                        [cpt("96372"),
                         drug("J2354", "25021-0454-05", 600, "mcg", qual="ML", qty=3,
                              expect={"U003": "24 + 40 = 64 units of J2354 for the patient on "
                                              "the day > MUE 60 (MAI 3: reported on the first "
                                              "line)"})],
                        "E34.00 C7B.02", lag_days=6)  # fmt: skip
    P.append(Claim(mue_patient.patient, "medicare", "MCR-JH", "professional", "11", day, 9,
                   "E34.00 C7B.02",
                   [cpt("96374"), drug("J2354", "25021-0454-05", 1000, "mcg", qual="ML", qty=5)],
                   planted="second octreotide claim of the same day (U003 counted on the "
                           "first claim's line)"))  # fmt: skip
    claim("Avastin 15 mg/kg for a 160 kg patient: 240 units against an MUE of 230", MCR,
          "professional", "11", d(2026, 3, 17),
          [cpt("96413"), drug("J9035", "50242-0061-01", 2400, "mg", mods="JZ",
                              expect={"U003": "240 units > MUE 230 (MAI 3, one line)"})],
          "C34.31 E66.01")  # fmt: skip
    claim("Avastin 375 mg billed as 375 units (milligrams as units)", MCR2, "professional",
          "11", d(2026, 1, 8),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", units=375, mods="JZ",
                              charge=36937.50,
                              expect={"U004": "375 units for 375 mg: the dose in mg billed as "
                                              "units (expected 38)",
                                      "U003": "375 units > MUE 230",
                                      "N005": "1 UN of the 400 mg vial is 40 billing units, "
                                              "not 375"})],
          "C18.9")  # fmt: skip
    claim("Avastin 400 mg billed as 4 units (a tenth)", AETNA, "professional", "11",
          d(2026, 2, 19),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", units=4,
                              expect={"U004": "4 units for 400 mg (expected 40): off by a "
                                              "factor of ten"})],
          "C56.9", pa=new_pa("AETNA"))  # fmt: skip
    claim("hydromorphone billed as 2.5 units, no dose documented", AETNA, "institutional",
          "23", d(2026, 1, 30),
          [cpt("96374"), drug("J1171", "00409-1283-31", None, "", units=2.5,
                              expect={"U005": "2.5 units: units are whole numbers"})],
          "M54.50")  # fmt: skip
    claim("hydromorphone 0.25 mg billed as 2.5 units", MCR, "professional", "11",
          d(2026, 3, 12),
          [cpt("96374"), drug("J1171", "00409-1283-31", 0.25, "mg", units=2.5,
                              expect={"U005": "2.5 units: not whole",
                                      "U002": "0.25 mg is 3 units of 0.1 mg rounded up; 2.5 "
                                              "billed"})],
          "G89.3 C79.51")  # fmt: skip

    # -- N: NDC -----------------------------------------------------------------------------
    claim("Medicaid Avastin line without an NDC", MCD, "professional", "11", d(2026, 1, 14),
          [cpt("96413"), drug("J9035", "", 400, "mg",
                              expect={"N001": "Medicaid requires the NDC on drug lines"})],
          "C18.2")  # fmt: skip
    claim("Medicaid octreotide line without an NDC", ("medicaid", "OK-MEDICAID"),
          "professional", "11", d(2026, 3, 3),
          [cpt("96372"), drug("J2354", "", 100, "mcg",
                              expect={"N001": "Medicaid requires the NDC"})],
          "E22.0")  # fmt: skip
    claim("Prolia NDC as 10 digits without hyphens", MCR, "professional", "11", d(2026, 2, 2),
          [cpt("96372"), drug("J0897", "", 60, "mg", mods="JZ")], "M81.0")  # fmt: skip
    P[-1].lines[-1].ndc, P[-1].lines[-1].qual, P[-1].lines[-1].qty = "5551307100", "UN", 1
    P[-1].lines[-1].expect = {"N002": "5551307100 is 10 digits: which segment lacks its zero is "
                                      "unknowable"}  # fmt: skip
    claim("octreotide NDC as printed on the label (5-3-2) without hyphens", MCD, "professional",
          "11", d(2026, 2, 12),
          [cpt("96372"), drug("J2354", "", 100, "mcg")], "E34.00 C7A.010")  # fmt: skip
    P[-1].lines[-1].ndc, P[-1].lines[-1].qual, P[-1].lines[-1].qty = "6332337601", "UN", 1
    P[-1].lines[-1].expect = {"N002": "6332337601: 10 digits, ambiguous"}
    claim("Sandostatin LAR Depot (J2353 product) billed under non-depot J2354", MCR,
          "professional", "11", d(2026, 1, 21),
          [cpt("96402"), drug("J2354", "00078-0811-81", None, "", units=10,
                              expect={"N003": "00078-0811-81 crosswalks to J2353 (depot, 1 mg)"})],
          "E34.00 C7B.02")  # fmt: skip
    claim("Prolia billed under J3397 (vestronidase alfa), as one billing guide says", MCR2,
          "professional", "11", d(2026, 2, 25),
          [cpt("96372"), drug("J3397", "55513-0710-01", 60, "mg", units=60, qty=1, mods="JZ",
                              expect={"N003": "55513-0710-01 (Prolia) crosswalks to J0897"})],
          "M81.0")  # fmt: skip
    claim("Avastin NDC with the package code transposed (-10 for -01)", AETNA, "professional",
          "11", d(2026, 3, 2),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg")], "C34.11",
          pa=new_pa("AETNA"))  # fmt: skip
    P[-1].lines[-1].ndc = "50242-0061-10"
    P[-1].lines[-1].expect = {"N004": "50242-0061-10 is well formed but not in the crosswalk"}
    claim("Prolia NDC with transposed product digits", MCR, "professional", "11",
          d(2026, 3, 18),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ")], "M81.0")  # fmt: skip
    P[-1].lines[-1].ndc = "55513-0701-01"
    P[-1].lines[-1].expect = {"N004": "55513-0701-01 is not in the crosswalk"}
    claim("Avastin 800 mg with NDC quantity 1 vial of 400 mg", MCR, "professional", "11",
          d(2026, 1, 29),
          [cpt("96413"), cpt("96415"),
           drug("J9035", "50242-0061-01", 800, "mg", qty=1, mods="JZ",
                expect={"N005": "1 UN x 40 billing units = 40 < 80 billed"})],
          "C71.1")  # fmt: skip
    claim("octreotide 500 mcg (20 units) reported as 0.5 mL of the 5 mL vial", MCD,
          "professional", "11", d(2026, 2, 5),
          [cpt("96372"), drug("J2354", "25021-0454-05", 500, "mcg", qual="ML", qty=0.5,
                              expect={"N005": "0.5 mL / 5 mL x 40 = 4 billing units < 20 "
                                              "billed"})],
          "E34.00 C7B.00")  # fmt: skip

    # -- M: JW / JZ and modifiers -----------------------------------------------------------
    claim("Activase 72 mg given, 28 mg discarded and documented, no JW line", MCR,
          "institutional", "23", d(2026, 1, 16),
          [cpt("96374"), cpt("96365"),
           drug("J2997", "50242-0085-27", 72, "mg", waste=28,
                expect={"M001": "28 mg documented as discarded but no JW line (28 units)"})],
          "I63.412 I10")  # fmt: skip
    claim("Avastin 375 mg given, 25 mg discarded, no JW line", MCR2, "professional", "11",
          d(2026, 2, 26),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", waste=25,
                              expect={"M001": "waste of 25 mg = 2 units, no JW line"})],
          "C18.7")  # fmt: skip
    claim("Prolia for Medicare without JZ", MCR, "professional", "11", d(2026, 1, 12),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg",
                              expect={"M002": "single-dose syringe, nothing discarded: JZ "
                                              "required"})],
          "M81.0 E78.5")  # fmt: skip
    claim("Avastin 500 mg from a 400 mg and a 100 mg vial, two NDC lines, neither with JZ",
          MCR2, "professional", "11", d(2026, 2, 16),
          [cpt("96413"),
           drug("J9035", "50242-0061-01", 400, "mg", expect={"M002": "no JZ (400 mg vial line)"}),
           drug("J9035", "50242-0060-01", 100, "mg", expect={"M002": "no JZ (100 mg vial line)"})],
          "C34.31")  # fmt: skip
    claim("octreotide 100 mcg single-dose vial, Medicare office, no JZ", MCR, "professional",
          "11", d(2026, 3, 9),
          [cpt("96372"), drug("J2354", "63323-0376-01", 100, "mcg",
                              expect={"M002": "single-dose vial, no waste: JZ required"})],
          "E22.0")  # fmt: skip
    claim("Activase: JZ on the administration line although 28 mg were discarded (JW line "
          "present)", MCR, "institutional", "23", d(2026, 2, 6),
          [cpt("96374"), cpt("96365"),
           drug("J2997", "50242-0085-27", 72, "mg", waste=28, mods="JZ",
                expect={"M003": "JZ contradicts the documented waste and the JW line"}),
           jw("J2997", "50242-0085-27", 28, "mg", units=28)],
          "I63.9")  # fmt: skip
    claim("Avastin JW line carrying JZ too", MCR2, "professional", "11", d(2026, 3, 11),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", waste=25),
           jw("J9035", "50242-0061-01", 25, "mg", units=2, mods="JW JZ",
              expect={"M003": "JW and JZ on the same line"})],
          "C20")  # fmt: skip
    claim("Activase JW line of 25 units for 28 mg discarded", MCR2, "institutional", "23",
          d(2026, 3, 6),
          [cpt("96374"), cpt("96365"), drug("J2997", "50242-0085-27", 72, "mg", waste=28),
           jw("J2997", "50242-0085-27", 28, "mg", units=25,
              expect={"M004": "units(72 + 28) - units(72) = 28; 25 billed"})],
          "I63.511")  # fmt: skip
    claim("Avastin JW line of 3 units for 25 mg discarded", MCR, "professional", "11",
          d(2026, 1, 23),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", waste=25),
           jw("J9035", "50242-0061-01", 25, "mg", units=3,
              expect={"M004": "units(400 mg) - units(375 mg) = 40 - 38 = 2; 3 billed"})],
          "C18.7")  # fmt: skip
    claim("Fragmin 10,000 IU from the multiple-dose vial with JZ", MCR, "professional", "11",
          d(2026, 2, 10),
          [cpt("96372"), drug("J1645", "00069-0232-01", 10000, "units", qual="ML", qty=0.4,
                              mods="JZ",
                              expect={"M005": "JZ on a multiple-dose vial (95,000 IU/3.8 mL)"})],
          "I82.411 C34.90")  # fmt: skip
    claim("octreotide multiple-dose vial: remainder billed with JW", MCR2, "professional", "11",
          d(2026, 1, 26),
          [cpt("96372"),
           drug("J2354", "25021-0454-05", 500, "mcg", qual="ML", qty=2.5, waste=500),
           jw("J2354", "25021-0454-05", 500, "mcg", units=20,
              expect={"M005": "JW on a multiple-dose vial: its waste is not billable"})],
          "E34.00 C7B.02")  # fmt: skip
    P[-1].lines[-1].qual, P[-1].lines[-1].qty = "ML", 2.5
    claim("octreotide 5,000 mcg/5 mL multiple-dose vial with JZ", MCR, "professional", "11",
          d(2026, 3, 13),
          [cpt("96372"), drug("J2354", "25021-0467-05", 200, "mcg", qual="ML", qty=0.2,
                              mods="JZ", expect={"M005": "JZ on a multiple-dose vial"})],
          "E22.0")  # fmt: skip
    claim("Avastin at a 340B hospital with JG (terminated 2024-12-31; TB replaced it)", MCR,
          "institutional", "22", d(2026, 2, 4),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JG JZ",
                              expect={"M006": "JG was terminated 2024-12-31"})],
          "C56.1")  # fmt: skip
    claim("Prolia with JX (a typo for JZ), Medicare Advantage", MA, "professional", "11",
          d(2026, 1, 15),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JX",
                              expect={"M006": "JX is not a modifier"})],
          "M81.0")  # fmt: skip
    claim("Rituxan with JG in December 2025", ("medicare", "MCR-JL"), "institutional", "22",
          d(2025, 12, 9),
          [cpt("96413"), cpt("96415", 3),
           drug("J9312", "50242-0053-06", 1000, "mg", qty=2, mods="JG JZ",
                expect={"M006": "JG terminated 2024-12-31, before the 2025-12-09 service"})],
          "M05.79", lag_days=20)  # fmt: skip
    claim("Avastin JW line without documented waste", MCR, "professional", "11", d(2026, 2, 20),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg"),
           jw("J9035", "50242-0061-01", None, "", units=2,
              expect={"M007": "JW line, but no wasted amount on any line of the group"})],
          "C18.9")  # fmt: skip
    claim("Activase JW line without documented waste", MCR2, "institutional", "23",
          d(2026, 3, 19),
          [cpt("96374"), cpt("96365"), drug("J2997", "50242-0085-27", 90, "mg"),
           jw("J2997", "50242-0085-27", None, "", units=10,
              expect={"M007": "JW line of 10 units, no discarded amount documented"})],
          "I63.411")  # fmt: skip

    # -- D: diagnoses -----------------------------------------------------------------------
    claim("Prolia line without a diagnosis", MCR, "professional", "11", d(2026, 3, 5),
          [cpt("96372", ), drug("J0897", "55513-0710-21", 60, "mg", mods="JZ", dx="",
                                expect={"D001": "no diagnosis on the line"})],
          "M81.0")  # fmt: skip
    claim("ceftriaxone without a diagnosis", AETNA, "professional", "11", d(2026, 1, 9),
          [cpt("96372", ), drug("J0696", "00409-7332-01", 1, "g", dx="",
                                expect={"D001": "no diagnosis on the line"})],
          "J18.9")  # fmt: skip
    claim("Avastin with the category C18 (not billable)", MCR, "professional", "11",
          d(2026, 2, 13),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ",
                              expect={"D002": "C18 is a category: a billable code has more "
                                              "characters (C18.7)"})],
          "C18")  # fmt: skip
    claim("octreotide with E34.0 (expanded into E34.00-E34.09, no longer billable)", MCR,
          "professional", "11", d(2026, 2, 18),
          [cpt("96372"), drug("J2354", "63323-0376-01", 100, "mcg", mods="JZ",
                              expect={"D002": "E34.0 is not a billable code"})],
          "E34.0")  # fmt: skip
    claim("ceftriaxone with a truncated diabetes code E11 beside J18.9", UHC, "professional",
          "11", d(2026, 3, 16),
          [cpt("96372"), drug("J0696", "00409-7332-01", 1, "g",
                              expect={"D002": "E11 is a category"})],
          "J18.9 E11")  # fmt: skip
    claim("ketorolac with a code that does not exist (Z99.999)", ("commercial", "CIGNA"),
          "professional", "11", d(2026, 2, 23),
          [cpt("96372"), drug("J1885", "00409-3795-01", 30, "mg",
                              expect={"D002": "Z99.999 is not an ICD-10-CM code"})],
          "Z99.999")  # fmt: skip
    claim("Prolia given with hypertension as the only diagnosis", MCR2, "professional", "11",
          d(2026, 1, 28),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                              expect={"D003": "I10 does not support Prolia (osteoporosis: "
                                              "M80, M81)"})],
          "I10")  # fmt: skip
    claim("Avastin for breast cancer (indication withdrawn in 2011)", MCR, "professional", "11",
          d(2026, 3, 3),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ",
                              expect={"D003": "C50.911 is not among Avastin's indications"})],
          "C50.911 Z51.11")  # fmt: skip
    claim("octreotide for chemotherapy-induced diarrhea (off label)", MCR2, "professional", "11",
          d(2026, 2, 9),
          [cpt("96372"), drug("J2354", "63323-0376-01", 100, "mcg", mods="JZ",
                              expect={"D003": "K52.1 and C18.7 are not octreotide indications"})],
          "K52.1 C18.7")  # fmt: skip

    # -- F: frequency -----------------------------------------------------------------------
    original = claim("Avastin claim sent twice: the resubmission duplicates the drug line",
                     MCR, "professional", "11", d(2026, 1, 7),
                     [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ")],
                     "C71.9", lag_days=5)  # fmt: skip
    original.lines[0].expect = {
        "U003": "96413 on both claims: 2 units > MUE 1 for the patient, "
        "provider and day (MAI 3: reported on the first line)"
    }
    P.append(Claim(original.patient, "medicare", "MCR-JH", "professional", "11", d(2026, 1, 7),
                   33, "C71.9",
                   [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ",
                                       expect={"F001": "same patient, provider, code, date, "
                                                       "modifiers and units as the first claim's "
                                                       "line"})],
                   planted="the resubmitted duplicate"))  # fmt: skip
    claim("ondansetron entered twice on one claim", MCR, "professional", "11", d(2026, 2, 2),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ"),
           cpt("96375"), drug("J2405", "00409-4755-03", 8, "mg"),
           drug("J2405", "00409-4755-03", 8, "mg",
                expect={"F001": "repeats line 4 of the same claim"})],
          "C34.11 Z51.11")  # fmt: skip
    prolia = claim("Prolia again 91 days after the dose in history.csv", MCR, "professional",
                   "11", d(2026, 1, 19),
                   [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                                       expect={"F002": "91 days after the previous Prolia dose "
                                                       "(2025-10-20); every 6 months"})],
                   "M81.0")  # fmt: skip
    history.append(
        Claim(
            prolia.patient,
            "medicare",
            "MCR-JH",
            "professional",
            "11",
            d(2025, 10, 20),
            10,
            "M81.0",
            [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ")],
        )
    )
    first = claim("Prolia dose (first of two in this batch)", MCR2, "professional", "11",
                  d(2026, 1, 6), [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg",
                                                     mods="JZ")], "M81.0")  # fmt: skip
    P.append(Claim(first.patient, "medicare", "MCR-JL", "professional", "11", d(2026, 3, 9), 8,
                   "M81.0",
                   [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                                       expect={"F002": "62 days after the dose of 2026-01-06"})],
                   planted="Prolia again two months later"))  # fmt: skip
    bev = claim("Avastin every 2 weeks, one dose only 8 days after the previous", MCR,
                "professional", "11", d(2026, 2, 2),
                [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ")],
                "C18.2")  # fmt: skip
    P.append(Claim(bev.patient, "medicare", "MCR-JH", "professional", "11", d(2026, 2, 10), 8,
                   "C18.2",
                   [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ",
                                       expect={"F002": "8 days after 2026-02-02; minimum 14"})],
                   planted="Avastin dose 8 days after the previous"))  # fmt: skip

    # -- P: payer ---------------------------------------------------------------------------
    claim("commercial Avastin without the prior authorization number", AETNA, "professional",
          "11", d(2026, 1, 26),
          [cpt("96413"), drug("J9035", "50242-0061-01", 800, "mg",
                              expect={"P001": "commercial plans require prior auth for J9035 "
                                              "(audit.toml)"})],
          "C53.9")  # fmt: skip
    claim("commercial Prolia without the prior authorization number", UHC, "professional",
          "11", d(2026, 3, 2),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg",
                              expect={"P001": "prior auth required for J0897"})],
          "M81.0")  # fmt: skip
    claim("Medicare claim submitted 399 days after the service", MCR, "professional", "11",
          d(2025, 1, 10),
          [cpt("96372"), drug("J0897", "55513-0730-01", 120, "mg", mods="JZ",
                              expect={"P002": "submitted 2026-02-13, after 2026-01-10: "
                                              "past one calendar year (Medicare)"})],
          "C79.51 C61", lag_days=399)  # fmt: skip
    claim("BCBS-TX claim submitted 109 days after the service (payer limit 95 days)", BCBS,
          "professional", "11", d(2025, 11, 3),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg",
                              expect={"P002": "109 days > 95 ([payer_id.\"BCBS-TX\"])"})],
          "C34.90", lag_days=109, pa=new_pa("BCBS-TX"))  # fmt: skip
    claim("Medicaid as secondary payer without the amount Medicare paid", MCD, "professional",
          "11", d(2026, 2, 3),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                              expect={"P003": "secondary claim without other_payer_paid_usd"})],
          "M81.0", sequence="secondary", cob_paid=False, lag_days=35)  # fmt: skip
    claim("commercial secondary without the primary's payment", ("commercial", "CIGNA"),
          "professional", "11", d(2026, 3, 10),
          [cpt("96372"), drug("J1885", "25021-0701-01", 30, "mg",
                              expect={"P003": "secondary claim without other_payer_paid_usd"})],
          "M25.561", sequence="secondary", cob_paid=False)  # fmt: skip

    # -- A: amounts -------------------------------------------------------------------------
    claim("Avastin 40 units charged $2,500 (limit 40 x $73.632 = $2,945.28)", MCR,
          "professional", "11", d(2026, 1, 21),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ", charge=2500.00,
                              expect={"A001": "charge below the ASP payment limit"})],
          "C64.1")  # fmt: skip
    claim("Activase 80 units on a hospital claim charged $7,000, below 80 x $93.832 ASP: OPPS "
          "pays its own rate, so no A001", MCR, "institutional", "23", d(2026, 3, 14),
          [cpt("96374"), cpt("96365"),
           drug("J2997", "50242-0085-27", 80, "mg", waste=20, charge=7000.00),
           jw("J2997", "50242-0085-27", 20, "mg", units=20)],
          "I63.9")  # fmt: skip
    claim("commercial Prolia 60 units charged $1,700 (limit 60 x $29.457 = $1,767.42)", AETNA,
          "professional", "11", d(2026, 2, 11),
          [cpt("96372"), drug("J0897", "55513-0710-21", 60, "mg", charge=1700.00,
                              expect={"A001": "charge below the ASP payment limit (office)"})],
          "M81.0", pa=new_pa("AETNA"))  # fmt: skip
    policy_cases(claim, P)
    return P


def policy_cases(claim, P: list[Claim]) -> None:  # noqa: PLR0915 (a list of data)
    """The revised SPEC's conditions, each as a must-fire and a must-not-fire claim: payer,
    container, setting, waste below one unit, provider, claim type, replacement and void claims,
    calendar-year filing, modifier add date, ICD-10-CM release boundary, MUE 0 and CPT MUEs."""
    MCR, MCR2 = ("medicare", "MCR-JH"), ("medicare", "MCR-JL")
    MA, MCD = ("medicare_advantage", "HUMANA-MA"), ("medicaid", "TX-MEDICAID")
    AETNA, CIGNA = ("commercial", "AETNA"), ("commercial", "CIGNA")
    d = date

    # -- JW: which payer, which container, which setting --------------------------------------
    claim("Medicaid Avastin 375 mg given, 25 mg discarded, no JW line (the state program "
          "requires JW: audit.toml)", MCD, "professional", "11", d(2026, 1, 27),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", waste=25,
                              expect={"M001": "[payer.medicaid] require_jw: 25 mg = 2 units "
                                              "discarded, no JW line"})],
          "C18.7")  # fmt: skip
    claim("commercial Avastin 375 mg, 25 mg discarded and documented, no JW line: the plan "
          "does not require JW", AETNA, "professional", "11", d(2026, 2, 4),
          [cpt("96413"), drug("J9035", "50242-0061-01", 375, "mg", waste=25)],
          "C34.31", pa=new_pa("AETNA"))  # fmt: skip
    claim("Medicare Advantage Activase 64 mg, 36 mg discarded, no JW line: the plan does not "
          "require JW", MA, "institutional", "23", d(2026, 2, 17),
          [cpt("96374"), cpt("96365"), drug("J2997", "50242-0085-27", 64, "mg", waste=36)],
          "I63.412")  # fmt: skip
    claim("Medicare octreotide 200 mcg from the 1,000 mcg/5 mL multiple-dose vial, the rest "
          "discarded (documented), no JW: multi-dose waste is never billable", MCR,
          "professional", "11", d(2026, 3, 5),
          [cpt("96372"), drug("J2354", "25021-0454-05", 200, "mcg", qual="ML", qty=1,
                              waste=800)],
          "E22.0")  # fmt: skip
    claim("Medicare dexamethasone 6 mg from a 10 mg vial, 4 mg discarded, no JW: the reference "
          "does not know the container (not evaluated)", MCR, "professional", "11",
          d(2026, 1, 29),
          [cpt("96374"), drug("J1100", "63323-0506-01", 6, "mg", waste=4)],
          "C34.11 Z51.11")  # fmt: skip
    claim("hospital outpatient octreotide 50 mcg from a 100 mcg single-dose vial, 50 mcg "
          "discarded, neither JW nor JZ: OPPS packages J2354 (SI N)", MCR, "institutional", "22",
          d(2026, 2, 25),
          [cpt("96372"), drug("J2354", "63323-0376-01", 50, "mcg", waste=50)],
          "E22.0")  # fmt: skip
    claim("Avastin 395 mg from a 400 mg vial, 5 mg discarded (half a 10 mg unit) with JZ: "
          "waste below one unit is not billable, JZ is right", MCR, "professional", "11",
          d(2026, 1, 14),
          [cpt("96413"), drug("J9035", "50242-0061-01", 395, "mg", waste=5, mods="JZ")],
          "C18.2")  # fmt: skip
    claim("Avastin 395 mg, 5 mg discarded, neither JW nor JZ", MCR2, "professional", "11",
          d(2026, 3, 18),
          [cpt("96413"), drug("J9035", "50242-0061-01", 395, "mg", waste=5,
                              expect={"M002": "5 mg is half a 10 mg unit: no billable waste, "
                                              "so JZ is required"})],
          "C20")  # fmt: skip

    # -- U003 and F001: per provider, per claim type ------------------------------------------
    first = claim("octreotide 600 mcg at the oncology practice and 1000 mcg at an urgent-care "
                  "practice the same day: 24 and 40 units, each provider under the MUE of 60",
                  MCR, "professional", "11", d(2026, 3, 10),
                  [cpt("96372"), drug("J2354", "25021-0454-05", 600, "mcg", qual="ML", qty=3)],
                  "E34.00 C7B.02", lag_days=6, provider=PROV_A)  # fmt: skip
    P.append(
        Claim(
            first.patient,
            "medicare",
            "MCR-JH",
            "professional",
            "11",
            first.service,
            9,
            "E34.00 C7B.02",
            [cpt("96374"), drug("J2354", "25021-0454-05", 1000, "mcg", qual="ML", qty=5)],
            planted="the same day's octreotide from another provider",
            provider=PROV_B,
        )
    )
    first = claim("octreotide 600 mcg at the office and 1000 mcg in the hospital outpatient "
                  "department the same day: practitioner and hospital MUEs are separate",
                  MCR2, "professional", "11", d(2026, 1, 22),
                  [cpt("96372"), drug("J2354", "25021-0454-05", 600, "mcg", qual="ML", qty=3)],
                  "E34.00 C7B.02", lag_days=6)  # fmt: skip
    P.append(Claim(first.patient, "medicare", "MCR-JL", "institutional", "22", first.service, 9,
                   "E34.00 C7B.02",
                   [cpt("96374"), drug("J2354", "25021-0454-05", 1000, "mcg", qual="ML", qty=5)],
                   planted="the same day's octreotide on a hospital claim"))  # fmt: skip
    first = claim("ondansetron 8 mg at the oncology practice and 8 mg at an urgent-care "
                  "practice the same day: different providers, not duplicates", MCR,
                  "professional", "11", d(2026, 2, 19),
                  [cpt("96374"), drug("J2405", "00409-4755-03", 8, "mg")], "R11.2",
                  provider=PROV_A)  # fmt: skip
    P.append(
        Claim(
            first.patient,
            "medicare",
            "MCR-JH",
            "professional",
            "11",
            first.service,
            7,
            "R11.2",
            [cpt("96374"), drug("J2405", "00409-4755-03", 8, "mg")],
            planted="the same ondansetron line from another provider",
            provider=PROV_B,
        )
    )

    # -- replacement (7) and void (8) claims ---------------------------------------------------
    first = claim("Prolia claim, replaced later in this extract to correct the charge", MCR,
                  "professional", "11", d(2026, 1, 21),
                  [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                                      charge=1900.00)],
                  "M81.0", lag_days=5)  # fmt: skip
    P.append(Claim(first.patient, "medicare", "MCR-JH", "professional", "11", first.service, 19,
                   "M81.0",
                   [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ")],
                   planted="replacement claim (frequency 7) repeating the original's lines: not "
                           "a duplicate", frequency="7"))  # fmt: skip
    first = claim("Sandostatin LAR claim, replaced later in this extract to add a diagnosis",
                  MCR2, "professional", "11", d(2026, 2, 9),
                  [cpt("96402"), drug("J2353", "00078-0818-81", 20, "mg")],
                  "E34.00", lag_days=4)  # fmt: skip
    P.append(Claim(first.patient, "medicare", "MCR-JL", "professional", "11", first.service, 16,
                   "E34.00 C7B.02", [cpt("96402"), drug("J2353", "00078-0818-81", 20, "mg")],
                   planted="replacement claim (frequency 7) with the added diagnosis",
                   frequency="7"))  # fmt: skip
    claim("void (frequency 8) of a Medicare Prolia claim of an earlier extract whose line "
          "lacked JZ: counted, not audited", MCR, "professional", "11", d(2026, 1, 8),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg")], "I10", lag_days=30,
          frequency="8")  # fmt: skip
    first = claim("Avastin claim, voided later in this extract", MCR2, "professional", "11",
                  d(2026, 2, 12),
                  [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ")],
                  "C34.11", lag_days=4)  # fmt: skip
    P.append(Claim(first.patient, "medicare", "MCR-JL", "professional", "11", first.service, 20,
                   "C34.11",
                   [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ")],
                   planted="void claim (frequency 8) repeating the original's lines: takes no "
                           "part in F001", frequency="8"))  # fmt: skip

    # -- dates: calendar-year filing, modifier add date, ICD-10-CM release ---------------------
    claim("Medicare claim for 2024-02-01 submitted 2025-02-01 (366 days, leap year): one "
          "calendar year, timely", MCR, "professional", "11", d(2024, 2, 1),
          [cpt("96372"), drug("J0897", "55513-0730-01", 120, "mg", mods="JZ")], "C79.51 C61",
          lag_days=366)  # fmt: skip
    claim("Medicare claim for 2025-03-20 submitted 2026-03-21: one day past the calendar year",
          MCR2, "professional", "11", d(2025, 3, 20),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                              expect={"P002": "submitted 2026-03-21, after 2026-03-20 (one "
                                              "calendar year after the service)"})],
          "M81.0", lag_days=366)  # fmt: skip
    claim("Medicare Advantage Prolia of 2022-12-13 with JZ, before the modifier existed (a "
          "look-back audit)", MA, "professional", "11", d(2022, 12, 13),
          [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ",
                              expect={"M006": "JZ was added 2023-01-01, after the 2022-12-13 "
                                              "service"})],
          "M81.0", lag_days=14)  # fmt: skip
    claim("Avastin of 2025-09-30 with the category C18: the day before the FY2026 ICD-10-CM "
          "release, not evaluated", AETNA, "professional", "11", d(2025, 9, 30),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg")], "C18", lag_days=20,
          pa=new_pa("AETNA"))  # fmt: skip
    claim("ketorolac of 2025-10-01 (first day of the FY2026 release) with the category E11",
          CIGNA, "professional", "11", d(2025, 10, 1),
          [cpt("96372"), drug("J1885", "00409-3795-01", 30, "mg",
                              expect={"D002": "E11 is a category; 2025-10-01 is inside the "
                                              "FY2026 release"})],
          "M25.561 E11", lag_days=10)  # fmt: skip
    reference_cases(claim)


def reference_cases(claim) -> None:
    """Cases that exist only when the starter bundle holds the facts (curated by the reference
    builder's owner): an NOS code with a descriptor unit, an MUE of 0, a CPT code's MUE."""
    d = date
    AETNA = ("commercial", "AETNA")
    for code in ("J3301", "J9201"):
        h = REF.hcpcs.get(code)
        if h and h["noc"] and h["bua"] is not None:
            claim(
                f"{code} (an NOS code with a descriptor unit) without an NDC: not C003",
                AETNA,
                "professional",
                "11",
                d(2026, 2, 26),
                [cpt("96372"), Line(code, 1, "", 250.00)],
                "M06.9",
                pa=new_pa("AETNA"),
            )
            break
    zero = sorted(k for k, (value, _) in REF.mue.items() if value == 0 and not CPT.match(k[0]))
    if zero:
        code, setting = zero[0]
        claim_type = "institutional" if setting == "outpatient_hospital" else "professional"
        why = REF.mue_rationale.get((code, setting), "")
        claim(f"{code} billed in the {setting.replace('_', ' ')} setting, where its MUE is 0",
              ("medicare", "MCR-JL"), claim_type, "22" if claim_type == "institutional" else "11",
              d(2026, 3, 3),
              [cpt("99214", mods="25"),
               Line(code, 4, "", 12.00, expect={"U003": f"MUE 0: not payable in this setting "
                                                         f"({why})"})],
              "M06.9")  # fmt: skip
    if REF.mue.get(("96376", "practitioner"), (None,))[0] == 0:
        claim("office claim with 96376 (sequential push of the same drug, a facility-only code)",
              ("medicare", "MCR-JH"), "professional", "11", d(2026, 2, 6),
              [cpt("96374"), Line("96376", 1, expect={"U003": "MUE 0 in the practitioner "
                                                              "table: facility only"}),
               drug("J2405", "00409-4755-03", 8, "mg")],
              "R11.2")  # fmt: skip
    mue = REF.mue.get(("J1560", "practitioner"))
    if mue and mue[1] == 2 and REF.hcpcs.get("J1560"):
        value, mai = mue
        why = (
            f"{value + 1} units > MUE {value} (MAI 2: a policy edit, absolute); the descriptor "
            "is one unit at any volume over 10 cc"
        )
        claim("gamma globulin J1560 (over 10 cc) 20 mL billed as 2 units", ("medicare", "MCR-JL"),
              "professional", "11", d(2026, 2, 24),
              [cpt("96372"), Line("J1560", value + 1, "", 400.00, expect={"U003": why})],
              "Z20.5")  # fmt: skip
    mue = REF.mue.get(("96413", "practitioner"))
    if mue:
        value, mai = mue
        why = f"{value + 1} units > MUE {value} (practitioner, MAI {mai}): the added hour is 96415"
        claim(f"chemotherapy infusion 96413 billed {value + 1} units on an office claim",
              ("medicare", "MCR-JH"), "professional", "11", d(2026, 3, 16),
              [Line("96413", value + 1, expect={"U003": why}),
               drug("J9035", "50242-0061-01", 400, "mg", mods="JZ")],
              "C18.7")  # fmt: skip


# =============================================================================================
# Rows
# =============================================================================================


def fmt_num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) and value != int(value) else f"{value:g}"


def money(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def claim_rows(claim: Claim) -> list[dict]:
    rows = []
    for n, line in enumerate(claim.lines, 1):
        charge = price(line, claim)
        other = line.other_paid
        if claim.sequence != "primary" and claim.cob_paid and other is None:
            other = round(charge * 0.62, 2)
        rows.append(
            {
                "claim_id": claim.claim_id,
                "line_number": str(n),
                "patient_id": claim.patient,
                "payer_type": claim.payer_type,
                "payer_id": claim.payer_id,
                "provider_id": claim.provider or "",
                "claim_frequency": claim.frequency,
                "claim_type": claim.claim_type,
                "place_of_service": claim.pos,
                "service_date": claim.service.isoformat(),
                "submission_date": claim.submitted.isoformat(),
                "hcpcs_code": line.code,
                "modifiers": line.mods,
                "billed_units": fmt_num(line.units),
                "charge_usd": money(charge),
                "ndc": line.ndc,
                "ndc_unit_qualifier": line.qual,
                "ndc_quantity": fmt_num(line.qty),
                "administered_amount": fmt_num(line.amount),
                "administered_unit": line.unit if line.amount is not None or line.waste else "",
                "wasted_amount": fmt_num(line.waste),
                "diagnosis_codes": claim.dx if line.dx is None else line.dx,
                "prior_auth_number": claim.pa,
                "payer_sequence": claim.sequence,
                "other_payer_paid_usd": money(other),
            }
        )
    return rows


def assign_ids(claims: list[Claim], prefix: str) -> None:
    """Claim ids in order of submission (then service date), as a billing system numbers them."""
    order = sorted(range(len(claims)), key=lambda i: (claims[i].submitted, claims[i].service, i))
    for n, i in enumerate(order, 1):
        claims[i].claim_id = f"{prefix}{n:06d}"


# =============================================================================================
# The expected findings: SPEC section 5, read row by row
# =============================================================================================

CPT = re.compile(r"^(\d{5}|\d{4}[FTU])$")
NDC_HYPHENATED = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")


def normalize_ndc(text: str) -> str | None:
    text = text.strip()
    if re.fullmatch(r"\d{11}", text):
        return f"{text[:5]}-{text[5:9]}-{text[9:]}"
    m = NDC_HYPHENATED.match(text)
    if not m:
        return None
    a, b, c = m.groups()
    if (len(a), len(b), len(c)) == (5, 4, 2) or len(a) + len(b) + len(c) == 10:
        return f"{a.zfill(5)}-{b.zfill(4)}-{c.zfill(2)}"
    return None


def split_list(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,:|;]+", text.upper().strip()) if t]


def is_close(a: float, b: float) -> bool:  # numpy.isclose defaults
    return abs(a - b) <= 1e-8 + 1e-5 * abs(b)


PAYER_DEFAULTS = {  # SPEC 7 defaults: Medicare JW/JZ policy, Medicaid NDC
    "medicare": {"require_jw": True, "require_jz": True},
    "medicaid": {"require_ndc": True},
}


@dataclass
class Config:
    """audit.toml's payer settings: `[payer_id."X"]` over `[payer.<type>]` over the defaults."""

    by_type: dict[str, dict]
    by_id: dict[str, dict]

    def setting(self, payer_type: str, payer_id: str, key: str, default=None):
        if key in self.by_id.get(payer_id, {}):
            return self.by_id[payer_id][key]
        if key in self.by_type.get(payer_type, {}):
            return self.by_type[payer_type][key]
        return PAYER_DEFAULTS.get(payer_type, {}).get(key, default)

    def requires(self, payer_type: str, payer_id: str, key: str) -> bool:
        return bool(self.setting(payer_type, payer_id, key, False))


def load_config(path: Path) -> Config:
    data = tomllib.loads(path.read_text())
    return Config(by_type=data.get("payer", {}), by_id=data.get("payer_id", {}))


CFG = load_config(HERE / "audit.toml")


def one_year_after(day: date) -> date:
    """The same month and day of the next year (February 29: March 1, the later reading)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 3, 1)


def parse(rows: list[dict]) -> list[dict]:
    """The rows as the rules see them: typed, normalised."""
    out = []
    for r in rows:
        x = dict(r)
        x["line_number"] = int(r["line_number"])
        x["service"] = date.fromisoformat(r["service_date"])
        x["submitted"] = date.fromisoformat(r["submission_date"]) if r["submission_date"] else None
        x["billed"] = float(r["billed_units"])
        x["charge"] = float(r["charge_usd"]) if r["charge_usd"] else None
        x["qty"] = float(r["ndc_quantity"]) if r["ndc_quantity"] else None
        x["amount"] = float(r["administered_amount"]) if r["administered_amount"] else None
        x["waste"] = float(r["wasted_amount"]) if r["wasted_amount"] else None
        x["mods"] = sorted(split_list(r["modifiers"]))
        x["dx"] = [c.replace(".", "") for c in split_list(r["diagnosis_codes"])]
        x["ndc11"] = normalize_ndc(r["ndc"]) if r["ndc"] else None
        x["void"] = r["claim_frequency"] == "8"
        x["replacement"] = r["claim_frequency"] == "7"
        x["cpt"] = bool(CPT.match(r["hcpcs_code"])) and not x["void"]
        x["in_scope"] = not CPT.match(r["hcpcs_code"]) and not x["void"]
        x["provider_key"] = r["provider_id"] or "(no provider)"
        x["jw"], x["jz"] = "JW" in x["mods"], "JZ" in x["mods"]
        code = r["hcpcs_code"]
        x["admin_bu"] = (in_billing_units(code, x["amount"], r["administered_unit"])
                         if x["amount"] is not None else None)  # fmt: skip
        x["waste_bu"] = (
            in_billing_units(code, x["waste"], r["administered_unit"])
            if x["waste"] is not None and r["administered_unit"]
            else None
        )
        out.append(x)
    return out


def icd_billable(code: str) -> bool:
    return bool(icd.is_valid_item(code) and icd.is_leaf(code))


def billable_waste_units(admin_bu: float | None, waste_bu: float | None) -> float | None:
    """Billing units the waste adds: units(given + wasted) - units(given) (SPEC M004's JW
    units); waste below one billing unit adds none. None when the waste is not comparable."""
    if waste_bu is None:
        return None
    a = admin_bu or 0.0
    return ceil_units(a + waste_bu) - ceil_units(a)


def expected_findings(
    rows: list[dict], history_rows: list[dict], cfg: Config
) -> dict[tuple, float | None]:
    """(claim_id, line_number, rule_code) -> impact_usd (None: no dollar impact)."""
    lines = [x for x in parse(rows) if not x["void"]]  # void claims take no part in anything
    found: dict[tuple, float | None] = {}

    def flag(x: dict, rule: str, impact: float | None = None) -> None:
        found[(x["claim_id"], x["line_number"], rule)] = (
            None if impact is None else round(impact, 2)
        )

    groups: dict[tuple, list[dict]] = defaultdict(list)  # drug group: claim, code, date
    for x in lines:
        groups[(x["claim_id"], x["hcpcs_code"], x["service"])].append(x)
    for g in groups.values():
        has_jw = any(y["jw"] for y in g)
        has_waste = any((y["waste"] or 0) > 0 for y in g)
        admin = [y["admin_bu"] for y in g if not y["jw"] and y["admin_bu"] is not None]
        admin_waste = [y["waste_bu"] for y in g if not y["jw"] and (y["waste"] or 0) > 0]
        jw_waste = [y["waste_bu"] for y in g if y["jw"] and (y["waste"] or 0) > 0]
        waste = admin_waste or jw_waste
        for y in g:
            y["group_jw"], y["group_waste"] = has_jw, has_waste
            y["group_admin_bu"] = sum(admin) if admin else None
            y["group_waste_bu"] = (
                (sum(waste) if waste and None not in waste else None) if has_waste else 0.0
            )
            # billable waste of the group: at least one billing unit (SPEC M001-M003)
            extra = billable_waste_units(y["group_admin_bu"], y["group_waste_bu"])
            y["group_billable_waste"] = has_waste and (extra is None or extra >= 1)

    for x in lines:
        if not x["in_scope"]:
            continue
        code, h = x["hcpcs_code"], REF.hcpcs.get(x["hcpcs_code"])
        payer = (x["payer_type"], x["payer_id"])
        rate = REF.rate(code, x["claim_type"])
        # C: codes
        if h is None:
            flag(x, "C001")
        else:
            if (h["add"] and x["service"] < h["add"]) or (h["term"] and x["service"] > h["term"]):
                flag(x, "C002")
            if REF.is_drug_noc(code) and not x["ndc"]:
                flag(x, "C003")
        # U: units against the documented dose
        if not x["jw"] and x["admin_bu"] is not None:
            expected = ceil_units(x["admin_bu"])
            billed = x["billed"]
            if not is_close(billed, expected):
                as_amount = is_close(billed, x["amount"]) and not is_close(h["bua"], 1.0)
                ratio = billed / expected if expected > 0 else -1
                ten = any(is_close(ratio, r) for r in (10, 100, 1000, 0.1, 0.01, 0.001))
                delta = None if rate is None else (expected - billed) * rate
                if as_amount or ten:  # replaces U001/U002, and carries their dollar impact
                    flag(x, "U004", delta)
                elif billed > expected:
                    flag(x, "U001", delta)
                else:
                    flag(x, "U002", delta)
        if x["billed"] != int(x["billed"]):
            flag(x, "U005")
        # N: NDC
        if x["ndc"] and x["ndc11"] is None:
            flag(x, "N002")
        if (
            not x["ndc"]
            and cfg.requires(*payer, "require_ndc")
            and (code.startswith("J") or code in REF.drug_codes)
        ):
            flag(x, "N001")
        if x["ndc11"]:
            codes = REF.xwalk_codes.get(x["ndc11"])
            if not codes:
                flag(x, "N004")
            elif code not in codes:
                flag(x, "N003")
            pair = REF.xwalk.get((x["ndc11"], code))
            if pair and x["qty"] is not None:
                per_item, pkg_size = pair
                implied = {"UN": x["qty"] * per_item, "ML": x["qty"] / pkg_size * per_item}.get(
                    x["ndc_unit_qualifier"]
                )
                if implied is not None and implied < x["billed"] - 1e-9:
                    flag(x, "N005")
        # M: JW / JZ (never on a packaged hospital drug: SI N) and modifier validity
        container = REF.container_of(code, x["ndc11"])
        payable = REF.separately_payable(code, x["claim_type"])
        single = container == "single_dose" and payable
        if single and cfg.requires(*payer, "require_jw") and not x["jw"] and not x["group_jw"]:
            extra = billable_waste_units(x["admin_bu"], x["waste_bu"])
            if (x["waste"] or 0) > 0 and extra is not None and extra >= 1:
                flag(x, "M001", None if rate is None else extra * rate)
        if (single and cfg.requires(*payer, "require_jz") and not x["group_billable_waste"]
                and not x["group_jw"] and not x["jz"]):  # fmt: skip
            flag(x, "M002")
        if payable and (
            (x["jz"] and (x["group_jw"] or x["group_billable_waste"])) or (x["jw"] and x["jz"])
        ):
            flag(x, "M003")
        if payable and x["jw"] and x["group_waste"] and x["group_admin_bu"] is not None \
                and x["group_waste_bu"] is not None:  # fmt: skip
            a, w = x["group_admin_bu"], x["group_waste_bu"]
            expected = ceil_units(a + w) - ceil_units(a)
            if not is_close(x["billed"], expected):
                flag(x, "M004", None if rate is None else (expected - x["billed"]) * rate)
        if payable and container == "multi_dose" and (x["jw"] or x["jz"]):
            flag(x, "M005")
        for mod in x["mods"]:
            added, ended = REF.modifiers.get(mod, (None, None))
            if (
                mod not in REF.modifiers
                or (added and x["service"] < added)
                or (ended and x["service"] > ended)
            ):
                flag(x, "M006")
        if payable and x["jw"] and not x["group_waste"]:
            flag(x, "M007")
        # D: diagnoses (D002 only inside the ICD-10-CM release's fiscal year)
        if not x["dx"]:
            flag(x, "D001")
        else:
            in_release = ICD10CM_FY[0] <= x["service"] <= ICD10CM_FY[1]
            if in_release and not all(icd_billable(c) for c in x["dx"]):
                flag(x, "D002")
            indications = REF.policy_value(code, x["ndc11"], "indications")
            if indications:
                prefixes = indications[0].split()
                if not any(c.startswith(p) for c in x["dx"] for p in prefixes):
                    flag(x, "D003")
        # P: payer
        pa_list = cfg.setting(*payer, "require_prior_auth", [])
        curated_pa = REF.policy_value(code, x["ndc11"], "requires_prior_auth")
        if (code in pa_list or (curated_pa and x["payer_type"] in curated_pa[0].split())) \
                and not x["prior_auth_number"]:  # fmt: skip
            flag(x, "P001")
        limit = cfg.setting(*payer, "filing_limit_days")
        if x["submitted"] is not None:
            if limit is not None:
                if (x["submitted"] - x["service"]).days > limit:
                    flag(x, "P002")
            elif x["payer_type"] == "medicare" and x["submitted"] > one_year_after(x["service"]):
                flag(x, "P002")
        if x["payer_sequence"] in ("secondary", "tertiary") and not x["other_payer_paid_usd"]:
            flag(x, "P003")
        # A: amounts (Part B's lesser-of rule: professional lines only)
        allowed = REF.limit.get(code, math.nan) * x["billed"]
        if x["claim_type"] == "professional" and x["charge"] is not None \
                and x["charge"] < allowed - 0.005:  # fmt: skip
            flag(x, "A001")

    # U003: the setting's MUE; MAI 2/3 add up the day's units of the code per patient, claim
    # type and provider (HCPCS and CPT lines alike)
    days: dict[tuple, list[dict]] = defaultdict(list)
    for x in lines:
        if x["in_scope"] or x["cpt"]:
            key = (x["patient_id"], x["hcpcs_code"], x["service"], x["claim_type"])
            days[key + (x["provider_key"],)].append(x)
    for day_lines in days.values():
        y0 = day_lines[0]
        setting = "outpatient_hospital" if y0["claim_type"] == "institutional" else "practitioner"
        mue = REF.mue.get((y0["hcpcs_code"], setting))
        if mue is None:
            continue
        value, mai = mue
        rate = REF.rate(y0["hcpcs_code"], y0["claim_type"])
        total = sum(y["billed"] for y in day_lines)
        if mai == 1:
            for y in day_lines:
                if y["billed"] > value:
                    flag(y, "U003", None if rate is None else -y["billed"] * rate)
        elif total > value:
            first = min(day_lines, key=lambda y: (y["claim_id"], y["line_number"]))
            flag(first, "U003", None if rate is None else -total * rate)

    # F001: same patient, provider, code, date, modifiers and units as an earlier line; a line
    # of a replacement claim is never a duplicate
    seen: set[tuple] = set()
    for x in sorted(
        (x for x in lines if x["in_scope"]), key=lambda y: (y["claim_id"], y["line_number"])
    ):
        key = (x["patient_id"], x["provider_key"], x["hcpcs_code"], x["service"],
               tuple(x["mods"]), x["billed"])  # fmt: skip
        if key in seen and not x["replacement"]:
            flag(x, "F001")
        seen.add(key)

    # F002: a dose sooner than the curated interval after the previous one (batch + history)
    def events(xs: list[dict]) -> list[tuple]:
        out = []
        for x in xs:
            if not x["in_scope"] or x["jw"]:
                continue
            rule = REF.policy_value(x["hcpcs_code"], x["ndc11"], "min_days_between_doses")
            if rule:
                out.append((x["patient_id"], rule[1], x["service"], float(rule[0]), x))
        return out

    batch = events(lines)
    dates: dict[tuple, set[date]] = defaultdict(set)
    for patient, key, day, _, _ in batch + events(parse(history_rows)):
        dates[(patient, key)].add(day)
    for patient, key, day, min_days, x in batch:
        before = [d for d in dates[(patient, key)] if d < day]
        if before and (day - max(before)).days < min_days:
            flag(x, "F002")
    return found


# =============================================================================================
# Rejects sample
# =============================================================================================


MALFORMED_CLAIM = "CLMV00021"


def bad_rows() -> tuple[list[list[str]], list[dict]]:
    """Rows for `validate`: a few good ones and one problem per bad row (raw CSV records)."""
    good = {
        "claim_id": "CLMV00001", "line_number": "1", "patient_id": "MRN900001",
        "payer_type": "medicare", "payer_id": "MCR-JH", "provider_id": PROV_A,
        "claim_frequency": "1", "claim_type": "professional",
        "place_of_service": "11", "service_date": "2026-02-03", "submission_date": "2026-02-10",
        "hcpcs_code": "96372", "modifiers": "", "billed_units": "1", "charge_usd": "24.00",
        "ndc": "", "ndc_unit_qualifier": "", "ndc_quantity": "", "administered_amount": "",
        "administered_unit": "", "wasted_amount": "", "diagnosis_codes": "M81.0",
        "prior_auth_number": "", "payer_sequence": "primary", "other_payer_paid_usd": "",
    }  # fmt: skip
    prolia = good | {"line_number": "2", "hcpcs_code": "J0897", "modifiers": "JZ",
                     "billed_units": "60", "charge_usd": "2208.00", "ndc": "55513-0710-01",
                     "ndc_unit_qualifier": "UN", "ndc_quantity": "1",
                     "administered_amount": "60", "administered_unit": "mg"}  # fmt: skip
    cases = [  # (changes to a good row, column, reason, why); None column = a good row
        (good, None, "", "good row: administration line"),
        (prolia, None, "", "good row: Prolia 60 units JZ"),
        (good | {"claim_id": "CLMV00002", "service_date": "02/09/2026",
                 "submission_date": "20260216"}, None, "", "good row: MM/DD/YYYY and YYYYMMDD "
                                                           "dates are accepted"),  # fmt: skip
        (good | {"claim_id": "CLMV00003", "hcpcs_code": "j2405", "billed_units": "8",
                 "payer_type": "Medicare", "ndc": "0409-4755-03", "ndc_unit_qualifier": "UN",
                 "ndc_quantity": "2", "administered_amount": "8", "administered_unit": "MG",
                 "modifiers": "jz", "charge_usd": "7.60", "diagnosis_codes": "C34.11,Z51.11"},
         None, "", "good row: case-folded code, payer and unit; 4-4-2 NDC padded"),  # fmt: skip
        (good | {"claim_id": ""}, "claim_id", "V002", "required value empty"),
        (good | {"claim_id": "CLMV00005", "patient_id": ""}, "patient_id", "V002",
         "required value empty"),
        (good | {"claim_id": "CLMV00006", "hcpcs_code": ""}, "hcpcs_code", "V002",
         "required value empty"),
        (good | {"claim_id": "CLMV00007", "service_date": ""}, "service_date", "V002",
         "required value empty"),
        (prolia | {"claim_id": "CLMV00008", "administered_unit": ""}, "administered_unit",
         "V002", "administered_amount without its unit"),
        (good | {"claim_id": "CLMV00009", "service_date": "2026-02-30"}, "service_date", "V003",
         "not a date (February 30)"),
        (good | {"claim_id": "CLMV00010", "service_date": "Feb 3 2026"}, "service_date", "V003",
         "date in an unsupported format"),
        (good | {"claim_id": "CLMV00011", "billed_units": "ten"}, "billed_units", "V003",
         "not a number"),
        (good | {"claim_id": "CLMV00012", "charge_usd": "$1,200.00"}, "charge_usd", "V003",
         "currency text, not a plain number"),
        (good | {"claim_id": "CLMV00013", "line_number": "1.5"}, "line_number", "V003",
         "line number not a whole number"),
        (good | {"claim_id": "CLMV00014", "payer_type": "martian"}, "payer_type", "V004",
         "payer_type not in the allowed set"),
        (good | {"claim_id": "CLMV00022", "claim_frequency": "5"}, "claim_frequency", "V004",
         "claim frequency code not 1, 7 or 8"),
        (good | {"claim_id": "CLMV00023", "provider_id": "", "claim_frequency": ""}, None, "",
         "good row: provider_id and claim_frequency empty (frequency defaults to 1)"),
        (good | {"claim_id": "CLMV00015", "billed_units": "0"}, "billed_units", "V004",
         "billed_units must be > 0"),
        (good | {"claim_id": "CLMV00016", "billed_units": "-4"}, "billed_units", "V004",
         "negative units"),
        (good | {"claim_id": "CLMV00017", "claim_type": "dental"}, "claim_type", "V004",
         "claim_type not professional/institutional"),
        (prolia | {"claim_id": "CLMV00018", "administered_unit": "tablespoon"},
         "administered_unit", "V004", "unit not allowed"),
        (good | {"claim_id": "CLMV00019", "ndc_unit_qualifier": "XX", "ndc": "55513-0710-01",
                 "ndc_quantity": "1"}, "ndc_unit_qualifier", "V004", "qualifier not allowed"),
        (good | {"claim_id": "CLMV00001", "line_number": "1", "charge_usd": "26.00"},
         "line_number", "V005", "repeats (CLMV00001, 1) of row 1"),
    ]  # fmt: skip
    records, expected = [], []
    for n, (row, column, reason, why) in enumerate(cases, 1):
        records.append([row[c] for c in COLUMNS])
        expected.append({"source_row": n, "claim_id": row["claim_id"],
                         "column": column or "", "reason_code": reason, "why": why})  # fmt: skip
    # a malformed record: an unquoted comma inside the diagnosis list adds a field (V006)
    broken = [(good | {"claim_id": MALFORMED_CLAIM})[c] for c in COLUMNS]
    broken[COLUMNS.index("diagnosis_codes")] = "M81.0,Z79.83"
    records.append(broken)
    why = f"{len(COLUMNS) + 1} fields in a {len(COLUMNS)}-column file (unquoted comma)"
    expected.append({"source_row": len(records), "claim_id": MALFORMED_CLAIM, "column": "",
                     "reason_code": "V006", "why": why})  # fmt: skip
    return records, expected


# =============================================================================================
# Main
# =============================================================================================


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main() -> None:
    history: list[Claim] = []
    bulk = bulk_claims(history)
    planted = planted_claims(history)
    claims = bulk + planted
    assign_providers(claims + history)
    assign_ids(claims, "CLM")
    assign_ids(history, "HST")
    rows = [r for c in sorted(claims, key=lambda c: c.claim_id) for r in claim_rows(c)]
    history_rows = [r for c in sorted(history, key=lambda c: c.claim_id) for r in claim_rows(c)]

    found = expected_findings(rows, history_rows, CFG)
    check(claims, found)

    write_csv(HERE / "claims.csv", rows)
    write_csv(HERE / "history.csv", history_rows)
    table = pa.table({c: pa.array([r[c] or None for r in rows], pa.string()) for c in COLUMNS})
    pq.write_table(table, HERE / "claims.parquet")
    expected = pd.DataFrame(
        [(*key, "" if found[key] is None else f"{found[key]:.2f}") for key in sorted(found)],
        columns=["claim_id", "line_number", "rule_code", "impact_usd"],
    )
    expected.to_csv(HERE / "expected_findings.csv", index=False, lineterminator="\n")

    records, rejects = bad_rows()
    write_bad_rows(HERE / "bad_rows.csv", records)
    pd.DataFrame(rejects).to_csv(HERE / "expected_rejects.csv", index=False, lineterminator="\n")

    write_readme(claims, rows, history_rows, found, rejects)
    summary(claims, rows, found)


def write_bad_rows(path: Path, records: list[list[str]]) -> None:
    """csv.writer would quote the comma of the malformed record (V006): that one is written bare."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for rec in records:
            if rec[0] == MALFORMED_CLAIM:
                fh.write(",".join(rec) + "\n")
            else:
                w.writerow(rec)


def check(claims: list[Claim], found: set[tuple]) -> None:
    """Bulk lines are clean; planted lines trigger exactly what they declare; every rule fires."""
    by_line: dict[tuple, set[str]] = defaultdict(set)
    for claim_id, line_number, rule in found:
        by_line[(claim_id, line_number)].add(rule)
    problems = []
    for c in claims:
        for n, line in enumerate(c.lines, 1):
            got = by_line.get((c.claim_id, n), set())
            if got != set(line.expect):
                problems.append(
                    f"{c.claim_id} line {n} {line.code} ({c.planted or 'bulk'}): "
                    f"expected {sorted(line.expect)}, rules give {sorted(got)}"
                )
    fired = {rule for _, _, rule in found}
    missing = [r for r in RULES if r not in fired]
    if missing:
        problems.append(f"rules that never fire: {missing}")
    if problems:
        raise SystemExit("sample is inconsistent:\n  " + "\n  ".join(problems))


def summary(claims: list[Claim], rows: list[dict], found: set[tuple]) -> None:
    flagged = {(c, n) for c, n, _ in found}
    by_rule = defaultdict(int)
    for _, _, rule in found:
        by_rule[rule] += 1
    print(f"lines {len(rows)}, claims {len(claims)}, patients {len({c.patient for c in claims})}, "
          f"findings {len(found)} on {len(flagged)} lines, clean "
          f"{100 * (1 - len(flagged) / len(rows)):.1f}%")  # fmt: skip
    print(" ".join(f"{r}:{by_rule[r]}" for r in RULES))


README_HEAD = """\
# sample_data: a claims extract with known defects

Everything here is generated by `make_sample.py` (deterministic: run it again and the files are
byte-identical) from the starter reference bundle in `../reference/`:

    .venv/bin/python sample_data/make_sample.py

{file_table}

`make audit` runs:

    claims-audit run sample_data/claims.csv --config sample_data/audit.toml \\
        --history sample_data/history.csv

and its `findings.csv` must equal `expected_findings.csv` (claim_id, line_number, rule_code;
`impact_usd` is the expected dollar impact, empty where SPEC section 5 gives none).

## What the claims look like

Physician office (professional, place of service 11) and hospital outpatient (institutional: 22
on campus, 19 off-campus department with PO, 23 emergency department) claims: {q1} of the
{lines} lines were served in 2026 Q1, the others between {first} and December 2025 (for the
defects and boundaries that need an older date). Payers by claim: {payers}. Billing providers
(`provider_id`, 10-digit NPIs with a valid check digit): {providers}; a patient sees one practice
and one hospital, and the claims of the "other" payer come from a feed without NPIs (they count
as one provider). Claim frequency: {frequencies} ("7" replacement claims repeat the lines of an
original claim of this extract; "8" voids are counted and not audited). Drug lines sit beside
their CPT administration lines (96413/96415 chemotherapy infusion, 96365 infusion, 96372
injection, 96374/96375 IV push, 96402, 36593 catheter declotting, office visits 99214-25,
colonoscopy 45378); CPT lines are judged by U003 alone (their MUE rows are in the bundle).

Units are the documented dose in the code's billing unit, rounded up: Avastin (J9035, 10 mg)
400 mg = 40 units; octreotide (J2354, 25 mcg) 100 mcg = 4 units; Prolia (J0897, 1 mg) 60 mg = 60
units, Xgeva 120 units; dalteparin (J1645, 2500 IU) 5000 IU = 2 units; Activase (J2997, 1 mg)
0.9 mg/kg: 70.2 mg given = 71 units plus JW 29 units from the 100 mg vial. Every NDC is one that
the ASP crosswalk lists under the billed code (except the planted N002/N003/N004 lines), with
quantities (UN vials, or ML drawn from a multiple-dose vial) that cover the billed units.

JW and JZ follow the payer's policy as `audit.toml` states it: Medicare requires both, Medicaid
requires JW (the state program follows the Medicare JW policy), Medicare Advantage, commercial
and other payers require neither, so their lines carry neither (documented waste stays on the
administration line). They are used only on drugs from a single-dose container that
`reference/container.csv` knows (multiple-dose vials and containers the reference does not type
carry neither) and only on separately payable lines (drugs that OPPS packages, status indicator
N, carry neither on hospital claims). A line with nothing discarded, or with waste worth less than
one billing unit, carries JZ; billable waste goes on a JW line. Charges come from a charge master
above the ASP payment limit. Diagnosis codes are billable ICD-10-CM codes that match the curated
indications of the drug.

Clean edge cases worth knowing: Xgeva every 4 weeks (keyed by NDC in `drug_policy.csv`, so
Prolia's 6 months does not apply); prior Prolia doses in `history.csv` 182-190 days before;
Avastin split over a 400 mg and a 100 mg vial (two NDC lines, one JW line); secondary claims that
do report the primary payment; BCBS-TX claims submitted within its 95 days; and the planted
must-not-fire claims listed under "Conditions that must not fire" below.

## How the expected findings read the SPEC

`expected_findings()` in `make_sample.py` applies the rule table of SPEC section 5 line by line
(plain Python, no code shared with the engine). Where the SPEC leaves room, it reads it as
follows:

* Rules judge HCPCS Level II lines of claims that are not void; CPT lines (five digits, or four
  digits and F/T/U) are judged by U003 only. Void claims (frequency 8) take no part in anything:
  no finding, not in U003 totals, not in F001 or F002.
* Payer settings: `[payer_id."X"]` over `[payer.<payer_type>]` over the SPEC 7 defaults (Medicare
  `require_jw`/`require_jz`, Medicaid `require_ndc`); a key the config does not set is off.
* Container type: the NDC's row of `container.csv`, else the code's row; none: unknown. A line
  without a usable NDC has an unknown container here (the starter table is keyed by NDC).
* "Separately payable" is "not an institutional line whose OPPS status indicator is N"; a drug
  without an OPPS row, or with another indicator (K1, E1, E2), counts as separately payable for
  M001-M007, but its institutional rate is unknown (impact empty).
* JW/JZ rules M001-M005 and M007 never judge an institutional SI N line. M006 (modifier validity)
  is read as a code-set check that applies to every line; the sample puts no invalid modifier on
  an SI N line, so the other reading gives the same findings.
* Billable waste: units(given + wasted) - units(given) >= 1 (M004's JW units). M001 judges it on
  the line that documents the waste; M002/M003 on the drug group (sums of the group's doses and
  of its documented waste). Waste below one billing unit is no billable waste: JZ is right, and
  its absence is M002 for a payer that requires JZ. M001 and M002 are not evaluated on an unknown
  container, not applicable on a multiple-dose one.
* M003-M005 and M007 apply to every payer (the SPEC gives them no payer condition); the sample
  plants them on Medicare claims only, where a payer would deny them.
* U003: the MUE table of the line's claim type; MAI 2/3 totals are per patient, code, service date,
  claim type and provider (`provider_id`, or one shared provider for lines without it), over all
  claims of the batch that are not void, replacement claims included; the finding goes on the first
  of those lines by (claim_id, line_number). An MUE of 0 fires on any billed unit. The sample keeps
  every original + replacement pair within the MUE, so the open question whether a replaced
  claim's units still count changes nothing here.
* U004 replaces U001/U002; a JW line is never judged by U001/U002/U004.
* M004 is evaluated only when the group documents waste; a JW line without documented waste is
  M007 only (its inputs are absent for M004).
* N005 also judges JW lines (their NDC quantity must cover their units).
* C003: a code on the HCPCS NOC list without a descriptor unit, of a drug family (J, C, Q): J3490,
  J3590, J9999. J3301 and J9201 (NOS with a unit and an ASP limit) are not C003.
* D002 judges only lines served inside the ICD-10-CM release of the simple-icd-10-cm tables,
  fiscal year 2026 (2025-10-01 to 2026-09-30); D003 matches prefixes against every diagnosis on
  the line, billable or not (so `C18` on an Avastin line is D002 but not D003).
* F001 keys on patient, provider, code, date, modifiers and units; a line of a replacement claim
  is never flagged (it may still be the earlier line of a later duplicate).
* F002 keys a schedule by (code, NDC) where `drug_policy.csv` has an NDC row (Prolia and Xgeva
  share J0897), else by code; doses of the same patient on the same day count once (an original
  and its replacement are one dose).
* P002: the payer's `filing_limit_days` (`[payer_id."BCBS-TX"]` 95 over `[payer.commercial]` 180);
  Medicare without a limit: late when submitted after the same month and day of the next year
  (February 29: March 1 of the next year, the later reading, so a payer
  would agree); other payer types without a limit are not evaluated.
* A001 judges professional lines only, against the ASP payment limit x billed units.
* Impact (`impact_usd`, rounded to cents): rate = professional: ASP payment limit; institutional:
  OPPS payment rate for SI K or G, 0 for SI N, empty otherwise. U001 -(billed - expected) x rate,
  U002 +(expected - billed) x rate, M001 +(JW units the waste is worth) x rate, M004 +(expected -
  billed) x rate (negative when over), U003 -(units denied) x rate: the line's units for MAI 1, the
  day's total for MAI 2/3. U004 replaces U001/U002 on its line and carries their impact (the
  SPEC's formula lists U001/U002 only; without it the largest overbillings, a dose in mg billed
  as units, would vanish from the totals). Every other rule has no impact ("others empty").
* F001 and U003 do not look at payer_sequence: a secondary claim repeating its primary's lines in
  the same batch would be reported as duplicates. The secondary claims here are for primaries
  paid in an earlier extract.

## Planted defects

{rule_table}

Each row below is one expected finding: the claim and line, the rule and why it fires. Several rules
may fire on one line (a realistic error often breaks more than one rule); every finding of
`expected_findings.csv` is listed here.

| claim_id | line | rule | scenario | why |
|---|---|---|---|---|
"""


def write_readme(claims, rows, history_rows, found, rejects) -> None:
    flagged = {(c, n) for c, n, _ in found}
    payers = pd.Series([c.payer_type for c in claims]).value_counts()
    providers = pd.Series([r["provider_id"] or "(none)" for r in rows]).value_counts()
    providers = {f"{k} ({v} lines)": "" for k, v in providers.items()}
    frequencies = pd.Series([c.frequency for c in claims]).value_counts()
    counts = pd.Series([rule for _, _, rule in found]).value_counts()
    rule_table = "| rule | findings |\n|---|---|\n" + "".join(
        f"| {r} | {counts.get(r, 0)} |\n" for r in RULES
    )
    files = [
        ("claims.csv", f"the claims extract: {len(rows)} lines, {len(claims)} claims, "
         f"{len({c.patient for c in claims})} patients; every column of SPEC section 3, in order"),
        ("claims.parquet", "the same rows, every column a string (pyarrow)"),
        ("history.csv", f"{len(history_rows)} prior lines of some patients (earlier denosumab "
         "and bevacizumab doses), for `--history` (F002)"),
        ("audit.toml", "the configuration of SPEC section 7 (Medicare JW and JZ and no filing "
         "days: the calendar-year rule; Medicaid NDC and JW; commercial 180 days and prior auth "
         "for J0897/J9035; BCBS-TX 95 days)"),
        ("expected_findings.csv", "every finding (claim_id, line_number, rule_code) the audit "
         f"must produce: {len(found)} findings on {len(flagged)} lines"),
        ("bad_rows.csv", f"{len(rejects)} rows for validation: good rows and one problem per "
         "bad row (V002..V006)"),
        ("expected_rejects.csv", "the reject each row of `bad_rows.csv` must produce "
         "(source_row is the 1-based data row)"),
        ("make_sample.py", "the generator (data, the SPEC reading, the checks)"),
    ]  # fmt: skip
    file_table = "| file | what it is |\n|---|---|\n" + "\n".join(
        f"| `{name}` | {what} |" for name, what in files
    )
    text = README_HEAD.format(
        file_table=file_table,
        lines=len(rows), claims=len(claims), patients=len({c.patient for c in claims}),
        history=len(history_rows), findings=len(found), flagged=len(flagged),
        bad=len(rejects), q1=sum(r["service_date"] >= "2026-01-01" for r in rows),
        first=min(r["service_date"] for r in rows),
        payers=", ".join(f"{k} {v}" for k, v in payers.items()), rule_table=rule_table.strip(),
        providers=", ".join(providers),
        frequencies=", ".join(f'"{k}" {v}' for k, v in frequencies.items()),
    )  # fmt: skip
    by_id = {c.claim_id: c for c in claims}
    for claim_id, line_number, rule in sorted(found):
        c = by_id[claim_id]
        why = c.lines[line_number - 1].expect[rule]
        impact = (
            ""
            if found[(claim_id, line_number, rule)] is None
            else (f" (impact {found[(claim_id, line_number, rule)]:+,.2f} USD)")
        )
        text += f"| {claim_id} | {line_number} | {rule} | {c.planted} | {why}{impact} |\n"
    text += (
        "\n## Conditions that must not fire\n\nPlanted claims on which no rule fires: each "
        "shows a condition of the revised SPEC that keeps a rule silent.\n\n"
        "| claim_id | frequency | scenario |\n|---|---|---|\n"
    )
    for c in sorted(claims, key=lambda c: c.claim_id):
        if c.planted and not any(line.expect for line in c.lines):
            text += f"| {c.claim_id} | {c.frequency} | {c.planted} |\n"
    text += "\n## Rejects (`bad_rows.csv`)\n\n| row | claim_id | column | reason | why |\n"
    text += "|---|---|---|---|---|\n"
    for r in rejects:
        text += (f"| {r['source_row']} | {r['claim_id'] or '(empty)'} | {r['column']} | "
                 f"{r['reason_code'] or 'audited'} | {r['why']} |\n")  # fmt: skip
    (HERE / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
