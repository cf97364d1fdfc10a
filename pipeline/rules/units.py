"""Unit rules: billed units against the documented dose, the MUE, and whole-unit billing.

Units are compared in the code's billing unit: expected = units(administered) under the
rounding policy (enrich computes `expected_units`). Impact is at the payment of the line's
setting (`rate_usd`: ASP payment limit, or the OPPS rate of a separately paid drug).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims_audit.columns import group_sum
from claims_audit.enrich import MUE_SETTING
from claims_audit.rules.common import (
    NO_BILLING_UNIT,
    NO_DOSE,
    NO_MUE,
    RuleContext,
    at_rate,
    category_is,
    finer_groups,
    fmt_num,
    is_whole,
    join_text,
    reasons,
    text_of,
    unit_text,
)
from claims_audit.rules.registry import Flags, rule

CITATION_UNITS = (
    "Medicare Claims Processing Manual Pub. 100-04 Ch. 17; CMS JW/JZ modifier FAQs "
    "(bill units of the HCPCS descriptor, next whole unit when not a multiple)"
)
SLIP_RATIOS = (10.0, 100.0, 1000.0, 0.1, 0.01, 0.001)
# what an MUE adjudication indicator means (NCCI MUE, "MAI" column; NCCI Policy Manual ch. I)
MAI_MEANING = {
    1: "MAI 1, line edit: the line's units are denied",
    2: "MAI 2, policy edit: absolute, an appeal cannot succeed",
    3: "MAI 3, clinical edit: documentation of medical necessity may support an appeal",
}
# the CARC of an MUE denial by claim type (Noridian: CO-96 practitioner; B5 outpatient hospital)
MUE_CARC = {"professional": "96", "institutional": "B5"}
MUE_DAY = ["patient_key", "hcpcs_code", "service_date", "claim_type", "provider_key"]


def dose_evaluable(lines: pd.DataFrame) -> pd.Series:
    """Not a JW line, a dose documented, and convertible into the code's billing unit."""
    return ~lines["has_jw"] & lines["admin_bu"].notna() & lines["expected_units"].notna()


def unit_slip(lines: pd.DataFrame) -> pd.Series:
    """Billed the dose in its own unit (descriptor not 1), or off by a power of ten (judged on
    the dose-evaluable lines only)."""
    at = np.flatnonzero(dose_evaluable(lines).to_numpy(dtype=bool, na_value=False))

    def column(name: str) -> np.ndarray:
        return lines[name].to_numpy(dtype="float64", na_value=np.nan)[at]

    billed, expected = column("billed_units"), column("expected_units")
    as_amount = np.isclose(billed, column("administered_amount")) & ~np.isclose(
        column("billing_unit_amount"), 1.0
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, billed / expected, -1.0)
    power_of_ten = np.zeros(len(at), dtype=bool)
    for r in SLIP_RATIOS:  # np.isclose(ratio, r), its tolerance computed once per ratio
        power_of_ten |= np.abs(ratio - r) <= 1e-8 + 1e-5 * abs(r)
    slip = np.zeros(len(lines), dtype=bool)
    slip[at] = ~np.isclose(billed, expected) & (as_amount | power_of_ten)
    return pd.Series(slip, index=lines.index)


