"""Baselines and suppressions: new / persisting / resolved, suppressed, expired, and bad inputs:
a baseline or suppression file of the wrong shape is exit 2 naming the file and what is wrong."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from copy import deepcopy
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.errors import BaselineError, InputError
from claims_audit.report.baseline import (
    compare_with_baseline,
    load_baseline_inputs,
    read_baseline_findings,
    read_baseline_summary,
    read_suppressions,
)
from claims_audit.report.outputs import write_outputs
from claims_audit.report.writers import write_parquet
from tests.report.conftest import CLAIMS, RUN_ARGS

TODAY = date(2026, 3, 15)


def _baseline_dir(tmp_path, findings: pd.DataFrame, summary: dict | None = None):
    out = tmp_path / "baseline"
    out.mkdir(parents=True)
    write_parquet(findings, out / "findings.parquet")
    if summary is not None:
        (out / "summary.json").write_text(json.dumps(summary))
    return out


def _status(findings: pd.DataFrame, finding_id: str) -> str:
    hit = findings[findings["finding_id"] == finding_id]
    assert len(hit) == 1
    return hit["status"].iloc[0]


@pytest.fixture
def changed_baseline(tmp_path, sample_result):
    """The sample's findings less its first one (so it is new now) plus a copy of its second
    under a claim that no longer exists (so it is resolved). Findings are picked by position,
    so that the tests hold whatever the sample's findings are."""
    base = sample_result.findings
    assert len(base) >= 4
    dropped = base["finding_id"].iloc[0]
    gone = base.iloc[[1]].assign(claim_id="CLM999999", finding_id="00000000deadbeef")
    findings = pd.concat([base[base["finding_id"] != dropped], gone], ignore_index=True)
    return _baseline_dir(tmp_path, findings, {"started_at": "2026-03-01T02:00:00+00:00"})


def _suppress_file(tmp_path, rows: list[tuple[str, str, str]]):
    path = tmp_path / "suppress.csv"
    pd.DataFrame(rows, columns=["finding_id", "reason", "expires"]).to_csv(path, index=False)
    return path


def test_compare_marks_new_persisting_and_resolved(fresh_result, changed_baseline):
    n = len(fresh_result.findings)
    first, second = fresh_result.findings["finding_id"].iloc[:2]
    compare_with_baseline(fresh_result, changed_baseline, None, today=TODAY)
    findings = fresh_result.findings
    assert _status(findings, first) == "new"
    assert _status(findings, second) == "persisting"
    assert findings["status"].value_counts().to_dict() == {"persisting": n - 1, "new": 1}
    resolved = fresh_result.resolved
    assert resolved[["claim_id", "finding_id", "status"]].values.tolist() == [
        ["CLM999999", "00000000deadbeef", "resolved"]
    ]
    assert resolved["rule_code"].iloc[0] == findings["rule_code"].iloc[1]
    counts = fresh_result.summary["baseline"]
    assert (counts["new"], counts["persisting"], counts["resolved"]) == (1, n - 1, 1)
    assert counts["path"] == str(changed_baseline)
    assert counts["history"][-1]["started_at"] == "2026-03-01T02:00:00+00:00"
    assert counts["history"][-1]["findings"] == n


def test_compare_suppression_unexpired_and_expired(fresh_result, changed_baseline, tmp_path):
    n = len(fresh_result.findings)
    accepted, lapsed = fresh_result.findings["finding_id"].iloc[2:4]
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
    assert _status(findings, accepted) == "suppressed"
    assert _status(findings, lapsed) == "persisting"
    assert len(findings) == n  # suppressed findings are kept, never deleted
    counts = fresh_result.summary["baseline"]
    assert counts["suppressed"] == 1
    assert counts["expired_suppressions"] == 1
    assert counts["unmatched_suppressions"] == 1
    assert (counts["new"], counts["persisting"]) == (1, n - 2)


