"""Modifier rules: JW (discarded drug) and JZ (none discarded), and modifier validity.

A drug group is all lines of one claim with the same code and service date (enrich computes the
group's documented dose and waste, and the units the JW line should carry).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims_audit.columns import TEXT, group_any, joined_per_label
from claims_audit.enrich import billable_waste
from claims_audit.parsing import split_codes
from claims_audit.rules.common import (
    NO_BILLING_UNIT,
    NO_DOSE,
    UNKNOWN_CONTAINER,
    RuleContext,
    at_rate,
    container_is,
    fmt_date,
    fmt_num,
    join_text,
    payer_requires,
    reasons,
    text_at,
)
from claims_audit.rules.registry import Flags, rule

CITATION_JWJZ = (
    "Medicare Claims Processing Manual Pub. 100-04 Ch. 17 section 40; CMS JW and JZ modifier "
    "policy FAQs; Infrastructure Investment and Jobs Act section 90004"
)


def jw_jz_scope(lines: pd.DataFrame) -> pd.Series:
    """Lines a JW/JZ rule may concern: not an institutional line of a drug with OPPS status
    indicator N (packaged: its waste is never separately paid, SPEC section 5)."""
    return lines["separately_payable"].astype(bool)


def waste_reason(
    lines: pd.DataFrame, billable: pd.Series, waste_bu: pd.Series, container: bool = True
) -> pd.Series:
    """Why a JW/JZ verdict could not be reached: container type unknown, no dose documented
    (a waste under one unit cannot be valued without it), or a waste not in the billing unit."""
    cases = [(lines["container"].isna(), UNKNOWN_CONTAINER)] if container else []
    cases.append((billable.isna() & waste_bu.notna(), NO_DOSE))
    return reasons(lines.index, *cases, default=NO_BILLING_UNIT)


def _billable_waste_at(lines: pd.DataFrame, where: pd.Series, rounding: str) -> pd.Series:
    """`billable_waste` of the lines `where` holds (NaN elsewhere: never read there)."""
    at = np.flatnonzero(where.to_numpy(dtype=bool))
    admin, waste = (lines[c].iloc[at] for c in ("admin_bu", "waste_bu"))
    units = np.full(len(lines), np.nan)
    units[at] = billable_waste(admin, waste, rounding).to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(units, index=lines.index)


@rule("M001", "jw-missing", "modifier", "error", CITATION_JWJZ)
def jw_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the payer requires JW (`require_jw`: Medicare by default, other payers
    where the config says so), the drug comes from a container the curated table marks
    single-dose (unknown container: not evaluated; multi-dose: not applicable, its waste is never
    billable), the line is separately payable (an institutional line whose OPPS status indicator
    is N is packaged: not applicable), the line documents waste (`wasted_amount` > 0) worth at
    least one billable unit (units(given + discarded) - units(given); without a documented dose
    the waste's whole units, the least a MAC would pay, and a waste under one unit is then not
    evaluated), and its drug group has no JW line. Waste under one unit is not
    billable: JZ is then right (M002).
    Why it matters: the discarded amount of a single-dose container is payable only on a JW
    line; without it the waste is either unbilled (missed revenue, valued at the line's rate:
    ASP limit, or the OPPS rate of a status K/G drug) or hidden in the administration line.
    Example: Medicare, Activase J2997 (single-dose 100 mg vial), 67 mg given and 33 mg discarded,
    billed as one line of 67 units with no JW line: a 33-unit JW line is missing. The same line
    for a commercial payer not configured with `require_jw` is not applicable.
    Fix: add a line with the same code, modifier JW and units(given + discarded) - units(given).
    """
    wasted = lines["wasted_amount"].to_numpy(dtype="float64", na_value=np.nan)
    documents_waste = ~lines["has_jw"] & (wasted > 0)
    waste_units = _billable_waste_at(lines, documents_waste, ctx.config.rounding)
    applicable = (
        payer_requires(lines, ctx, "require_jw")
        & jw_jz_scope(lines)
        & ~container_is(lines, "multi_dose")
        & documents_waste
    )
    evaluated = applicable & lines["container"].notna() & waste_units.notna()
    mask = evaluated & container_is(lines, "single_dose") & (waste_units >= 1)
    mask &= ~lines["group_has_jw"]
    return Flags(
        mask=mask,
        applicable=applicable,
        evaluated=evaluated,
        reason=waste_reason(lines, waste_units, lines["waste_bu"]),
        observed="0",
        expected=waste_units,
        units_delta=lambda r: -r.pick(waste_units),  # the flagged lines only
        impact_usd=lambda r: at_rate(r.pick(waste_units), r),
        message=lambda r: join_text(
            fmt_num(r["wasted_amount"]),
            " ",
            r["administered_unit"],
            " of ",
            r["hcpcs_code"],
            " documented as discarded from a single-dose container but no JW line; expected"
            " a JW line of ",
            fmt_num(r.pick(waste_units)),
            " units",
        ),
    )


