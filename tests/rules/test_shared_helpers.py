"""The rule helpers of issue 14 that share or restrict work give what the plain computation
gives: same groups, same text, same values (and a shared value is computed once per run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from claims_audit.columns import distinct_combinations, group_ids
from claims_audit.rules import common
from claims_audit.rules.common import (
    RuleContext,
    category_is,
    distinct_sorted,
    few_combinations,
    finer_groups,
    first_by_claim_line,
    fmt_date,
    member,
    packed_key,
    packed_order,
    repeated,
    text_at,
    text_of,
)
from claims_audit.rules.diagnosis import any_prefix_matches, distinct_lists
from claims_audit.rules.engine import finding_ids, hex_text
from claims_audit.rules.modifiers import modifier_entries
from claims_audit.rules.payer import day_number, one_year_deadline, per_date, per_day


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two group id arrays group the rows alike (ids may be numbered differently)."""
    pairs = pd.DataFrame({"a": a, "b": b}).drop_duplicates()
    return pairs["a"].is_unique and pairs["b"].is_unique


def test_shared_values_are_computed_once_inside_sharing_only():
    ctx, lines, calls = RuleContext(config=None, bundle=None), pd.DataFrame({"x": [1]}), []

    def compute():
        calls.append(1)
        return len(calls)

    assert ctx.shared(lines, ("k",), compute) == 1  # outside `sharing`: every call
    assert ctx.shared(lines, ("k",), compute) == 2
    with ctx.sharing(lines):
        assert [ctx.shared(lines, ("k",), compute) for _ in range(3)] == [3, 3, 3]
        assert ctx.shared(pd.DataFrame(), ("k",), compute) == 4  # another frame: not shared
    assert ctx.shared(lines, ("k",), compute) == 5


def test_finer_groups_are_the_groups_of_all_the_columns():
    lines = pd.DataFrame(
        {
            "patient_key": pd.Categorical(["p1", "p1", "p1", "p2", "p1", "p2", None, None]),
            "hcpcs_code": pd.Categorical(["J1", "J1", "J1", "J1", "J2", "J1", "J1", "J1"]),
            "service_date": pd.to_datetime(
                ["2026-01-02"] * 5 + ["2026-01-03"] + ["2026-01-02"] * 2
            ),
            "claim_type": pd.Categorical(["p", "p", "i", "p", "p", "p", "p", "p"]),
        }
    )
    columns = ["patient_key", "hcpcs_code", "service_date", "claim_type"]
    ids = finer_groups(lines, RuleContext(config=None, bundle=None), columns)
    assert _same_partition(ids, group_ids(*(lines[c] for c in columns)))
    assert ids[0] == ids[1] and ids[6] == ids[7] and len(set(ids)) == 6
    # counted among some lines only: a line alone among them is a group of its own
    among = np.array([True, False, True, True, True, True, True, True])
    ids = finer_groups(lines, RuleContext(config=None, bundle=None), columns, among=among)
    assert ids[6] == ids[7] and len(set(ids[among])) == among.sum() - 1


def test_fmt_date_writes_what_strftime_writes():
    stamps = pd.Series(
        pd.to_datetime(
            ["1969-12-31 23:59:59", "1970-01-01", "1677-09-22", "2262-04-11 23:00", None],
            format="ISO8601",
        )
    )
    expected = pc.strftime(pa.array(stamps.to_numpy(dtype="datetime64[s]")), format="%Y-%m-%d")
    assert fmt_date(stamps).tolist() == [*expected.to_pylist()[:4], pd.NA]
    assert fmt_date(stamps).tolist()[:2] == ["1969-12-31", "1970-01-01"]
    far = pd.Series(np.array(["0999-01-01", "12000-05-06"], dtype="datetime64[s]"))
    assert fmt_date(far).tolist() == ["0999-01-01", "12000-05-06"]


