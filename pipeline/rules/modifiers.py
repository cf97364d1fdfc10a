"""Modifier rules: JW (discarded drug) and JZ (none discarded), and modifier validity.

A drug group is all lines of one claim with the same code and service date (enrich computes the
group's documented dose and waste, and the units the JW line should carry).
"""

from __future__ import annotations

import pandas as pd

from pipeline.columns import TEXT, per_combination
from pipeline.parsing import round_units, split_codes
from pipeline.rules.common import RuleContext, fmt_date, fmt_num
from pipeline.rules.registry import Flags, rule

CITATION_JWJZ = (
    "Medicare Claims Processing Manual Pub. 100-04 Ch. 17 section 40; CMS JW and JZ modifier "
    "policy FAQs; Infrastructure Investment and Jobs Act section 90004"
)


@rule("M001", "jw-missing", "modifier", "error", CITATION_JWJZ)
def jw_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a line documents discarded drug (`wasted_amount` > 0, worth at least one
    billable unit) and its drug group has no JW line.
    Why it matters: the discarded amount of a single-dose container is payable only on a JW
    line; without it the waste is either unbilled (missed revenue) or hidden in the
    administration line's units.
    Example: Activase J2997, 67 mg given and 33 mg discarded from a 100 mg vial, billed as one
    line of 67 units with no JW line: a 33-unit JW line is missing.
    Fix: add a line with the same code, modifier JW and units(given + discarded) - units(given).
    """
    rounding = ctx.config.rounding
    waste_units = round_units(lines["admin_bu"].fillna(0) + lines["waste_bu"], rounding) - (
        round_units(lines["admin_bu"].fillna(0), rounding)
    )
    documents_waste = ~lines["has_jw"] & (lines["wasted_amount"].fillna(0) > 0)
    mask = documents_waste & (waste_units >= 1).fillna(False) & ~lines["group_has_jw"]
    return Flags(
        mask=mask,
        evaluated=documents_waste,
        observed="0",
        expected=waste_units,
        units_delta=-waste_units,
        impact_usd=waste_units * lines["payment_limit_usd"],
        message=lambda r: (
            fmt_num(r["wasted_amount"])
            + " "
            + r["administered_unit"]
            + " of "
            + r["hcpcs_code"]
            + " documented as discarded but no JW line; expected a JW line"
            " of " + fmt_num(r.pick(waste_units)) + " units"
        ),
    )


@rule("M002", "jz-missing", "modifier", "error", CITATION_JWJZ)
def jz_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: Medicare (or a payer configured with `require_jz`), a drug the curated
    container table marks single-dose, no waste documented and no JW line in the drug group,
    and the line lacks JZ. Fires whether or not a dose is documented. Does not fire when the
    container type is unknown, nor on an institutional claim when the code's OPPS status
    indicator is N (packaged: neither JW nor JZ applies).
    Why it matters: since 2023-07-01 Medicare requires JZ on single-dose container drugs when
    nothing was discarded, and edits claims without it since 2023-10-01.
    Example: Prolia J0897, one 60 mg single-dose syringe, 60 units, no modifier, Medicare.
    Fix: append JZ (or, if drug was discarded, document it and bill a JW line).
    """
    require = ctx.config.payer_setting(lines, "require_jz").eq(True)
    packaged = (lines["claim_type"] == "institutional") & (lines["opps_si"] == "N").fillna(False)
    single = (lines["container"] == "single_dose").fillna(False)
    mask = (
        require
        & single
        & ~packaged
        & ~lines["group_has_waste"]
        & ~lines["group_has_jw"]
        & ~lines["has_jz"]
    )
    return Flags(
        mask=mask,
        evaluated=lines["container"].notna(),
        observed=lines["modifiers"],
        expected="JZ",
        message=lambda r: (
            r["hcpcs_code"] + " from a single-dose container with no discarded "
            "drug documented: JZ required for " + r["payer_type"]
        ),
    )


