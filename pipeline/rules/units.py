"""Unit rules: billed units against the documented dose, the MUE, and whole-unit billing.

Units are compared in the code's billing unit: expected = units(administered) under the
rounding policy (enrich computes `expected_units`). Impact uses the ASP payment limit per unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.columns import group_ids, group_sum
from pipeline.rules.common import RuleContext, fmt_num, is_whole, unit_text
from pipeline.rules.registry import Flags, rule

CITATION_UNITS = (
    "Medicare Claims Processing Manual Pub. 100-04 Ch. 17; CMS JW/JZ modifier FAQs "
    "(bill units of the HCPCS descriptor, next whole unit when not a multiple)"
)
SLIP_RATIOS = (10.0, 100.0, 1000.0, 0.1, 0.01, 0.001)


def dose_evaluable(lines: pd.DataFrame) -> pd.Series:
    """Not a JW line, a dose documented, and convertible into the code's billing unit."""
    return ~lines["has_jw"] & lines["admin_bu"].notna() & lines["expected_units"].notna()


def unit_slip(lines: pd.DataFrame) -> pd.Series:
    """Billed the dose in its own unit (descriptor not 1), or off by a power of ten."""
    billed, expected = lines["billed_units"], lines["expected_units"]
    as_amount = np.isclose(billed, lines["administered_amount"]) & (
        ~np.isclose(lines["billing_unit_amount"], 1.0)
    )
    ratio = billed / expected.where(expected > 0)
    power_of_ten = np.zeros(len(lines), dtype=bool)
    for r in SLIP_RATIOS:
        power_of_ten |= np.isclose(ratio.fillna(-1), r)
    return dose_evaluable(lines) & ~np.isclose(billed, expected) & (as_amount | power_of_ten)


def units_impact(lines: pd.DataFrame) -> pd.Series:
    """Signed dollars: + missed revenue when under-billed, - overpayment risk when over."""
    return (lines["expected_units"] - lines["billed_units"]) * lines["payment_limit_usd"]


def _dose_message(r: pd.DataFrame, tail: str = "") -> pd.Series:
    return (
        "billed "
        + fmt_num(r["billed_units"])
        + " units of "
        + r["hcpcs_code"]
        + " ("
        + unit_text(r)
        + " each) for "
        + fmt_num(r["administered_amount"])
        + " "
        + r["administered_unit"]
        + " given; expected "
        + fmt_num(r["expected_units"])
        + tail
    )


def _dose_flags(lines: pd.DataFrame, mask: pd.Series, tail: str = "") -> Flags:
    return Flags(
        mask=mask,
        evaluated=dose_evaluable(lines) | lines["has_jw"],
        observed=lines["billed_units"],
        expected=lines["expected_units"],
        units_delta=lines["billed_units"] - lines["expected_units"],
        impact_usd=units_impact(lines),
        message=lambda r: _dose_message(r, tail),
    )


@rule("U001", "units-over-dose", "units", "error", CITATION_UNITS)
def units_over_dose(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: on a line that is not a JW line and documents the dose, billed_units is
    greater than the units the dose allows (dose / descriptor amount, rounded per policy).
    Why it matters: units above the documented dose are an overpayment that auditors recoup.
    Example: Avastin (J9035, per 10 mg) 375 mg given is 38 units; 40 units billed is 2 too many.
    Fix: bill the units of the documented dose; bill discarded drug on its own JW line.
    """
    ok = dose_evaluable(lines) & ~unit_slip(lines)
    return _dose_flags(lines, ok & (lines["billed_units"] > lines["expected_units"] + 1e-9))


@rule("U002", "units-under-dose", "units", "warning", CITATION_UNITS)
def units_under_dose(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: on a line that is not a JW line and documents the dose, billed_units is
    fewer than the units the dose allows.
    Why it matters: under-billing leaves revenue on the table and misstates utilisation.
    Example: octreotide J2354 is per 25 mcg: 100 mcg given is 4 units; 1 unit was billed.
    Fix: bill dose / descriptor amount, rounded up to the next whole unit.
    """
    ok = dose_evaluable(lines) & ~unit_slip(lines)
    return _dose_flags(lines, ok & (lines["billed_units"] < lines["expected_units"] - 1e-9))


@rule(
    "U003",
    "units-over-mue",
    "units",
    "error",
    "CMS NCCI Medically Unlikely Edits, practitioner and outpatient hospital tables (quarterly)",
)
def units_over_mue(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: MAI 1: the line's billed_units exceed the code's MUE. MAI 2 or 3: the
    units of the code for the patient on the date of service, all claims and JW lines included,
    exceed the MUE; reported once, on the first of those lines, with the total observed. The MUE
    table follows the claim type (practitioner or outpatient hospital).
    Why it matters: units above the MUE are denied (line edit) or the whole day's units are
    denied (date-of-service edit) unless documented and appealed.
    Example: J2354 has an MUE of 60 (practitioner, April 2026); 64 units on one day exceed it.
    Fix: check the dose and units; if clinically right, document medical necessity for appeal.
    """
    in_scope = lines["in_scope"] & lines["mue_value"].notna()
    day = group_ids(lines["patient_id"], lines["hcpcs_code"], lines["service_date"])
    day_total = group_sum(lines["billed_units"].where(in_scope), day)
    per_line = lines["mai"] == 1
    observed = lines["billed_units"].where(per_line, day_total)
    over_day = in_scope & ~per_line & (day_total > lines["mue_value"]).fillna(False)
    # report a day's excess once: on its first line by (claim_id, line_number)
    firsts = (
        lines.loc[over_day, ["claim_id", "line_number"]]
        .assign(_day=day[over_day])
        .sort_values(["claim_id", "line_number"])
        .drop_duplicates("_day")
        .index
    )
    over_line = in_scope & per_line & (lines["billed_units"] > lines["mue_value"]).fillna(False)
    mask = over_line | lines.index.isin(firsts)
    over = observed - lines["mue_value"]
    return Flags(
        mask=mask,
        evaluated=in_scope,
        observed=observed,
        expected=lines["mue_value"],
        units_delta=over,
        impact_usd=-over * lines["payment_limit_usd"],
        message=lambda r: (
            r["hcpcs_code"]
            + ": "
            + fmt_num(r.pick(observed))
            + " units "
            + np.where(r["mai"] == 1, "on the line", "for the patient on the day")
            + " exceed the MUE of "
            + fmt_num(r["mue_value"])
            + " (MAI "
            + fmt_num(r["mai"])
            + ")"
        ),
    )


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
    return _dose_flags(lines, unit_slip(lines), tail=" (dose billed in the wrong unit of measure)")


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
        expected=np.ceil(lines["billed_units"]),
        message=lambda r: (
            "billed "
            + fmt_num(r["billed_units"])
            + " units of "
            + r["hcpcs_code"]
            + ": units must be whole numbers"
        ),
    )
