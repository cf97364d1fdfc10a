import math

import pandas as pd
import pytest

from claims_audit.parsing import (
    has_code,
    normalize_code_list,
    normalize_ndc,
    normalize_unit,
    parse_dates,
    parse_decimal,
    parse_money,
    round_units,
    split_codes,
    to_billing_units,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("55513-0710-01", "55513-0710-01"),  # 5-4-2 as is
        ("0781-3422-92", "00781-3422-92"),  # 4-4-2: pad the labeler
        ("55513-710-01", "55513-0710-01"),  # 5-3-2: pad the product
        ("50242-0085-7", "50242-0085-07"),  # 5-4-1: pad the package
        ("55513071001", "55513-0710-01"),  # 11 digits without hyphens
        (" 55513-0710-01 ", "55513-0710-01"),
        ("5551307100", None),  # unhyphenated 10 digits: ambiguous
        ("5.0242E+09", None),  # Excel-mangled
        ("555-0710-01", None),
        ("55513-0710-001", None),
        ("abcde-fghi-jk", None),
        ("", None),
        ("N455513071001", "55513-0710-01"),  # 837 / CMS-1500 N4 qualifier
        ("N4 55513-0710-01", "55513-0710-01"),
        ("n40781-3422-92", "00781-3422-92"),
        ("55513 0710 01", "55513-0710-01"),  # spaces as separators
        ("0781.3422.92", "00781-3422-92"),  # dots as separators
        ("55513.710-01", "55513-0710-01"),
        ("N45551307100", None),  # N4 + 10 digits: still ambiguous
        ("N555513071001", None),
        ("55513--0710-01", None),
        ("\u0665\u0665\u0665\u0661\u0663-\u0660\u0667\u0661\u0660-\u0660\u0661", None),
        ("\uff15\uff15\uff15\uff11\uff13\uff10\uff17\uff11\uff10\uff10\uff11", None),
    ],
)
def test_normalize_ndc_forms(raw, expected):
    out = normalize_ndc(pd.Series([raw], dtype="string")).iloc[0]
    assert (None if pd.isna(out) else out) == expected


def test_parse_dates_accepts_three_formats_and_rejects_others():
    out = parse_dates(
        pd.Series(
            [
                "2026-01-05",
                "01/05/2026",
                "1/5/2026",
                "20260105",
                "2026-02-30",
                "2026/01/05",
                "05.01.2026",
                None,
            ]
        )
    )
    assert list(out[:4]) == [pd.Timestamp("2026-01-05")] * 4
    assert out[4:].isna().all()


def test_parse_decimal_plain_numbers_only():
    out = parse_decimal(pd.Series(["12", "12.5", ".5", "-3", "1e3", "1,000", "$5", "abc", None]))
    assert list(out[:5]) == [12.0, 12.5, 0.5, -3.0, 1000.0]
    assert out[5:].isna().all()


def test_split_codes_all_separators():
    parts = split_codes(pd.Series(["jw 59", "JZ,RT", "KX:GA|59", None]))
    assert parts.iloc[0].dropna().tolist() == ["JW", "59"]
    assert parts.iloc[1].dropna().tolist() == ["JZ", "RT"]
    assert parts.iloc[2].dropna().tolist() == ["KX", "GA", "59"]
    assert parts.iloc[3].isna().all()


def test_normalize_code_list_sorted_canonical():
    out = normalize_code_list(pd.Series(["jw,59", " rt | lt ", "", None]))
    assert out[:2].tolist() == ["59 JW", "LT RT"]
    assert out[2:].isna().all()


def test_has_code_whole_entries_only():
    out = has_code(pd.Series(["59 JW", "JWX", None, "JZ"]), "JW")
    assert out.tolist() == [True, False, False, False]


def test_normalize_unit_aliases():
    out = normalize_unit(pd.Series(["MG", "mcg", "IU", "U", "units", "ml", "g", "kg"]))
    assert out[:7].tolist() == ["mg", "mcg", "units", "units", "units", "mL", "g"]
    assert pd.isna(out[7])