def test_text_at_is_per_combination_on_the_selected_lines():
    lines = pd.DataFrame({"code": pd.Categorical(["a", "b", "a", None, "c"])})
    where = pd.Series([True, True, False, True, True])
    got = text_at(lines, where, ["code"], lambda c: (c["code"] + "!").astype(object))
    assert got.astype(object).where(got.notna(), None).tolist() == ["a!", "b!", None, None, "c!"]
    none = text_at(lines, where & False, ["code"], lambda c: c["code"].astype(object))
    assert none.isna().all() and len(none) == 5


def test_any_prefix_matches_per_list_and_indications():
    codes = pd.Series(["E119", "I10", "C3411"], index=[0, 0, 1])  # list 0: E119 I10; list 1
    prefixes = pd.Series(
        ["E11", "C34", "Z"], index=pd.MultiIndex.from_tuples([(0, 0), (1, 0), (1, 1)])
    )
    got = any_prefix_matches(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), codes, prefixes)
    assert got.tolist() == [True, False, False, True]


def test_modifier_entries_in_list_order_with_dates():
    table = pd.DataFrame(
        {
            "add_date": ["2023-01-01", "2003-01-01"],
            "termination_date": [None, "2024-12-31"],
        },
        index=pd.Index(["JZ", "JG"], name="modifier"),
    )
    entries = modifier_entries(pd.Series(["JZ JG", None, "xx,jz"], dtype="string"), table)
    assert entries[["combo", "modifier", "known"]].values.tolist() == [
        [0, "JZ", True],
        [0, "JG", True],
        [2, "XX", False],
        [2, "JZ", True],
    ]
    assert entries["term"].isna().tolist() == [True, False, True, True]
    assert str(entries["added"][0].date()) == "2023-01-01"


def test_member_and_repeated_agree_with_isin_and_counts():
    rng = np.random.default_rng(7)
    key = rng.integers(-(2**40), 2**40, 30_000) // 997  # spread keys, some repeated
    key[::50] = key[1::50]  # many repeats
    keys = np.unique(key[::7])
    assert np.array_equal(member(key, keys), np.isin(key, keys))
    assert not member(key, np.array([], dtype=np.int64)).any()
    among = rng.random(len(key)) < 0.5
    counts = pd.Series(key[among]).value_counts()
    expected = pd.Series(key).map(counts).fillna(0).to_numpy() > 1
    assert np.array_equal(repeated(key, among), expected)
    assert np.array_equal(repeated(key), pd.Series(key).duplicated(keep=False).to_numpy())
    assert np.array_equal(distinct_sorted(np.array([3, 1, 3, 2, 1])), [1, 2, 3])


def test_packed_key_equal_exactly_where_the_columns_are():
    lines = pd.DataFrame(
        {
            "a": pd.Categorical(["x", "y", "x", None, "x", None]),
            "d": pd.to_datetime(
                ["2026-01-01", "2026-01-01", "2026-01-02", "2026-01-01"] * 1
                + ["2026-01-01", "2026-01-01"]
            ),
            "n": [1.5, 1.5, 1.5, 2.0, 1.5, 2.0],
        }
    )
    key = packed_key(*(lines[c] for c in lines))
    assert _same_partition(key, group_ids(*(lines[c] for c in lines)))
    assert key[0] == key[4] and key[3] == key[5] and len(set(key.tolist())) == 4


def test_packed_order_is_lexsort():
    rng = np.random.default_rng(3)
    a, b, c = (rng.integers(0, k, 5000) for k in (50, 9, 4))
    assert np.array_equal(packed_order(a, b, c), np.lexsort((c, b, a)))
    wide = rng.integers(0, 2**40, 5000)  # spans too wide to pack: lexsort itself
    assert np.array_equal(packed_order(wide, wide, b), np.lexsort((b, wide, wide)))


