"""Property-based tests (hypothesis) for the field parsers: NDC normalisation, dates, unit
conversion and rounding, modifier lists and ICD-10-CM code lists."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from claims_audit.parsing import (
    FIRST_YEAR,
    LAST_YEAR,
    date_out_of_range,
    has_code,
    normalize_code_list,
    normalize_diagnosis_codes,
    normalize_ndc,
    parse_dates,
    parse_decimal,
    round_units,
    split_codes,
    to_billing_units,
)
from tests.conftest import examples

FAST = examples(50)  # 50 under the ci profile, the fuzz profile's own count in `make fuzz`
DIGITS = "0123456789"
ARABIC_INDIC = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def one(fn, value):
    out = fn(pd.Series([value], dtype="string")).iloc[0]
    return None if pd.isna(out) else out


def digits(n: int):
    return st.text(DIGITS, min_size=n, max_size=n)


# -- NDC -------------------------------------------------------------------------------------


@FAST
@given(labeler=digits(5), product=digits(4), package=digits(2))
def test_ndc_11_digits_and_5_4_2_agree(labeler, product, package):
    canonical = f"{labeler}-{product}-{package}"
    assert one(normalize_ndc, labeler + product + package) == canonical
    assert one(normalize_ndc, canonical) == canonical
    assert one(normalize_ndc, f"  {canonical} ") == canonical


@FAST
@given(labeler=digits(4), product=digits(3), package=digits(1), short=st.sampled_from("LPK"))
def test_ndc_10_digit_hyphenated_forms_pad_the_short_segment(labeler, product, package, short):
    # 4-4-2, 5-3-2, 5-4-1: exactly one segment one digit short, padded with a leading zero
    lab = labeler if short == "L" else "9" + labeler
    prod = product if short == "P" else "9" + product
    pack = package if short == "K" else "9" + package
    expected = f"{lab.zfill(5)}-{prod.zfill(4)}-{pack.zfill(2)}"
    assert one(normalize_ndc, f"{lab}-{prod}-{pack}") == expected


@FAST
@given(value=digits(10))
def test_ndc_unhyphenated_10_digits_is_ambiguous(value):
    assert one(normalize_ndc, value) is None


@FAST
@given(
    value=st.text(alphabet=DIGITS + "-. E+xN4" + ARABIC_INDIC, max_size=16) | st.text(max_size=16)
)
def test_ndc_any_text_is_5_4_2_or_na_and_idempotent(value):
    out = one(normalize_ndc, value)
    if out is not None:
        assert len(out) == 13 and out[5] == "-" and out[10] == "-"
        assert out.replace("-", "").isdigit() and out.replace("-", "").isascii()
        assert one(normalize_ndc, out) == out


@FAST
@given(
    labeler=digits(5),
    product=digits(4),
    package=digits(2),
    separators=st.lists(st.sampled_from(["-", " ", "."]), min_size=2, max_size=2),
    prefix=st.sampled_from(["", "N4", "n4", "N4 "]),
)
def test_ndc_n4_prefix_and_space_or_dot_separators(labeler, product, package, separators, prefix):
    canonical = f"{labeler}-{product}-{package}"
    written = f"{prefix}{labeler}{separators[0]}{product}{separators[1]}{package}"
    assert one(normalize_ndc, written) == canonical
    assert one(normalize_ndc, f"{prefix}{labeler}{product}{package}") == canonical


@FAST
@given(
    labeler=digits(5),
    product=digits(4),
    package=digits(2),
    prefix=st.sampled_from(["N", "N5", "X4", "4N", "N4-", "N44"]),
)
def test_ndc_other_prefixes_are_not_accepted(labeler, product, package, prefix):
    assert one(normalize_ndc, f"{prefix}{labeler}{product}{package}") is None


@FAST
@given(labeler=digits(5), product=digits(4), package=digits(2), sep=st.sampled_from(["-", ""]))
def test_ndc_in_non_ascii_digits_is_malformed(labeler, product, package, sep):
    table = str.maketrans(DIGITS, ARABIC_INDIC)
    assert one(normalize_ndc, f"{labeler}{sep}{product}{sep}{package}".translate(table)) is None


@FAST
@given(mantissa=st.floats(1, 9.99999, allow_nan=False), exponent=st.integers(8, 10))
def test_ndc_excel_scientific_notation_is_never_normalised(mantissa, exponent):
    assert one(normalize_ndc, f"{mantissa:.4f}E+{exponent:02d}") is None


# -- dates -----------------------------------------------------------------------------------

DATES = st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 12, 31))
OUTSIDE = st.dates(max_value=date(FIRST_YEAR - 1, 12, 31), min_value=date(1000, 1, 1)) | st.dates(
    min_value=date(LAST_YEAR + 1, 1, 1)
)


@FAST
@given(day=DATES)
def test_dates_the_three_formats_agree(day):
    texts = [
        day.isoformat(),
        day.strftime("%m/%d/%Y"),
        f"{day.month}/{day.day}/{day.year}",
        day.strftime("%Y%m%d"),
    ]
    out = parse_dates(pd.Series(texts, dtype="string"))
    assert (out == pd.Timestamp(day)).all()


@FAST
@given(day=DATES, fmt=st.sampled_from(["%Y/%m/%d", "%d.%m.%Y", "%b %d %Y", "%Y-%m-%dT00:00"]))
def test_dates_other_formats_are_nat(day, fmt):
    assert parse_dates(pd.Series([day.strftime(fmt)], dtype="string")).isna().all()


@FAST
@given(value=st.text(max_size=20))
def test_dates_any_text_is_a_midnight_date_or_nat(value):
    out = parse_dates(pd.Series([value], dtype="string")).iloc[0]
    assert pd.isna(out) or out == out.normalize()


@FAST
@given(day=OUTSIDE)
def test_dates_outside_the_years_are_out_of_range_not_unparseable(day):
    texts = [
        day.isoformat(),
        day.strftime("%m/%d/%Y"),
        f"{day.year:04d}{day.month:02d}{day.day:02d}",
    ]
    series = pd.Series(texts, dtype="string")
    assert parse_dates(series).isna().all()
    assert date_out_of_range(series).all()


@FAST
@given(day=DATES)
def test_dates_inside_the_years_are_never_out_of_range(day):
    assert not date_out_of_range(pd.Series([day.isoformat(), "not a date", None])).any()


@FAST
@given(day=DATES, digits=st.sampled_from([ARABIC_INDIC, "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９"]))
def test_dates_and_numbers_in_other_digits_are_not_parsed(day, digits):
    table = str.maketrans("0123456789", digits)
    text = pd.Series([day.isoformat().translate(table), day.strftime("%Y%m%d").translate(table)])
    assert parse_dates(text.astype("string")).isna().all()
    assert not date_out_of_range(text).any()
    assert parse_decimal(pd.Series(["60".translate(table), "1.5".translate(table)])).isna().all()


@FAST
@given(
    stamp=st.datetimes(min_value=pd.Timestamp("1700-01-02").to_pydatetime()),
    tz=st.sampled_from([None, "UTC", "America/Chicago"]),
)
def test_dates_typed_timestamps_keep_their_calendar_date(stamp, tz):
    series = pd.Series([stamp]).astype("datetime64[us]")
    if tz:
        series = series.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    out = parse_dates(series).iloc[0]
    inside = FIRST_YEAR <= stamp.year <= LAST_YEAR
    if pd.isna(series.iloc[0]) or not inside:
        assert pd.isna(out)
    else:
        assert out == pd.Timestamp(stamp.date())


# -- numbers, units, rounding ----------------------------------------------------------------


@FAST
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_parse_decimal_round_trips_repr(value):
    assert parse_decimal(pd.Series([repr(value)], dtype="string")).iloc[0] == value


@FAST
@given(number=st.integers(1000, 10**9), cents=digits(2), sign=st.sampled_from(["$", "€", "USD "]))
def test_parse_decimal_rejects_grouping_and_currency(number, cents, sign):
    texts = [f"{number:,}.{cents}", f"{sign}{number}.{cents}", f"{sign}{number:,}.{cents}"]
    assert parse_decimal(pd.Series(texts, dtype="string")).isna().all()
    assert parse_decimal(pd.Series([f" {number}.{cents} "], dtype="string")).iloc[0] == float(
        f"{number}.{cents}"
    )


AMOUNTS = st.floats(min_value=0.001, max_value=1e6, allow_nan=False)
PER = st.sampled_from([0.1, 0.5, 1, 10, 25, 100, 250, 2500])


def billing(amount, unit, per, billing_unit):
    return to_billing_units(
        pd.Series([amount]), pd.Series([unit]), pd.Series([float(per)]), pd.Series([billing_unit])
    ).iloc[0]


@FAST
@given(amount=AMOUNTS, per=PER, billing_unit=st.sampled_from(["mg", "mcg", "g"]))
def test_units_mass_conversions_agree(amount, per, billing_unit):
    in_g = billing(amount, "g", per, billing_unit)
    in_mg = billing(amount * 1000, "mg", per, billing_unit)
    in_mcg = billing(amount * 1_000_000, "mcg", per, billing_unit)
    assert math.isclose(in_g, in_mg, rel_tol=1e-9)
    assert math.isclose(in_mg, in_mcg, rel_tol=1e-9)


@FAST
@given(amount=AMOUNTS, per=PER, unit=st.sampled_from(["mg", "mcg", "g", "units", "mL"]))
def test_units_same_unit_is_a_plain_ratio(amount, per, unit):
    assert math.isclose(billing(amount, unit, per, unit) * per, amount, rel_tol=1e-9)


@FAST
@given(
    amount=AMOUNTS,
    pair=st.sampled_from(
        [("mL", "mg"), ("mg", "mL"), ("units", "mg"), ("mg", "units"), ("mL", "units")]
    ),
)
def test_units_across_families_are_not_comparable(amount, pair):
    assert math.isnan(billing(amount, pair[0], 1, pair[1]))


VALUES = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@FAST
@given(values=st.lists(VALUES, min_size=1, max_size=20))
def test_round_units_bounds_and_monotone(values):
    v = pd.Series(sorted(values))
    up, near, exact = (round_units(v, p) for p in ("up", "nearest", "exact"))
    tol = 1e-6 * (1 + v.abs())
    assert (up >= v - tol).all() and (up - v < 1).all()
    assert (exact <= v + tol).all() and (v - exact < 1).all()
    assert ((near - v).abs() <= 0.5 + tol).all()
    assert (exact <= near).all() and (near <= up).all()
    for out in (up, near, exact):
        assert out.is_monotonic_increasing
        assert (out == out.round()).all()


@FAST
@given(whole=st.integers(0, 10**9))
def test_round_units_whole_numbers_stay(whole):
    for policy in ("up", "nearest", "exact"):
        assert round_units(pd.Series([float(whole)]), policy).iloc[0] == whole


# -- modifiers and code lists ----------------------------------------------------------------

MODIFIER = st.text(UPPER + DIGITS, min_size=2, max_size=2)
SEPARATOR = st.sampled_from([" ", ",", ":", "|", ", ", " | ", "  ", ";"])


def join(codes: list[str], separators: list[str], lower: list[bool]) -> str:
    parts = [c.lower() if low else c for c, low in zip(codes, lower, strict=False)]
    text = parts[0]
    for sep, part in zip(separators, parts[1:], strict=False):
        text += sep + part
    return text


@FAST
@given(
    codes=st.lists(MODIFIER, min_size=1, max_size=4),
    separators=st.lists(SEPARATOR, min_size=3, max_size=3),
    lower=st.lists(st.booleans(), min_size=4, max_size=4),
    pad=st.sampled_from(["", " ", "  "]),
)
def test_modifiers_split_any_separator_and_case(codes, separators, lower, pad):
    text = pad + join(codes, separators, lower) + pad
    parts = split_codes(pd.Series([text], dtype="string"), width=4)
    assert parts.iloc[0].dropna().tolist() == codes
    assert parts.shape[1] == 4


@FAST
@given(
    codes=st.lists(MODIFIER, min_size=1, max_size=4),
    separators=st.lists(SEPARATOR, min_size=3, max_size=3),
    order=st.randoms(use_true_random=False),
)
def test_code_list_canonical_form_ignores_order_and_is_idempotent(codes, separators, order):
    shuffled = list(codes)
    order.shuffle(shuffled)
    a = one(normalize_code_list, join(codes, separators, [True] * 4))
    b = one(normalize_code_list, " ".join(shuffled))
    assert a == b == " ".join(sorted(codes))
    assert one(normalize_code_list, a) == a
    listed = pd.Series([a], dtype="string")
    assert all(has_code(listed, c).iloc[0] for c in codes)


@FAST
@given(codes=st.lists(MODIFIER, min_size=1, max_size=4), other=MODIFIER)
def test_has_code_whole_entries_only(codes, other):
    listed = pd.Series([" ".join(codes)], dtype="string")
    assert has_code(listed, other).iloc[0] == (other in codes)
    assert not has_code(listed, other + "X").iloc[0]


ICD10 = st.from_regex(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", fullmatch=True)


@FAST
@given(
    codes=st.lists(ICD10, min_size=1, max_size=5),
    separators=st.lists(SEPARATOR, min_size=4, max_size=4),
    lower=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_icd10_dot_and_case_do_not_matter(codes, separators, lower):
    dotted = one(normalize_diagnosis_codes, join(codes, separators, lower))
    bare = one(normalize_diagnosis_codes, " ".join(c.replace(".", "") for c in codes))
    assert dotted == bare == " ".join(sorted(c.replace(".", "") for c in codes))
    assert "." not in dotted and dotted == dotted.upper()
    assert one(normalize_diagnosis_codes, dotted) == dotted


@FAST
@given(value=st.text(max_size=30))
def test_code_lists_never_fail_and_stay_canonical(value):
    for fn in (normalize_code_list, normalize_diagnosis_codes):
        out = one(fn, value)
        if out is not None:
            assert out == out.strip() and "  " not in out
            assert one(fn, out) == out
