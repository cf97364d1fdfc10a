"""What every executor of the plan shares: the run's result (`AuditResult`), stage timings
(`Stages`), reading and validating whole inputs, the history of prior claims, and one compute
thread per worker process."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa

from claims_audit.config import Config
from claims_audit.enrich import enrich
from claims_audit.ingest import MAX_FIELD_BYTES, RawInput, read_input, resolve_inputs
from claims_audit.reference import Bundle
from claims_audit.rules.engine import SEVERITY_RANK
from claims_audit.run.merge import SortedFindings
from claims_audit.validate import Validated, validate_inputs


class AuditResult:
    """An audit's findings (in report order), rejects, report lines, summary and stage
    timings. The findings are a frame, or held out of memory in the run's scratch area
    (`merge.SortedFindings`) until `findings` is read: `finding_frames` gives them to the
    writers a range at a time; `lines` (None: read from the store when asked). `close()` lets
    the scratch area go (also when the result is)."""

    def __init__(
        self,
        findings: pd.DataFrame | SortedFindings,
        rejects: pd.DataFrame,
        lines: pd.DataFrame | None,
        summary: dict,
        timings: dict[str, float] | None = None,
    ):
        self._store = findings if isinstance(findings, SortedFindings) else None
        self._findings = None if self._store is not None else findings
        self.rejects = rejects
        self._lines = lines
        self.summary = summary
        self.timings = timings if timings is not None else {}
        # baseline findings gone in this run (set by report.baseline.compare_with_baseline)
        self.resolved: pd.DataFrame | None = None

    @property
    def findings(self) -> pd.DataFrame:
        """All the findings as one frame (read from the scratch area the first time)."""
        if self._findings is None:
            self._findings = self._store.frame()
        return self._findings

    @findings.setter
    def findings(self, frame: pd.DataFrame) -> None:
        self._findings = frame

    @property
    def lines(self) -> pd.DataFrame:
        """REPORT_LINE_COLUMNS of lines with findings (more lines of their claims may be there),
        in no set order: the payer the reports show beside each finding."""
        if self._lines is None:
            self._lines = self._store.report_lines()
        return self._lines

    @lines.setter
    def lines(self, frame: pd.DataFrame) -> None:
        self._lines = frame

    def finding_frames(self) -> Iterator[pd.DataFrame]:
        """The findings in report order, a frame at a time (one range of claims each)."""
        if self._findings is None:
            yield from self._store.frames()
        else:
            yield self._findings

    def close(self) -> None:
        """Delete the scratch area that holds the findings (they can no longer be read)."""
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> AuditResult:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __deepcopy__(self, memo: dict) -> AuditResult:
        """A copy holds its findings in memory (the scratch area stays this result's)."""
        clone = object.__new__(AuditResult)
        memo[id(self)] = clone
        state = {**self.__dict__, "_findings": self.findings, "_lines": self.lines, "_store": None}
        clone.__dict__.update(copy.deepcopy(state, memo))
        return clone

    def exit_code(self, fail_on: str) -> int:
        """0 when nothing at or above `fail_on` was found, else 1 (`never`: always 0)."""
        if fail_on == "never":
            return 0
        if self._findings is None:
            worst = self._store.worst()
            return 1 if worst is not None and worst >= SEVERITY_RANK[fail_on] else 0
        active = self._findings
        if "status" in active:  # suppressed findings are reported but do not fail the run
            active = active[active["status"] != "suppressed"]
        if active.empty:
            return 0
        worst = active["severity"].map(SEVERITY_RANK).max()
        return 1 if worst >= SEVERITY_RANK[fail_on] else 0


class Stages:
    """Times each pipeline stage (for summary.json) and reports it to an optional progress
    callback `progress(stage, seconds, rows)`: seconds is None when the stage starts."""

    def __init__(self, progress=None):
        self.timings: dict[str, float] = {}
        self.progress = progress
        self.rows: int | None = None

    @contextmanager
    def stage(self, name: str):
        if self.progress:
            self.progress(name, None, self.rows)
        start = time.perf_counter()
        yield self
        self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float, report: bool = True) -> None:
        """Record `seconds` more of a stage (a stage run batch by batch adds up)."""
        self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 4)
        if self.progress and report:
            self.progress(name, seconds, self.rows)


def read_inputs(inputs, config: Config, max_field_bytes: int | None = None) -> list[RawInput]:
    limit = max_field_bytes or MAX_FIELD_BYTES
    return [read_input(path, config.columns, limit) for path in resolve_inputs(inputs)]


def validate_files(inputs, config: Config) -> tuple[list[RawInput], Validated]:
    raws = read_inputs(inputs, config)
    return raws, validate_inputs(raws, config.values, config.date_formats)


def load_history(paths, config: Config, bundle: Bundle) -> pd.DataFrame | None:
    """Prior claims for frequency rules, validated and enriched like the batch.

    Rows of the history that fail validation are skipped: they are not audited.
    """
    if not paths:
        return None
    _, checked = validate_files(paths, config)
    return enrich(checked.lines, bundle, config.rounding)


def one_compute_thread() -> None:
    """A worker process computes on one thread: there is already a process per core, and
    threads of Arrow (or numexpr) in each would only compete with the other workers."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    try:
        import numexpr
    except ImportError:
        return
    numexpr.set_num_threads(1)
