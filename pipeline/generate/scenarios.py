"""The defect scenarios: one small function per defect family, named for the rule it plants.

Each takes the block under construction (`world.World`), chooses where its defect can be
planted without breaking any other rule (one defect per claim), plants it and labels the line
the audit must flag. `SCENARIOS` lists them in the order they choose (the scarcest first).
Structural scenarios (F002, C002) add claims before the doses are drawn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from claims_audit.generate.catalog import MEDICARE
from claims_audit.generate.world import (
    EPS,
    World,
    add_claims,
    append_copies,
    billing_units,
    ceil_units,
    first_per_key,
    pick_rowwise,
)
from claims_audit.rules.diagnosis import ICD10CM_RELEASE
from claims_audit.rules.units import SLIP_RATIOS

# -- structural: extra claims ----------------------------------------------------------------


def plant_f002_dose_too_soon(w: World) -> None:
    """An extra visit sooner than the curated interval after the patient's last dose."""
    g, c, P = w.g, w.c, w.cat.products
    md = P["min_days"].to_numpy()[g["prod"]]
    last = np.isin(g["claim"], w.p["last_claim"]) & (md >= 2)
    cand = w.rng.permutation(np.flatnonzero(last))
    cand = cand[first_per_key(c["patient"][g["claim"][cand]])][: w.target("F002")]
    anchor = g["claim"][cand]
    soon = 1 + (w.rng.random(len(cand)) * (np.ceil(md[cand]) - 1)).astype("int64")
    w.taken[anchor] = True
    groups = add_claims(w, c["patient"][anchor], c["day"][anchor] + soon, g["prod"][cand], True)
    w.label(groups, "F002")


def plant_c002_code_not_effective(w: World) -> None:
    """A claim of its own billing a code of the bundle outside its add/termination dates."""
    cat = w.cat
    n = min(w.target("C002"), w.n_patients) if len(cat.c002) else 0
    patient = w.rng.choice(w.n_patients, n, replace=False)
    entry = w.rng.integers(0, max(len(cat.c002), 1), n)
    prod = cat.c002[entry] if len(cat.c002) else np.zeros(0, dtype="int64")
    no_ndc = cat.products["ndc11"].isna().to_numpy()[prod]
    ok = ~(no_ndc & cat.payers.require_ndc[w.p["combo"][patient]])
    patient, entry, prod = patient[ok], entry[ok], prod[ok]
    lo, hi = cat.c002_lo[entry], cat.c002_hi[entry]
    day = lo + (w.rng.random(len(entry)) * (hi - lo + 1)).astype("int64")
    w.label(add_claims(w, patient, day, prod, False), "C002")


STRUCTURAL: tuple[tuple[str, Callable[[World], None]], ...] = (
    ("F002", plant_f002_dose_too_soon),
    ("C002", plant_c002_code_not_effective),
)

# -- units -------------------------------------------------------------------------------------


def is_slip(
    billed: np.ndarray, expected: np.ndarray, amount: np.ndarray, bua: np.ndarray
) -> np.ndarray:
    """`claims_audit.rules.units.unit_slip` for a dose-documented, non-JW line."""
    with np.errstate(invalid="ignore", divide="ignore"):
        as_amount = np.isclose(billed, amount) & ~np.isclose(bua, 1.0)
        ratio = np.where(expected > 0, billed / np.where(expected > 0, expected, 1), -1)
    power = np.zeros(len(billed), dtype=bool)
    for r in SLIP_RATIOS:
        power |= np.isclose(ratio, r)
    return ~np.isclose(billed, expected) & (as_amount | power)


def plant_u001_units_over_dose(w: World) -> None:
    """Billed units of the documented dose + 1."""
    g = w.g
    units = g["expected"] + 1
    ok = g["dose_doc"] & ~is_slip(units, g["expected"], g["amount"], g["bua"])
    rows = w.choose(ok & (units + g["jw_units"] <= g["cap"]), "U001")
    w.L["units"][rows] = units[rows]
    w.label(rows, "U001")