def test_compare_suppressed_findings_do_not_fail_the_run(fresh_result, tmp_path):
    everything = [(fid, "accepted", "2099-12-31") for fid in fresh_result.findings["finding_id"]]
    compare_with_baseline(fresh_result, None, _suppress_file(tmp_path, everything), today=TODAY)
    assert set(fresh_result.findings["status"]) == {"suppressed"}
    assert fresh_result.exit_code("error") == 0
    assert fresh_result.summary["baseline"]["path"] is None
    assert fresh_result.resolved is None


def test_compare_without_baseline_marks_everything_new(fresh_result, tmp_path):
    n = len(fresh_result.findings)
    compare_with_baseline(fresh_result, None, _suppress_file(tmp_path, []), today=TODAY)
    assert fresh_result.summary["baseline"]["new"] == n > 0
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
    n = len(fresh_result.findings)
    compare_with_baseline(fresh_result, changed_baseline, None, today=TODAY)
    out = tmp_path / "out"
    write_outputs(fresh_result, out, ("csv", "parquet"))
    resolved = pd.read_csv(out / "resolved.csv", dtype=str)
    assert resolved[["claim_id", "finding_id", "status"]].values.tolist() == [
        ["CLM999999", "00000000deadbeef", "resolved"]
    ]
    findings = pd.read_parquet(out / "findings.parquet")
    assert findings.columns[-1] == "status"
    assert findings["status"].value_counts().to_dict() == {"persisting": n - 1, "new": 1}


def test_cli_baseline_run_twice_is_all_persisting_and_stable(tmp_path, sample_result):
    n = len(sample_result.findings)
    runner = CliRunner()
    first, second = tmp_path / "one", tmp_path / "two"
    args = ["run", str(CLAIMS), *RUN_ARGS, "--format", "csv,parquet", "--fail-on", "never"]
    assert runner.invoke(main, [*args, "--out", str(first)]).exit_code == 0
    result = runner.invoke(main, [*args, "--out", str(second), "--baseline", str(first)])
    assert result.exit_code == 0, result.output
    summary = json.loads((second / "summary.json").read_text())["baseline"]
    assert (summary["new"], summary["persisting"], summary["resolved"]) == (0, n, 0)
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


# -- the baseline and the suppression file checked as data (issue 17 item 4) -----------------

REQUIRED = ["finding_id", "claim_id", "line_number", "rule_code", "severity", "impact_usd"]


def _findings_error(tmp_path, frame: pd.DataFrame) -> str:
    out = _baseline_dir(tmp_path, frame)
    with pytest.raises(BaselineError) as err:
        read_baseline_findings(out)
    message = str(err.value)
    assert str(out / "findings.parquet") in message and "\n" not in message
    return message


def test_baseline_of_an_earlier_version_with_only_the_needed_columns_works(
    fresh_result, sample_result, tmp_path
):
    # a run written before carc/rarc/category existed: only the columns the comparison reads
    old = sample_result.findings[REQUIRED + ["message"]]
    out = _baseline_dir(tmp_path, old, {"started_at": "2026-02-01T02:00:00+00:00"})
    compare_with_baseline(fresh_result, out, None, today=TODAY)
    n = len(sample_result.findings)
    assert fresh_result.summary["baseline"]["persisting"] == n
    assert fresh_result.summary["baseline"]["history"][-1]["findings"] == n
    assert len(fresh_result.resolved) == 0
    assert "carc" not in fresh_result.resolved.columns


def test_baseline_findings_are_typed_like_findings(sample_result, tmp_path):
    frame = sample_result.findings[REQUIRED].astype(
        {"claim_id": "category", "line_number": "int32"}
    )
    typed = read_baseline_findings(_baseline_dir(tmp_path, frame))
    assert str(typed["claim_id"].dtype) == "string" and typed["line_number"].dtype == "int64"
    assert typed["claim_id"].tolist() == sample_result.findings["claim_id"].tolist()


