"""Payer rules: prior authorization, timely filing and coordination of benefits.

Which payer requires what is configuration (`audit.toml`, SPEC section 7), not a fact of the
code: defaults are only the SPEC's (Medicare filing limit 365 days).
"""

from __future__ import annotations

import pandas as pd

from pipeline.rules.common import RuleContext, drug_policy, fmt_date, fmt_num
from pipeline.rules.registry import Flags, rule


def prior_auth_required(lines: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """Per line: the payer's configured list names the code, or curated policy names the payer."""
    lists = ctx.config.payer_setting(lines, "require_prior_auth")
    pairs = lists.dropna().explode()
    listed = pd.Series(False, index=lines.index)
    if len(pairs):
        hit = pairs == lines["hcpcs_code"].astype("object").reindex(pairs.index)
        listed = hit.groupby(level=0).any().reindex(lines.index).fillna(False).astype(bool)
    curated = drug_policy(lines, ctx.bundle, "requires_prior_auth").astype("string")
    by_policy = (" " + curated + " ").str.contains(" " + lines["payer_type"].astype("string") + " ",
                                                   regex=False)
    return listed | by_policy.fillna(False).astype(bool)


@rule("P001", "prior-auth-missing", "payer", "error",
      "Payer contract / audit.toml [payer.*] require_prior_auth; curated drug policy")
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
        expected=pd.Series("prior_auth_number", index=lines.index),
        message=lambda r: r["payer_type"] + " requires prior authorization for "
        + r["hcpcs_code"] + "; no authorization number on the line",
    )


@rule("P002", "timely-filing-exceeded", "payer", "error",
      "42 CFR 424.44 (Medicare: 12 months after the date of service); payer contracts")
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
        observed=fmt_num(days),
        expected=fmt_num(limit),
        message=lambda r: "submitted " + fmt_date(r["submission_date"]) + ", "
        + fmt_num(days[r.index]) + " days after service; " + r["payer_type"] + " limit is "
        + fmt_num(limit[r.index]) + " days",
    )


@rule("P003", "cob-incomplete", "payer", "warning",
      "CMS-1500 items 11/11d and 837 loop 2320 (other payer paid amount) for secondary claims")
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
        expected=pd.Series("other_payer_paid_usd", index=lines.index),
        message=lambda r: r["payer_sequence"] + " claim line without the amount paid by the "
        "other payer",
    )