@rule("M002", "jz-missing", "modifier", "error", CITATION_JWJZ)
def jz_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the payer requires JZ (`require_jz`: Medicare by default, other payers
    where the config says so), a drug the curated container table marks single-dose, no
    billable waste in the drug group (none documented, or worth less than one billing unit:
    units(given + discarded) - units(given) < 1) and no JW line, and the line lacks JZ. Fires
    whether or not a dose is documented. Not evaluated when the container type is unknown (or a
    documented waste cannot be valued in the billing unit); not applicable on multi-dose
    containers, on JW lines, and on an institutional line whose OPPS status indicator is N
    (packaged: neither JW nor JZ applies).
    Why it matters: since 2023-07-01 Medicare requires JZ on single-dose container drugs when
    nothing billable was discarded, and edits claims without it since 2023-10-01.
    Example: Prolia J0897, one 60 mg single-dose syringe, 60 units, no modifier, Medicare. Also
    Avastin 375 mg given and 3 mg discarded from a 400 mg vial: units(378) - units(375) = 0, so
    the 3 mg is not billable waste and the line needs JZ.
    Fix: append JZ (or, if a billable amount was discarded, document it and bill a JW line).
    """
    billable = lines["group_billable_waste"]
    applicable = (
        payer_requires(lines, ctx, "require_jz")
        & jw_jz_scope(lines)
        & ~container_is(lines, "multi_dose")
        & ~lines["has_jw"]
    )
    evaluated = applicable & lines["container"].notna() & (billable.notna() | lines["group_has_jw"])
    no_billable_waste = billable < 1  # NA: False
    mask = evaluated & container_is(lines, "single_dose") & no_billable_waste
    mask &= ~lines["group_has_jw"] & ~lines["has_jz"]
    return Flags(
        mask=mask,
        applicable=applicable,
        evaluated=evaluated,
        reason=waste_reason(lines, billable, lines["group_waste_bu"]),
        observed=lines["modifiers"],
        expected="JZ",
        message=lambda r: join_text(
            r["hcpcs_code"],
            " from a single-dose container with no billable discarded drug documented: JZ"
            " required for ",
            r["payer_type"],
        ),
    )


@rule("M003", "jz-conflicts-with-waste", "modifier", "error", CITATION_JWJZ)
def jz_conflicts_with_waste(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: JZ on a line whose drug group has a JW line or documents waste worth at
    least one billable unit (units(given + discarded) - units(given) >= 1); also JW and JZ on
    the same line. Waste under one billing unit is not billable, and JZ is then right. Not
    applicable on an institutional line whose OPPS status indicator is N (packaged); not
    evaluated when the documented waste cannot be valued (no dose and under one unit, or not
    in the billing unit).
    Why it matters: JZ attests that nothing billable was discarded; with billable waste on record
    the claim contradicts itself and is rejected.
    Example: Activase 67 mg given, 33 mg discarded (JW line present), administration line JZ.
    Avastin 375 mg given and 3 mg discarded with JZ is right (units(378) = units(375) = 38).
    Fix: remove JZ from the administration line; keep or add the JW line for the discarded
    amount.
    """
    billable = lines["group_billable_waste"]
    both = lines["has_jw"] & lines["has_jz"]
    applicable = lines["has_jz"] & jw_jz_scope(lines)
    evaluated = applicable & (both | lines["group_has_jw"] | billable.notna())
    waste = lines["group_has_jw"] | (billable >= 1)  # NA: False
    mask = evaluated & (waste | both)
    return Flags(
        mask=mask,
        applicable=applicable,
        evaluated=evaluated,
        reason=waste_reason(lines, billable, lines["group_waste_bu"], container=False),
        observed=lines["modifiers"],
        message=lambda r: join_text(
            "JZ on ",
            r["hcpcs_code"],
            " but the group documents billable discarded drug (JW line or wasted amount worth"
            " at least one unit)",
        ).where(
            ~(r["has_jw"] & r["has_jz"]),
            join_text("JW and JZ on the same ", r["hcpcs_code"], " line"),
        ),
    )