def plant_u002_units_under_dose(w: World) -> None:
    """Billed units of the documented dose - 1."""
    g = w.g
    units = g["expected"] - 1
    ok = g["dose_doc"] & (units >= 1) & ~is_slip(units, g["expected"], g["amount"], g["bua"])
    rows = w.choose(ok, "U002")
    w.L["units"][rows] = units[rows]
    w.label(rows, "U002")


def plant_u003_dose_over_mue(w: World) -> None:
    """A documented dose of MUE + 1..3 units, billed correctly (no waste on the group)."""
    g = w.g
    units = np.where(np.isnan(g["mue"]), np.nan, g["mue"] + 1 + np.floor(g["u"][5] * 3))
    amount = np.round(units * g["bua"], 6)
    conv = g["convertible"]
    expected = ceil_units(billing_units(np.where(conv, amount, np.nan), g["bua"], g["bunit"]))
    ok = ~np.isnan(g["mue"]) & np.where(conv, np.isclose(expected, units), True)
    rows = w.choose(ok & ~g["has_waste"] & ~g["waste_doc_only"] & ~g["small_waste"], "U003")
    w.L["units"][rows] = units[rows]
    w.L["amount"][rows] = np.where(conv[rows], amount[rows], np.nan)
    w.L["unit"][rows] = np.where(conv[rows], g["bunit"][rows], None)
    w.label(rows, "U003")


def plant_u003_cpt_over_mue(w: World) -> None:
    """A CPT administration line billed over its MUE (the one rule that judges CPT lines)."""
    L, c, cat = w.L, w.c, w.cat
    rows = np.flatnonzero((L["kind"] == 2) & (L["claim"] < w.n_regular))
    rows = rows[~w.taken[L["claim"][rows]]]
    codes = pd.Series(L["code"][rows], dtype="object")
    cap = np.where(
        c["inst"][L["claim"][rows]],
        codes.map(cat.cpt_mue["inst"]).to_numpy(dtype="float64"),
        codes.map(cat.cpt_mue["prof"]).to_numpy(dtype="float64"),
    )
    rows, cap = rows[cap >= 1], cap[cap >= 1]
    pick = w.rng.permutation(len(rows))
    pick = np.sort(pick[first_per_key(L["claim"][rows[pick]])][: w.target("U003", 0.3)])
    L["units"][rows[pick]] = cap[pick] + 1 + np.floor(w.rng.random(len(pick)) * 2)
    w.taken[L["claim"][rows[pick]]] = True
    w.label(rows[pick], "U003")


def plant_u004_unit_slip(w: World) -> None:
    """Units x 10, / 10, or the amount in its own unit (descriptor not 1)."""
    g = w.g
    exp, amount, jw, cap = g["expected"], g["amount"], g["jw_units"], g["cap"]
    times_ten = exp * 10 + jw <= cap
    tenth = (exp >= 10) & np.isclose(np.mod(exp, 10), 0)
    units = np.where(times_ten, exp * 10, np.where(tenth, exp / 10, amount))
    as_amount = (
        ~np.isclose(g["bua"], 1.0)
        & np.isclose(amount, np.round(amount))
        & (amount >= 1)
        & (amount + jw <= cap)
    )
    ok = g["dose_doc"] & (times_ten | tenth | as_amount) & is_slip(units, exp, amount, g["bua"])
    rows = w.choose(ok, "U004")
    w.L["units"][rows] = units[rows]
    w.label(rows, "U004")


def plant_u005_fractional_units(w: World) -> None:
    """Half a unit added, on a line without documented dose."""
    g = w.g
    rows = w.choose(~g["dose_doc"] & ~g["has_waste"] & (g["billed"] + 0.5 <= g["cap"]), "U005")
    w.L["units"][rows] = w.L["units"][rows] + 0.5
    w.label(rows, "U005")