def test_first_by_claim_line_orders_and_finds_each_keys_first_line():
    lines = pd.DataFrame(
        {
            "claim_id": pd.Series(["C2", "C1", "C1", "C3", "C2"], dtype="string[pyarrow]"),
            "line_number": [1, 2, 1, 1, 2],
        }
    )
    ordered, first = first_by_claim_line(lines, np.arange(5), np.array([7, 7, 8, 8, 7]))
    assert ordered.tolist() == [2, 1, 0, 4, 3]  # C1/1, C1/2, C2/1, C2/2, C3/1
    assert first.tolist() == [2, 1, 1, 1, 2]  # key 7 first at C1/2, key 8 at C1/1


def test_category_is_reads_codes_and_plain_values():
    cat = pd.Series(pd.Categorical(["a", None, "b", "a"]))
    assert category_is(cat, "a").tolist() == [True, False, False, True]
    assert not category_is(cat, "zz").any()
    text = pd.Series(["a", None, "b"], dtype="string[pyarrow]")
    assert category_is(text, "b").tolist() == [False, False, True]


def test_text_of_takes_small_table_texts():
    got = text_of(np.array([1, 0, 1]), ["no", "yes"], pd.RangeIndex(3))
    assert got.tolist() == ["yes", "no", "yes"] and str(got.dtype) == "string"


def test_hex_text_and_finding_ids_as_the_plain_pandas_hash():
    claims = pd.Series(["C1", "C1", "C2", "Ä9"], dtype="string[pyarrow]")
    lines, rules = pd.Series([1, 2, 1, 3]), pd.Series(["U001", "U001", "M002", "U001"])
    hashed = pd.util.hash_pandas_object(
        pd.DataFrame({"c": claims.astype(object), "l": lines, "r": rules}),
        index=False,
        hash_key="claims-audit-v01",
    ).to_numpy()
    plain = [f"{h:016x}" for h in hashed.tolist()]
    assert hex_text(hashed).to_pylist() == plain
    assert finding_ids(claims, lines, rules).tolist() == plain
    as_codes = pd.Series(pd.Categorical(rules))
    assert finding_ids(claims, lines, as_codes).tolist() == plain


def test_per_day_is_per_date_over_short_and_long_ranges():
    dates = pd.Series(pd.to_datetime(["2024-02-29", None, "2025-03-01", "2024-02-29"]))
    days = day_number(dates)
    assert np.array_equal(
        per_day(dates, days, one_year_deadline),
        per_date(dates, one_year_deadline).to_numpy(),
        equal_nan=True,
    )
    far = pd.Series(pd.to_datetime(["1700-01-01", "2200-06-30", None]))
    assert np.array_equal(
        per_day(far, day_number(far), one_year_deadline),
        per_date(far, one_year_deadline).to_numpy(),
        equal_nan=True,
    )


def test_distinct_lists_of_a_categorical_map_back_to_each_row():
    values = pd.Series(pd.Categorical(["E11 I10", None, "Z51", "E11 I10"]), name="dx")
    ids, lists = distinct_lists(values)
    back = lists["dx"].to_numpy(dtype=object)[ids]
    assert [None if pd.isna(v) else v for v in back] == ["E11 I10", None, "Z51", "E11 I10"]


@pytest.mark.parametrize("table_limit", [1 << 16, 1])  # counted in a table, or factorised
def test_few_combinations_group_and_read_as_distinct_combinations(monkeypatch, table_limit):
    monkeypatch.setattr(common, "_FEW_COMBINATIONS", table_limit)
    lines = pd.DataFrame(
        {
            "payer_type": pd.Categorical(["medicare", "commercial", None, "medicare", "other"]),
            "payer_id": pd.Categorical(
                ["M1", "UHC", "UHC", "M1", None], categories=["UHC", "M1", "X"]
            ),
        }
    )
    columns = ["payer_type", "payer_id"]
    ids, small = few_combinations(lines, columns)
    plain_ids, plain = distinct_combinations(lines, columns)
    assert _same_partition(ids, plain_ids)
    rows = small.iloc[ids].reset_index(drop=True)
    assert rows.equals(plain.iloc[plain_ids].reset_index(drop=True))
    assert list(small.dtypes) == list(plain.dtypes)