@rule("M004", "jw-units-mismatch", "modifier", "error", CITATION_JWJZ)
def jw_units_mismatch(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a JW line's billed_units differ from units(administered + wasted) -
    units(administered) of its drug group. Evaluated when the group documents both amounts (else
    not evaluated: no_dose). Not applicable on a multi-dose container (its waste is never
    billable: M005 reports the JW) nor on an institutional line whose OPPS status indicator is
    N (packaged: no separate payment, so no units to get right).
    Why it matters: the JW line pays for the discarded part only; more is double billing,
    less is missed revenue (valued at the line's rate: ASP limit or OPPS rate).
    Example: Activase J2997 (per 1 mg), 67 mg given and 33 mg discarded: the JW line must be
    33 units; 50 units billed is 17 too many.
    Fix: bill on the JW line exactly the units of the documented discarded amount.
    """
    expected = lines["expected_jw_units"]
    applicable = lines["has_jw"] & jw_jz_scope(lines) & ~container_is(lines, "multi_dose")
    evaluated = applicable & lines["group_has_waste"] & expected.notna()
    mask = evaluated & (lines["billed_units"] - expected).abs().gt(1e-9)
    no_dose = ~lines["group_has_waste"] | lines["group_admin_bu"].isna()
    return Flags(
        mask=mask,
        applicable=applicable,
        evaluated=evaluated,
        reason=reasons(lines.index, (no_dose, NO_DOSE), default=NO_BILLING_UNIT),
        observed=lines["billed_units"],
        expected=expected,
        units_delta=lambda r: r["billed_units"] - r.pick(expected),  # the flagged lines only
        impact_usd=lambda r: at_rate(r.pick(expected) - r["billed_units"], r),
        message=lambda r: join_text(
            "JW line billed ",
            fmt_num(r["billed_units"]),
            " units of ",
            r["hcpcs_code"],
            "; documented waste is worth ",
            fmt_num(r.pick(expected)),
        ),
    )


@rule("M005", "jw-jz-on-multi-dose", "modifier", "warning", CITATION_JWJZ)
def jw_jz_on_multi_dose(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: JW or JZ on a drug the curated container table marks as a multi-dose
    container. Not evaluated when the container type is unknown; not applicable on an
    institutional line whose OPPS status indicator is N (packaged).
    Why it matters: JW and JZ apply only to single-dose containers; waste from a multi-dose
    vial is not billable, so a JW line there is an overpayment.
    Example: Fragmin 95,000 IU/3.8 mL multiple-dose vial (00069-0232-01) with JW.
    Fix: remove JW/JZ; do not bill discarded drug from multi-dose containers.
    """
    applicable = (lines["has_jw"] | lines["has_jz"]) & jw_jz_scope(lines)
    evaluated = applicable & lines["container"].notna()
    return Flags(
        mask=evaluated & container_is(lines, "multi_dose"),
        applicable=applicable,
        evaluated=evaluated,
        reason=UNKNOWN_CONTAINER,
        observed=lines["modifiers"],
        message=lambda r: join_text(
            "JW/JZ on ",
            r["hcpcs_code"],
            " from a multi-dose container (NDC ",
            r["ndc11"].fillna("?"),
            ")",
        ),
    )


def modifier_entries(lists: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    """One row per (row of `lists`, modifier of its list), in list order: the row (`combo`),
    the modifier, whether the reference knows it, and its add and termination dates. Each
    distinct list is split and looked up once."""
    list_of, distinct = pd.factorize(lists)
    long = split_codes(pd.Series(distinct, dtype="string")).stack()
    long = long[long.notna()].astype("object")
    found = pd.DataFrame(
        {
            "list": long.index.get_level_values(0).to_numpy(),
            "slot": long.index.get_level_values(1).to_numpy(),
            "modifier": long.to_numpy(),
            "known": long.isin(table.index).to_numpy(),
            "added": pd.to_datetime(long.map(table["add_date"])).to_numpy(),
            "term": pd.to_datetime(long.map(table["termination_date"])).to_numpy(),
        }
    )
    rows = pd.DataFrame({"combo": np.arange(len(lists)), "list": list_of})
    entries = rows.merge(found, on="list").sort_values(["combo", "slot"], kind="stable")
    return entries.reset_index(drop=True)


@rule(
    "M006",
    "modifier-not-valid",
    "modifier",
    "error",
    "CMS HCPCS Level II file, modifier records (add and termination dates); AMA CPT Appendix A",
)
def modifier_not_valid(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a modifier unknown to the reference, or not valid on the date of service:
    before its add date (JZ before 2023-01-01) or after its termination date (JG after
    2024-12-31). The reference holds the HCPCS Level II modifiers (HCPCS file, with their dates)
    and a curated list of the CPT modifiers in common use on drug and administration lines (25,
    26, 50, 51, 59, 76, 77, 79, 91, 95, ...; CPT publishes no dates for them, so only their
    presence is checked). Not applicable on an institutional line whose OPPS status indicator is
    N (SPEC section 5 leaves M001-M007 off packaged lines).
    Why it matters: payers reject lines with invalid modifiers (the Medicare editors check a
    modifier's validity on the date of service, as they do codes); a retired modifier signals a
    stale charge master, one used before its add date a wrong date or a wrong modifier.
    Example: JG (340B-acquired drug) was terminated 2024-12-31; a 2026 line with JG is invalid.
    JZ on a line for 2022-12-15 is invalid: JZ was added 2023-01-01.
    Fix: remove the modifier or use its current replacement (for JG: TB); check the date.
    """
    table = ctx.bundle["modifiers"].drop_duplicates("modifier").set_index("modifier")

    def invalid(combos: pd.DataFrame) -> pd.Series:
        """Per (modifier list, service date): the invalid modifiers and why, or NA."""
        entries = modifier_entries(combos["modifiers"], table)
        date = combos["service_date"].to_numpy(dtype="datetime64[ns]")[entries["combo"]]
        early = date < entries["added"].to_numpy()  # NaT compares False
        ended = date > entries["term"].to_numpy()
        wrong = ~entries["known"].to_numpy(dtype=bool) | ended | early
        early, ended, entries = early[wrong], ended[wrong], entries[wrong]  # why: of those only
        why = pd.Series(" (unknown to the reference)", index=entries.index)
        why = why.where(~ended, " (terminated " + fmt_date(entries["term"]).fillna("") + ")")
        why = why.where(~early, " (not valid until " + fmt_date(entries["added"]).fillna("") + ")")
        bad = entries["modifier"] + why
        bad.index = entries["combo"].to_numpy()
        return joined_per_label(bad, combos.index, "; ").astype(object)  # to lines as codes

    applicable = lines["modifiers"].notna() & jw_jz_scope(lines)
    listed = text_at(lines, applicable, ["modifiers", "service_date"], invalid)
    return Flags(
        mask=listed.notna() & applicable,
        applicable=applicable,
        observed=lambda r: r.pick(listed).astype(TEXT).str.replace(r" \(.*?\)", "", regex=True),
        message=lambda r: join_text(
            "modifier ",
            r.pick(listed).astype(TEXT),
            " not valid on ",
            fmt_date(r["service_date"]),
        ),
    )


@rule("M007", "jw-without-documented-waste", "modifier", "error", CITATION_JWJZ)
def jw_without_documented_waste(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a JW line whose drug group documents no waste (no `wasted_amount` > 0 on
    any of its lines) although it documents the dose (an `administered_amount` or a
    `wasted_amount` on one of its lines). A group that documents nothing, as every line of an
    837 (which carries no dose), is not evaluated: no_dose. Not applicable on an institutional
    line whose OPPS status indicator is N (packaged).
    Why it matters: Medicare pays JW units only when the discarded amount is documented in the
    record; undocumented waste is recouped on audit.
    Example: J2997 JW line of 33 units, 67 mg administered, but neither line records a wasted
    amount.
    Fix: document the discarded amount (and that it came from a single-dose container) or
    remove the JW line.
    """
    applicable = lines["has_jw"] & jw_jz_scope(lines)
    documented = lines["administered_amount"].notna() | lines["wasted_amount"].notna()
    evaluated = applicable & group_any(documented, lines["group_id"].to_numpy())
    return Flags(
        mask=evaluated & ~lines["group_has_waste"],
        applicable=applicable,
        evaluated=evaluated,
        reason=NO_DOSE,
        observed=lines["billed_units"],
        message=lambda r: join_text(
            "JW line of ",
            fmt_num(r["billed_units"]),
            " units of ",
            r["hcpcs_code"],
            " but no discarded amount is documented",
        ),
    )
