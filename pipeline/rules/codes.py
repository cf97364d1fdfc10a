"""Code rules: is the HCPCS code real, valid on the date of service, and complete if NOC."""

from __future__ import annotations

import pandas as pd

from claims_audit.rules.common import RuleContext, fmt_date, join_text
from claims_audit.rules.registry import Flags, rule


@rule(
    "C001",
    "unknown-code",
    "code",
    "error",
    "CMS HCPCS Level II alpha-numeric file (quarterly); SPEC section 5",
)
def unknown_code(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the line's HCPCS Level II code is not in the reference's HCPCS table
    (anything in `hcpcs_code` that is neither a known Level II code nor a CPT code).
    Why it matters: a code that does not exist is denied outright; billing guides even cite
    codes that were never issued.
    Example: `J2297` is billed for octreotide; the HCPCS file has no J2297 (octreotide is J2354
    per 25 mcg, or J2353 per 1 mg depot).
    Fix: look up the drug in the current HCPCS file or the ASP NDC-HCPCS crosswalk and bill the
    code that describes it.
    """
    mask = ~lines["code_known"]
    return Flags(
        mask=mask,
        observed=lines["hcpcs_code"],
        message=lambda r: join_text(
            "HCPCS code ", r["hcpcs_code"], " is not in the reference code set"
        ),
    )


@rule(
    "C002",
    "code-not-effective",
    "code",
    "error",
    "CMS HCPCS Level II file: ADD DT and TERM DT fields (record layout)",
)
def code_not_effective(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the date of service is before the code's add date or after its
    termination date in the HCPCS file (the ACT EFF DT column is the latest change, not the start).
    Why it matters: codes are added and retired every quarter; a line billed with a code that
    was not valid on the date of service is denied.
    Example: J1170 (hydromorphone) was terminated 2024-09-30; a line for 2025-02-10 is invalid.
    Fix: bill the code in effect on the date of service (for J1170, its replacement code).
    """
    date = lines["service_date"]
    before = lines["code_known"] & (date < lines["code_add_date"]).fillna(False)
    after = lines["code_known"] & (date > lines["code_termination_date"]).fillna(False)
    mask = before | after

    def message(r: pd.DataFrame) -> pd.Series:
        head = join_text(r["hcpcs_code"], " billed for service on ", fmt_date(r["service_date"]))
        ended = join_text(head, " but terminated ", fmt_date(r["code_termination_date"]))
        early = join_text(head, " but not valid until ", fmt_date(r["code_add_date"]))
        return ended.where(r["service_date"] > r["code_termination_date"], early)

    def expected(r: pd.DataFrame) -> pd.Series:
        added, ended = (
            fmt_date(r[c]).fillna("") for c in ("code_add_date", "code_termination_date")
        )
        return join_text(added, "..", ended)

    return Flags(mask=mask, observed=date, expected=expected, message=message)


@rule(
    "C003",
    "noc-without-ndc",
    "code",
    "error",
    "CMS HCPCS NOC code list; Medicare Claims Processing Manual Pub. 100-04 Ch. 17 section 20",
)
def noc_without_ndc(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a true drug NOC code, billed without an NDC. A drug NOC code is an
    unclassified drug or biological code of the HCPCS file (J3490, J3590, J9999, J7599, C9399,
    ...): on the CMS NOC list, no billing unit in its descriptor, no ASP payment limit, and a J
    code or a descriptor naming drugs or biologicals. Codes on the NOC list that have a
    descriptor unit and a payment limit ("not otherwise specified" codes such as J3301
    triamcinolone NOS 10 mg, J9201) are priced like any code and are not applicable, nor are
    non-drug NOC codes (A, E, L supplies and devices).
    Why it matters: an unclassified code says nothing about the drug; payers need the NDC (and
    drug name) to price and pay it, and deny the line without it.
    Example: J3490 with an empty NDC field.
    Fix: report the 11-digit NDC of the drug given (and its name in the claim note), or a
    specific HCPCS code if one exists.
    """
    applicable = lines["is_drug_noc"]
    return Flags(
        mask=applicable & lines["ndc"].isna(),
        applicable=applicable,
        expected="NDC",
        message=lambda r: join_text(
            "unclassified drug code ", r["hcpcs_code"], " billed without an NDC"
        ),
    )
