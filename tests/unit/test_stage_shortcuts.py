"""The shortcuts of validate and enrich (issue 14) give exactly what the longer way gives: wide
Arrow text of numbers parsed per row (not per distinct value), the trim skipped where Arrow
reads every value, sorted ids numbered by runs, units converted through per-category tables,
group sums and flags per group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from claims_audit import validate
from claims_audit.columns import factorized, group_any, group_sum
from claims_audit.enrich import _CPT_ARROW, CPT_PATTERN
from claims_audit.ingest import read_input
from claims_audit.parsing import (
    TEXT,
    arrow_text,
    billing_units_of,
    parse_decimal,
    parse_money,
    to_billing_units,
)
from claims_audit.validate import combine_inputs, validate_frame

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
NUMBERS = ["charge_usd", "administered_amount", "other_payer_paid_usd", "line_number"]
MESSY = [" 12.5", "$1,234.50", "abc", "1e400", "-5", "1e-9", "2.5", None, "inf", "7", "3.25 "]


def _raw() -> pd.DataFrame:
    """The sample claims with messy numbers in the number columns, as categoricals."""
    raw = combine_inputs([read_input(SAMPLE / "claims.csv")])
    picks = np.arange(len(raw)) % len(MESSY)
    for name in NUMBERS[:3]:
        values = raw[name].astype(object).to_numpy()
        values[::3] = np.array(MESSY, dtype=object)[picks[::3]]
        raw[name] = pd.Series(values, index=raw.index).astype("category")
    line = raw["line_number"].astype(object).to_numpy()
    line[::7] = "1.5"
    raw["line_number"] = pd.Series(line, index=raw.index).astype("category")
    return raw


@pytest.mark.parametrize("near_unique", [True, False])
def test_numbers_as_wide_text_validate_as_categoricals_do(monkeypatch, near_unique):
    """Parsed per row (near-unique text) or per distinct value: the same lines and rejects."""
    raw = _raw()
    expected = validate_frame(raw)
    assert len(expected.rejects) > 0 and expected.rejects["reason_code"].nunique() > 1
    wide = raw.copy()
    for name in NUMBERS:
        wide[name] = wide[name].astype(object).astype(TEXT)  # as ingest leaves wide columns
    monkeypatch.setattr(validate, "_near_unique", lambda values: near_unique)
    got = validate_frame(wide)
    pd.testing.assert_frame_equal(got.lines, expected.lines, check_exact=True)
    pd.testing.assert_frame_equal(got.rejects, expected.rejects, check_exact=True)


def test_near_unique_text_is_told_by_its_first_rows():
    many = pd.Series([f"{k}.25" for k in range(20_000)], dtype=TEXT)
    assert validate._near_unique(many)
    assert not validate._near_unique(pd.Series(["1.5", "2"] * 10_000, dtype=TEXT))
    assert not validate._near_unique(pd.Series([None] * 19_000 + ["1"] * 1_000, dtype=TEXT))
    assert not validate._near_unique(many.astype("category"))


def test_numbers_parse_the_same_with_and_without_surrounding_space():
    plain = ["12", "-3", ".5", "1e400", "inf", "nan", None, "0.1"]
    spaced = [" 12", "-3 ", "\t.5", " 1e400", " inf", "nan\n", None, "0.1"]
    for parse in (parse_decimal, parse_money):
        for texts in (plain, spaced):
            got = parse(pd.Series(texts, dtype=TEXT)).to_numpy()
            one = [parse(pd.Series([t], dtype=TEXT)).iloc[0] for t in texts]
            np.testing.assert_array_equal(got, np.array(one, dtype="float64"))
        np.testing.assert_array_equal(
            parse(pd.Series(plain, dtype=TEXT)).to_numpy(),
            parse(pd.Series(spaced, dtype=TEXT)).to_numpy(),
        )
    assert np.isnan(parse_decimal(pd.Series(["inf"], dtype=TEXT)).iloc[0])
    assert parse_money(pd.Series([" $1,234.50 "], dtype=TEXT)).iloc[0] == 1234.5


@pytest.mark.parametrize(
    "ids",
    [
        ["C1", "C1", "C2", "C3", "C3", "C3"],  # sorted: numbered by runs
        ["C2", "C1", "C2"],  # not sorted: factorised
        ["C1", None, "C1"],
        ["C9"],
        [],
    ],
)
def test_factorized_is_pd_factorize(ids):
    values = pd.Series(ids, dtype=TEXT, index=np.arange(len(ids)) + 10)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    expected = pd.Series(pd.Categorical.from_codes(codes, categories=uniques), index=values.index)
    got = factorized(values)
    pd.testing.assert_series_equal(got, expected)
    assert got.cat.categories.dtype == expected.cat.categories.dtype
    np.testing.assert_array_equal(got.cat.codes.to_numpy(), expected.cat.codes.to_numpy())


def test_billing_units_of_categoricals_and_of_several_amounts_are_those_of_text():
    amount = pd.Series([375.0, 100, 0.1, 2, 2, 5, np.nan, 3, 1])
    unit = pd.Series(["mg", "mcg", "g", "mL", "mL", "units", "mg", None, "oz"])
    per = pd.Series([10.0, 25, 1, 1, 1, 1, 10, 1, 0])
    billing = pd.Series(["mg", "mcg", "mg", "mL", "mg", "mg", "mg", "mg", "mg"])
    plain = to_billing_units(amount, unit, per, billing)
    coded = to_billing_units(amount, unit.astype("category"), per, billing.astype("category"))
    pd.testing.assert_series_equal(coded, plain)
    assert plain.tolist()[:3] == [37.5, 4.0, 100.0]
    waste = amount[::-1].reset_index(drop=True)
    both = billing_units_of([amount, waste], unit.astype("category"), per, billing)
    pd.testing.assert_series_equal(both[0], plain)
    pd.testing.assert_series_equal(both[1], to_billing_units(waste, unit, per, billing))
    assert np.isnan(plain.iloc[4]) and np.isnan(plain.iloc[7]) and np.isnan(plain.iloc[8])


def test_group_sum_and_any_per_group():
    groups = np.array([0, 1, 0, 2, 1, 3])
    values = pd.Series([1.5, np.nan, 2.0, np.nan, 4.0, np.nan], index=list("abcdef"))
    got = group_sum(values, groups)
    np.testing.assert_array_equal(got.to_numpy(), [3.5, 4.0, 3.5, np.nan, 4.0, np.nan])
    assert list(got.index) == list("abcdef")
    hits = group_any(pd.Series([False, False, True, False, False, True]), groups)
    assert hits.tolist() == [True, False, True, False, False, True]
    none = np.array([], dtype=np.int64)
    assert group_any(pd.Series([], dtype=bool), none).tolist() == []
    empty = group_sum(pd.Series([], dtype="float64"), none)
    assert empty.dtype == "float64" and len(empty) == 0


def test_cpt_codes_found_by_arrow_as_by_python_re():
    codes = ["12345", "1234F", "1234U", "12345\n", "12345\n\n", "1234X", "J1234", "123456"]
    codes += ["\u0661\u0662\u0663\u0664\u0665", "12345 ", "", None, "1234f"]
    text = pd.Series(codes, dtype="string")
    expected = text.str.match(CPT_PATTERN).fillna(False).tolist()
    found = pc.fill_null(pc.match_substring_regex(arrow_text(text), _CPT_ARROW), False)
    assert found.to_pylist() == expected
    assert expected[:5] == [True, True, True, True, False]
