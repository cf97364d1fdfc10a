"""Payer rules: prior authorization, timely filing and coordination of benefits.

Which payer requires what is configuration (`audit.toml`, SPEC section 7), not a fact of the
code: defaults are only the SPEC's (Medicare filing limit 365 days).
"""

from __future__ import annotations

import pandas as pd

from pipeline.columns import per_combination
from pipeline.rules.common import RuleContext, drug_policy, fmt_date, fmt_num
from pipeline.rules.registry import Flags, rule


def prior_auth_required(lines: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """Per line: the payer's configured list names the code, or curated policy names the payer."""
    curated = drug_policy(lines, ctx.bundle, "requires_prior_auth")
    frame = lines[["payer_type", "payer_id", "hcpcs_code"]].assign(_curated=curated)

    def required(combos: pd.DataFrame) -> pd.Series:
        lists = ctx.config.payer_setting(combos, "require_prior_auth")
        listed = pd.Series(
            [
                isinstance(codes, list) and code in codes
                for codes, code in zip(lists, combos["hcpcs_code"], strict=True)
            ],
            index=combos.index,
        )  # one row per distinct (payer, code): a handful, not the lines
        by_policy = pd.Series(
            [
                isinstance(types, str) and payer in types.split()
                for types, payer in zip(combos["_curated"], combos["payer_type"], strict=True)
            ],
            index=combos.index,
        )
        return listed | by_policy

    columns = ["payer_type", "payer_id", "hcpcs_code", "_curated"]
    return per_combination(frame, columns, required).astype(bool)


@rule(
    "P001",
    "prior-auth-missing",
    "payer",
    "error",
    "Payer contract / audit.toml [payer.*] require_prior_auth; curated drug policy",
)
def prior_auth_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the configuration (`require_prior_auth` of the payer type or payer_id) or
    a curated policy row says the payer requires prior authorization for the code, and the
    line has no prior_auth_number.
    Why it matters: commercial plans deny high-cost drugs given without an approved
    authorization, and the denial usually cannot be appealed after the fact.
    Example: a commercial line for J0897 (Prolia) when the config lists J0897 under
    `[payer.commercial] require_prior_auth`, with no authorization number.
    Fix: obtain and report the authorization number before billing.
    """
    required = prior_auth_required(lines, ctx)
    return Flags(
        mask=required & lines["prior_auth_number"].isna(),
        evaluated=required,
        expected="prior_auth_number",
        message=lambda r: (
            r["payer_type"]
            + " requires prior authorization for "
            + r["hcpcs_code"]
            + "; no authorization number on the line"
        ),
    )


@rule(
    "P002",
    "timely-filing-exceeded",
    "payer",
    "error",
    "42 CFR 424.44 (Medicare: 12 months after the date of service); payer contracts",
)
def timely_filing_exceeded(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: submission_date - service_date is more than the payer's filing limit
    (Medicare 365 days by default; other payers from `filing_limit_days` in the config). Lines
    without a submission date or a known limit are not evaluated.
    Why it matters: claims filed late are denied and cannot be billed to the patient.
    Example: a Medicare line with service 2025-01-10 submitted 2026-02-20 (406 days).
    Fix: file within the limit; if late for a reason the payer accepts, attach the exception.
    """
    limit = ctx.config.payer_setting(lines, "filing_limit_days").astype("float64")
    days = (lines["submission_date"] - lines["service_date"]).dt.days
    evaluable = limit.notna() & days.notna()
    return Flags(
        mask=evaluable & (days > limit).fillna(False),
        evaluated=evaluable,
        observed=days,
        expected=limit,
        message=lambda r: (
            "submitted "
            + fmt_date(r["submission_date"])
            + ", "
            + fmt_num(r.pick(days))
            + " days after service; "
            + r["payer_type"]
            + " limit is "
            + fmt_num(r.pick(limit))
            + " days"
        ),
    )


@rule(
    "P003",
    "cob-incomplete",
    "payer",
    "warning",
    "CMS-1500 items 11/11d and 837 loop 2320 (other payer paid amount) for secondary claims",
)
def cob_incomplete(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: payer_sequence is secondary or tertiary and other_payer_paid_usd is empty.
    Why it matters: a secondary payer pays after the primary; without the primary's payment it
    rejects the claim or pays wrongly (coordination of benefits).
    Example: a secondary Medicaid line for J9035 with no amount paid by Medicare.
    Fix: report what the primary (and secondary) payer paid, from their remittance advice.
    """
    secondary = lines["payer_sequence"].isin(["secondary", "tertiary"])
    return Flags(
        mask=secondary & lines["other_payer_paid_usd"].isna(),
        evaluated=secondary,
        expected="other_payer_paid_usd",
        message=lambda r: (
            r["payer_sequence"] + " claim line without the amount paid by the other payer"
        ),
    )
