"""The clean world of one block: patients, their visits, drug groups, doses and claim lines.

Arrays live in four tables of numpy columns (per patient, claim, drug group and line); the
scenarios (`scenarios.py`) then plant defects into them and `assemble` orders the lines.
Clean lines follow the configuration the claims will be audited with (JW/JZ, NDC, prior auth
and filing limits per payer), so that an audit finds exactly the planted defects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from claims_audit.generate.catalog import (
    COMBO_TYPE,
    COPY_LAG_DAYS,
    CPT_ADDON,
    CPT_ADMIN,
    HOSPITALS_340B,
    MAX_CLEAN_LAG_DAYS,
    MEDICARE,
    OTHER,
    PAYER_TYPES,
    PAYER_WEIGHTS,
    PROVIDERS_INST,
    PROVIDERS_PROF,
    Catalog,
)
from claims_audit.parsing import round_units, to_billing_units

EPS = 1e-9
NO_NPI_SHARE = 0.5  # share of the "other" payer's patients whose feed carries no provider_id
Table = dict[str, np.ndarray]


@dataclass
class World:
    """One block under construction, and the defects planted so far."""

    cat: Catalog
    rng: np.random.Generator
    rate: dict[str, float]
    p: Table = field(default_factory=dict)  # per patient
    c: Table = field(default_factory=dict)  # per claim
    g: Table = field(default_factory=dict)  # per drug group (a claim's lines of one code)
    L: Table = field(default_factory=dict)  # per line (admin line of group g is row g)
    n_patients: int = 0
    n_regular: int = 0  # claims of the patients' regular visits (defects land on these)
    taken: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per claim
    labels: list[tuple[np.ndarray, str]] = field(default_factory=list)  # line rows, rule

    def target(self, rule: str, share: float = 1.0) -> int:
        """How many defects of `rule` this block plants."""
        return int(round(self.rate.get(rule, 0.0) * self.n_regular * share))

    def choose(self, eligible: np.ndarray, rule: str) -> np.ndarray:
        """Drug groups to plant `rule` on: eligible, on regular claims that carry no defect
        yet, one group per claim; their claims are taken."""
        regular = self.g["claim"] < self.n_regular
        cand = np.flatnonzero(eligible & regular & ~self.taken[self.g["claim"]])
        cand = self.rng.permutation(cand)
        cand = np.sort(cand[first_per_key(self.g["claim"][cand])][: self.target(rule)])
        self.taken[self.g["claim"][cand]] = True
        return cand

    def label(self, rows: np.ndarray, rule: str) -> None:
        self.labels.append((np.asarray(rows, dtype="int64"), rule))


def first_per_key(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each key, in order of appearance."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def pick_rowwise(
    rng: np.random.Generator, table: np.ndarray, rows: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Row-wise random choice: for each i, one of the first `counts[i]` of `table[rows[i]]`."""
    idx = (rng.random(len(rows)) * counts).astype("int64")
    return table[rows, np.minimum(idx, np.maximum(counts - 1, 0))]


def billing_units(amount: np.ndarray, bua: np.ndarray, bunit: np.ndarray) -> np.ndarray:
    """The engine's own conversion (same floats) of an amount in the code's billing unit."""
    unit = pd.Series(bunit, dtype="object")
    return to_billing_units(
        pd.Series(amount, dtype="float64"), unit, pd.Series(bua, dtype="float64"), unit
    ).to_numpy(dtype="float64")


def ceil_units(values: np.ndarray) -> np.ndarray:
    return round_units(pd.Series(values, dtype="float64"), "up").to_numpy(dtype="float64")


def append(table: Table, rows: Table) -> None:
    """Append rows (same columns) to a table of numpy columns."""
    for key, values in rows.items():
        table[key] = np.concatenate([table[key], values]) if key in table else values


# -- patients and their regular visits ----------------------------------------------------------