@rule("M003", "jz-conflicts-with-waste", "modifier", "error", CITATION_JWJZ)
def jz_conflicts_with_waste(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: JZ on a line whose drug group has a JW line or documents waste; also JW
    and JZ on the same line.
    Why it matters: JZ attests that nothing was discarded; with waste on record the claim
    contradicts itself and is rejected.
    Example: Activase 67 mg given, 33 mg discarded (JW line present), administration line JZ.
    Fix: remove JZ from the administration line; keep the JW line for the discarded amount.
    """
    both = lines["has_jw"] & lines["has_jz"]
    mask = (lines["has_jz"] & (lines["group_has_jw"] | lines["group_has_waste"])) | both
    return Flags(
        mask=mask,
        evaluated=lines["has_jz"],
        observed=lines["modifiers"],
        message=lambda r: pd.Series(
            "JZ on " + r["hcpcs_code"] + " but the group documents discarded drug (JW line or "
            "wasted amount)",
            index=r.index,
        ).where(~(r["has_jw"] & r["has_jz"]), "JW and JZ on the same " + r["hcpcs_code"] + " line"),
    )


@rule("M004", "jw-units-mismatch", "modifier", "error", CITATION_JWJZ)
def jw_units_mismatch(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a JW line's billed_units differ from units(administered + wasted) -
    units(administered) of its drug group. Evaluated when the group documents both amounts.
    Why it matters: the JW line pays for the discarded part only; more is double billing,
    less is missed revenue.
    Example: Activase J2997 (per 1 mg), 67 mg given and 33 mg discarded: the JW line must be
    33 units; 50 units billed is 17 too many.
    Fix: bill on the JW line exactly the units of the documented discarded amount.
    """
    expected = lines["expected_jw_units"]
    evaluable = lines["has_jw"] & lines["group_has_waste"] & expected.notna()
    mask = evaluable & (lines["billed_units"] - expected).abs().gt(1e-9)
    return Flags(
        mask=mask,
        evaluated=evaluable,
        observed=lines["billed_units"],
        expected=expected,
        units_delta=lines["billed_units"] - expected,
        impact_usd=(expected - lines["billed_units"]) * lines["payment_limit_usd"],
        message=lambda r: (
            "JW line billed "
            + fmt_num(r["billed_units"])
            + " units of "
            + r["hcpcs_code"]
            + "; documented waste is worth "
            + fmt_num(r.pick(expected))
        ),
    )


@rule("M005", "jw-jz-on-multi-dose", "modifier", "warning", CITATION_JWJZ)
def jw_jz_on_multi_dose(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: JW or JZ on a drug the curated container table marks as a multi-dose
    container.
    Why it matters: JW and JZ apply only to single-dose containers; waste from a multi-dose
    vial is not billable, so a JW line there is an overpayment.
    Example: Fragmin 95,000 IU/3.8 mL multiple-dose vial (00069-0232-01) with JW.
    Fix: remove JW/JZ; do not bill discarded drug from multi-dose containers.
    """
    multi = (lines["container"] == "multi_dose").fillna(False)
    mask = multi & (lines["has_jw"] | lines["has_jz"])
    return Flags(
        mask=mask,
        evaluated=lines["container"].notna(),
        observed=lines["modifiers"],
        message=lambda r: (
            "JW/JZ on "
            + r["hcpcs_code"]
            + " from a multi-dose container (NDC "
            + r["ndc11"].fillna("?")
            + ")"
        ),
    )


@rule(
    "M006",
    "modifier-not-valid",
    "modifier",
    "error",
    "CMS HCPCS Level II file, modifier records (add and termination dates); AMA CPT Appendix A",
)
def modifier_not_valid(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a modifier unknown to the reference, or terminated before the date of
    service.
    Why it matters: payers reject lines with invalid modifiers; a retired modifier signals a
    stale charge master.
    Example: JG (340B-acquired drug) was terminated 2024-12-31; a 2026 line with JG is invalid.
    Fix: remove the modifier or use its current replacement (for JG: TB).
    """
    table = ctx.bundle["modifiers"].set_index("modifier")

    def invalid(combos: pd.DataFrame) -> pd.Series:
        """Per (modifier list, service date): the invalid modifiers and why, or NA."""
        long = split_codes(combos["modifiers"]).stack().reset_index(level=1, drop=True)
        long = long[long.notna()].astype("object")
        term = pd.to_datetime(long.map(table["termination_date"]))
        known = long.isin(table.index)
        ended = (combos["service_date"].reindex(long.index) > term).fillna(False)
        why = pd.Series(" (unknown to the reference)", index=long.index).where(
            ~known, " (terminated " + fmt_date(term).fillna("") + ")"
        )
        bad = (long + why)[~known | ended]
        return bad.groupby(level=0).agg("; ".join).reindex(combos.index)

    has_modifiers = lines["modifiers"].notna()
    columns = ["modifiers", "service_date"]
    listed = per_combination(lines.loc[has_modifiers, columns], columns, invalid)
    listed = listed.reindex(lines.index)
    mask = listed.notna()
    return Flags(
        mask=mask,
        evaluated=lines["modifiers"].notna(),
        observed=lambda r: r.pick(listed).str.replace(r" \(.*?\)", "", regex=True),
        message=lambda r: (
            "modifier "
            + r.pick(listed).astype(TEXT)
            + " not valid on "
            + fmt_date(r["service_date"])
        ),
    )


@rule("M007", "jw-without-documented-waste", "modifier", "error", CITATION_JWJZ)
def jw_without_documented_waste(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a JW line whose drug group documents no waste (no `wasted_amount` > 0 on
    any of its lines).
    Why it matters: Medicare pays JW units only when the discarded amount is documented in the
    record; undocumented waste is recouped on audit.
    Example: J2997 JW line of 33 units, but neither line records a wasted amount.
    Fix: document the discarded amount (and that it came from a single-dose container) or
    remove the JW line.
    """
    mask = lines["has_jw"] & ~lines["group_has_waste"]
    return Flags(
        mask=mask,
        evaluated=lines["has_jw"],
        observed=lines["billed_units"],
        message=lambda r: (
            "JW line of "
            + fmt_num(r["billed_units"])
            + " units of "
            + r["hcpcs_code"]
            + " but no discarded amount is documented"
        ),
    )
