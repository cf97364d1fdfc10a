"""The rule helpers of issue 14 that share or restrict work give what the plain computation
gives: same groups, same text, same values (and a shared value is computed once per run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import group_ids
from claims_audit.rules.common import RuleContext, finer_groups, fmt_date, text_at
from claims_audit.rules.diagnosis import any_prefix_matches
from claims_audit.rules.modifiers import modifier_entries


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
