"""The CLI end to end with click's CliRunner: exit codes, outputs, reconciliation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import format_summary, main
from claims_audit.cli.reference import _shown_changes
from claims_audit.money import format_usd
from claims_audit.reference import DEFAULT_REFERENCE_DIR
from tests.conftest import SAMPLE

CLAIMS = SAMPLE / "claims.csv"
ARGS = ["--config", str(SAMPLE / "audit.toml"), "--history", str(SAMPLE / "history.csv")]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = CliRunner().invoke(main, ["run", str(CLAIMS), *ARGS, "--out", str(out)])
    return result, out


def test_run_sample_exit_1_with_errors_found(sample_run):
    result, out = sample_run
    assert result.exit_code == 1, result.output
    assert "rows read" in result.output and "findings:" in result.output
    for name in ("findings.csv", "findings.parquet", "rejects.csv", "summary.json", "report.html"):
        assert (out / name).stat().st_size > 0


def test_run_sample_summary_reconciles(sample_run):
    _, out = sample_run
    summary = json.loads((out / "summary.json").read_text())
    for f in summary["inputs"]:
        assert f["rows_read"] == f["rows_audited"] + f["rows_rejected"]
    csv_rows = len(pd.read_csv(CLAIMS))
    assert summary["totals"]["rows_read"] == csv_rows
    findings = pd.read_csv(out / "findings.csv")
    assert summary["totals"]["findings"] == len(findings)
    by_rule = findings["rule_code"].value_counts()
    for code, entry in summary["findings_by_rule"].items():
        assert entry["count"] == by_rule.get(code, 0)
    assert summary["totals"]["lines_not_audited_out_of_scope"] > 0  # CPT admin lines


def test_run_sample_every_rule_fires(sample_run):
    _, out = sample_run
    summary = json.loads((out / "summary.json").read_text())
    silent = [code for code, entry in summary["findings_by_rule"].items() if entry["count"] == 0]
    assert silent == []


def test_run_sample_matches_expected_findings(sample_run):
    _, out = sample_run
    findings = pd.read_csv(out / "findings.csv", dtype=str)
    expected = pd.read_csv(SAMPLE / "expected_findings.csv", dtype=str)
    got = set(map(tuple, findings[["claim_id", "line_number", "rule_code"]].values))
    want = set(map(tuple, expected[["claim_id", "line_number", "rule_code"]].values))
    assert sorted(got - want) == [] and sorted(want - got) == []


def test_run_sample_impacts_match_expected(sample_run):
    """Every finding's dollar impact equals the sample's independent reading of SPEC 5."""
    _, out = sample_run
    key = ["claim_id", "line_number", "rule_code"]
    findings = pd.read_csv(out / "findings.csv", dtype={"claim_id": str, "line_number": str})
    expected = pd.read_csv(
        SAMPLE / "expected_findings.csv", dtype={"claim_id": str, "line_number": str}
    )
    both = expected.merge(findings[key + ["impact_usd"]], on=key, suffixes=("_want", "_got"))
    assert len(both) == len(expected)
    assert both["impact_usd_want"].notna().sum() > 10
    differ = both[
        ~(
            (both["impact_usd_want"].isna() & both["impact_usd_got"].isna())
            | ((both["impact_usd_want"] - both["impact_usd_got"]).abs() < 0.005)
        )
    ]
    assert differ.to_dict("records") == []


def test_run_sample_most_lines_clean(sample_run):
    _, out = sample_run
    findings = pd.read_csv(out / "findings.csv", dtype=str)
    lines = pd.read_csv(CLAIMS, dtype=str)
    flagged = findings[["claim_id", "line_number"]].drop_duplicates()
    assert len(flagged) / len(lines) < 0.35


def test_run_is_deterministic(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        CliRunner().invoke(main, ["run", str(CLAIMS), *ARGS, "--out", str(out)])
        outs.append(out)
    for name in ("findings.csv", "findings.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_run_parquet_copy_gives_same_findings(sample_run, tmp_path):
    _, out = sample_run
    result = CliRunner().invoke(
        main, ["run", str(SAMPLE / "claims.parquet"), *ARGS, "--out", str(tmp_path / "pq")]
    )
    assert result.exit_code == 1
    a = pd.read_csv(out / "findings.csv").drop(columns=[])
    b = pd.read_csv(tmp_path / "pq" / "findings.csv")
    pd.testing.assert_frame_equal(a, b)


def test_fail_on_never_exits_0_and_warning_exits_1(tmp_path):
    runner = CliRunner()
    never = runner.invoke(
        main, ["run", str(CLAIMS), "--out", str(tmp_path / "n"), "--fail-on", "never"]
    )
    assert never.exit_code == 0
    warn = runner.invoke(
        main, ["run", str(CLAIMS), "--out", str(tmp_path / "w"), "--fail-on", "warning"]
    )
    assert warn.exit_code == 1


def test_clean_input_exits_0(tmp_path):
    lines = pd.read_csv(CLAIMS, dtype=str)
    findings = pd.read_csv(SAMPLE / "expected_findings.csv", dtype=str)
    flagged_claims = set(findings["claim_id"])
    clean = lines[~lines["claim_id"].isin(flagged_claims)]
    path = tmp_path / "clean.csv"
    clean.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["run", str(path), *ARGS, "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "o" / "findings.csv").empty


def test_bad_rows_rejected_not_lost(tmp_path):
    bad = SAMPLE / "bad_rows.csv"
    result = CliRunner().invoke(
        main, ["run", str(bad), "--out", str(tmp_path / "o"), "--fail-on", "never"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    f = summary["inputs"][0]
    assert f["rows_rejected"] > 0
    assert f["rows_read"] == f["rows_audited"] + f["rows_rejected"]
    rejects = pd.read_csv(tmp_path / "o" / "rejects.csv", dtype=str)
    assert {"V002", "V003", "V004", "V005"} <= set(rejects["reason_code"])
    assert rejects["source_row"].notna().all()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "nope.csv"], "no such file"),
        (["run", "CLAIMS", "--reference", "/nonexistent"], "reference bundle"),
        (["run", "CLAIMS", "--config", "BADCONFIG"], "config key policy.rounding"),
        (["run", "MISSINGCOL"], "required column"),
        (["rules", "explain", "Z999"], "unknown rule code"),
    ],
)
def test_user_errors_exit_2_with_one_line(args, needle, tmp_path):
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('[policy]\nrounding = "sideways"\n')
    missing = tmp_path / "missing.csv"
    missing.write_text("claim_id,line_number\nC1,1\n")
    subst = {"CLAIMS": str(CLAIMS), "BADCONFIG": str(bad_config), "MISSINGCOL": str(missing)}
    args = [subst.get(a, a) for a in args]
    result = CliRunner().invoke(
        main, [*args, "--out", str(tmp_path / "o")] if args[0] == "run" else args
    )
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_validate_command_counts(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(SAMPLE / "bad_rows.csv")])
    assert result.exit_code == 1
    assert "rejected" in result.output and "V00" in result.output
    ok = CliRunner().invoke(main, ["validate", str(CLAIMS)])
    assert ok.exit_code == 0
    assert "0 rejected" in ok.output


# start-up, timings, progress, money, `reference show` (issue 13 item 5) ---------------------

HEAVY = ("pandas", "numpy", "pyarrow", "pandera", "dask", "jinja2", "altair", "openpyxl", "schemas")
STARTUP = """
import sys
from click.testing import CliRunner
from claims_audit.cli.main import main
for args in ARGS:
    assert CliRunner().invoke(main, args).exit_code == 0, args
