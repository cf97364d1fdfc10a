"""Step 5 of the plan out of memory: partitions' sorted findings written as runs and merged a
claim range at a time give the table one sort of all of them gives, whatever the batch and
range sizes; the summary's tally reads the same values; the scratch area goes with the store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from claims_audit.rules.engine import FINDING_COLUMNS, empty_findings, sort_findings
from claims_audit.run import merge
from claims_audit.storage import Scratch
from claims_audit.summary import lines_with_findings

# claims whose order as text, as UTF-8 bytes and as code points must agree (the fences are
# compared in Python, the rows by Arrow): accents, a BMP character above the surrogates, emoji
CLAIMS = ["C1", "C10", "C2", "Z", "a", "é", "\uffef", "😀", "C1 ", ""]
RULES = ["A001", "M001", "U003", "D002"]


def _findings(rows: list[tuple]) -> pd.DataFrame:
    """Findings of (claim, line, rule, severity, code, impact); other text columns derived."""
    frame = pd.DataFrame(
        rows, columns=["claim_id", "line_number", "rule_code", "severity", "hcpcs_code", "impact"]
    )
    findings = empty_findings()
    built = pd.DataFrame(
        {
            "finding_id": [f"F{k}" for k in range(len(frame))],
            "claim_id": frame["claim_id"],
            "line_number": frame["line_number"],
            "rule_code": frame["rule_code"],
            "rule_name": "name of " + frame["rule_code"],
            "severity": frame["severity"],
            "category": "units",
            "carc": frame["rule_code"].where(frame["line_number"] % 2 == 0),
            "message": "line " + frame["line_number"].astype(str),
            "hcpcs_code": frame["hcpcs_code"],
            "impact_usd": frame["impact"],
        }
    )
    findings = pd.concat([findings, built], ignore_index=True)
    return findings.astype(empty_findings().dtypes.to_dict())[FINDING_COLUMNS]


def _store(tmp_path: Path, findings: pd.DataFrame, partitions: int) -> merge.SortedFindings:
    """The findings split by claim into `partitions` runs (each sorted), as a store."""
    scratch = Scratch(tmp_path)
    home = pd.util.hash_pandas_object(findings["claim_id"], index=False) % partitions
    runs = []
    for p in range(partitions):
        part = sort_findings(findings[(home == p).to_numpy()])
        runs.append(merge.write_run(part, scratch.path(f"findings-{p:06d}.arrow")))
    return merge.SortedFindings(runs, scratch)


_ROW = st.tuples(
    st.sampled_from(CLAIMS),
    st.integers(1, 4),
    st.sampled_from(RULES),
    st.sampled_from(["error", "warning", "info"]),
    st.sampled_from(["J9035", "J1100", None]),
    st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2))),
)


@pytest.mark.fuzz
@given(
    rows=st.lists(_ROW, max_size=60).map(lambda r: list(dict.fromkeys(r))),
    partitions=st.integers(1, 4),
    batch=st.integers(1, 7),
    range_rows=st.integers(1, 20),
)
@example(rows=[("C1", 1, "A001", "error", None, 1.0)] * 1, partitions=1, batch=1, range_rows=1)
def test_merged_ranges_are_one_sort_of_all_findings(rows, partitions, batch, range_rows):
    findings = _findings(rows).drop_duplicates(["claim_id", "line_number", "rule_code"])
    findings = findings.reset_index(drop=True)
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)  # a fresh directory per example (`tmp_path` is one per test)
        patch.setattr(merge, "RUN_BATCH_ROWS", batch)
        patch.setattr(merge, "RANGE_ROWS", range_rows)
        store = _store(tmp_path, findings, partitions)
        tally, lines = store.tally()
        parts = list(store.frames())
        whole = store.frame()
        store.close()
        assert list(tmp_path.iterdir()) == []  # the scratch area went with the store
    expected = sort_findings(findings)
    pd.testing.assert_frame_equal(whole, expected)
    seen = [set(p["claim_id"]) for p in parts]
    assert sum(len(s) for s in seen) == len(set().union(*seen))  # no claim in two ranges
    assert len(store) == len(expected) and lines == lines_with_findings(expected)
    for name in ("rule_code", "severity", "hcpcs_code"):
        assert tally[name].astype(object).where(tally[name].notna(), None).tolist() == (
            expected[name].astype(object).where(expected[name].notna(), None).tolist()
        )
        categories = tally[name].cat.categories.tolist()
        assert categories == sorted(categories)
    np.testing.assert_array_equal(tally["impact_usd"].to_numpy(), expected["impact_usd"])
    assert store.severities == {
        k: v for k, v in expected["severity"].value_counts().items() if v
    } or not len(expected)


def test_ranges_hold_about_range_rows_and_read_only_their_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(merge, "RUN_BATCH_ROWS", 10)
    monkeypatch.setattr(merge, "RANGE_ROWS", 100)
    claims = [f"C{k:05d}" for k in range(1000)]
    findings = _findings([(c, 1, "A001", "error", "J9035", 1.0) for c in claims])
    store = _store(tmp_path, findings, 3)
    assert [r.sizes[0] for r in store.runs] == [10, 10, 10]
    assert len(store.ranges) == 10  # 1,000 findings in ranges of about 100
    sizes = [len(p) for p in store.frames()]
    assert sum(sizes) == 1000 and max(sizes) <= 100 + 3 * 10
    run = store.runs[0]
    lo, hi = store.ranges[4]
    part = merge.run_slice(run, lo, hi, ["claim_id"])
    claims_in = part["claim_id"].to_pylist()
    assert claims_in and all(lo <= c < hi for c in claims_in)
    store.close()


def test_no_findings_give_the_empty_table_and_no_file(tmp_path):
    scratch = Scratch(tmp_path)
    run = merge.write_run(empty_findings(), scratch.path("findings-000000.arrow"))
    assert run.rows == 0 and not Path(run.location).exists()
    store = merge.SortedFindings([run], scratch)
    tally, lines = store.tally()
    assert lines == 0 and len(tally) == 0 and store.worst() is None
    pd.testing.assert_frame_equal(store.frame(), empty_findings())
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_a_store_let_go_deletes_its_scratch_area(tmp_path):
    findings = _findings([("C1", 1, "A001", "warning", None, None)])
    store = _store(tmp_path, findings, 1)
    assert len(list(tmp_path.iterdir())) == 1
    del store
    assert list(tmp_path.iterdir()) == []
