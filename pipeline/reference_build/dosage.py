"""Billing unit of a HCPCS code from its published dosage text (ASP file) or long descriptor.

One parser for both: `parse_dosage` reads a dosage phrase (`25 MCG`, `per 2500 iu`, `up to 250 mg`)
and `descriptor_dosage` finds that phrase in a HCPCS long descriptor. Both are vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# spelling (lower case) -> canonical billing unit (claims_audit.schemas.reference.BILLING_UNITS)
UNIT_WORDS: dict[str, str] = {
    "mg": "mg", "milligram": "mg", "milligrams": "mg",
    "mcg": "mcg", "microgram": "mcg", "micrograms": "mcg",
    "g": "g", "gm": "g", "gram": "g", "grams": "g",
    "ml": "mL", "cc": "mL", "milliliter": "mL", "milliliters": "mL",
    "iu": "units", "i.u.": "units", "unit": "units", "units": "units",
    "usp unit": "units", "usp units": "units",
}  # fmt: skip

_AMOUNT = r"\d[\d,]*(?:\.\d+)?|\.\d+"
# `3 million units` (J9213, J9216 interferons) is an amount of 3,000,000 units
MULTIPLIERS: dict[str, float] = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_MULT = "|".join(MULTIPLIERS)
# longest spellings first so that `units` is not read as `unit` + `s`
_UNIT = "|".join(
    w.replace(".", r"\.").replace(" ", r"\s+") for w in sorted(UNIT_WORDS, key=len, reverse=True)
)
# a whole dosage phrase: optional `per` / `up to`, an amount (optional after `per`), a unit, and
# optionally one equivalent in brackets (`50 MCG (250 IU)`): the first amount is the billing unit.
_PHRASE = (
    rf"(?:(?P<prefix>per|up\s+to)\s+)?(?P<amount>{_AMOUNT})?(?:\s*(?P<mult>{_MULT}))?"
    rf"\s*(?P<unit>{_UNIT})"
    rf"(?:\s*\(\s*(?:{_AMOUNT})\s*(?:{_UNIT})\s*\))?"
)
# in a descriptor the phrase is its own comma-separated segment: `Injection, bevacizumab, 10 mg`,
# `..., per 2500 iu`, `..., up to 250 mg`, `..., 20 mg (for esrd on dialysis)`, `..., 10 mg, nos`
_DESCRIPTOR_SEGMENT = (
    rf",\s*(?P<phrase>(?:(?:per|up\s+to)\s+)?(?:{_AMOUNT})?(?:\s*(?:{_MULT}))?\s*(?:{_UNIT}))"
    rf"\s*(?=$|[,;(])"
)
# a descriptor segment that states a threshold, not an amount per unit: `..., over 10 cc` (J1560:
# one unit at any volume above 10 cc), `..., greater than 100 mg`, `..., less than or equal to
# 3 mg buprenorphine`. Such a code is billed one unit per item whatever the amount.
_THRESHOLD_SEGMENT = (
    r"(?:^|,)\s*(?P<phrase>(?:over|above|more\s+than|greater\s+than|less\s+than|in\s+excess\s+of"
    rf"|at\s+least|minimum\s+of)(?:\s+or\s+equal\s+to)?\s+(?:{_AMOUNT})(?:\s*(?:{_MULT}))?"
    rf"\s*(?:{_UNIT}))(?![a-z])"
)


def parse_dosage(text: pd.Series) -> pd.DataFrame:
    """Dosage phrases -> `billing_unit_amount` (float) and `billing_unit` (mg, mcg, g, units, mL).

    Accepted (case-insensitive): `1 MG`, `25 MCG`, `2500 IU`, `.625 GM`, `100,000 UNITS`,
    `1000 CC` (mL), `1 USP UNIT`, `UP TO 1 GM`, `per 10 mg`, `per milligram` (1 mg),
    `50 MCG (250 IU)` (50 mcg), `3 million units` (3,000,000 units).
    Anything else (`PER DOSE`, `1 EACH`, `2 MEQ`, ranges, combinations such as `2MG/3MG`, amounts
    with trailing words) is not a billing amount: both columns are NA ("not evaluated").
    """
    clean = text.astype("string").str.strip().str.lower()
    parts = clean.str.extract(rf"^{_PHRASE}$")
    amount_text = parts["amount"].str.replace(",", "", regex=False)
    # `per mg` means one mg; a bare unit without `per` is not an amount
    per_unit = (parts["prefix"].fillna("") == "per") & amount_text.isna()
    amount_text = amount_text.mask(per_unit.astype(bool), "1")
    amount = pd.to_numeric(amount_text, errors="coerce").astype("float64")
    amount = amount * parts["mult"].str.lower().map(MULTIPLIERS).fillna(1.0).astype("float64")
    unit = parts["unit"].str.replace(r"\s+", " ", regex=True).map(UNIT_WORDS).astype("string")
    ok = (amount > 0) & unit.notna()
    ok = ok.fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "billing_unit_amount": amount.where(ok, np.nan),
            "billing_unit": unit.where(ok, pd.NA),
        },
        index=text.index,
    )


def descriptor_dosage(long_description: pd.Series) -> pd.Series:
    """The dosage phrase of a HCPCS long descriptor (`per 2500 iu`, `up to 250 mg`), else NA.

    Only a phrase that stands as its own comma-separated segment counts, and only when the
    descriptor has exactly one such segment (two are a combination product: ambiguous).
    """
    text = long_description.astype("string").str.lower()
    found = text.str.extractall(_DESCRIPTOR_SEGMENT)["phrase"]
    per_row = found.groupby(level=0)
    single = per_row.size() == 1
    phrase = per_row.first()[single]
    return phrase.reindex(long_description.index).astype("string").str.strip()


def descriptor_threshold(long_description: pd.Series) -> pd.Series:
    """The threshold phrase of a HCPCS long descriptor (`over 10 cc`, `greater than 100 mg`) or NA.

    A code whose descriptor states a threshold is not billed per amount: J1560 (gamma globulin,
    intramuscular, over 10 cc) is one unit at any volume above 10 cc, so no billing-unit amount
    can divide a dose into units. `hcpcs_table` leaves such a code's billing unit empty even where
    the ASP file's dosage column gives an amount (it says `10 CC` for J1560).
    """
    text = long_description.astype("string").str.lower()
    found = text.str.extract(_THRESHOLD_SEGMENT)["phrase"]
    return found.astype("string").str.replace(r"\s+", " ", regex=True).str.strip()