heavy = {m.split(".")[0] for m in sys.modules} & set(HEAVY)
ours = {
    m for m in sys.modules
    if m in ("claims_audit.audit", "claims_audit.reference", "claims_audit.rules")
}
print(sorted(heavy | ours))
"""


def test_version_and_help_import_no_data_library():
    """`--version` and every `--help` load click and the CLI's small modules only (the data
    libraries take seconds to import; they load inside the commands that use them)."""
    helps = [
        ["--version"],
        ["--help"],
        *([*path, "--help"] for path in (["run"], ["validate"], ["rules"], ["rules", "explain"])),
        *(["reference", name, "--help"] for name in ("build", "show", "diff")),
        ["sample", "generate", "--help"],
    ]
    code = f"ARGS = {helps!r}\nHEAVY = {HEAVY!r}\n" + STARTUP
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_format_usd():
    assert format_usd(29452.8) == "$29,452.80"
    assert format_usd(1234567.891) == "$1,234,567.89"
    assert format_usd(-12.5) == "-$12.50"
    assert format_usd(0) == format_usd(-0.0) == format_usd(-0.004) == "$0.00"
    assert format_usd(29.457, decimals=3) == "$29.457"
    assert format_usd(None) == format_usd(float("nan")) == format_usd(float("inf")) == "n/a"


def test_summary_prints_dollars_and_never_negative_zero(sample_run, tmp_path):
    result, out = sample_run
    summary = json.loads((out / "summary.json").read_text())
    imp = summary["impact"]
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("impact: ")]
    assert line.startswith(
        f"impact: missed revenue {format_usd(imp['missed_revenue_usd'])}, "
        f"overpayment risk {format_usd(imp['overpayment_risk_usd'])}"
    )
    assert re.search(r"missed revenue \$\d{1,3}(,\d{3})*\.\d\d, overpayment risk \$[\d,]+", line)
    summary["impact"] = {"missed_revenue_usd": -0.0, "overpayment_risk_usd": -0.001}
    text = format_summary(summary, tmp_path)
    assert "impact: missed revenue $0.00, overpayment risk $0.00" in text
    assert "-0.00" not in text and "$-" not in text


def test_run_off_a_terminal_shows_no_progress(sample_run):
    result, _ = sample_run
    assert "writing" not in result.stderr and "wrote" not in result.stderr
    assert result.stderr == ""


def test_took_covers_writing_and_each_writer_shows_on_a_terminal(tmp_path, monkeypatch):
    """A slow writer (1 s more for summary.json) is in "took" and in "writing the outputs"; at
    a terminal each file is announced and timed on stderr."""
    import claims_audit.report.outputs as outputs

    real = outputs.write_json

    def slow_json(*args, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(outputs, "write_json", slow_json)
    monkeypatch.setattr("claims_audit.cli.main.stderr_is_terminal", lambda: True)
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["run", str(CLAIMS), "--out", str(out), "--format", "csv"])
    assert result.exit_code == 1, result.output
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        rf"outputs: {re.escape(str(out))}/ \(took ([\d.]+)s, writing the outputs ([\d.]+)s\)", last
    )
    assert match, last
    took, writing = float(match.group(1)), float(match.group(2))
    audit = json.loads((out / "summary.json").read_text())["timings_seconds"]["total"]
    assert writing >= 1.0 and took >= audit + writing
    wrote = re.findall(r"wrote (\S+) in (\d+\.\d)s", result.stderr)
    assert [name for name, _ in wrote] == ["findings.csv", "rejects.csv", "summary.json"]
    assert float(wrote[-1][1]) >= 1.0
    assert "writing summary.json..." in result.stderr


def test_reference_show_prints_build_time_or_starter(tmp_path):
    starter = CliRunner().invoke(main, ["reference", "show"])
    assert starter.exit_code == 0, starter.output
    assert "starter bundle (not built from CMS files)" in starter.output
    assert "None" not in starter.output
    manifest = json.loads((DEFAULT_REFERENCE_DIR / "manifest.json").read_text())
    manifest |= {"kind": "cms", "built_at": "2026-03-02T14:05:09+00:00"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    built = CliRunner().invoke(main, ["reference", "show", "--reference", str(tmp_path)])
    assert built.exit_code == 0, built.output
    assert "  built 2026-03-02T14:05:09+00:00 by claims-audit " in built.output


def test_reference_diff_prints_payment_limits_in_dollars():
    changes = pd.DataFrame(
        {
            "change_type": ["billing_unit_changed", "payment_limit_changed", "payment_limit_added"],
            "key": ["J9035", "J0897", "J1234"],
            "old": ["10 mg", "29.457", pd.NA],
            "new": ["5 mg", "1234.5", "0.462"],
        },
        dtype="string",
    )
    shown = _shown_changes(changes)
    assert shown.to_dict("list") == {
        "change_type": ["billing_unit_changed", "payment_limit_changed", "payment_limit_added"],
        "key": ["J9035", "J0897", "J1234"],
        "old": ["10 mg", "$29.457", ""],
        "new": ["5 mg", "$1,234.500", "$0.462"],
    }