def make_patients(w: World, n: int) -> None:
    """Payer (type and id), site of care, billing provider and a regimen of 1-3 drugs."""
    rng, cat = w.rng, w.cat
    payer = rng.choice(len(PAYER_TYPES), n, p=PAYER_WEIGHTS)
    first = np.searchsorted(COMBO_TYPE, np.arange(len(PAYER_TYPES)))
    count = np.bincount(COMBO_TYPE, minlength=len(PAYER_TYPES))
    combo = first[payer] + np.minimum(
        (rng.random(n) * count[payer]).astype("int64"), count[payer] - 1
    )
    inst = rng.random(n) < 0.3
    # one billing provider per patient (a practice, or a hospital for institutional patients)
    provider = np.where(
        inst,
        PROVIDERS_INST[rng.integers(0, len(PROVIDERS_INST), n)],
        PROVIDERS_PROF[rng.integers(0, len(PROVIDERS_PROF), n)],
    ).astype(object)
    provider[(payer == OTHER) & (rng.random(n) < NO_NPI_SHARE)] = None
    n_reg = rng.choice([1, 2, 3], n, p=[0.55, 0.30, 0.15])
    reg_patient = np.repeat(np.arange(n), n_reg)
    reg_prod = rng.choice(cat.clean, len(reg_patient), p=cat.clean_weights)
    keep = first_per_key(reg_patient * (cat.code_id.max() + 1) + cat.code_id[reg_prod])
    reg_patient, reg_prod = reg_patient[keep], reg_prod[keep]  # distinct codes per patient
    n_reg = np.bincount(reg_patient, minlength=n)
    w.n_patients = n
    w.p = {"payer": payer, "combo": combo, "inst": inst, "provider": provider, "n_reg": n_reg}
    w.p["reg_start"] = np.concatenate([[0], np.cumsum(n_reg)[:-1]])
    w.p["reg_prod"] = reg_prod  # per regimen entry
    w.p["comorbid"] = rng.random(n) * 2.5  # below 1: the patient has a comorbidity coded