# -- modifiers (JW/JZ where the payer's policy applies) ------------------------------------------


def plant_m001_missing_jw(w: World) -> None:
    """The JW line of a group with billable, documented waste left out."""
    rows = w.choose(w.g["has_waste"], "M001")
    w.L["drop"][w.g["jw_row"][rows]] = True
    w.label(rows, "M001")


def plant_m002_missing_jz(w: World) -> None:
    """JZ left off a single-dose, separately payable line with no billable waste."""
    rows = w.choose(w.g["jz"], "M002")
    w.L["modifiers"][rows] = None
    w.label(rows, "M002")


def plant_m003_jz_with_waste(w: World) -> None:
    """JZ added to the administration line of a group with waste and a JW line."""
    rows = w.choose(w.g["has_waste"], "M003")
    w.L["modifiers"][rows] = "JZ"
    w.label(rows, "M003")


def plant_m004_jw_units_mismatch(w: World) -> None:
    """JW line units one more (or less) than units(given + wasted) - units(given)."""
    g = w.g
    jw = g["jw_units"]
    units = np.where(g["expected"] + jw + 1 <= g["cap"], jw + 1, jw - 1)
    groups = w.choose(g["has_waste"] & (units >= 1), "M004")
    rows = g["jw_row"][groups]
    w.L["units"][rows] = units[groups]
    w.label(rows, "M004")


def plant_m005_jz_on_multi_dose(w: World) -> None:
    """JZ on a multi-dose container line of a payer requiring JZ (separately payable)."""
    g = w.g
    ok = (g["cls"] == 2) & g["req_jz"] & ~g["packaged"] & ~g["waste_doc_only"]
    rows = w.choose(ok, "M005")
    w.L["modifiers"][rows] = "JZ"
    w.label(rows, "M005")


def plant_m006_invalid_modifier(w: World) -> None:
    """An unknown or terminated modifier added (separately payable lines)."""
    bad = w.cat.bad_modifiers
    rows = w.choose(np.full(len(w.g["claim"]), len(bad) > 0) & ~w.g["packaged"], "M006")
    added = bad[w.rng.integers(0, max(len(bad), 1), len(rows))]
    current = pd.Series(w.L["modifiers"][rows], dtype="object")
    w.L["modifiers"][rows] = np.where(current.isna(), added, current.fillna("") + " " + added)
    w.label(rows, "M006")


def plant_m007_jw_without_waste(w: World) -> None:
    """The wasted amount left out of a group that has a JW line."""
    groups = w.choose(w.g["has_waste"], "M007")
    w.L["wasted"][groups] = np.nan
    w.label(w.g["jw_row"][groups], "M007")


# -- NDCs --------------------------------------------------------------------------------------


def _drop_ndc(w: World, rows: np.ndarray) -> None:
    w.L["ndc"][rows] = w.L["qualifier"][rows] = None


def plant_n001_ndc_missing(w: World) -> None:
    """NDC dropped on the line of a payer that requires one (not a NOC code: that is C003)."""
    g = w.g
    rows = w.choose(g["req_ndc"] & g["ndc_droppable"] & ~g["is_noc"], "N001")
    _drop_ndc(w, rows)
    w.label(rows, "N001")


def plant_n002_ndc_malformed(w: World) -> None:
    """NDC as 10 digits without hyphens, or with a 3-digit package segment."""
    rows = w.choose(w.g["ndc_droppable"], "N002")
    digits = pd.Series(w.L["ndc"][rows], dtype="object").str.replace("-", "", regex=False)
    long = digits.str[:5] + "-" + digits.str[5:9] + "-" + digits.str[9:] + "0"
    ten = w.rng.random(len(rows)) < 0.5
    w.L["ndc"][rows] = np.where(ten, digits.str[1:].to_numpy(), long.to_numpy())
    w.label(rows, "N002")