@pytest.mark.parametrize("column", REQUIRED)
def test_baseline_findings_missing_column_names_it(sample_result, tmp_path, column):
    frame = sample_result.findings.drop(columns=[column])
    message = _findings_error(tmp_path, frame)
    assert message.endswith(f"not a findings file (missing column {column})")


def _first(column: str, value):
    """The findings with `value` in the first row of `column` (the column becomes object)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[column].astype(object)
        values.iloc[0] = value
        return frame.assign(**{column: values})

    return change


def _all(column: str, value):
    return lambda frame: frame.assign(**{column: value})


@pytest.mark.parametrize(
    "change, expected",
    [
        (_all("line_number", 1.5), "column line_number: expected whole numbers, got float64"),
        (_first("line_number", "1"), "column line_number: expected whole numbers, got object"),
        (_all("line_number", 0), "column line_number, row 1: 0: a line number is 1 or more"),
        (_all("claim_id", 7), "column claim_id: expected text, got int64"),
        (_first("finding_id", None), "column finding_id, row 1: empty"),
        (_first("impact_usd", "12.50"), "column impact_usd: expected numbers, got object"),
        (_all("impact_usd", True), "column impact_usd: expected numbers, got bool"),
        (_all("impact_usd", float("inf")), "column impact_usd, row 1: inf: not a finite number"),
        (
            _all("units_delta", -float("inf")),
            "column units_delta, row 1: -inf: not a finite number",
        ),
        (_first("message", b"bytes"), "column message: expected text, got object"),
    ],
)
def test_baseline_findings_wrong_type_names_the_column(sample_result, tmp_path, change, expected):
    assert _findings_error(tmp_path, change(sample_result.findings)).endswith(expected)


def test_baseline_findings_nested_column_is_refused(sample_result, tmp_path):
    table = pa.Table.from_pandas(sample_result.findings[REQUIRED], preserve_index=False)
    nested = pa.array([["a", "b"]] * table.num_rows, type=pa.list_(pa.string()))
    out = tmp_path / "baseline"
    out.mkdir()
    pq.write_table(table.append_column("message", nested), out / "findings.parquet")
    with pytest.raises(BaselineError, match="column message: expected text, got object"):
        read_baseline_findings(out)


def test_baseline_findings_duplicated_column_is_refused(sample_result, tmp_path):
    table = pa.Table.from_pandas(sample_result.findings[REQUIRED], preserve_index=False)
    out = tmp_path / "baseline"
    out.mkdir()
    pq.write_table(table.append_column("claim_id", table["claim_id"]), out / "findings.parquet")
    with pytest.raises(BaselineError, match="column claim_id appears more than once"):
        read_baseline_findings(out)


def test_baseline_findings_columns_it_does_not_know_are_not_read(sample_result, tmp_path):
    # a column of a type pandas cannot even convert would fail the read if it were read
    table = pa.Table.from_pandas(sample_result.findings[REQUIRED], preserve_index=False)
    odd = pa.array([{"x": 1}] * table.num_rows)
    out = tmp_path / "baseline"
    out.mkdir()
    pq.write_table(table.append_column("extra", odd), out / "findings.parquet")
    assert list(read_baseline_findings(out).columns) == REQUIRED


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_baseline_findings_not_a_regular_file(tmp_path, kind):
    (tmp_path / "findings.parquet").mkdir() if kind == "directory" else os.mkfifo(
        tmp_path / "findings.parquet"
    )
    what = "a directory" if kind == "directory" else "a FIFO"
    with pytest.raises(BaselineError, match=rf"findings.parquet: not a regular file \({what}\)"):
        read_baseline_findings(tmp_path)


def _summary_error(tmp_path, text: str) -> str:
    (tmp_path / "summary.json").write_text(text)
    with pytest.raises(BaselineError) as err:
        read_baseline_summary(tmp_path)
    message = str(err.value)
    assert message.startswith(f"baseline {tmp_path / 'summary.json'}: ") and "\n" not in message
    return message


GOOD_ENTRY = {"started_at": "2026-01-01T02:00:00+00:00", "by_severity": {"error": 2, "info": 1}}


@pytest.mark.parametrize(
    "summary, expected",
    [
        ([1, 2], "not a summary.json (expected a JSON object)"),
        ({"started_at": 20260301}, "started_at: expected an ISO date-time string, got 20260301"),
        ({"started_at": "last night"}, "started_at: expected an ISO date-time string"),
        ({"baseline": 5}, "baseline: expected an object, got 5"),
        ({"baseline": {"history": {"a": 1}}}, "baseline.history: expected an array"),
        (
            {"baseline": {"history": [GOOD_ENTRY, 3]}},
            "baseline.history entry 2: expected an object",
        ),
        (
            {"baseline": {"history": [{"started_at": "2026-01-01"}]}},
            "baseline.history entry 1: by_severity missing",
        ),
        (
            {"baseline": {"history": [{"by_severity": [1, 2]}]}},
            "baseline.history entry 1: by_severity [1, 2]: expected an object of counts",
        ),
        (
            {"baseline": {"history": [{"by_severity": {"error": "3"}}]}},
            "entry 1: by_severity {'error': '3'}: expected an object of counts",
        ),
        (
            {"baseline": {"history": [{"by_severity": {"error": -1}}]}},
            "entry 1: by_severity {'error': -1}: expected an object of counts",
        ),
        (
            {"baseline": {"history": [{**GOOD_ENTRY, "started_at": 7}]}},
            "entry 1: started_at 7: expected an ISO date-time",
        ),
        (
            {"baseline": {"history": [{**GOOD_ENTRY, "findings": 2.5}]}},
            "entry 1: findings 2.5: expected a whole number >= 0",
        ),
        (
            {"baseline": {"history": [{**GOOD_ENTRY, "by_rule": {"U001": True}}]}},
            "entry 1: by_rule {'U001': True}: expected an object of counts",
        ),
    ],
)
def test_baseline_summary_wrong_shape_says_what(tmp_path, summary, expected):
    assert expected in _summary_error(tmp_path, json.dumps(summary))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{", "not valid JSON (Expecting property name"),
        ("", "not valid JSON (Expecting value"),
        ('{"started_at": NaN}', "not valid JSON (NaN is not JSON)"),
        (
            '{"baseline": {"history": [{"by_severity": {}, "missed_revenue_usd": 1e999}]}}',
            "entry 1: missed_revenue_usd inf: expected a finite number",
        ),
        ("[" * 100_000 + "]" * 100_000, "not a summary.json (nested too deeply)"),
        ('{"started_at": 1' + "0" * 5000 + "}", "not valid JSON (Exceeds the limit"),
    ],
    ids=["truncated", "empty", "nan", "infinity", "deep", "digits"],
)
def test_baseline_summary_not_strict_json(tmp_path, text, expected):
    assert expected in _summary_error(tmp_path, text)


def test_baseline_summary_not_utf8(tmp_path):
    (tmp_path / "summary.json").write_bytes(b'{"started_at": "\xff"}')
    with pytest.raises(BaselineError, match="not valid JSON"):
        read_baseline_summary(tmp_path)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_baseline_summary_not_a_regular_file(tmp_path, kind):
    (tmp_path / "summary.json").mkdir() if kind == "directory" else os.mkfifo(
        tmp_path / "summary.json"
    )
    with pytest.raises(BaselineError, match=r"summary.json: not a regular file"):
        read_baseline_summary(tmp_path)


def test_baseline_summary_history_is_trimmed_and_reduced_to_known_keys(tmp_path):
    entries = [{**GOOD_ENTRY, "findings": n, "junk": {"deep": [1]}} for n in range(40)]
    entries[0] = "not even an object"  # dropped unread: only the last 23 entries are kept
    (tmp_path / "summary.json").write_text(
        json.dumps({"started_at": "2026-03-01T02:00:00+00:00", "baseline": {"history": entries}})
    )
    summary = read_baseline_summary(tmp_path)
    assert summary["started_at"] == "2026-03-01T02:00:00+00:00"
    assert [e["findings"] for e in summary["history"]] == list(range(17, 40))
    assert summary["history"][0] == {**GOOD_ENTRY, "findings": 17}


def test_baseline_summary_absent_is_no_history(tmp_path):
    assert read_baseline_summary(tmp_path) == {}


def test_compare_keeps_the_baseline_history_for_the_trend(fresh_result, sample_result, tmp_path):
    earlier = {**GOOD_ENTRY, "findings": 3, "by_rule": {"U001": 3}}
    out = _baseline_dir(
        tmp_path,
        sample_result.findings,
        {"started_at": "2026-03-01T02:00:00+00:00", "baseline": {"history": [earlier]}},
    )
    compare_with_baseline(fresh_result, out, None, today=TODAY)
    history = fresh_result.summary["baseline"]["history"]
    assert history[0] == earlier
    assert history[1]["started_at"] == "2026-03-01T02:00:00+00:00"
    assert history[1]["by_severity"] == sample_result.summary["findings_by_severity"]


def _suppression_error(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "s.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BaselineError) as err:
        read_suppressions(path)
    message = str(err.value)
    assert message.startswith(f"suppression file {path}") and "\n" not in message
    return message[len(f"suppression file {path}") :]


HEADER = "finding_id,reason,expires\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "finding_id,reason,expires,finding_id\nabc,ok,2026-01-01,def\n",
            ": column finding_id appears more than once (columns 1 and 4)",
        ),
        (
            "Expires,finding_id,reason,EXPIRES \nabc,ok,2026-01-01,x\n",
            ": column expires appears more than once (columns 1 and 4)",
        ),
        ("finding_id,why,expires\nabc,ok,2026-01-01\n", ": missing column reason"),
        (HEADER + "abc,ok,2026-02-30\n", " row 1: expires '2026-02-30' is not a date"),
        (HEADER + "abc,ok,2026-01-01\ndef,ok,2026-1-5\n", " row 2: expires '2026-1-5' is not"),
        (HEADER + "abc,ok,\u0662\u0660\u0662\u0666-01-01\n", " row 1: expires '٢٠٢٦-01-01' is not"),
        (HEADER + "abc,ok,1899-12-31\n", " row 1: expires '1899-12-31' is not a date"),
        (HEADER + "abc,ok,2026-01-01\n,ok,2026-01-01\n", " row 2: finding_id is empty"),
        (HEADER + "abc,  ,2026-01-01\n", " row 1: reason is empty"),
        (HEADER + "abc,ok\n", " row 1: expires is empty"),
        (HEADER + "abc,ok,2026-01-01,extra\n", ": cannot be read as CSV (Error tokenizing data"),
        (HEADER + '"abc,ok,2026-01-01\n', ": cannot be read as CSV (Error tokenizing data"),
        ("", ": empty (needs a header row)"),
        (HEADER.encode() + b"ab\x00c,ok,2026-01-01\n", ": line 2 holds a NUL byte"),
        (HEADER.encode() + b"ab\xffc,ok,2026-01-01\n", ": cannot be read as CSV ('utf-8' codec"),
    ],
)
def test_read_suppressions_bad_file_names_row_and_column(tmp_path, text, expected):
    assert _suppression_error(tmp_path, text).startswith(expected)


def test_read_suppressions_first_bad_cell_in_file_order(tmp_path):
    text = HEADER + "abc,ok,2026-01-01\ndef,,31/12/2026\nghi,,2026-01-01\n"
    assert _suppression_error(tmp_path, text) == " row 2: reason is empty"


def test_read_suppressions_far_expiry_and_bom(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("\ufeffFinding_ID , Reason,EXPIRES,note\nabc , ok ,9999-12-31,x\n".encode())
    frame = read_suppressions(path)
    assert frame[["finding_id", "reason", "expires"]].values.tolist() == [
        ["abc", "ok", date(9999, 12, 31)]
    ]


def test_read_suppressions_header_only_is_no_entries(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER)
    assert len(read_suppressions(path)) == 0


@pytest.mark.parametrize("kind", ["directory", "fifo", "missing"])
def test_read_suppressions_not_a_regular_file(tmp_path, kind):
    path = tmp_path / "s.csv"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    expected = {"directory": "not a regular file (a directory)", "fifo": "(a FIFO)"}
    with pytest.raises(BaselineError, match=re.escape(expected.get(kind, "not found"))):
        read_suppressions(path)


def _cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("claims-audit")
    return subprocess.run(
        [str(exe), "run", str(CLAIMS), *RUN_ARGS, "--format", "csv", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_subprocess_bad_baseline_and_suppression_exit_2_one_line(sample_result, tmp_path):
    """The three shapes of issue 17 item 4, through the installed command: exit 2, one line on
    stderr naming the file and what is wrong, no output directory."""
    no_column = _baseline_dir(tmp_path / "a", sample_result.findings.drop(columns=["rule_code"]))
    bad_summary = _baseline_dir(
        tmp_path / "b", sample_result.findings, {"started_at": 5, "baseline": 3}
    )
    twice = tmp_path / "twice.csv"
    twice.write_text("finding_id,reason,expires,finding_id\nabc,ok,2026-01-01,x\n")
    cases = [
        (["--baseline", str(no_column)], "not a findings file (missing column rule_code)"),
        (["--baseline", str(bad_summary)], "started_at: expected an ISO date-time string, got 5"),
        (["--suppress", str(twice)], "column finding_id appears more than once"),
    ]
    for n, (args, expected) in enumerate(cases):
        out = tmp_path / f"out{n}"
        proc = _cli(*args, "--out", str(out))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("claims-audit: error: "), proc.stderr
        assert expected in lines[0]
        assert not out.exists()


def test_inputs_loaded_before_the_audit_give_the_same_comparison(
    fresh_result, sample_result, changed_baseline, tmp_path
):
    suppress = _suppress_file(
        tmp_path, [(fresh_result.findings["finding_id"].iloc[2], "ok", "2099-01-01")]
    )
    inputs = load_baseline_inputs(changed_baseline, suppress)
    compare_with_baseline(fresh_result, None, None, today=TODAY, inputs=inputs)
    again = deepcopy(sample_result)
    compare_with_baseline(again, changed_baseline, suppress, today=TODAY)
    assert fresh_result.summary["baseline"] == again.summary["baseline"]
    assert fresh_result.findings["status"].tolist() == again.findings["status"].tolist()
    assert fresh_result.summary["baseline"]["suppressed"] == 1


def test_library_error_text_is_printable_in_messages(tmp_path):
    from claims_audit.report.baseline import _printable

    # pyarrow's thrift errors quote a raw byte of the damaged file ("don't know what type: \x0e")
    assert _printable("don't know what type: \x0e\x1b[2J") == (
        "don't know what type: \\x0e\\x1b[2J"
    )
    assert len(_printable("x" * 1000)) == 180


def test_cli_bad_baseline_is_exit_2_before_the_audit_runs(tmp_path, monkeypatch):
    """A damaged baseline is refused at once, not after an audit of minutes (issue 12)."""
    baseline = tmp_path / "last-night"
    baseline.mkdir()
    (baseline / "findings.parquet").write_bytes(b"PAR1 not a parquet file PAR1")

    def audit_must_not_run(*args, **kwargs):
        raise AssertionError("the audit ran before the baseline was checked")

    monkeypatch.setattr("claims_audit.audit.run_audit", audit_must_not_run)
    args = [
        "run",
        str(CLAIMS),
        *RUN_ARGS,
        "--baseline",
        str(baseline),
        "--out",
        str(tmp_path / "out"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "findings.parquet" in result.output
    assert not (tmp_path / "out").exists()