def make_visits(w: World) -> None:
    """Regular claims, one per visit, visits at least a dosing cycle apart; one drug group per
    regimen entry on each."""
    rng, p = w.rng, w.p
    s_day, e_day = w.cat.window
    window = e_day - s_day
    min_days = np.nan_to_num(w.cat.products["min_days"].to_numpy()[p["reg_prod"]], nan=0.0)
    longest = np.maximum.reduceat(min_days, p["reg_start"])
    cycle = np.maximum(rng.choice([14, 21, 28], w.n_patients), np.ceil(longest)).astype("int64")
    visits = rng.choice(
        np.arange(1, 9), w.n_patients, p=[0.2, 0.18, 0.16, 0.14, 0.12, 0.09, 0.06, 0.05]
    )
    n_claims = np.minimum(visits, window // (cycle + 3) + 1)
    patient = np.repeat(np.arange(w.n_patients), n_claims)
    first = np.concatenate([[0], np.cumsum(n_claims)[:-1]])
    k = np.arange(len(patient)) - first[patient]
    gap = np.where(k > 0, cycle[patient] + rng.integers(0, 4, len(patient)), 0)
    cum = np.cumsum(gap)
    offset = cum - np.repeat(cum[first], n_claims)
    span = offset[first + n_claims - 1]
    first_day = s_day + (rng.random(w.n_patients) * (window - span + 1)).astype("int64")
    w.p["last_claim"] = first + n_claims - 1
    w.n_regular = len(patient)
    n_reg = p["n_reg"][patient]
    g_claim = np.repeat(np.arange(w.n_regular), n_reg)
    g_first = np.concatenate([[0], np.cumsum(n_reg)[:-1]])
    g_reg = p["reg_start"][patient[g_claim]] + np.arange(len(g_claim)) - np.repeat(g_first, n_reg)
    w.c = {"patient": patient, "day": first_day[patient] + offset}
    w.c["cpt"] = np.ones(w.n_regular, dtype=bool)
    w.g = {"claim": g_claim, "prod": p["reg_prod"][g_reg], "reg": g_reg}
    w.taken = np.zeros(w.n_regular, dtype=bool)


def add_claims(
    w: World, patient: np.ndarray, day: np.ndarray, prod: np.ndarray, cpt: bool
) -> np.ndarray:
    """Extra claims of one drug group each (a structural scenario's); returns their groups."""
    n_claim, n_group = len(w.c["patient"]), len(w.g["claim"])
    append(w.c, {"patient": patient, "day": day, "cpt": np.full(len(patient), cpt)})
    claims = np.arange(n_claim, n_claim + len(patient))
    append(w.g, {"claim": claims, "prod": prod, "reg": np.full(len(patient), -1)})
    w.taken = np.concatenate([w.taken, np.ones(len(patient), dtype=bool)])
    return np.arange(n_group, n_group + len(patient))


def claim_facts(w: World) -> None:
    """Per claim: payer, setting, payer sequence and a submission date within every limit the
    payer has (leaving room for a copy submitted later)."""
    c, rng = w.c, w.rng
    n = len(c["patient"])
    c["combo"], c["inst"] = w.p["combo"][c["patient"]], w.p["inst"][c["patient"]]
    c["payer"] = COMBO_TYPE[c["combo"]]
    c["secondary"] = rng.random(n) < 0.05
    c["no_paid"] = np.zeros(n, dtype=bool)
    limit = w.cat.payers.filing_limit[c["combo"]]
    max_lag = np.where(
        np.isnan(limit),
        MAX_CLEAN_LAG_DAYS,
        np.clip(np.nan_to_num(limit) - COPY_LAG_DAYS[1], 1, MAX_CLEAN_LAG_DAYS),
    )
    c["submit"] = c["day"] + 1 + (rng.random(n) * max_lag).astype("int64")
    c["frequency"] = np.full(n, "1", dtype=object)


# -- doses, waste and modifiers: the clean state of every drug group ---------------------------


def _group_facts(w: World) -> Table:
    """The product and payer facts each drug group needs, looked up once."""
    P, gp, claim = w.cat.products, w.g["prod"], w.g["claim"]
    inst, combo = w.c["inst"][claim], w.c["combo"][claim]
    mue = np.where(inst, P["mue_inst"].to_numpy()[gp], P["mue_prof"].to_numpy()[gp])
    per = np.nan_to_num(P["per_item"].to_numpy()[gp], nan=0.0)
    f = {name: P[name].to_numpy()[gp] for name in ("bua", "bunit", "convertible", "cls")}
    f |= {"cls_no_ndc": P["cls_no_ndc"].to_numpy()[gp], "pay_limit": P["pay_limit"].to_numpy()[gp]}
    f |= {"inst": inst, "combo": combo, "payer": COMBO_TYPE[combo], "mue": mue, "per": per}
    f["cap"] = np.where(np.isnan(mue), 1e9, mue)
    f["packaged"] = inst & P["packaged_si"].to_numpy()[gp]
    pays = w.cat.payers
    f["req_jw"], f["req_jz"] = pays.require_jw[combo], pays.require_jz[combo]
    f["req_ndc"] = pays.require_ndc[combo]
    f["pa_needed"] = w.cat.prior_auth[gp, combo]
    f["has_ndc"] = P["ndc11"].notna().to_numpy()[gp]
    f["ndc_policy"] = P["ndc_policy"].to_numpy()[gp]
    f["is_noc"] = P["is_noc"].to_numpy()[gp]
    return f


def _doses(w: World, g: Table) -> None:
    """Dose given, its billed units, the vials opened and the waste they leave."""
    n = len(g["claim"])
    u = w.rng.random((8, n))
    g["u"] = u
    bua, bunit, conv, per, cap = g["bua"], g["bunit"], g["convertible"], g["per"], g["cap"]
    has_per = per > 0
    vials = np.minimum(
        w.rng.choice([1, 2, 3], n, p=[0.7, 0.22, 0.08]), np.floor(cap / np.where(has_per, per, 1))
    )
    g["vial_ok"] = has_per & (vials >= 1)
    full = vials * per
    dose_bu = np.where(
        g["vial_ok"],
        full * (0.55 + 0.45 * u[0]),
        1 + np.floor(u[0] * np.minimum(cap, 12)) - 0.75 * u[1],
    )
    step = bua / 4
    with np.errstate(invalid="ignore"):
        g["amount"] = np.round(np.maximum(np.floor(dose_bu * bua / step), 1) * step, 6)
    g["admin_bu"] = billing_units(np.where(conv, g["amount"], np.nan), bua, bunit)
    g["expected"] = ceil_units(g["admin_bu"])
    raw = np.maximum(np.ceil(dose_bu - EPS), 1)
    g["billed"] = np.where(conv & ~np.isnan(g["expected"]), g["expected"], raw)
    g["dose_doc"] = conv & (u[2] < 0.88)
    g["waste_amt"] = np.round(full * bua - g["amount"], 6)
    waste_bu = billing_units(np.where(conv, g["waste_amt"], np.nan), bua, bunit)
    g["total"] = ceil_units(g["admin_bu"] + waste_bu)
    g["jw_units"] = g["total"] - g["expected"]


def _waste_policy(g: Table) -> None:
    """Who documents waste, who gets a JW line and who JZ, as the payer's policy says: JW/JZ
    only on known single-dose containers on separately payable lines of payers requiring
    them; elsewhere documented waste stays on the administration line."""
    u = g["u"]
    single = (g["cls"] == 1) & ~g["packaged"]
    billable = (
        g["dose_doc"]
        & g["vial_ok"]
        & (u[3] < 0.55)
        & (g["waste_amt"] > 0)
        & (g["jw_units"] >= 1)
        & (g["total"] <= g["cap"])
    )
    jw_policy = single & g["req_jw"]
    g["has_waste"] = billable & jw_policy  # documented, with its JW line
    g["waste_doc_only"] = billable & ~jw_policy & (u[4] < 0.6)
    g["jw_units"] = np.where(g["has_waste"], g["jw_units"], 0.0)
    g["jz"] = single & g["req_jz"] & ~g["has_waste"] & ~g["waste_doc_only"]
    # waste below one billing unit beside JZ (not billable: JZ is right): half the rounding gap
    gap = g["expected"] - g["admin_bu"]
    small_amt = np.round(np.nan_to_num(gap * 0.5) * g["bua"], 6)
    g["small_waste"] = g["jz"] & g["dose_doc"] & (gap >= 0.1) & (small_amt > 0) & (u[7] < 0.5)
    g["waste_value"] = np.where(g["small_waste"], small_amt, g["waste_amt"])
    g["waste_doc"] = g["has_waste"] | g["waste_doc_only"] | g["small_waste"]
    g["jw_line"] = g["has_waste"].copy()


def clean_groups(w: World) -> None:
    """Every drug group's clean state (facts, dose, waste, modifiers)."""
    g = w.g
    g.update(_group_facts(w))
    _doses(w, g)
    _waste_policy(g)
    g["ndc_droppable"] = (g["cls_no_ndc"] == g["cls"]) & ~g["ndc_policy"] & g["has_ndc"]


# -- lines: administration, JW, CPT administration ------------------------------------------


def _line_skeleton(w: World) -> Table:
    """Which line is what: kind (0 administration, 1 JW, 2 CPT, 3 copy), its group, its claim
    and its place on the claim (administration lines, their JW lines, then CPT lines)."""
    g, c, rng = w.g, w.c, w.rng
    n_group, n_claim = len(g["claim"]), len(c["patient"])
    jw_groups = np.flatnonzero(g["jw_line"])
    n_cpt = c["cpt"].astype("int64")
    n_cpt += (n_cpt > 0) & (rng.random(n_claim) < 0.25)
    cpt_claim = np.repeat(np.arange(n_claim), n_cpt)
    cpt_k = np.arange(len(cpt_claim)) - np.repeat(np.cumsum(n_cpt) - n_cpt, n_cpt)
    per_claim = np.bincount(g["claim"], minlength=n_claim)
    rank = np.arange(n_group) - np.concatenate([[0], np.cumsum(per_claim)[:-1]])[g["claim"]]
    g["jw_row"] = np.full(n_group, -1)
    g["jw_row"][jw_groups] = n_group + np.arange(len(jw_groups))
    kinds = (np.zeros(n_group), np.ones(len(jw_groups)), np.full(len(cpt_claim), 2))
    return {
        "kind": np.concatenate(kinds).astype("int8"),
        "group": np.concatenate([np.arange(n_group), jw_groups, np.full(len(cpt_claim), -1)]),
        "claim": np.concatenate([g["claim"], g["claim"][jw_groups], cpt_claim]),
        "seq": np.concatenate([rank * 2, rank[jw_groups] * 2 + 1, 1000 + cpt_k]),
    }


def _group_diagnoses(w: World) -> np.ndarray:
    """The drug's indication (a patient keeps one per drug from visit to visit) and sometimes
    a comorbidity."""
    cat, g, rng = w.cat, w.g, w.rng
    regular = g["reg"] >= 0
    reg_dx = pick_rowwise(rng, cat.dx_cand, w.p["reg_prod"], cat.dx_count[w.p["reg_prod"]])
    extra = g["prod"][~regular]
    primary = np.empty(len(g["claim"]), dtype=object)
    primary[regular] = reg_dx[g["reg"][regular]]
    primary[~regular] = pick_rowwise(rng, cat.dx_cand, extra, cat.dx_count[extra])
    comorbid = w.p["comorbid"][w.c["patient"][g["claim"]]]
    second = cat.comorbid[(comorbid % 1 * len(cat.comorbid)).astype("int64")]
    g["primary_dx"] = primary
    return np.where(comorbid < 1, primary + "|" + second, primary).astype(object)


def _add_tb(w: World, L: Table, drug: np.ndarray, gi: np.ndarray) -> None:
    """340B hospitals report TB on Medicare drug lines that OPPS pays separately."""
    provider = w.p["provider"][w.c["patient"][L["claim"]]]
    tb = drug & pd.Series(provider, dtype="object").isin(HOSPITALS_340B).to_numpy(bool)
    tb &= (w.g["payer"][gi] == MEDICARE) & w.g["inst"][gi] & ~w.g["packaged"][gi] & w.cat.tb_valid
    mods = pd.Series(L["modifiers"][tb], dtype="object")
    L["modifiers"][tb] = np.where(mods.isna(), "TB", mods.fillna("") + " TB")


def build_lines(w: World) -> None:
    """Every line's clean values."""
    g, c, rng, P = w.g, w.c, w.rng, w.cat.products
    L = _line_skeleton(w)
    kind, n = L["kind"], len(L["kind"])
    drug = kind != 2
    gi = np.where(drug, L["group"], 0)
    admin = kind == 0
    code = np.where(drug, P["hcpcs_code"].to_numpy()[g["prod"][gi]], None).astype(object)
    first, addon = rng.integers(0, len(CPT_ADMIN), n), rng.integers(0, len(CPT_ADDON), n)
    cpt = kind == 2
    code[cpt] = np.where(L["seq"][cpt] == 1000, CPT_ADMIN[first[cpt]], CPT_ADDON[addon[cpt]])
    mods = np.where(g["jz"], "JZ", None).astype(object)
    L["code"] = code
    L["modifiers"] = np.where(kind == 1, "JW", np.where(admin, mods[gi], None)).astype(object)
    _add_tb(w, L, drug, gi)
    L["units"] = np.where(kind == 1, g["jw_units"][gi], np.where(drug, g["billed"][gi], 1.0))
    dose = admin & g["dose_doc"][gi]
    waste = admin & g["waste_doc"][gi]
    L["amount"] = np.where(dose, g["amount"][gi], np.nan)
    L["unit"] = np.where(dose | waste, g["bunit"][gi], None).astype(object)
    L["wasted"] = np.where(waste, g["waste_value"][gi], np.nan)
    L["ndc"] = np.where(drug, P["ndc11"].to_numpy()[g["prod"][gi]], None).astype(object)
    L["per"] = np.where(drug, g["per"][gi], 0.0)
    rand = rng.random((4, n))
    L["qualifier"] = np.where(
        (L["per"] > 0) & (rand[0] < 0.75) & pd.notna(L["ndc"]), "UN", None
    ).astype(object)
    L["limit"] = np.where(drug, g["pay_limit"][gi], np.nan)
    g_dx = _group_diagnoses(w)
    first_group = np.full(len(c["patient"]), -1)
    first_group[g["claim"][::-1]] = np.arange(len(g["claim"]))[::-1]
    cpt_dx = g["primary_dx"][np.maximum(first_group[L["claim"]], 0)]
    L["dx"] = np.where(drug, g_dx[gi], cpt_dx).astype(object)
    pa_group = g["pa_needed"] | ((g["payer"] == 3) & (g["u"][6] > 0.8))
    number = pd.Series(rng.integers(10_000_000, 99_999_999, len(g["claim"]))).astype(str)
    pa = "PA" + number.to_numpy().astype(object)
    L["pa"] = np.where(drug & pa_group[gi], pa[gi], None).astype(object)
    L["plain_ndc"], L["markup"], L["cpt_charge"] = rand[1] < 0.3, rand[2], rand[3]
    L["charge_share"] = np.full(n, np.nan)  # A001: charge as this share of limit x units
    L["qty"] = np.full(n, np.nan)  # N005: an NDC quantity that does not cover the units
    L["drop"] = np.zeros(n, dtype=bool)  # M001: the JW line left out
    w.L = L


def append_copies(w: World, groups: np.ndarray, frequency: str) -> np.ndarray:
    """A copy of each group's administration line on a claim of its own, submitted later;
    returns the copies' line rows."""
    c, L = w.c, w.L
    src = w.g["claim"][groups]
    n_claim, n_line = len(c["patient"]), len(L["kind"])
    copies = {k: v[src] for k, v in c.items()}
    copies["submit"] = copies["submit"] + w.rng.integers(*COPY_LAG_DAYS, len(src))
    copies["frequency"] = np.full(len(src), frequency, dtype=object)
    copies["cpt"] = np.zeros(len(src), dtype=bool)
    append(c, copies)
    w.taken = np.concatenate([w.taken, np.ones(len(src), dtype=bool)])
    rows = {k: v[groups] for k, v in L.items()}  # administration line of group g is row g
    rows["kind"] = np.full(len(groups), 3, dtype="int8")
    rows["claim"] = np.arange(n_claim, n_claim + len(src))
    rows["seq"] = np.zeros(len(groups), dtype="int64")
    append(L, rows)
    return np.arange(n_line, n_line + len(groups))


# -- finishing: NDC quantities, charges, the other payer's payment; the block's frames ---------


def finish_lines(w: World) -> None:
    """Values that follow from the final units: NDC quantity, charge, other payer's payment."""
    L, c = w.L, w.c
    units, per = L["units"], L["per"]
    with np.errstate(invalid="ignore", divide="ignore"):
        qty = np.ceil(units / np.where(per > 0, per, np.nan) - EPS)
        qty = np.where(qty * per < units - EPS, qty + 1, qty)  # enough packages for the units
    qty = np.where(L["qualifier"] == "UN", np.maximum(qty, 1), np.nan)
    L["quantity"] = np.where(np.isnan(L["qty"]), qty, L["qty"])
    limit = L["limit"]
    charge = np.where(
        np.isnan(limit),
        np.round(units * (5 + 195 * L["markup"]), 2),
        np.ceil(limit * units * (1.05 + 1.5 * L["markup"]) * 100) / 100,
    )
    cpt = L["kind"] == 2
    charge[cpt] = np.round(80 + 370 * L["cpt_charge"][cpt], 2)
    share = ~np.isnan(L["charge_share"])
    charge[share] = np.floor(limit[share] * units[share] * L["charge_share"][share] * 100) / 100
    L["charge"] = charge
    secondary = c["secondary"][L["claim"]]
    paid = np.where(secondary, np.round(charge * 0.55, 2), np.nan)
    L["paid"] = np.where(c["no_paid"][L["claim"]], np.nan, paid)


@dataclass
class Block:
    """Lines of whole patients (numeric/object columns) and their planted labels."""

    lines: pd.DataFrame  # one row per claim line, ordered by claim then line number
    labels: pd.DataFrame  # row (position in `lines`), rule_code
    n_patients: int
    n_claims: int


def empty_labels() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype="int64"), "rule_code": pd.Series(dtype=str)})


