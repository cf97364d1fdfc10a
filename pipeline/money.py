"""Dollar amounts as people read them: `$29,452.80`, `-$12.50`, never `-$0.00` or `$-0.00`.

Pure Python (no pandas), so the command line can use it without slowing its start-up.
"""

from __future__ import annotations

import math


def format_usd(value: float | int | None, decimals: int = 2) -> str:
    """`value` in dollars with a thousands separator and `decimals` places: 29452.8 ->
    `$29,452.80`, -12.5 -> `-$12.50`. An amount that rounds to zero is `$0.00` whatever its
    sign (-0.0, -0.004); None, NaN and infinities (no amount) are `n/a`."""
    if value is None:
        return "n/a"
    amount = float(value)
    if not math.isfinite(amount):
        return "n/a"
    rounded = round(amount, decimals)
    sign = "-" if rounded < 0 else ""  # -0.0 < 0 is False: no negative zero
    return f"{sign}${abs(rounded):,.{decimals}f}"
