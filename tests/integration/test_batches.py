"""Large inputs are enriched and checked in partitions of patients: the result must not depend
on the partition size, and a claim that carries several patient ids keeps its lines together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claims_audit.audit import patient_batches, run_audit
from claims_audit.config import load_config
from claims_audit.report.writers import write_csv
from tests.conftest import SAMPLE
from tests.helpers import SUMMARY_KEYS

CLAIMS = SAMPLE / "claims.csv"


def _run(bundle, batch_lines, inputs=(CLAIMS,)):
    config = load_config(SAMPLE / "audit.toml")
    history = [SAMPLE / "history.csv"]
    return run_audit(list(inputs), bundle, config, history, partition_lines=batch_lines)


@pytest.mark.parametrize("batch_lines", [pytest.param(7, marks=pytest.mark.slow), 50, 120])
def test_findings_bytes_do_not_depend_on_batches(starter_bundle, tmp_path, batch_lines):
    whole = _run(starter_bundle, 10_000_000)
    batched = _run(starter_bundle, batch_lines)
    write_csv(whole.findings, tmp_path / "whole.csv")
    write_csv(batched.findings, tmp_path / "batched.csv")
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "batched.csv").read_bytes()
    # the sample's planted defects, every one found
    assert len(whole.findings) == len(pd.read_csv(SAMPLE / "expected_findings.csv")) > 50
    for key in SUMMARY_KEYS:
        assert batched.summary[key] == whole.summary[key], key
    coverage = whole.summary["coverage_by_rule"]["M002"]
    assert (
        coverage["evaluated"] + coverage["not_applicable"] + sum(coverage["not_evaluated"].values())
        == whole.summary["totals"]["lines_in_scope"]
    )
    keys = ["claim_id", "line_number"]
    pd.testing.assert_frame_equal(
        batched.lines.sort_values(keys).reset_index(drop=True),
        whole.lines.sort_values(keys).reset_index(drop=True),
        check_categorical=False,
    )


@pytest.mark.parametrize(
    "batch_lines",
    [pytest.param(3, marks=pytest.mark.slow), pytest.param(10, marks=pytest.mark.slow), 40],
)
def test_rejects_do_not_depend_on_batches(starter_bundle, batch_lines):
    inputs = (CLAIMS, SAMPLE / "bad_rows.csv")
    whole = _run(starter_bundle, 10_000_000, inputs)
    batched = _run(starter_bundle, batch_lines, inputs)
    assert len(whole.rejects) > 10
    pd.testing.assert_frame_equal(batched.rejects, whole.rejects)
    pd.testing.assert_frame_equal(batched.findings, whole.findings)
    assert batched.summary["inputs"] == whole.summary["inputs"]


def test_batches_keep_patients_and_their_claims_together():
    lines = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4", "P1", "P5", "P6", "P7"],
            "claim_id": ["C1", "C2", "C3", "C4", "C5", "C5", "C6", "C6"],
        }
    )
    batches = patient_batches(lines, 2)
    assert sorted(np.concatenate(batches).tolist()) == list(range(8))
    where = {int(p): i for i, batch in enumerate(batches) for p in batch}
    # P1's lines (0, 4) and P5 (5), linked to P1 by claim C5; P6 and P7 share claim C6
    assert where[0] == where[4] == where[5]
    assert where[6] == where[7]
    assert len(batches) == 4


def test_lines_without_ids_link_nothing():
    lines = pd.DataFrame(
        {
            "patient_id": pd.array(["P1", None, "P2", None], dtype="string[pyarrow]"),
            "claim_id": pd.array(["C1", "C2", None, None], dtype="string[pyarrow]"),
        }
    )
    batches = patient_batches(lines, 1)
    assert [len(b) for b in batches] == [1, 1, 1, 1]  # no line dragged another along
    for batch in batches:
        assert list(batch) == sorted(batch)  # file order within a batch
