"""Crash-safe outputs: a run killed part-way (SIGKILL) leaves the output directory holding the
previous complete result or nothing, never a partial file; a full disk or an unwritable --out
is exit 2 with one line."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.errors import OutputError
from claims_audit.report.writers import StagedOutput
from tests.reliability.conftest import CORPUS

CLI = str(Path(sys.executable).with_name("claims-audit"))
SMALL = CORPUS / "ragged_rows.csv"


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """A generated extract large enough that writing the outputs takes a while."""
    path = tmp_path_factory.mktemp("big") / "claims.csv"
    result = CliRunner().invoke(
        main, ["sample", "generate", "--rows", "40000", "--out", str(path), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def previous_result(out: Path) -> dict[str, bytes]:
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return snapshot(out)


def run_and_kill(source: Path, out: Path, files_staged: int) -> bool:
    """Start the CLI; SIGKILL it once its staging directory holds `files_staged` files.
    True when it was killed while staging, False when it finished first."""
    proc = subprocess.Popen(
        [CLI, "run", str(source), "--out", str(out), "--fail-on", "never", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            for stage in out.parent.glob(f".{out.name}.tmp-*"):
                try:
                    staged = sum(1 for _ in stage.iterdir())
                except FileNotFoundError:  # committed or aborted meanwhile
                    continue
                if staged >= files_staged:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return True
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def visible(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if not p.name.startswith("."))


def test_sigkill_while_writing_keeps_previous_result(big_input, tmp_path):
    out = tmp_path / "out"
    before = previous_result(out)
    killed = 0
    for files_staged in (0, 1, 2, 3):
        killed += run_and_kill(big_input, out, files_staged)
        after = snapshot(out) if out.exists() else None
        # the previous result whole, or (killed between the two renames of commit) nothing;
        # a run that finished first left its own complete result
        if after is not None and after != before:
            assert "summary.json" in after and "findings.csv" in after
            before = after
        assert visible(tmp_path) in (["out"], [])
    assert killed >= 2, "the runs finished before they could be killed while writing"


def test_sigkill_first_run_leaves_nothing(big_input, tmp_path):
    out = tmp_path / "fresh"
    assert run_and_kill(big_input, out, files_staged=1)
    assert not out.exists()
    assert visible(tmp_path) == []
    # staging leftovers of the killed run do not stop the next one
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    assert (out / "summary.json").is_file()


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    "target, name",
    [
        ("claims_audit.report.writers.pq.ParquetWriter.write_table", "findings.parquet"),
        ("pandas.DataFrame.to_csv", "findings.csv"),
    ],
)
def test_disk_full_is_exit_2_and_keeps_previous_result(target, name, tmp_path, monkeypatch):
    out = tmp_path / "out"
    before = previous_result(out)
    monkeypatch.setattr(target, enospc)
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(out)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "No space left on device" in line and name in line and str(out) in line
    assert ".tmp-" not in line  # names the output, not the staging directory
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # staging removed


@pytest.mark.parametrize("out", ["/dev/null/x", "/dev/null/x/y"])
def test_out_under_a_regular_file_is_exit_2(out):
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", out])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "cannot write" in line and "/dev/null/x" in line
    assert "Traceback" not in result.output


def test_read_only_out_is_exit_2(tmp_path, monkeypatch):
    # tests run as root, so permissions cannot make a directory unwritable: fake EROFS for
    # the directory that holds --out (the run's scratch area elsewhere is writable)
    real_mkdtemp = tempfile.mkdtemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == tmp_path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr("claims_audit.report.writers.tempfile.mkdtemp", read_only)
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "Read-only file system" in line and str(tmp_path / "o") in line


@pytest.mark.parametrize(
    "failure, raised",
    [
        (OSError(errno.EXDEV, os.strerror(errno.EXDEV)), OutputError),
        (KeyboardInterrupt(), KeyboardInterrupt),  # Ctrl-C between the two renames
    ],
)
def test_failed_commit_puts_previous_result_back(tmp_path, monkeypatch, failure, raised):
    target = tmp_path / "out"
    with StagedOutput(target) as earlier:  # an earlier claims-audit output
        earlier.path("summary.json").write_text("previous")
    real_replace = os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the staging dir -> target rename
            raise failure
        return real_replace(src, dst)

    monkeypatch.setattr("claims_audit.report.writers.os.replace", flaky_replace)
    with pytest.raises(raised), StagedOutput(target) as out:
        out.path("summary.json").write_text("new")
    assert (target / "summary.json").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_out_that_is_a_file_is_exit_2(tmp_path):
    existing = tmp_path / "file"
    existing.write_text("keep me")
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(existing)])
    assert result.exit_code == 2
    assert existing.read_text() == "keep me"
