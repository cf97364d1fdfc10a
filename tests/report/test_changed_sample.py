"""sample_data/changed/: the demo's second extract, and what comparing it with the sample shows."""

from __future__ import annotations

import importlib.util
from datetime import date

import pytest

from claims_audit.audit import run_audit
from claims_audit.report.baseline import compare_with_baseline
from claims_audit.report.outputs import write_outputs
from tests.conftest import SAMPLE
from tests.report.conftest import HISTORY

CHANGED = SAMPLE / "changed"


def _make_changed():
    spec = importlib.util.spec_from_file_location("make_changed", CHANGED / "make_changed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_changed_reproduces_committed_files(tmp_path):
    claims, suppress = _make_changed().write_changed(tmp_path)
    assert claims.read_bytes() == (CHANGED / "claims.csv").read_bytes()
    assert suppress.read_bytes() == (CHANGED / "suppress.csv").read_bytes()
    original = (SAMPLE / "claims.csv").read_text().splitlines()
    changed = claims.read_text().splitlines()
    assert len(changed) == len(original)
    assert sum(a != b for a, b in zip(original, changed, strict=True)) == 9


@pytest.fixture(scope="module")
def demo(sample_result, starter_bundle, sample_config, tmp_path_factory):
    baseline = tmp_path_factory.mktemp("demo-1")
    write_outputs(sample_result, baseline, ("parquet",))
    result = run_audit([CHANGED / "claims.csv"], starter_bundle, sample_config, history=[HISTORY])
    compare_with_baseline(result, baseline, CHANGED / "suppress.csv", today=date(2026, 6, 1))
    return result


def _keys(frame, status=None):
    if status:
        frame = frame[frame["status"] == status]
    return sorted(zip(frame["claim_id"], frame["rule_code"], strict=True))


def test_changed_sample_new_findings_are_the_planted_defects(demo):
    assert _keys(demo.findings, "new") == [
        ("CLM0000000022", "A001"),
        ("CLM0000000022", "U004"),
        ("CLM0000000038", "D001"),
        ("CLM0000000042", "M002"),
        ("CLM0000000086", "P002"),
    ]


def test_changed_sample_resolved_findings_are_the_fixes(demo):
    assert _keys(demo.resolved) == [
        ("CLM0000000051", "M002"),
        ("CLM0000000052", "D002"),
        ("CLM0000000053", "P003"),
        ("CLM0000000082", "P001"),
        ("CLM0000000112", "U001"),
    ]


def test_changed_sample_suppression_counts(demo):
    assert _keys(demo.findings, "suppressed") == [("CLM0000000003", "A001")]
    counts = {k: v for k, v in demo.summary["baseline"].items() if isinstance(v, int)}
    assert counts == {
        "new": 5,
        "persisting": 85,
        "resolved": 5,
        "suppressed": 1,
        "expired_suppressions": 1,
        "unmatched_suppressions": 0,
    }