def assemble(w: World) -> Block:
    """Order the kept lines by claim (administration, JW, CPT lines), number them, and map the
    labels to their final rows."""
    L, c = w.L, w.c
    kept = np.flatnonzero(~L["drop"])
    order = kept[np.lexsort((L["seq"][kept], L["claim"][kept]))]
    position = np.full(len(L["kind"]), -1)
    position[order] = np.arange(len(order))
    claim = L["claim"][order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(claim)) + 1])
    line_number = np.arange(len(order)) - np.repeat(starts, np.diff([*starts, len(order)])) + 1
    patient = c["patient"][claim]
    columns = {
        "_claim": claim,
        "provider_id": w.p["provider"][patient],
        "claim_frequency": c["frequency"][claim],
        "_patient": patient,
        "line_number": line_number,
        "combo": c["combo"][claim],
        "inst": c["inst"][claim],
        "service_day": c["day"][claim],
        "submit_day": c["submit"][claim],
        "secondary": c["secondary"][claim],
    }
    named = {"code": "hcpcs_code", "modifiers": "modifiers", "units": "billed_units",
             "charge": "charge_usd", "ndc": "ndc", "qualifier": "ndc_unit_qualifier",
             "quantity": "ndc_quantity", "amount": "administered_amount",
             "unit": "administered_unit", "wasted": "wasted_amount", "dx": "diagnosis_codes",
             "pa": "prior_auth_number", "paid": "other_payer_paid_usd",
             "plain_ndc": "plain_ndc"}  # fmt: skip
    columns |= {name: L[key][order] for key, name in named.items()}
    frames = [pd.DataFrame({"row": position[r], "rule_code": rule}) for r, rule in w.labels]
    labels = pd.concat([f for f in frames if len(f)] or [empty_labels()], ignore_index=True)
    if (labels["row"] < 0).any():
        raise AssertionError("a planted label points at a line that was left out")
    return Block(pd.DataFrame(columns), labels, w.n_patients, len(c["patient"]))
