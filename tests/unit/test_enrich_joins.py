"""Enrich's integer-code joins (issue 14) give what the pandas idioms they replace give: distinct
pairs as a groupby finds them, per-value lookups as `lookup`, NDCs as `normalize_ndc`, and the
bundle's lookups built once per bundle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import claims_audit.columns as columns
from claims_audit import enrich
from claims_audit.columns import categorical_rows, distinct_values, lookup, pair_ids
from claims_audit.enrich import PairTable, bundle_lookups, normalized_ndcs
from claims_audit.parsing import normalize_ndc
from claims_audit.reference import Bundle


def _pairs_of(a: np.ndarray, b: np.ndarray, dense: bool, monkeypatch) -> set:
    if not dense:
        monkeypatch.setattr(columns, "_DENSE_PAIRS", 0)  # force the factorised path
    ids, pair_a, pair_b = pair_ids(a, b)
    assert sorted(set(ids)) == list(range(len(pair_a)))  # dense ids, one per pair
    np.testing.assert_array_equal(pair_a[ids], a)  # each row's pair holds the row's codes
    np.testing.assert_array_equal(pair_b[ids], b)
    return set(zip(pair_a.tolist(), pair_b.tolist(), strict=True))


@pytest.mark.parametrize("dense", [True, False])
def test_pair_ids_are_the_distinct_pairs(dense, monkeypatch):
    a = np.array([0, 2, -1, 0, 2, 1, -1, 0], dtype=np.int16)
    b = np.array([1, 0, 3, 1, 0, -1, 3, 2], dtype=np.int8)
    pairs = _pairs_of(a, b, dense, monkeypatch)
    assert pairs == {(0, 1), (2, 0), (-1, 3), (1, -1), (0, 2)}


def test_pair_ids_of_no_rows():
    ids, pair_a, pair_b = pair_ids(np.zeros(0, np.int8), np.zeros(0, np.int8))
    assert len(ids) == len(pair_a) == len(pair_b) == 0


def test_distinct_values_take_back_like_lookup():
    codes = pd.Series(["J9035", None, "J2354", "X0000", "J9035"], dtype="category")
    mapping = pd.Series(["mg", "mcg"], index=["J9035", "J2354"])
    values, rows = distinct_values(codes)
    assert values.tolist()[:-1] == list(codes.cat.categories) and values.isna().iloc[-1]
    taken = pd.Series(categorical_rows(values.astype("object").map(mapping), rows))
    expected = lookup(codes, mapping, "category")
    assert taken.astype(object).where(taken.notna(), None).tolist() == [
        "mg",
        None,
        "mcg",
        None,
        "mg",
    ]
    pd.testing.assert_series_equal(taken, expected.reset_index(drop=True), check_names=False)
    assert list(taken.cat.categories) == list(expected.cat.categories) == ["mcg", "mg"]


def test_normalized_ndcs_are_normalize_ndc_across_batches():
    first = pd.Series(["00781-3422-92", "0781-3422-92", "abc"], dtype="string")
    second = pd.Series(["N4 00781342292", "0781-3422-92", "5551307100"], dtype="string")
    for texts in (first, second, first):  # the second and third reuse what the first normalised
        got = normalized_ndcs(texts)
        pd.testing.assert_series_equal(got, normalize_ndc(texts))
    assert normalized_ndcs(second).tolist()[:2] == ["00781-3422-92", "00781-3422-92"]


def test_normalized_ndcs_stay_right_when_the_memo_starts_again(monkeypatch):
    """A full memo starts again: texts of the batch it already held are normalised anew, never
    taken from a wrong position (found at 10M lines: N004 on 620k lines instead of 100k)."""
    monkeypatch.setattr(enrich, "NDC_MEMO_LIMIT", 4)
    monkeypatch.setattr(enrich, "_NDC_MEMO", enrich._NDC_MEMO.iloc[:0])
    batches = [
        ["00781-3422-92", "0781-3422-92", "abc"],
        ["0781-3422-92", "5551307100", "55513-0710-01", "12345-678-90"],  # overflows the memo
        ["abc", "00781-3422-92", "5551307100", "00002-7510-01"],  # held and new texts
    ]
    for batch in batches:
        texts = pd.Series(batch, dtype="string")
        pd.testing.assert_series_equal(normalized_ndcs(texts), normalize_ndc(texts))
    assert len(enrich._NDC_MEMO) <= 4


def test_pair_table_finds_each_pairs_first_row():
    table = pd.DataFrame(
        {
            "ndc11": ["A", "A", "B", "A", None],
            "hcpcs_code": ["J1", "J2", "J1", "J1", "J3"],
            "units": [1.0, 2.0, 3.0, 9.0, 5.0],
        }
    )
    pairs = PairTable.of(table, "ndc11", "hcpcs_code", ["units"])
    ndc = pd.Series(["A", "B", "A", None, "C"], dtype="category")
    code = pd.Series(["J1", "J1", "J2", "J3", "J1"], dtype="category")
    ids, pair_ndc, pair_code = pair_ids(ndc.cat.codes.to_numpy(), code.cat.codes.to_numpy())
    rows = pairs.rows_of(ndc, code, pair_ndc, pair_code)
    units = pairs.column("units", rows).to_numpy()[ids]
    np.testing.assert_array_equal(units, [1.0, 3.0, 2.0, np.nan, np.nan])  # (A, J1): first row


def test_bundle_lookups_are_built_once_per_bundle_and_tables(starter_bundle):
    bundle = Bundle(path=starter_bundle.path, manifest={}, tables=dict(starter_bundle.tables))
    first = bundle_lookups(bundle)
    assert bundle_lookups(bundle) is first
    bundle.tables["opps"] = bundle["opps"].iloc[:0]  # another table object: built again
    again = bundle_lookups(bundle)
    assert again is not first and again.by_code["opps_si"].empty
