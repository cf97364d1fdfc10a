"""Regenerate the sample claims of `sample_data/` and the findings an audit of them must produce.

    .venv/bin/python sample_data/make_sample.py

Writes, next to this script:

* `claims.csv` / `claims.parquet`: a realistic claims extract (SPEC section 3 columns, in order);
  the Parquet file holds the same rows with every column as a string.
* `history.csv`: prior claims of some patients (for F002, `--history`).
* `expected_findings.csv`: every finding (claim_id, line_number, rule_code) the rules of SPEC
  section 5 produce on `claims.csv` with `audit.toml`, `history.csv` and the starter bundle.
* `bad_rows.csv` + `expected_rejects.csv`: rows that fail validation (V002..V006) beside good ones.
* `README.md`: what is where, and the table of planted defects.

How it is built. Every fact comes from the starter reference bundle in `../reference/` (codes,
billing units, NDCs and their BILLUNITS, payment limits, MUEs, OPPS status, container types,
curated policy). The clean bulk is drawn with a seeded random generator from a few regimens
(bevacizumab, denosumab, octreotide, alteplase, rituximab, dalteparin, ...); the defects are
declared as data in `planted_claims()`, each line naming the rules it must trigger and why.
The expected findings are computed by `expected_findings()`, a plain row-by-row reading of the
SPEC's rule table that shares no code with the engine. The script checks that every bulk line
is clean, that every planted line triggers exactly the rules it declares, and that all 29
rules fire; it stops with an error otherwise.

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
    "claim_id", "line_number", "patient_id", "payer_type", "payer_id", "claim_type",
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
        self.si = {r.hcpcs_code: r.status_indicator for r in o.itertuples()}
        c = _read("container")
        self.container = {r.ndc11: r.container for r in c.itertuples() if r.ndc11}
        self.container_by_code = {
            r.hcpcs_code: r.container for r in c.itertuples() if not r.ndc11 and r.hcpcs_code
        }
        mods = _read("modifiers")
        self.modifiers = {r.modifier: _date(r.termination_date) for r in mods.itertuples()}
        self.policy = _read("drug_policy")
        self.drug_codes = set(self.limit) | {code for _, code in self.xwalk}

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
    "99214": (165.00, 240.00), "45378": (780.00, 1450.00),
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
    payer_type: str,
    document_waste: bool,
    mods: str = "",
) -> list[Line]:
    """Administration line(s) (one per NDC) and, when waste is documented, the JW line."""
    plan = vial_plan(dose, tuple(sorted(ndc_by_size, reverse=True)))
    total = sum(s * n for s, n in plan)
    waste = total - dose
    jz = medicare_like(payer_type) and waste == 0
    base = (mods + " JZ").strip() if jz else mods
    lines, left = [], dose
    for size, count in plan:
        used = min(left, size * count)
        left -= used
        line_waste = size * count - used if document_waste and size * count > used else None
        lines.append(drug(code, ndc_by_size[size], used, "mg", qty=count, mods=base,
                          waste=line_waste))  # fmt: skip
    if waste and document_waste:
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
        bev = vial_group("J9035", dose, AVASTIN, payer_type, document_waste)
        lines += bev
        if premeds:
            lines.append(cpt("96375", 2))
            jz = "JZ" if medicare_like(payer_type) and not institutional else ""
            lines.append(drug("J1100", "63323-0506-01", 10, "mg", mods=jz))
            lines.append(drug("J2405", "00409-4755-03", 8, "mg", mods=jz))
        diag = dx_with_comorbid("Z51.11", *dx) if premeds else dx_with_comorbid(*dx)
        claims.append(Claim(patient, payer_type, payer_id,
                            "institutional" if institutional else "professional",
                            "22" if institutional else "11", day, lag(payer_type, payer_id),
                            diag, lines, pa=pa))  # fmt: skip
    if RNG.random() < 0.5:  # the cycle before the first one of this extract
        first_claim = claims[0]
        before = weekday_back(first_claim.service - timedelta(days=every + 1))
        lines = [cpt("96413")] + vial_group("J9035", dose, AVASTIN, payer_type, document_waste)
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
        lines += vial_group("J9312", dose, RITUXAN, payer_type, document_waste=True,
                            mods="PO" if payer_type == "medicare" else "")  # fmt: skip
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
    jz = "JZ" if medicare_like(payer_type) else ""
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
    jz = "JZ" if medicare_like(payer_type) else ""
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
    jz = "JZ" if medicare_like(payer_type) else ""
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
                      mods="JZ" if medicare_like(payer_type) else "")]  # fmt: skip
    elif style == "mdv200":
        lines = [drug("J2354", "25021-0454-05", 200, "mcg", qual="ML", qty=1)]
    elif style == "half_vial":  # 50 mcg from a 100 mcg single-dose vial: 2 units + 2 units JW
        lines = [drug("J2354", "63323-0376-01", 50, "mcg", waste=50),
                 jw("J2354", "63323-0376-01", 50, "mcg", units=2)]  # fmt: skip
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
    lines = [cpt("96374"), cpt("96365"), drug("J2997", ndc, dose, "mg", waste=waste),
             jw("J2997", ndc, waste, "mg",
                units=units_for("J2997", vial, "mg") - units_for("J2997", dose, "mg"))]  # fmt: skip
    return [Claim(new_patient(), payer_type, payer_id, "institutional", "23", day,
                  lag(payer_type, payer_id), dx_with_comorbid(RNG.choice(ACTIVASE_DX)), lines,
                  pa=pa)]  # fmt: skip


def cathflo_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 70, "commercial": 30})
    day = weekday(WINDOW_START + timedelta(days=RNG.randint(0, 85)))
    jz = "JZ" if medicare_like(payer_type) else ""
    lines = [cpt("36593"), drug("J2997", "50242-0041-64", 2, "mg", mods=jz)]
    return [Claim(new_patient(), payer_type, payer_id, "professional", "11", day,
                  lag(payer_type, payer_id), "T82.868A Z95.828", lines)]  # fmt: skip


def dalteparin_patient() -> list[Claim]:
    payer_type, payer_id = pick_payer({"medicare": 50, "medicaid": 20, "commercial": 30})
    style = RNG.choice(["pfs5000", "mdv10000", "pfs15000"])
    jz = "JZ" if medicare_like(payer_type) else ""
    if style == "pfs5000":
        line = drug("J1645", "00069-0196-02", 5000, "units", mods=jz)
    elif style == "pfs15000":
        line = drug("J1645", "00069-0223-02", 15000, "units", mods=jz)
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
    jz = "JZ" if medicare_like(payer_type) else ""
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
        dx, lines = "M81.0", [cpt("96372"), drug("J0897", "55513-0710-01", 60, "mg", mods="JZ")]
    else:
        dx = "E34.00 C7B.02"
        lines = [cpt("96402"), drug("J2353", "00078-0818-81", 20, "mg", mods="JZ")]
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
    claim("Activase JW line of 25 units for 28 mg discarded", ("medicare_advantage", "UHC-MA"),
          "institutional", "23", d(2026, 3, 6),
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
    P.append(Claim(original.patient, "medicare", "MCR-JH", "professional", "11", d(2026, 1, 7),
                   33, "C71.9",
                   [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ",
                                       expect={"F001": "same patient, code, date, modifiers "
                                                       "and units as the first claim's line"})],
                   planted="the resubmitted duplicate"))  # fmt: skip
    claim("ondansetron entered twice on one claim", MCR, "professional", "11", d(2026, 2, 2),
          [cpt("96413"), drug("J9035", "50242-0061-01", 400, "mg", mods="JZ"),
           cpt("96375"), drug("J2405", "00409-4755-03", 8, "mg", mods="JZ"),
           drug("J2405", "00409-4755-03", 8, "mg", mods="JZ",
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
                              expect={"P002": "399 days > 365 (Medicare)"})],
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
    claim("Activase 80 units charged $7,000 (limit 80 x $93.832 = $7,506.56)", UHC,
          "institutional", "23", d(2026, 3, 14),
          [cpt("96374"), cpt("96365"),
           drug("J2997", "50242-0085-27", 80, "mg", waste=20, charge=7000.00,
                expect={"A001": "stale charge master price"}),
           jw("J2997", "50242-0085-27", 20, "mg", units=20)],
          "I63.9", pa=new_pa("UHC"))  # fmt: skip
    return P


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


@dataclass
class Config:
    filing_limit: dict[str, int]
    filing_limit_by_id: dict[str, int]
    require_jz: set[str]
    require_ndc: set[str]
    prior_auth: dict[str, list[str]]


def load_config(path: Path) -> Config:
    data = tomllib.loads(path.read_text())
    payer, by_id = data.get("payer", {}), data.get("payer_id", {})
    limits = {"medicare": 365} | {k: v["filing_limit_days"] for k, v in payer.items()
                                  if "filing_limit_days" in v}  # fmt: skip
    return Config(
        filing_limit=limits,
        filing_limit_by_id={
            k: v["filing_limit_days"] for k, v in by_id.items() if "filing_limit_days" in v
        },  # fmt: skip
        require_jz={"medicare"} | {k for k, v in payer.items() if v.get("require_jz")},
        require_ndc={"medicaid"} | {k for k, v in payer.items() if v.get("require_ndc")},
        prior_auth={k: v.get("require_prior_auth", []) for k, v in payer.items()},
    )


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
        x["in_scope"] = not CPT.match(r["hcpcs_code"])
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


def expected_findings(rows: list[dict], history_rows: list[dict], cfg: Config) -> set[tuple]:
    lines = parse(rows)
    found: set[tuple] = set()

    def flag(x: dict, rule: str) -> None:
        found.add((x["claim_id"], x["line_number"], rule))

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

    for x in lines:
        if not x["in_scope"]:
            continue
        code, h = x["hcpcs_code"], REF.hcpcs.get(x["hcpcs_code"])
        setting = "outpatient_hospital" if x["claim_type"] == "institutional" else "practitioner"
        # C: codes
        if h is None:
            flag(x, "C001")
        else:
            if (h["add"] and x["service"] < h["add"]) or (h["term"] and x["service"] > h["term"]):
                flag(x, "C002")
            if h["noc"] and not x["ndc"]:
                flag(x, "C003")
        # U: units against the documented dose
        if not x["jw"] and x["admin_bu"] is not None:
            expected = ceil_units(x["admin_bu"])
            billed = x["billed"]
            if not is_close(billed, expected):
                as_amount = is_close(billed, x["amount"]) and not is_close(h["bua"], 1.0)
                ratio = billed / expected if expected > 0 else -1
                ten = any(is_close(ratio, r) for r in (10, 100, 1000, 0.1, 0.01, 0.001))
                if as_amount or ten:
                    flag(x, "U004")
                elif billed > expected:
                    flag(x, "U001")
                else:
                    flag(x, "U002")
        if x["billed"] != int(x["billed"]):
            flag(x, "U005")
        # N: NDC
        if x["ndc"] and x["ndc11"] is None:
            flag(x, "N002")
        if (
            not x["ndc"]
            and x["payer_type"] in cfg.require_ndc
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
        # M: JW / JZ and modifiers
        container = REF.container.get(x["ndc11"]) or REF.container_by_code.get(code)
        if not x["jw"] and (x["waste"] or 0) > 0 and x["waste_bu"] is not None:
            own = x["admin_bu"] or 0.0
            if ceil_units(own + x["waste_bu"]) - ceil_units(own) >= 1 and not x["group_jw"]:
                flag(x, "M001")
        packaged = x["claim_type"] == "institutional" and REF.si.get(code) == "N"
        if (x["payer_type"] in cfg.require_jz and container == "single_dose" and not packaged
                and not x["group_waste"] and not x["group_jw"] and not x["jz"]):  # fmt: skip
            flag(x, "M002")
        if (x["jz"] and (x["group_jw"] or x["group_waste"])) or (x["jw"] and x["jz"]):
            flag(x, "M003")
        if x["jw"] and x["group_waste"] and x["group_admin_bu"] is not None \
                and x["group_waste_bu"] is not None:  # fmt: skip
            a, w = x["group_admin_bu"], x["group_waste_bu"]
            if not is_close(x["billed"], ceil_units(a + w) - ceil_units(a)):
                flag(x, "M004")
        if container == "multi_dose" and (x["jw"] or x["jz"]):
            flag(x, "M005")
        for mod in x["mods"]:
            if mod not in REF.modifiers or (
                REF.modifiers[mod] and x["service"] > REF.modifiers[mod]
            ):
                flag(x, "M006")
        if x["jw"] and not x["group_waste"]:
            flag(x, "M007")
        # D: diagnoses
        if not x["dx"]:
            flag(x, "D001")
        else:
            if not all(icd_billable(c) for c in x["dx"]):
                flag(x, "D002")
            indications = REF.policy_value(code, x["ndc11"], "indications")
            if indications:
                prefixes = indications[0].split()
                if not any(c.startswith(p) for c in x["dx"] for p in prefixes):
                    flag(x, "D003")
        # P: payer
        pa_list = cfg.prior_auth.get(x["payer_type"], [])
        curated_pa = REF.policy_value(code, x["ndc11"], "requires_prior_auth")
        if (code in pa_list or (curated_pa and x["payer_type"] in curated_pa[0].split())) \
                and not x["prior_auth_number"]:  # fmt: skip
            flag(x, "P001")
        limit = cfg.filing_limit_by_id.get(x["payer_id"], cfg.filing_limit.get(x["payer_type"]))
        if limit is not None and x["submitted"] and (x["submitted"] - x["service"]).days > limit:
            flag(x, "P002")
        if x["payer_sequence"] in ("secondary", "tertiary") and not x["other_payer_paid_usd"]:
            flag(x, "P003")
        # A: amounts
        allowed = REF.limit.get(code, math.nan) * x["billed"]
        if x["charge"] is not None and x["charge"] < allowed - 0.005:
            flag(x, "A001")

    # U003: MUE by claim type; MAI 2/3 add up the patient's units of the code on the day
    days: dict[tuple, list[dict]] = defaultdict(list)
    for x in lines:
        if x["in_scope"]:
            days[(x["patient_id"], x["hcpcs_code"], x["service"])].append(x)
    for day_lines in days.values():
        total = sum(y["billed"] for y in day_lines)
        over_day = []
        for y in day_lines:
            setting = (
                "outpatient_hospital" if y["claim_type"] == "institutional" else "practitioner"
            )
            mue = REF.mue.get((y["hcpcs_code"], setting))
            if mue is None:
                continue
            value, mai = mue
            if mai == 1 and y["billed"] > value:
                flag(y, "U003")
            elif mai in (2, 3) and total > value:
                over_day.append(y)
        if over_day:
            first = min(over_day, key=lambda y: (y["claim_id"], y["line_number"]))
            flag(first, "U003")

    # F001: same patient, code, date, modifiers and units as an earlier line
    seen: set[tuple] = set()
    for x in sorted(
        (x for x in lines if x["in_scope"]), key=lambda y: (y["claim_id"], y["line_number"])
    ):
        key = (x["patient_id"], x["hcpcs_code"], x["service"], tuple(x["mods"]), x["billed"])
        if key in seen:
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
        "payer_type": "medicare", "payer_id": "MCR-JH", "claim_type": "professional",
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
    expected.append({"source_row": len(records), "claim_id": MALFORMED_CLAIM, "column": "",
                     "reason_code": "V006", "why": "24 fields in a 23-column file (unquoted "
                                                   "comma)"})  # fmt: skip
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
    assign_ids(claims, "CLM")
    assign_ids(history, "HST")
    rows = [r for c in sorted(claims, key=lambda c: c.claim_id) for r in claim_rows(c)]
    history_rows = [r for c in sorted(history, key=lambda c: c.claim_id) for r in claim_rows(c)]

    cfg = load_config(HERE / "audit.toml")
    found = expected_findings(rows, history_rows, cfg)
    check(claims, found)

    write_csv(HERE / "claims.csv", rows)
    write_csv(HERE / "history.csv", history_rows)
    table = pa.table({c: pa.array([r[c] or None for r in rows], pa.string()) for c in COLUMNS})
    pq.write_table(table, HERE / "claims.parquet")
    expected = pd.DataFrame(sorted(found), columns=["claim_id", "line_number", "rule_code"])
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

and its `findings.csv` must equal `expected_findings.csv` (claim_id, line_number, rule_code).

## What the claims look like

Physician office (professional, place of service 11) and hospital outpatient (institutional: 22
on campus, 19 off-campus department with PO, 23 emergency department) claims: {q1} of the
{lines} lines were served in 2026 Q1, the others between {first} and December 2025 (for the
defects that need an older date). Payers by claim: {payers}. Drug lines sit beside their CPT
administration lines (96413/96415 chemotherapy infusion, 96365 infusion, 96372 injection,
96374/96375 IV push, 96402, 36593 catheter declotting, office visits 99214-25, colonoscopy 45378);
CPT lines are out of scope for the rules and never produce findings.

Units are the documented dose in the code's billing unit, rounded up: Avastin (J9035, 10 mg)
400 mg = 40 units; octreotide (J2354, 25 mcg) 100 mcg = 4 units; Prolia (J0897, 1 mg) 60 mg = 60
units, Xgeva 120 units; dalteparin (J1645, 2500 IU) 5000 IU = 2 units; Activase (J2997, 1 mg)
0.9 mg/kg: 70.2 mg given = 71 units plus JW 29 units from the 100 mg vial. Every NDC is one that
the ASP crosswalk lists under the billed code (except the planted N002/N003/N004 lines), with
quantities (UN vials, or ML drawn from a multiple-dose vial) that cover the billed units.
Medicare lines of single-dose containers carry JZ when nothing was discarded, or an
administration line plus a JW line with `wasted_amount` documented; drugs packaged under OPPS
(status indicator N) on hospital claims carry neither, and multiple-dose vials carry neither.
Charges come from a charge master above the ASP payment limit. Diagnosis codes are billable
ICD-10-CM codes that match the curated indications of the drug.

Clean edge cases worth knowing: institutional J2354 from a single-dose vial without JZ (OPPS SI
N, M002 does not apply); Xgeva every 4 weeks (keyed by NDC in `drug_policy.csv`, so Prolia's 6
months does not apply); prior Prolia doses in `history.csv` 182-190 days before; Avastin split
over a 400 mg and a 100 mg vial (two NDC lines, one JW line); Medicare Advantage lines (no JZ
requirement configured); secondary claims that do report the primary payment; BCBS-TX claims
submitted within its 95 days.

## How the expected findings read the SPEC

`expected_findings()` in `make_sample.py` applies the rule table of SPEC section 5 line by line.
Where the SPEC leaves room, it reads it as follows:

* Rules judge in-scope lines only: CPT lines (five digits, or four digits and F/T/U) never have
  findings, and do not count in U003 sums or F001 duplicates.
* U003: all drug codes here have MAI 3, so the units of the code for the patient on the day are
  added over all claims (JW lines included) and the finding goes on the first of those lines by
  (claim_id, line_number). The MUE table follows each line's claim type.
* U004 replaces U001/U002; a JW line is never judged by U001/U002/U004.
* M001: "at least one billable unit" is units(administered + wasted) - units(administered) >= 1
  on the line that documents the waste.
* M004 is evaluated only when the group documents waste; a JW line without documented waste is
  M007 only (its inputs are absent for M004).
* N005 also judges JW lines (their NDC quantity must cover their units).
* D003 matches prefixes against every diagnosis on the line, billable or not (so `C18` on an
  Avastin line is D002 but not D003).
* F002 keys a schedule by (code, NDC) where `drug_policy.csv` has an NDC row (Prolia and Xgeva
  share J0897), else by code; doses of the same patient on the same day count once.
* P002 uses the `[payer_id."BCBS-TX"]` limit (95 days) over `[payer.commercial]` (180 days);
  payer types without a limit (Medicaid, Medicare Advantage) are not evaluated.
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
        ("audit.toml", "the configuration of SPEC section 7 (Medicare 365 days and JZ, Medicaid "
         "NDC, commercial 180 days and prior auth for J0897/J9035, BCBS-TX 95 days)"),
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
    )  # fmt: skip
    by_id = {c.claim_id: c for c in claims}
    for claim_id, line_number, rule in sorted(found):
        c = by_id[claim_id]
        why = c.lines[line_number - 1].expect[rule]
        text += f"| {claim_id} | {line_number} | {rule} | {c.planted} | {why} |\n"
    text += "\n## Rejects (`bad_rows.csv`)\n\n| row | claim_id | column | reason | why |\n"
    text += "|---|---|---|---|---|\n"
    for r in rejects:
        text += (f"| {r['source_row']} | {r['claim_id'] or '(empty)'} | {r['column']} | "
                 f"{r['reason_code'] or 'audited'} | {r['why']} |\n")  # fmt: skip
    (HERE / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
