"""The Arrow / integer-code helpers of issue 14 give exactly what the pandas idioms they replace
give (those run per value in Python): same values, same NA, same order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claims_audit.columns import (
    as_text,
    distinct_text,
    factorized,
    first_rows,
    group_ids,
    joined_per_label,
    lookup,
    per_combination,
    per_value,
    sorted_codes,
)
from claims_audit.parsing import TEXT, extract, parse_decimal, parse_money
from claims_audit.rules.common import join_text

TEXTS = ["00781-3422-92", "0781-3422-92", None, "N4 00781342292", "abc", "5551307100", "é-1-2"]


@pytest.mark.parametrize(
    "pattern", [r"^([0-9]{4,5})-([0-9]{3,4})-([0-9]{1,2})$", r"^(?:N4 )?([0-9]{11})$", r"(\d)"]
)
def test_extract_is_str_extract(pattern):
    values = pd.Series(TEXTS, index=[3, 1, 4, 1, 5, 9, 2], dtype="string")
    expected = values.str.extract(pattern).astype(TEXT)
    pd.testing.assert_frame_equal(extract(values, pattern), expected)


def test_numbers_parse_as_python_float_does():
    text = ["12", "-3", ".5", "5.", "+3", "1e5", "-.5e-3", "0.1", "1e400", "4.9e-324", "x", None]
    parsed = parse_decimal(pd.Series(text))
    expected = [float(t) if t not in ("x", None) else np.nan for t in text]
    np.testing.assert_array_equal(parsed.to_numpy(), np.array(expected))
    money = parse_money(pd.Series(["$1,185.00", "-$3.50", "$-3.50", "1,18.5", "1e5", " 7 "]))
    np.testing.assert_array_equal(money.to_numpy(), [1185.0, -3.5, np.nan, np.nan, 1e5, 7.0])


def test_join_text_is_a_plus_chain():
    a = pd.Series(["x", None, "z", ""], index=[7, 8, 9, 10], dtype=TEXT)
    b = pd.Series(["1", "2", None, "4"], index=[7, 8, 9, 10], dtype=TEXT)
    pd.testing.assert_series_equal(
        join_text("pre ", a, " mid ", b, " end"), "pre " + a + " mid " + b + " end"
    )


def test_joined_per_label_is_groupby_join():
    index = pd.RangeIndex(5)
    parts = pd.Series(["c", "a", "b", "d", "a"], index=[3, 0, 3, 1, 3], dtype=TEXT)
    expected = parts.astype(object).groupby(level=0).agg("; ".join).reindex(index)
    got = joined_per_label(parts, index, "; ")
    assert got.tolist() == [expected[i] if pd.notna(expected[i]) else pd.NA for i in index]
    assert got[3] == "c; b; a" and got.isna().tolist() == [False, False, True, False, True]


def test_first_rows_are_each_groups_first_line():
    rng = np.random.default_rng(1)
    ids = group_ids(pd.Series(rng.integers(0, 40, 2000)), pd.Series(rng.integers(0, 3, 2000)))
    np.testing.assert_array_equal(first_rows(ids), np.unique(ids, return_index=True)[1])
    assert len(first_rows(np.array([], dtype=np.int64))) == 0


def test_factorized_ids_group_like_the_text():
    ids = pd.Series(["P2", "P1", None, "P2", "P3"], dtype=TEXT)
    other = pd.Series(["a", "a", "b", "a", "b"], dtype="category")
    np.testing.assert_array_equal(group_ids(factorized(ids), other), group_ids(ids, other))


def test_category_lookup_is_map_then_astype():
    keys = pd.Series(["J1", "J2", None, "J9", "J1"], dtype="category")
    mapping = pd.Series({"J1": "mg", "J2": "mL", "J3": "mg"})
    got = lookup(keys, mapping, "category")
    assert isinstance(got.dtype, pd.CategoricalDtype)
    assert got.astype(object).where(got.notna(), None).tolist() == ["mg", "mL", None, None, "mg"]
    dated = lookup(keys, pd.Series({"J1": pd.Timestamp("2024-01-01")}), "datetime64[ns]")
    assert dated.dtype == "datetime64[ns]"
    assert dated.isna().tolist() == [False, True, True, True, False]


def test_per_value_keeps_na_and_dtypes():
    values = pd.Series(["1", "$2,000", None, "x", "1"], dtype="category")
    np.testing.assert_array_equal(
        per_value(values, parse_money).to_numpy(), [1.0, 2000.0, np.nan, np.nan, 1.0]
    )
    assert per_value(values, lambda c: c.isna()).tolist() == [False, False, True, False, False]


def test_per_combination_text_comes_back_as_categorical():
    frame = pd.DataFrame({"k": pd.Series(["a", "b", "a", None], dtype="category")})
    out = per_combination(frame, ["k"], lambda small: small["k"].astype(object).str.upper())
    assert isinstance(out.dtype, pd.CategoricalDtype)
    assert out.astype(object).where(out.notna(), None).tolist() == ["A", "B", "A", None]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["b", "a", None, "b"], dtype="category"),
        pd.Series(["é", "😀", None], dtype="category"),
        pd.Series([1.5, None]).astype("category"),
        pd.Series(["x", 1, None]).astype("category"),
    ],
)
def test_as_text_is_astype_text(values):
    pd.testing.assert_series_equal(as_text(values), values.astype(TEXT))


def test_distinct_text_is_arrow_text_with_na_last():
    distinct, rows = distinct_text(pd.Series(["b", None, "a", "b"], dtype="category"))
    assert distinct.dtype == TEXT and distinct.tolist()[:2] == ["a", "b"]
    assert distinct.isna().tolist() == [False, False, True] and rows.tolist() == [1, -1, 0, 1]
    distinct, rows = distinct_text(pd.Series(["y", None, "x", "y"], dtype=TEXT))
    assert distinct.tolist()[:2] == ["y", "x"] and rows.tolist() == [0, -1, 1, 0]


def test_sorted_codes_numbers_runs_of_sorted_text_only():
    ids = pd.Series(["C1", "C1", "C2", "C3", "C3"], dtype=TEXT)
    assert sorted_codes(ids).tolist() == [0, 0, 1, 2, 2]
    assert sorted_codes(pd.Series(["C2", "C1", "C2"], dtype=TEXT)) is None
    assert sorted_codes(pd.Series(["C1", None], dtype=TEXT)) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            ["inf", "-inf", "nan", "Infinity", "1e400", "2.5", " 7 ", None],
            [np.nan] * 4 + [np.inf, 2.5, 7.0, np.nan],
        ),
        (["1e400", "2.5"], [np.inf, 2.5]),  # all numbers for Arrow
        (["1", "inf"], [1.0, np.nan]),  # all numbers for Arrow, one of them a word
    ],
)
def test_number_words_are_not_decimals(text, expected):
    for values in (pd.Series(text), pd.Series(text, dtype=TEXT)):
        np.testing.assert_array_equal(parse_decimal(values).to_numpy(), expected)
        np.testing.assert_array_equal(parse_money(values).to_numpy(), expected)
