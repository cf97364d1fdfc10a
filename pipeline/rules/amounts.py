"""Amount rules: charges of professional lines against the ASP payment limit."""

from __future__ import annotations

import pandas as pd

from claims_audit.rules.common import (
    MISSING_INPUT,
    NO_RATE,
    RuleContext,
    category_is,
    fmt_num,
    join_text,
    reasons,
)
from claims_audit.rules.registry import Flags, rule


@rule(
    "A001",
    "charge-below-payment-limit",
    "amount",
    "warning",
    "CMS Medicare Part B ASP payment limit file (quarterly)",
)
def charge_below_payment_limit(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: on a professional line, charge_usd is less than the ASP payment limit x
    billed_units. Institutional lines are not applicable: OPPS pays hospital outpatient drugs
    at its own Addendum B rate (status indicator K, G) or packages them (N), whatever the charge.
    Lines without a charge or without a payment limit are not evaluated.
    Why it matters: Part B pays a physician's drug claim at the lower of the charge and the
    payment limit; a charge below the limit leaves revenue on the table, usually a stale charge
    master price.
    Example: a professional J2997 line, 67 units charged $5,000 while 67 x $93.832 = $6,286.74.
    Fix: update the charge master price of the drug to at least the current payment limit.
    """
    allowed = lines["payment_limit_usd"] * lines["billed_units"]
    applicable = pd.Series(category_is(lines["claim_type"], "professional"), index=lines.index)
    evaluated = applicable & allowed.notna() & lines["charge_usd"].notna()
    no_rate = lines["payment_limit_usd"].isna()
    return Flags(
        mask=evaluated & (lines["charge_usd"] < allowed - 0.005),
        applicable=applicable,
        evaluated=evaluated,
        reason=reasons(lines.index, (no_rate, NO_RATE), default=MISSING_INPUT),
        observed=lines["charge_usd"],
        expected=lambda r: r.pick(allowed).round(2),  # the flagged lines only
        message=lambda r: join_text(
            "charge $",
            fmt_num(r["charge_usd"]),
            " is below the payment limit $",
            fmt_num(r["payment_limit_usd"]),
            " x ",
            fmt_num(r["billed_units"]),
            " units = $",
            fmt_num(r.pick(allowed).round(2)),
        ),
    )
