"""Exit codes a scheduler can trust (every command): 0 clean, 1 findings / reject rate / an input
with rows and none audited, 2 a user error (one line), 3 an internal error (one line naming the
exception type and the stage, the traceback in a 0600 crash file, no output or staging directory
left), 130 Ctrl-C (one line).

The forced internal error of the subprocess tests comes from a test hook outside the product: a
`sitecustomize.py` put on PYTHONPATH (Python imports it at start-up) which, when
CLAIMS_AUDIT_TEST_RAISE="module:function:Exception" is set, replaces that function with one
raising that exception. The real `claims-audit` console script then runs unchanged; the product
has no test switch.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from tests.conftest import SAMPLE

CLI = str(Path(sys.executable).with_name("claims-audit"))
CLAIMS = SAMPLE / "claims.csv"
SECRET = "P-SECRET-4711"  # in the forced exception's message: must never reach stderr
LINE = re.compile(
    r"^claims-audit: internal error: (\w+) in ([^;]+); please report it \(details: (.+)\)$"
)
HOOK = f"""
import builtins, importlib, os
_spec = os.environ.get("CLAIMS_AUDIT_TEST_RAISE")
if _spec:
    _module, _name, _exc = _spec.split(":")
    def _boom(*args, **kwargs):
        raise getattr(builtins, _exc)("forced by the test hook for {SECRET}")
    setattr(importlib.import_module(_module), _name, _boom)
"""


@pytest.fixture
def hooked(tmp_path):
    """Run the console script with the crash hook; TMPDIR (the crash file's place) in tmp."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def invoke(target: str, *args: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "PYTHONPATH": str(hook),
            "TMPDIR": str(scratch),
            "CLAIMS_AUDIT_TEST_RAISE": target,
        }
        return subprocess.run(
            [CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    invoke.scratch = scratch
    return invoke


def crash_line(proc) -> tuple[str, str, Path]:
    (line,) = proc.stderr.strip().splitlines()
    match = LINE.match(line)
    assert match, line
    assert SECRET not in proc.stderr + proc.stdout
    return match.group(1), match.group(2), Path(match.group(3))


@pytest.mark.parametrize(
    "target, stage",
    [
        ("claims_audit.report.outputs:write_json:RuntimeError", "write outputs"),
        ("claims_audit.run.plan:audit_batch:ZeroDivisionError", "audit"),
    ],
)
def test_forced_internal_error_is_exit_3_with_one_line(hooked, tmp_path, target, stage):
    out = tmp_path / "runs" / "out"
    proc = hooked(target, "run", str(CLAIMS), "--out", str(out), "--format", "csv,parquet,xlsx")
    assert proc.returncode == 3, proc.stderr
    kind, where, crash = crash_line(proc)
    assert kind == target.rsplit(":", 1)[1]
    assert where.startswith(stage)
    assert crash.parent == hooked.scratch and crash.name.startswith("claims-audit-crash-")
    assert stat.S_IMODE(crash.stat().st_mode) == 0o600
    text = crash.read_text()
    assert "Traceback (most recent call last)" in text and "forced by the test hook" in text
    # no output directory, no staging directory, not even the parent the run would have made
    assert not (tmp_path / "runs").exists()
    assert [p.name for p in hooked.scratch.iterdir()] == [crash.name]


def test_debug_shows_the_traceback_on_stderr(hooked, tmp_path):
    target = "claims_audit.report.outputs:write_json:RuntimeError"
    for args in (["--debug", "run"], ["run", "--debug"]):
        out = tmp_path / "out"
        proc = hooked(target, *args, str(CLAIMS), "--out", str(out), "--format", "csv")
        assert proc.returncode == 3
        assert "Traceback (most recent call last)" in proc.stderr
        assert LINE.match(proc.stderr.strip().splitlines()[-1])
        assert not out.exists()


def test_ctrl_c_is_130_with_one_line_and_nothing_left(hooked, tmp_path):
    out = tmp_path / "runs" / "out"
    proc = hooked(
        "claims_audit.report.outputs:write_json:KeyboardInterrupt",
        "run",
        str(CLAIMS),
        "--out",
        str(out),
    )
    assert proc.returncode == 130
    (line,) = proc.stderr.strip().splitlines()
    assert line == "claims-audit: interrupted (Ctrl-C) in write outputs"
    assert not (tmp_path / "runs").exists()
    assert list(hooked.scratch.iterdir()) == []  # no crash file for Ctrl-C


def test_user_error_stays_exit_2(hooked, tmp_path):
    proc = hooked("", "run", str(tmp_path / "nope.csv"))  # the hook loaded, nothing forced
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("claims-audit: error: ") and "no such file" in line


# in-process (CliRunner): every command maps an internal error the same way -----------------


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    place = tmp_path / "scratch"
    place.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(place))
    return place


def boom(*args, **kwargs):
    raise LookupError(f"forced for {SECRET}")


@pytest.mark.parametrize(
    "target, args, stage",
    [
        ("claims_audit.audit.validate_files", ["validate", str(CLAIMS)], "validate"),
        ("claims_audit.config.load_config", ["rules"], "rules"),
        ("claims_audit.cli.reference.read_manifest", ["reference", "show"], "reference show"),
        (
            "claims_audit.generate.generate_claims",
            ["sample", "generate", "--rows", "5", "--out", "OUT"],
            "sample generate",
        ),
        ("claims_audit.reference.load_bundle", ["run", str(CLAIMS), "--out", "OUT"], "load"),
    ],
)
def test_every_command_maps_an_internal_error_to_exit_3(
    scratch, tmp_path, monkeypatch, target, args, stage
):
    monkeypatch.setattr(target, boom)
    args = [str(tmp_path / "o.csv") if a == "OUT" else a for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    (line,) = result.output.strip().splitlines()
    match = LINE.match(line)
    assert match and match.group(1) == "LookupError" and match.group(2).startswith(stage), line
    assert SECRET not in result.output
    crash = Path(match.group(3))
    assert crash.parent == scratch and "forced for" in crash.read_text()


def test_keyboard_interrupt_in_process_is_130(monkeypatch, tmp_path):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("claims_audit.audit.run_audit", interrupt)
    result = CliRunner().invoke(main, ["run", str(CLAIMS), "--out", str(tmp_path / "o")])
    assert result.exit_code == 130
    assert result.output.strip() == "claims-audit: interrupted (Ctrl-C) in audit"
    assert not (tmp_path / "o").exists()


def test_all_rows_rejected_is_exit_1_with_one_line(tmp_path):
    header = "claim_id,line_number,patient_id,payer_type,service_date,hcpcs_code,billed_units"
    rows = [f"CLM{i},1,P{i:06d},medicare,not-a-date,J9035,1" for i in range(5)]
    path = tmp_path / "all_bad.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--fail-on", "never"])
    assert result.exit_code == 1, result.output
    lines = [x for x in result.stderr.strip().splitlines() if x.startswith("claims-audit: ")]
    assert lines == [
        f"claims-audit: no row of {path} was audited: all 5 rows rejected (see rejects.csv); exit 1"
    ]
    assert (out / "rejects.csv").is_file()  # outputs are still written


def test_clean_and_findings_exit_codes_unchanged(tmp_path):
    found = CliRunner().invoke(main, ["run", str(CLAIMS), "--out", str(tmp_path / "a")])
    assert found.exit_code == 1
    assert "no row of" not in found.output
    never = CliRunner().invoke(
        main, ["run", str(CLAIMS), "--out", str(tmp_path / "b"), "--fail-on", "never"]
    )
    assert never.exit_code == 0