@pytest.mark.parametrize(
    "amount, unit, per, billing_unit, expected",
    [
        (375, "mg", 10, "mg", 37.5),  # Avastin J9035 per 10 mg
        (100, "mcg", 25, "mcg", 4.0),  # octreotide J2354 per 25 mcg
        (5000, "units", 2500, "units", 2.0),  # dalteparin J1645 per 2500 IU
        (0.1, "g", 1, "mg", 100.0),  # g = 1000 mg
        (1, "mg", 25, "mcg", 40.0),  # mg = 1000 mcg
        (2, "mL", 1, "mL", 2.0),
        (2, "mL", 1, "mg", math.nan),  # mL only against mL descriptors
        (5, "units", 1, "mg", math.nan),
    ],
)
def test_to_billing_units_conversions(amount, unit, per, billing_unit, expected):
    out = to_billing_units(
        pd.Series([amount]), pd.Series([unit]), pd.Series([per]), pd.Series([billing_unit])
    ).iloc[0]
    if math.isnan(expected):
        assert math.isnan(out)
    else:
        assert out == pytest.approx(expected)


@pytest.mark.parametrize(
    "policy, values, expected",
    [
        ("up", [37.5, 4.0, 2.0000000001, 0.1], [38, 4, 2, 1]),
        ("nearest", [37.5, 37.4, 4.0], [38, 37, 4]),
        ("exact", [37.5, 37.99, 4.0], [37, 37, 4]),
    ],
)
def test_round_units_policies(policy, values, expected):
    assert round_units(pd.Series(values), policy).tolist() == expected


def test_round_units_unknown_policy():
    with pytest.raises(ValueError):
        round_units(pd.Series([1.0]), "sideways")


def test_dates_outside_the_years_and_in_other_digits():
    from claims_audit.parsing import date_out_of_range

    values = pd.Series(
        [
            "1899-12-31",
            "2101-01-01",
            "01/01/1678",
            "19000101",
            "2100-12-31",
            "x",
            None,
            "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0665",
        ],
        dtype="string",
    )
    assert date_out_of_range(values).tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    parsed = parse_dates(values)
    assert parsed.iloc[3] == pd.Timestamp("1900-01-01")
    assert parsed.iloc[4] == pd.Timestamp("2100-12-31")
    assert parsed.drop([3, 4]).isna().all()


def test_parse_decimal_ascii_digits_only():
    out = parse_decimal(pd.Series(["60", "\u0666\u0660", "\uff16\uff10", "6\u06f0", "1e5"]))
    assert out.iloc[0] == 60.0 and out.iloc[4] == 1e5
    assert out.iloc[1:4].isna().all()


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("$1,185.00", 1185.0),
        ("-$3.50", -3.5),
        ("+$1,000,000", 1_000_000.0),
        ("1,234.50", 1234.5),
        ("$.5", 0.5),
        ("24", 24.0),
        ("1e3", 1000.0),  # what parse_decimal takes passes
        ("$-3.50", None),  # the sign goes before the $
        ("1,18.5", None),  # thousands groups are three digits
        ("1.185,00", None),  # no locale guessed
        ("USD 3", None),
        ("(25.00)", None),  # no accounting negatives
        ("$", None),
        ("$\u0661,185.00", None),  # ASCII digits only
        ("$1,185.0\u0660", None),
    ],
)
def test_parse_money_dollar_signs_and_thousands_separators(raw, expected):
    got = parse_money(pd.Series([raw], dtype="string"))[0]
    assert math.isnan(got) if expected is None else got == expected, (raw, got)


def test_parse_dates_extra_formats_after_the_built_in_ones():
    values = pd.Series(["3/7/26", "3/7/2026", "12/31/99", "2/30/26", "\u0663/7/26", "26-03-07"])
    default = parse_dates(values)
    assert default.isna().tolist() == [True, False, True, True, True, True]  # 2-digit years
    got = parse_dates(values, ("%m/%d/%y",)).dt.strftime("%Y-%m-%d").fillna("").tolist()
    assert got == ["2026-03-07", "2026-03-07", "1999-12-31", "", "", ""]
