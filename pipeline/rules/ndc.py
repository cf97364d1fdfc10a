"""NDC rules: present where required, well formed, crosswalked to the billed code, quantity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims_audit.rules.common import (
    RuleContext,
    category_is,
    fmt_num,
    join_text,
    payer_requires,
)
from claims_audit.rules.registry import Flags, rule

CITATION_XWALK = "CMS ASP NDC-HCPCS crosswalk (quarterly)"


@rule(
    "N001",
    "ndc-missing",
    "ndc",
    "error",
    "Deficit Reduction Act of 2005 section 6002 (Medicaid NDC reporting); payer config",
)
def ndc_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a drug line (a J code, or a code in the ASP pricing or crosswalk files)
    has no NDC where the payer requires one: Medicaid always, other payers where the config sets
    `require_ndc = true`. A present but malformed NDC is N002, not this rule.
    Why it matters: Medicaid needs the NDC to claim manufacturer rebates and denies the line
    without it; many commercial payers do the same.
    Example: a Medicaid line for J9035 with an empty NDC field.
    Fix: report the 11-digit NDC (5-4-2) of the package used, with qualifier and quantity.
    """
    applicable = lines["is_drug"] & payer_requires(lines, ctx, "require_ndc")
    return Flags(
        mask=applicable & lines["ndc"].isna(),
        applicable=applicable,
        expected="NDC",
        message=lambda r: join_text(
            r["payer_type"], " requires an NDC with ", r["hcpcs_code"], "; none reported"
        ),
    )


@rule(
    "N002",
    "ndc-malformed",
    "ndc",
    "error",
    "FDA NDC format; NCPDP/CMS 11-digit 5-4-2 billing format",
)
def ndc_malformed(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the NDC cannot be normalised to 11 digits in 5-4-2 form. Hyphenated
    4-4-2, 5-3-2 and 5-4-1 are padded; an unhyphenated 10-digit NDC is ambiguous and malformed.
    Why it matters: payers reject NDCs that are not 11 digits; a wrong pad points at another
    product.
    Example: `5551307100` (10 digits, no hyphens): which segment lacks its zero is unknowable.
    Fix: copy the NDC from the package with its hyphens, or send the 11-digit 5-4-2 form
    (55513-0710-01).
    """
    return Flags(
        mask=lines["ndc_malformed"],
        applicable=lines["ndc"].notna(),
        observed=lines["ndc"],
        message=lambda r: join_text(
            "NDC '", r["ndc"], "' cannot be normalised to 11 digits (5-4-2)"
        ),
    )


@rule("N003", "ndc-code-mismatch", "ndc", "error", CITATION_XWALK)
def ndc_code_mismatch(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the NDC is in the crosswalk, but under a different HCPCS code than the
    one billed; `expected` lists the crosswalked code(s).
    Why it matters: the NDC proves which drug was given; a code that does not describe it is a
    wrong-code claim (look-alike codes and wrong dosage codes are the classic error).
    Example: Sandostatin LAR Depot NDC 00078-0811-81 billed under J2354 (non-depot, per 25 mcg);
    the crosswalk maps it to J2353 (depot, per 1 mg).
    Fix: bill the code the crosswalk gives for the NDC, with units in that code's descriptor.
    """
    mask = lines["xwalk_codes"].notna() & ~lines["xwalk_match"]
    return Flags(
        mask=mask,
        applicable=lines["ndc11"].notna(),
        observed=lines["hcpcs_code"],
        expected=lines["xwalk_codes"],
        message=lambda r: join_text(
            "NDC ", r["ndc11"], " crosswalks to ", r["xwalk_codes"], ", not ", r["hcpcs_code"]
        ),
    )


@rule("N004", "ndc-not-in-crosswalk", "ndc", "warning", CITATION_XWALK)
def ndc_not_in_crosswalk(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a well-formed NDC that the crosswalk does not list under any code.
    Why it matters: the payer cannot price a product it cannot crosswalk; the NDC may be
    mistyped, obsolete or not a Part B drug.
    Example: NDC 12345-6789-01 on a J9035 line.
    Fix: check the NDC on the package against the current crosswalk; correct a typo.
    """
    mask = lines["ndc11"].notna() & lines["xwalk_codes"].isna()
    return Flags(
        mask=mask,
        applicable=lines["ndc11"].notna(),
        observed=lines["ndc11"],
        message=lambda r: join_text("NDC ", r["ndc11"], " is not in the NDC-HCPCS crosswalk"),
    )


@rule("N005", "ndc-quantity-inconsistent", "ndc", "warning", CITATION_XWALK)
def ndc_quantity_inconsistent(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the billing units implied by the NDC quantity are fewer than the billed
    units: UN = quantity x BILLUNITS; ML = quantity / package size x BILLUNITS (crosswalk row
    of the NDC and code). Other qualifiers are not evaluated.
    Why it matters: billing more units than the packages dispensed contain is an overpayment
    signal that payers' NDC edits catch.
    Example: Prolia 55513-0710-01 (60 billing units per syringe), 1 UN reported, 120 units
    billed.
    Fix: report the quantity actually used (number of packages or mL) or correct the units.
    """
    qualifier = lines["ndc_unit_qualifier"]
    per_item = lines["ndc_units_per_item"]
    qty = lines["ndc_quantity"]
    qty, per_item = (v.to_numpy(dtype="float64", na_value=np.nan) for v in (qty, per_item))
    package = lines["ndc_pkg_size"].to_numpy(dtype="float64", na_value=np.nan)
    by_items = np.where(category_is(qualifier, "UN"), qty * per_item, np.nan)
    by_volume = np.where(category_is(qualifier, "ML"), qty / package * per_item, np.nan)
    implied = pd.Series(np.where(np.isnan(by_items), by_volume, by_items), index=lines.index)
    mask = implied < lines["billed_units"] - 1e-9  # NA: False
    return Flags(
        mask=mask,
        applicable=lines["ndc11"].notna() & lines["ndc_quantity"].notna(),
        evaluated=implied.notna(),
        observed=lines["billed_units"],
        expected=implied,
        units_delta=lambda r: r["billed_units"] - r.pick(implied),  # the flagged lines only
        message=lambda r: join_text(
            "NDC quantity ",
            fmt_num(r["ndc_quantity"]),
            " ",
            r["ndc_unit_qualifier"],
            " implies ",
            fmt_num(r.pick(implied)),
            " billing units; ",
            fmt_num(r["billed_units"]),
            " billed",
        ),
    )
