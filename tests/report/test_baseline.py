"""Baselines and suppressions: new / persisting / resolved, suppressed, expired, bad inputs."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.report.baseline import compare_with_baseline, read_suppressions
from pipeline.report.outputs import write_outputs
from pipeline.report.writers import write_parquet
from tests.report.conftest import CLAIMS, RUN_ARGS

TODAY = date(2026, 3, 15)


def _baseline_dir(tmp_path, findings: pd.DataFrame, summary: dict | None = None):
    out = tmp_path / "baseline"
    out.mkdir()
    write_parquet(findings, out / "findings.parquet")
    if summary is not None:
        (out / "summary.json").write_text(json.dumps(summary))
    return out


def _row(findings: pd.DataFrame, claim_id: str, rule_code: str) -> pd.Series:
    hit = findings[(findings["claim_id"] == claim_id) & (findings["rule_code"] == rule_code)]
    assert len(hit) == 1
    return hit.iloc[0]


@pytest.fixture
def changed_baseline(tmp_path, sample_result):
    """The sample's findings less CLM000009's U004 (so it is new now) plus one finding that no
    longer exists (so it is resolved)."""
    base = sample_result.findings
    dropped = _row(base, "CLM000009", "U004")["finding_id"]
    moved = _row(base, "CLM000013", "M002")["finding_id"]
    gone = base[base["finding_id"] == moved].assign(
        claim_id="CLM999999", finding_id="00000000deadbeef"
    )
    findings = pd.concat([base[base["finding_id"] != dropped], gone], ignore_index=True)
    return _baseline_dir(tmp_path, findings, {"started_at": "2026-03-01T02:00:00+00:00"})


def _suppress_file(tmp_path, rows: list[tuple[str, str, str]]):
    path = tmp_path / "suppress.csv"
    pd.DataFrame(rows, columns=["finding_id", "reason", "expires"]).to_csv(path, index=False)
    return path


def test_compare_marks_new_persisting_and_resolved(fresh_result, changed_baseline):
    compare_with_baseline(fresh_result, changed_baseline, None, today=TODAY)
    findings = fresh_result.findings
    assert _row(findings, "CLM000009", "U004")["status"] == "new"
    assert _row(findings, "CLM000013", "M002")["status"] == "persisting"
    assert findings["status"].value_counts().to_dict() == {"persisting": 72, "new": 1}
    resolved = fresh_result.resolved
    assert resolved[["claim_id", "rule_code", "status"]].values.tolist() == [
        ["CLM999999", "M002", "resolved"]
    ]
    counts = fresh_result.summary["baseline"]
    assert (counts["new"], counts["persisting"], counts["resolved"]) == (1, 72, 1)
    assert counts["path"] == str(changed_baseline)
    assert counts["history"][-1]["started_at"] == "2026-03-01T02:00:00+00:00"
    assert counts["history"][-1]["findings"] == 73


def test_compare_suppression_unexpired_and_expired(fresh_result, changed_baseline, tmp_path):
    base = fresh_result.findings
    accepted = _row(base, "CLM000024", "A001")["finding_id"]
    lapsed = _row(base, "CLM000044", "U005")["finding_id"]
    suppress = _suppress_file(
        tmp_path,
        [
            (accepted, "contract price agreed", "2026-03-15"),  # valid through its date
            (lapsed, "pilot exception", "2026-03-14"),
            ("ffffffffffffffff", "a finding that no longer exists", "2027-01-01"),
        ],
    )
    compare_with_baseline(fresh_result, changed_baseline, suppress, today=TODAY)
    findings = fresh_result.findings
    assert _row(findings, "CLM000024", "A001")["status"] == "suppressed"
    assert _row(findings, "CLM000044", "U005")["status"] == "persisting"
    assert len(findings) == 73  # suppressed findings are kept, never deleted
    counts = fresh_result.summary["baseline"]
    assert counts["suppressed"] == 1
    assert counts["expired_suppressions"] == 1
    assert counts["unmatched_suppressions"] == 1
    assert (counts["new"], counts["persisting"]) == (1, 71)


def test_compare_suppressed_findings_do_not_fail_the_run(fresh_result, tmp_path):
    everything = [(fid, "accepted", "2099-12-31") for fid in fresh_result.findings["finding_id"]]
    compare_with_baseline(fresh_result, None, _suppress_file(tmp_path, everything), today=TODAY)
    assert set(fresh_result.findings["status"]) == {"suppressed"}
    assert fresh_result.exit_code("error") == 0
    assert fresh_result.summary["baseline"]["path"] is None
    assert fresh_result.resolved is None


def test_compare_without_baseline_marks_everything_new(fresh_result, tmp_path):
    compare_with_baseline(fresh_result, None, _suppress_file(tmp_path, []), today=TODAY)
    assert fresh_result.summary["baseline"]["new"] == 73
    assert fresh_result.exit_code("error") == 1


def test_compare_missing_baseline_dir_is_input_error(fresh_result, tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        compare_with_baseline(fresh_result, tmp_path / "nope", None)


def test_compare_baseline_without_parquet_is_input_error(fresh_result, tmp_path):
    with pytest.raises(InputError, match="no findings.parquet"):
        compare_with_baseline(fresh_result, tmp_path, None)


def test_compare_baseline_damaged_parquet_is_input_error(fresh_result, tmp_path):
    (tmp_path / "findings.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        compare_with_baseline(fresh_result, tmp_path, None)


def test_read_suppressions_missing_column_names_it(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("finding_id,reason\nabc,ok\n")
    with pytest.raises(InputError, match="missing column expires"):
        read_suppressions(path)


def test_read_suppressions_bad_date_names_row(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Finding_ID,Reason,Expires\nabc,ok,2026-01-01\ndef,ok,31/12/2026\n")
    with pytest.raises(InputError, match=r"row 2: expires '31/12/2026' is not a date"):
        read_suppressions(path)


def test_read_suppressions_duplicate_keeps_latest_expiry(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("finding_id,reason,expires\nabc,later,2027-01-01\nabc,earlier,2026-01-01\n")
    frame = read_suppressions(path)
    assert frame[["finding_id", "reason"]].values.tolist() == [["abc", "later"]]
    assert frame["expires"].tolist() == [date(2027, 1, 1)]


def test_write_outputs_writes_resolved_csv(fresh_result, changed_baseline, tmp_path):
    compare_with_baseline(fresh_result, changed_baseline, None, today=TODAY)
    out = tmp_path / "out"
    write_outputs(fresh_result, out, ("csv", "parquet"))
    resolved = pd.read_csv(out / "resolved.csv", dtype=str)
    assert resolved[["claim_id", "rule_code", "status"]].values.tolist() == [
        ["CLM999999", "M002", "resolved"]
    ]
    findings = pd.read_parquet(out / "findings.parquet")
    assert findings.columns[-1] == "status"
    assert findings["status"].value_counts().to_dict() == {"persisting": 72, "new": 1}


def test_cli_baseline_run_twice_is_all_persisting_and_stable(tmp_path):
    runner = CliRunner()
    first, second = tmp_path / "one", tmp_path / "two"
    args = ["run", str(CLAIMS), *RUN_ARGS, "--format", "csv,parquet", "--fail-on", "never"]
    assert runner.invoke(main, [*args, "--out", str(first)]).exit_code == 0
    result = runner.invoke(main, [*args, "--out", str(second), "--baseline", str(first)])
    assert result.exit_code == 0, result.output
    summary = json.loads((second / "summary.json").read_text())["baseline"]
    assert (summary["new"], summary["persisting"], summary["resolved"]) == (0, 73, 0)
    assert (second / "resolved.csv").read_text().count("\n") == 1  # header only
    # same input and baseline: byte-identical findings
    third = tmp_path / "three"
    runner.invoke(main, [*args, "--out", str(third), "--baseline", str(first)])
    for name in ("findings.csv", "findings.parquet"):
        assert (second / name).read_bytes() == (third / name).read_bytes()


def test_cli_bad_baseline_exits_2_with_one_line(tmp_path):
    result = CliRunner().invoke(
        main,
        ["run", str(CLAIMS), *RUN_ARGS, "--out", str(tmp_path / "o"), "--baseline", str(tmp_path)],
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        f"claims-audit: error: baseline {tmp_path}: no findings.parquet "
        "(run the baseline with parquet output)"
    ]
    assert not (tmp_path / "o").exists()


def test_cli_bad_suppress_file_exits_2(tmp_path):
    bad = tmp_path / "s.csv"
    bad.write_text("id,why\n1,x\n")
    result = CliRunner().invoke(
        main, ["run", str(CLAIMS), *RUN_ARGS, "--out", str(tmp_path / "o"), "--suppress", str(bad)]
    )
    assert result.exit_code == 2
    assert "missing column finding_id, reason, expires" in result.output
