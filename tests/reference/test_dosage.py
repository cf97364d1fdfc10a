"""The billing-unit parser: dosage phrases from the ASP file and HCPCS long descriptors."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from claims_audit.reference_build.asp import read_pricing
from claims_audit.reference_build.dosage import (
    descriptor_dosage,
    descriptor_threshold,
    parse_dosage,
)
from claims_audit.reference_build.sources import Fixes
from tests.reference.conftest import RAW_FILES, needs_raw

# Every dosage text of the 2026 Q1 ASP payment limit file that is not one amount of mg, mcg, g,
# units or mL: counts, containers, ranges, combinations, cell counts, amounts with trailing words
# (`1 million PFU` is written with a no-break space).
ASP_UNPARSED = {
    "1 EACH", "1 EA", "1 DOSE", "1 microCurie", "10 MG/3MG",
    "Less than or equal to 7 days of therapy", "Greater than 7 days and up to 28 days of therapy",
    "75mg (50mg cft/25mg taz)", "3 MG & 3 MG", "2MG/3MG", "4 MG-4 MG-2 MG", "200 mg/300 mg",
    "200 mg/25 mg", "PER VIAL", "5MG-1MG", "Per Therapeutic Dose", "PER IMPLANT", "2 MEQ",
    "1 I.U. VWF:RCO", "PER FACTOR VIII IU", "per dose", "PER DOSE", "1 SQ CM",
    "Per 3.2 mg single-use applicator", "0.25 MG - 5 MG", "2.5 MG/0.5 MG", "PER THERAPEUTIC DOSE",
    "1 MG/2.27 MG", "3 mg/1 mg", "1 million\xa0PFU", "UP TO 200 MILLION CAR T CELLS",
    "up to 600 million CAR-positive viable T cells", "Per infusion (minimum 50 million cells)",
    "UP TO 200 MILLION AUTOLOGOUS ANTI-CD19 CAR POSITIVE VIABLE T CELLS",
    "Up to 110 million CAR-positive viable T cells, per therapeutic dose",
    "UP TO 510 MILLION AUTOLOGOUS ANTI-BCMA CAR-POSITIVE VIABLE T CELLS",
    "up to 100 million autologous b-cell maturation antigen (bcma) directed car-positive t cells",
    "Less than or equal to 100 MG", "Greater than 100 MG",
}  # fmt: skip


def _parse_one(text: str | None) -> tuple[float, str | None]:
    row = parse_dosage(pd.Series([text], dtype="string")).iloc[0]
    return row["billing_unit_amount"], (
        None if pd.isna(row["billing_unit"]) else row["billing_unit"]
    )


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("1 MG", 1.0, "mg"),
        ("25 MCG", 25.0, "mcg"),
        ("2500 IU", 2500.0, "units"),
        ("0.1 MG", 0.1, "mg"),
        ("10 MG", 10.0, "mg"),
        ("250 MG", 250.0, "mg"),
        ("1 ML", 1.0, "mL"),
        ("1MG", 1.0, "mg"),
        ("10 mg", 10.0, "mg"),
        (".625 GM", 0.625, "g"),
        ("1.5 GM", 1.5, "g"),
        ("100,000 UNITS", 100000.0, "units"),
        ("1 UNIT", 1.0, "units"),
        ("5 Unit", 5.0, "units"),
        ("1 USP UNIT", 1.0, "units"),
        ("1000 CC", 1000.0, "mL"),
        ("UP TO 1 GM", 1.0, "g"),
        ("up to 40 Units", 40.0, "units"),
        ("50 MCG (250 IU)", 50.0, "mcg"),
        ("per 2500 iu", 2500.0, "units"),
        ("per milligram", 1.0, "mg"),
        ("per 10 milligrams", 10.0, "mg"),
        ("5 micrograms", 5.0, "mcg"),
        ("1,000 i.u.", 1000.0, "units"),
        ("  10 MG  ", 10.0, "mg"),
        ("3 million units", 3_000_000.0, "units"),  # J9213, J9216 interferons
        ("1 MILLION UNITS", 1_000_000.0, "units"),
        ("per 1 million units", 1_000_000.0, "units"),
        ("2.5 million iu", 2_500_000.0, "units"),
    ],
)
def test_parse_dosage_amount_and_unit(text, amount, unit):
    parsed_amount, parsed_unit = _parse_one(text)
    assert parsed_amount == pytest.approx(amount)
    assert parsed_unit == unit


@pytest.mark.parametrize(
    "text",
    [
        "PER DOSE", "1 EACH", "2 MEQ", "2MG/3MG", "0.25 MG - 5 MG", "MG", "0 MG", "", None,
        "1 SQ CM", "1 million\xa0PFU", "million units", "UP TO 200 MILLION CAR T CELLS",
    ],
)  # fmt: skip
def test_parse_dosage_not_an_amount_is_na(text):
    amount, unit = _parse_one(text)
    assert math.isnan(amount) and unit is None


def test_parse_dosage_keeps_index():
    texts = pd.Series(["1 MG", "PER DOSE"], index=[10, 20])
    parsed = parse_dosage(texts)
    assert list(parsed.index) == [10, 20]
    assert list(parsed.columns) == ["billing_unit_amount", "billing_unit"]


@pytest.mark.parametrize(
    ("descriptor", "phrase"),
    [
        ("Injection, dalteparin sodium, per 2500 iu", "per 2500 iu"),
        ("Injection, hydromorphone, up to 4 mg", "up to 4 mg"),
        ("Injection, bevacizumab, 10 mg", "10 mg"),
        ("Injection, alglucosidase alfa, 10 mg, not otherwise specified", "10 mg"),
        ("Injection, epoetin alfa, 1000 units (for esrd on dialysis)", "1000 units"),
        ("Injection, morphine sulfate, 100mg", "100mg"),
        ("5% dextrose in lactated ringers infusion, up to 1000 cc", "up to 1000 cc"),
        ("Injection, asparaginase (erwinaze), 1,000 iu", "1,000 iu"),
        ("Injection, interferon, alfa-2a, recombinant, 3 million units", "3 million units"),
    ],
)
def test_descriptor_dosage_finds_phrase(descriptor, phrase):
    assert descriptor_dosage(pd.Series([descriptor])).iloc[0] == phrase


@pytest.mark.parametrize(
    "descriptor",
    [
        "Unclassified drugs",
        "Injection, ferric pyrophosphate citrate powder, 0.1 mg of iron",  # trailing words
        "Injection, testosterone cypionate, 1 cc, 200 mg",  # two amounts: ambiguous
        "Buprenorphine/naloxone, oral, greater than 10 mg buprenorphine",
        "Injection, torsemide, 10 mg/ml",
        "Injection, etranacogene dezaparvovec-drlb, per therapeutic dose",
    ],
)
def test_descriptor_dosage_none_when_ambiguous_or_absent(descriptor):
    assert pd.isna(descriptor_dosage(pd.Series([descriptor])).iloc[0])


@pytest.mark.parametrize(
    ("descriptor", "phrase"),
    [
        ("Injection, gamma globulin, intramuscular, over 10 cc", "over 10 cc"),
        ("Injection, buprenorphine extended-release (sublocade), greater than 100 mg",
         "greater than 100 mg"),
        ("Buprenorphine/naloxone, oral, less than or equal to 3 mg buprenorphine",
         "less than or equal to 3 mg"),
    ],
)  # fmt: skip
def test_descriptor_threshold_found(descriptor, phrase):
    assert descriptor_threshold(pd.Series([descriptor])).iloc[0] == phrase


@pytest.mark.parametrize(
    "descriptor",
    [
        "Injection, gamma globulin, intramuscular, 1 cc",
        "Injection, hydromorphone, up to 4 mg",
        "Injection, interferon, gamma 1-b, 3 million units",
        "Over-bed table",
    ],
)
def test_descriptor_threshold_none_for_amounts(descriptor):
    assert pd.isna(descriptor_threshold(pd.Series([descriptor])).iloc[0])


@needs_raw
def test_parse_dosage_every_asp_text_parsed_or_expected_unparsed():
    pricing, _ = read_pricing(RAW_FILES["asp_pricing"], Fixes())
    texts = pd.Series(pricing["dosage_text"].dropna().unique(), dtype="string")
    parsed = parse_dosage(texts)
    unparsed = set(texts[parsed["billing_unit"].isna()])
    assert unparsed == ASP_UNPARSED
    ok = parsed["billing_unit"].notna()
    assert (parsed.loc[ok, "billing_unit_amount"] > 0).all()
    assert set(parsed.loc[ok, "billing_unit"]) == {"mg", "mcg", "g", "units", "mL"}
    assert len(texts) == 143
