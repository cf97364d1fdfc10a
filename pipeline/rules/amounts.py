"""Amount rules: charges against the ASP payment limit."""

from __future__ import annotations

import pandas as pd

from pipeline.rules.common import RuleContext, fmt_num
from pipeline.rules.registry import Flags, rule


@rule(
    "A001",
    "charge-below-payment-limit",
    "amount",
    "warning",
    "CMS Medicare Part B ASP payment limit file (quarterly)",
)
def charge_below_payment_limit(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: charge_usd is less than the ASP payment limit x billed_units.
    Why it matters: Medicare pays the lower of the charge and the limit; a charge below the
    limit leaves revenue on the table, usually a stale charge master price.
    Example: J2997 67 units charged $5,000 while 67 x $93.832 = $6,286.74.
    Fix: update the charge master price of the drug to at least the current payment limit.
    """
    allowed = lines["payment_limit_usd"] * lines["billed_units"]
    evaluable = allowed.notna() & lines["charge_usd"].notna()
    return Flags(
        mask=evaluable & (lines["charge_usd"] < allowed - 0.005),
        evaluated=evaluable,
        observed=lines["charge_usd"],
        expected=allowed.round(2),
        message=lambda r: (
            "charge $"
            + fmt_num(r["charge_usd"])
            + " is below the payment limit $"
            + fmt_num(r["payment_limit_usd"])
            + " x "
            + fmt_num(r["billed_units"])
            + " units = $"
            + fmt_num(r.pick(allowed).round(2))
        ),
    )