def _slipped(lines: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """`unit_slip` of the lines, computed once for the three dose rules (U001, U002, U004)."""
    return ctx.shared(lines, ("unit_slip",), lambda: unit_slip(lines))


def units_impact(lines: pd.DataFrame) -> pd.Series:
    """Signed dollars: + missed revenue when under-billed, - overpayment risk when over."""
    return at_rate(lines["expected_units"] - lines["billed_units"], lines)


def _dose_message(r: pd.DataFrame, tail: str = "") -> pd.Series:
    return join_text(
        "billed ",
        fmt_num(r["billed_units"]),
        " units of ",
        r["hcpcs_code"],
        " (",
        unit_text(r),
        " each) for ",
        fmt_num(r["administered_amount"]),
        " ",
        r["administered_unit"],
        " given; expected ",
        fmt_num(r["expected_units"]),
        tail,
    )


def _dose_ok(lines: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """Lines U001 and U002 judge: dose evaluable and not a unit slip (U004's)."""
    return ctx.shared(lines, ("dose_ok",), lambda: _evaluable(lines, ctx) & ~_slipped(lines, ctx))


def _evaluable(lines: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """`dose_evaluable` of the lines, computed once for the dose rules."""
    return ctx.shared(lines, ("dose_evaluable",), lambda: dose_evaluable(lines))


def _dose_verdict(lines: pd.DataFrame, ctx: RuleContext) -> dict:
    """What the three dose rules report alike: JW lines are M004's (not applicable); a line
    without a documented dose, or whose dose cannot be converted into the code's billing unit,
    is not evaluated."""
    no_dose = lines["administered_amount"].isna()
    return dict(
        applicable=~lines["has_jw"],
        evaluated=_evaluable(lines, ctx),
        reason=reasons(lines.index, (no_dose, NO_DOSE), default=NO_BILLING_UNIT),
        observed=lines["billed_units"],
        expected=lines["expected_units"],
        units_delta=lambda r: r["billed_units"] - r["expected_units"],  # the flagged lines only
        impact_usd=units_impact,
    )


def _dose_flags(lines: pd.DataFrame, ctx: RuleContext, mask: pd.Series, tail: str = "") -> Flags:
    """A dose rule's verdict (`_dose_verdict`, computed once for the three rules)."""
    verdict = ctx.shared(lines, ("dose_verdict",), lambda: _dose_verdict(lines, ctx))
    return Flags(mask=mask, message=lambda r: _dose_message(r, tail), **verdict)


@rule("U001", "units-over-dose", "units", "error", CITATION_UNITS)
def units_over_dose(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: on a line that is not a JW line and documents the dose, billed_units is
    greater than the units the dose allows (dose / descriptor amount, rounded per policy).
    Why it matters: units above the documented dose are an overpayment that auditors recoup.
    Example: Avastin (J9035, per 10 mg) 375 mg given is 38 units; 40 units billed is 2 too many.
    Fix: bill the units of the documented dose; bill discarded drug on its own JW line.
    """
    ok = _dose_ok(lines, ctx)
    return _dose_flags(lines, ctx, ok & (lines["billed_units"] > lines["expected_units"] + 1e-9))


@rule("U002", "units-under-dose", "units", "warning", CITATION_UNITS)
def units_under_dose(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: on a line that is not a JW line and documents the dose, billed_units is
    fewer than the units the dose allows.
    Why it matters: under-billing leaves revenue on the table and misstates utilisation.
    Example: octreotide J2354 is per 25 mcg: 100 mcg given is 4 units; 1 unit was billed.
    Fix: bill dose / descriptor amount, rounded up to the next whole unit.
    """
    ok = _dose_ok(lines, ctx)
    return _dose_flags(lines, ctx, ok & (lines["billed_units"] < lines["expected_units"] - 1e-9))


@rule(
    "U003",
    "units-over-mue",
    "units",
    "error",
    "CMS NCCI Medically Unlikely Edits, practitioner and outpatient hospital tables (quarterly); "
    "NCCI Policy Manual for Medicare Services ch. I (MUE)",
    scope="hcpcs+cpt",
)
def units_over_mue(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the MUE of the line's setting (professional: practitioner table;
    institutional: outpatient hospital table), for HCPCS and CPT codes alike (administration
    codes such as 96413 are judged by this rule only). MAI 1: the line's billed_units exceed the
    MUE. MAI 2 or 3: the units of the code for the patient on the date of service, same claim
    type and same provider (provider_id; lines without one count as one provider), all claims
    and JW lines included, exceed the MUE; reported once, on the first of those lines by
    (claim_id, line_number), with the day's total observed. An MUE of 0 is reported as not
    payable in that setting, with the file's rationale. Void claims take no part; where a day
    has lines of a replacement claim (claim_frequency 7) only the replacement claims' lines are
    counted and judged, since the input does not say which claim a replacement replaces (the
    MAC counts the replacement instead of the claim it replaces; this lower bound never reports
    a total the MAC would not see). Codes without an MUE row are not evaluated.
    Why it matters: the MAC denies the whole line (MAI 1) or all of the day's units of the code
    (MAI 2/3), not just the excess; MAI 2 denials cannot be appealed, MAI 3 denials can with
    the records. The impact is all the units denied at the line's rate.
    Example: J2354 has an MUE of 60 (practitioner, MAI 3, April 2026); 40 + 24 units on one day
    for one patient and provider are 64: all 64 units are denied.
    Fix: check the dose and units; if clinically right, document medical necessity for appeal
    (MAI 3); for an MUE of 0 bill the service in the setting that pays it.
    """
    judged = _mask(lines, "in_scope") | _mask(lines, "cpt_in_scope")
    billed = lines["billed_units"].to_numpy(dtype="float64", na_value=np.nan)
    mue = lines["mue_value"].to_numpy(dtype="float64", na_value=np.nan)
    counted = judged & ~np.isnan(mue)
    day = finer_groups(lines, ctx, MUE_DAY)
    replacement = _mask(lines, "is_replacement")
    replaced_day = np.bincount(day, weights=counted & replacement)[day] > 0
    counts = counted & (~replaced_day | replacement)
    day_total = group_sum(pd.Series(np.where(counts, billed, np.nan)), day).to_numpy()
    per_line = lines["mai"].to_numpy(dtype="float64", na_value=np.nan) == 1
    denied = pd.Series(np.where(per_line, billed, day_total), index=lines.index)
    over_day = counts & ~per_line & (day_total > mue)
    # a day's excess is reported once: on its first line by (claim_id, line_number)
    over_at = np.flatnonzero(over_day)
    firsts = (
        lines[["claim_id", "line_number"]]
        .iloc[over_at]
        .assign(_day=day[over_at])
        .reset_index(drop=True)
        .sort_values(["claim_id", "line_number"])
        .drop_duplicates("_day")
        .index.to_numpy()
    )
    mask = counts & per_line & (billed > mue)
    mask[over_at[firsts]] = True
    institutional = category_is(lines["claim_type"], "institutional")
    carc = pd.Series(  # from integer codes: no per-line strings
        pd.Categorical.from_codes(
            institutional.astype(np.int8),
            categories=[MUE_CARC["professional"], MUE_CARC["institutional"]],
        ),
        index=lines.index,
    )
    mue = lines["mue_value"]
    return Flags(
        mask=pd.Series(mask, index=lines.index),
        evaluated=pd.Series(counted, index=lines.index),
        reason=NO_MUE,
        observed=denied,
        expected=mue,
        units_delta=lambda r: r.pick(denied) - r["mue_value"],  # the flagged lines only
        impact_usd=at_rate(-denied, lines),
        carc=carc,
        message=lambda r: _mue_message(r, r.pick(denied)),
    )


def _mask(lines: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column as a numpy mask (NA counts as False)."""
    return lines[column].to_numpy(dtype=bool, na_value=False)


# the MUE setting of a claim type, as the message names it (professional: practitioner)
_SETTING_TEXT = [MUE_SETTING[kind].replace("_", " ") for kind in ("professional", "institutional")]
_MAI_TEXT = [*MAI_MEANING.values(), "MAI unknown"]
_UNITS_WHERE = [" units on the line", " units for the patient on the day"]


def _mue_message(r, denied: pd.Series) -> pd.Series:
    """`J2354: 64 units for the patient on the day exceed the MUE of 60 (practitioner; MAI 3,
    clinical edit: ...; rationale: Prescribing Information); all 64 units are denied`."""
    mai = r["mai"].to_numpy(dtype="float64", na_value=np.nan)
    kinds = np.select(
        [mai == k for k in MAI_MEANING], list(range(len(MAI_MEANING))), len(MAI_MEANING)
    )
    meaning = text_of(kinds, _MAI_TEXT, r.index)
    institutional = (r["claim_type"] == "institutional").to_numpy(dtype=bool, na_value=False)
    setting = text_of(institutional.astype(np.int64), _SETTING_TEXT, r.index)
    why = "; rationale: " + r["mue_rationale"].fillna("not given")
    units = fmt_num(denied)
    where = text_of((mai != 1).astype(np.int64), _UNITS_WHERE, r.index)
    over = join_text(
        r["hcpcs_code"],
        ": ",
        units,
        where,
        " exceed the MUE of ",
        fmt_num(r["mue_value"]),
        " (",
        setting,
        "; ",
        meaning,
        why,
        "); all ",
        units,
        " units are denied",
    )
    zero = join_text(
        r["hcpcs_code"],
        " is not payable in the ",
        setting,
        " setting (MUE 0; ",
        meaning,
        why,
        "): ",
        units,
        " units denied",
    )
    return over.where(r["mue_value"].astype("float64") != 0, zero)


@rule("U004", "unit-of-measure-slip", "units", "error", CITATION_UNITS)
def unit_of_measure_slip(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: replaces U001/U002 on a line whose billed_units equal the administered
    amount in its own unit while the descriptor is not 1 of that unit, or are 10, 100 or 1000
    times the expected units (or a tenth, hundredth, thousandth of them).
    Why it matters: billing milligrams as units multiplies the payment; it is the classic,
    costly J-code error, and payers recoup it in full.
    Example: Avastin J9035 is per 10 mg: 375 mg given billed as 375 units instead of 38.
    Fix: divide the dose by the descriptor amount (10 mg) and round up: 38 units.
    """
    tail = " (dose billed in the wrong unit of measure)"
    return _dose_flags(lines, ctx, _slipped(lines, ctx), tail=tail)


@rule(
    "U005",
    "fractional-units",
    "units",
    "warning",
    "Medicare Claims Processing Manual Pub. 100-04 Ch. 17 (units are whole numbers)",
)
def fractional_units(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: billed_units is not a whole number.
    Why it matters: Medicare Part B units are whole numbers; a fractional unit is rejected or
    truncated by the payer's system.
    Example: 2.5 units of J1645 (per 2500 IU) for 6250 IU.
    Fix: round to a whole unit (up, when the dose is not a multiple of the descriptor).
    """
    mask = ~is_whole(lines["billed_units"])
    return Flags(
        mask=mask,
        observed=lines["billed_units"],
        expected=lambda r: np.ceil(r["billed_units"]),  # the flagged lines only
        message=lambda r: join_text(
            "billed ",
            fmt_num(r["billed_units"]),
            " units of ",
            r["hcpcs_code"],
            ": units must be whole numbers",
        ),
    )