def _other_code_ndc(w: World, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For N003: NDCs that crosswalk only to other codes and leave the line's container type
    (and curated policy) as it was. Returns the NDCs and which rows got one."""
    cat, g = w.cat, w.g
    codes, cls, cls_code = w.L["code"][rows], g["cls"][rows], g["cls_no_ndc"][rows]
    out, done = np.empty(len(rows), dtype=object), np.zeros(len(rows), dtype=bool)
    for _ in range(12):  # redraw the rows whose NDC did not fit, a few times
        todo = np.flatnonzero(~done)
        use_none = (cls_code[todo] == cls[todo]) & (w.rng.random(len(todo)) < 0.5)
        pool_cls = np.where(use_none, 0, cls[todo])
        pick = np.empty(len(todo), dtype=object)
        for k in (0, 1, 2):
            sel, pool = pool_cls == k, cat.ndc_by_class[k]
            if sel.any() and len(pool):
                pick[sel] = pool[w.rng.integers(0, len(pool), sel.sum())]
        pair = pd.Series(codes[todo], dtype="object") + "|" + pd.Series(pick, dtype="object")
        good = pd.notna(pick) & ~pair.isin(cat.xwalk_pairs | cat.policy_pairs).to_numpy()
        good &= (pool_cls != 0) | (cls_code[todo] == cls[todo])
        out[todo[good]], done[todo[good]] = pick[good], True
    return out, done


def plant_n003_ndc_of_another_code(w: World) -> None:
    """NDC of another code (same container type, same curated policy)."""
    rows = w.choose(~w.g["ndc_policy"] & w.g["has_ndc"], "N003")
    ndc, done = _other_code_ndc(w, rows)
    w.L["ndc"][rows[done]] = ndc[done]
    w.label(rows[done], "N003")


def plant_n004_ndc_not_in_crosswalk(w: World) -> None:
    """A well-formed NDC that no reference table lists."""
    rows = w.choose(w.g["ndc_droppable"], "N004")
    out, todo = np.empty(len(rows), dtype=object), np.arange(len(rows))
    while len(todo):
        text = pd.Series(w.rng.integers(10**9, 10**11, len(todo))).astype(str).str.zfill(11)
        ndc = (text.str[:5] + "-" + text.str[5:9] + "-" + text.str[9:]).to_numpy()
        fresh = ~pd.Series(ndc).isin(w.cat.known_ndcs).to_numpy()
        out[todo[fresh]] = ndc[fresh]
        todo = todo[~fresh]
    w.L["ndc"][rows] = out
    w.label(rows, "N004")


def plant_n005_ndc_quantity_short(w: World) -> None:
    """UN quantity worth half the billed units."""
    L = w.L
    rows = w.choose((w.g["per"] > 0) & w.g["has_ndc"], "N005")
    units, per = L["units"][rows], L["per"][rows]
    small = np.floor(units / per * 0.5 * 1000) / 1000
    ok = (small > 0) & (small * per < units - EPS)
    L["qualifier"][rows[ok]] = "UN"
    L["qty"][rows[ok]] = small[ok]
    w.label(rows[ok], "N005")


# -- codes -------------------------------------------------------------------------------------


def plant_c001_unknown_code(w: World) -> None:
    """A J code the bundle does not hold, or the code with a digit too many; NDC dropped
    (on payers that do not require one)."""
    g, L = w.g, w.L
    rows = w.choose(~g["has_waste"] & ~g["req_ndc"], "C001")
    unknown = w.cat.unknown_codes
    drawn = unknown[w.rng.integers(0, max(len(unknown), 1), len(rows))] if len(unknown) else None
    digit = pd.Series(w.rng.integers(0, 10, len(rows))).astype(str).to_numpy()
    typo = pd.Series(L["code"][rows], dtype="object").to_numpy() + digit
    use_typo = (w.rng.random(len(rows)) < 0.5) | (drawn is None)
    L["code"][rows] = np.where(use_typo, typo, drawn if drawn is not None else typo)
    _drop_ndc(w, rows)
    w.label(rows, "C001")


def plant_c003_noc_code(w: World) -> None:
    """A true drug NOC code of the bundle (no descriptor unit: J3490, J9999) billed without an
    NDC; no dose, waste or modifier on the line (the drug is unknown)."""
    g, L, noc = w.g, w.L, w.cat.noc
    pick = w.rng.integers(0, max(len(noc), 1), len(g["claim"]))
    if len(noc):
        mue = np.where(
            g["inst"], noc["mue_inst"].to_numpy()[pick], noc["mue_prof"].to_numpy()[pick]
        )
    else:
        mue = np.zeros(len(pick))
    fits = np.nan_to_num(mue, nan=np.inf) >= g["billed"]
    plain = ~g["has_waste"] & ~g["waste_doc"] & ~g["req_ndc"]
    rows = w.choose(fits & plain & (len(noc) > 0), "C003")
    L["code"][rows] = noc["hcpcs_code"].to_numpy()[pick[rows]] if len(noc) else None
    L["limit"][rows] = noc["pay_limit"].to_numpy()[pick[rows]] if len(noc) else np.nan
    L["units"][rows] = g["billed"][rows]
    L["modifiers"][rows] = L["unit"][rows] = None
    L["amount"][rows] = L["wasted"][rows] = np.nan
    L["per"][rows] = 0.0
    L["pa"][rows] = "PA" + pd.Series(rows).astype(str).str.zfill(8).to_numpy()
    _drop_ndc(w, rows)
    w.label(rows, "C003")


# -- diagnoses ---------------------------------------------------------------------------------


def plant_d001_diagnosis_missing(w: World) -> None:
    """Diagnosis codes dropped."""
    rows = w.choose(np.ones(len(w.g["claim"]), dtype=bool), "D001")
    w.L["dx"][rows] = None
    w.label(rows, "D001")


def plant_d002_invalid_diagnosis(w: World) -> None:
    """A category header or non-code appended to the diagnoses (E11, C50, ...), on a line
    served inside the ICD-10-CM release (D002 judges only those)."""
    bad = w.cat.invalid_dx
    start, end = (pd.Timestamp(ICD10CM_RELEASE[k]) for k in ("valid_from", "valid_to"))
    day = w.c["day"][w.g["claim"]]
    inside = (day >= (start - pd.Timestamp(0)).days) & (day <= (end - pd.Timestamp(0)).days)
    rows = w.choose(inside & (len(bad) > 0), "D002")
    added = bad[w.rng.integers(0, max(len(bad), 1), len(rows))]
    w.L["dx"][rows] = pd.Series(w.L["dx"][rows], dtype="object").to_numpy() + "|" + added
    w.label(rows, "D002")


def plant_d003_diagnosis_not_supported(w: World) -> None:
    """Diagnoses replaced by billable codes outside the curated indications."""
    cat, g = w.cat, w.g
    indicated = cat.products["indications"].notna().to_numpy()[g["prod"]]
    rows = w.choose(indicated & (cat.dx_bad_count[g["prod"]] > 0), "D003")
    prod = g["prod"][rows]
    w.L["dx"][rows] = pick_rowwise(w.rng, cat.dx_bad, prod, cat.dx_bad_count[prod])
    w.label(rows, "D003")


# -- frequency, payer, amount ------------------------------------------------------------------


def plant_f001_duplicate_line(w: World) -> None:
    """The administration line resubmitted on a claim of its own (same day, units, mods)."""
    g = w.g
    groups = w.choose(~g["has_waste"] & (2 * g["billed"] <= g["cap"]), "F001")
    w.label(append_copies(w, groups, "1"), "F001")


def plant_p001_prior_auth_missing(w: World) -> None:
    """Prior auth number dropped where curated policy or the configuration requires one."""
    rows = w.choose(w.g["pa_needed"], "P001")
    w.L["pa"][rows] = None
    w.label(rows, "P001")


def _choose_claims(w: World, eligible: np.ndarray, rule: str) -> np.ndarray:
    """Regular claims without a defect for a claim-level rule; every drug line is labelled."""
    ok = eligible[: w.n_regular] & ~w.taken[: w.n_regular]
    claims = np.sort(w.rng.permutation(np.flatnonzero(ok))[: w.target(rule)])
    w.taken[claims] = True
    w.label(np.flatnonzero(np.isin(w.L["claim"], claims) & (w.L["kind"] != 2)), rule)
    return claims


def plant_p002_timely_filing(w: World) -> None:
    """A Medicare claim (no filing limit: the calendar-year rule) submitted 367-450 days after
    the service."""
    c = w.c
    calendar = (c["payer"] == MEDICARE) & np.isnan(w.cat.payers.filing_limit[c["combo"]])
    claims = _choose_claims(w, calendar, "P002")
    c["submit"][claims] = c["day"][claims] + w.rng.integers(367, 451, len(claims))


def plant_p003_cob_incomplete(w: World) -> None:
    """A secondary claim without the other payer's paid amount."""
    claims = _choose_claims(w, np.ones(len(w.c["patient"]), dtype=bool), "P003")
    w.c["secondary"][claims] = True
    w.c["no_paid"][claims] = True


def plant_a001_charge_below_limit(w: World) -> None:
    """Charge 40-90% of payment limit x units (professional lines)."""
    g = w.g
    rows = w.choose((np.nan_to_num(g["pay_limit"] * g["billed"]) >= 1.0) & ~g["inst"], "A001")
    w.L["charge_share"][rows] = 0.4 + 0.5 * w.rng.random(len(rows))
    w.label(rows, "A001")


# in the order they choose: scarce families first, so that each finds its candidates
SCENARIOS: tuple[tuple[str, Callable[[World], None]], ...] = (
    ("C003", plant_c003_noc_code),
    ("M005", plant_m005_jz_on_multi_dose),
    ("M003", plant_m003_jz_with_waste),
    ("M001", plant_m001_missing_jw),
    ("M004", plant_m004_jw_units_mismatch),
    ("M007", plant_m007_jw_without_waste),
    ("M002", plant_m002_missing_jz),
    ("D002", plant_d002_invalid_diagnosis),
    ("D003", plant_d003_diagnosis_not_supported),
    ("P001", plant_p001_prior_auth_missing),
    ("N001", plant_n001_ndc_missing),
    ("N005", plant_n005_ndc_quantity_short),
    ("U004", plant_u004_unit_slip),
    ("U003", plant_u003_dose_over_mue),
    ("N003", plant_n003_ndc_of_another_code),
    ("U001", plant_u001_units_over_dose),
    ("U002", plant_u002_units_under_dose),
    ("U005", plant_u005_fractional_units),
    ("A001", plant_a001_charge_below_limit),
    ("C001", plant_c001_unknown_code),
    ("N002", plant_n002_ndc_malformed),
    ("N004", plant_n004_ndc_not_in_crosswalk),
    ("M006", plant_m006_invalid_modifier),
    ("D001", plant_d001_diagnosis_missing),
    ("F001", plant_f001_duplicate_line),
    ("P002", plant_p002_timely_filing),
    ("P003", plant_p003_cob_incomplete),
    ("U003", plant_u003_cpt_over_mue),
)
EVERY_SCENARIO = STRUCTURAL + SCENARIOS
PLANTABLE = tuple(sorted({rule for rule, _ in EVERY_SCENARIO}))
# how each defect is planted (one defect per claim; where the bundle lacks what a defect
# needs, e.g. a NOC code, it is not planted)
PLANTED_AS = {
    rule: "; or ".join(
        (fn.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip().rstrip(".")
        for r, fn in EVERY_SCENARIO
        if r == rule
    )
    for rule in PLANTABLE
}
