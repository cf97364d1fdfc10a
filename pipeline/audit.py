"""The audit pipeline, one direction: ingest -> validate -> enrich -> rules -> report.

`run_audit` returns everything in memory; `write_outputs` writes it atomically. The CLI is a
thin layer over these two functions.
"""

from __future__ import annotations

import resource
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from claims_audit import __version__
from claims_audit.columns import codes_of, linked_labels
from claims_audit.config import Config
from claims_audit.enrich import enrich
from claims_audit.ingest import MAX_FIELD_BYTES, RawInput, read_input, resolve_inputs
from claims_audit.reference import Bundle
from claims_audit.rules import diagnosis, effective_rules
from claims_audit.rules.common import RuleContext
from claims_audit.rules.engine import (
    SEVERITY_RANK,
    RuleRun,
    impact_split,
    merge_coverage,
    merge_findings,
    not_evaluated_totals,
    run_rules,
)
from claims_audit.validate import (
    Validated,
    combine_inputs,
    finish_rejects,
    validate_frame,
    validate_inputs,
)

# lines validated, enriched and checked at a time: memory stays bounded on large inputs, and
# each batch holds every line of its patients and of their claims, so every check (duplicate
# lines, drug groups, MUE per day, frequency) sees what it needs
BATCH_LINES = 1_000_000
# batches checked at the same time (threads: pandas and Arrow release the GIL in their kernels)
BATCH_WORKERS = 2
# what is kept of the audited lines: for the summary, their counts (`LineCounts`); for the
# report, the payer of the lines of claims with findings (`AuditResult.lines`)
REPORT_LINE_COLUMNS = ["claim_id", "line_number", "payer_type"]
# the summary says so when more than this share of the in-scope lines fall outside a source's
# effective period (SPEC section 6)
PERIOD_NOTICE_SHARE = 0.01
# the bundle tables whose rates price `impact_usd` (SPEC section 5, "Dollar impact")
RATE_TABLES = {"asp": "payment_limits", "opps": "opps"}


@dataclass
class AuditResult:
    findings: pd.DataFrame
    rejects: pd.DataFrame
    lines: pd.DataFrame  # REPORT_LINE_COLUMNS of the lines of claims with findings
    summary: dict
    timings: dict[str, float] = field(default_factory=dict)
    # baseline findings gone in this run (set by report.baseline.compare_with_baseline)
    resolved: pd.DataFrame | None = None

    def exit_code(self, fail_on: str) -> int:
        """0 when nothing at or above `fail_on` was found, else 1 (`never`: always 0)."""
        active = self.findings
        if "status" in active:  # suppressed findings are reported but do not fail the run
            active = active[active["status"] != "suppressed"]
        if fail_on == "never" or active.empty:
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


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _source_name(source: dict) -> str:
    return str(source.get("file") or source.get("table") or "?")


def _dated_sources(manifest: dict) -> dict[str, tuple[str, str]]:
    """The bundle's sources that have an effective period: name -> (start, end)."""
    out = {}
    for source in manifest.get("sources", []):
        period = source.get("effective_period") or {}
        if period.get("start") and period.get("end"):
            out[_source_name(source)] = (period["start"], period["end"])
    return out


def _outside_periods(lines: pd.DataFrame, manifest: dict) -> dict[str, int]:
    """In-scope lines whose service date falls outside each source's effective period."""
    dates = lines["service_date"][lines["in_scope"].to_numpy(dtype=bool)]
    return {
        name: int(((dates < pd.Timestamp(start)) | (dates > pd.Timestamp(end))).sum())
        for name, (start, end) in _dated_sources(manifest).items()
    }


@dataclass
class LineCounts:
    """What the summary counts of the audited lines; the counts of batches add up."""

    audited: dict[str, int] = field(default_factory=dict)  # lines per source file
    in_scope: int = 0  # HCPCS lines of claims that are not void
    out_of_scope: int = 0  # CPT lines (only U003 judges them), void claims aside
    void: int = 0  # lines of void claims (claim_frequency 8): counted, not audited
    outside: dict[str, int] = field(default_factory=dict)  # see `_outside_periods`

    @classmethod
    def of(cls, lines: pd.DataFrame, manifest: dict) -> LineCounts:
        in_scope = lines["in_scope"].to_numpy(dtype=bool)
        void = (
            lines["is_void"].to_numpy(dtype=bool)
            if "is_void" in lines
            else np.zeros(len(lines), dtype=bool)
        )
        audited = lines.groupby("source_file", observed=True).size()
        return cls(
            {str(k): int(v) for k, v in audited.items()},
            int(in_scope.sum()),
            int((~in_scope & ~void).sum()),
            int(void.sum()),
            _outside_periods(lines, manifest),
        )

    def __add__(self, other: LineCounts) -> LineCounts:
        def added(a: dict, b: dict) -> dict:
            return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}

        return LineCounts(
            added(self.audited, other.audited),
            self.in_scope + other.in_scope,
            self.out_of_scope + other.out_of_scope,
            self.void + other.void,
            added(self.outside, other.outside),
        )


def _quarter(source: dict) -> str | None:
    """`2026Q1` from a manifest source's quarter or the start of its effective period."""
    if source.get("quarter"):
        return str(source["quarter"])
    start = (source.get("effective_period") or {}).get("start")
    if not start:
        return None
    year, month = int(start[:4]), int(start[5:7])
    return f"{year}Q{(month - 1) // 3 + 1}"


def _rates(manifest: dict) -> dict:
    """Which files and quarters the dollar impacts are priced from: the ASP payment limits
    (professional lines) and the OPPS Addendum B rates (institutional lines; None if absent)."""
    out = {}
    for name, table in RATE_TABLES.items():
        source = next((s for s in manifest.get("sources", []) if s.get("table") == table), None)
        out[name] = (
            None
            if source is None
            else {
                "table": table,
                "file": source.get("file"),
                "product": source.get("product"),
                "quarter": _quarter(source),
                "effective_period": source.get("effective_period"),
            }
        )
    return out


def _icd10cm_release() -> dict | None:
    release = getattr(diagnosis, "ICD10CM_RELEASE", None)
    return {str(k): str(v) for k, v in release.items()} if release else None


def period_notices(
    counts: LineCounts, manifest: dict, coverage: dict, icd10cm: dict | None
) -> list[str]:
    """One line per source with more than PERIOD_NOTICE_SHARE of the in-scope lines outside
    its effective period, naming the source and its quarter; and one for the ICD-10-CM
    release when D002 left that share of its lines not evaluated for it."""
    products: dict[str, list[str]] = {}
    for source in manifest.get("sources", []):
        products.setdefault(_source_name(source), []).append(str(source.get("product") or ""))
    notices = []
    total = counts.in_scope
    for source in manifest.get("sources", []):
        name = _source_name(source)
        n = counts.outside.get(name, 0)
        if name not in products or not total or n <= PERIOD_NOTICE_SHARE * total:
            continue
        product = min(products.pop(name), key=len) or name  # a file read for several tables
        start, end = _dated_sources(manifest)[name]
        notices.append(
            f"{product} {_quarter(source)} ({name}): {n:,} of {total:,} in-scope lines "
            f"({n / total:.1%}) have a service date outside {start} to {end}"
        )
    d002 = coverage.get("D002")
    if icd10cm and d002:
        n = d002["not_evaluated"].get("outside_reference_period", 0)
        judged = d002["evaluated"] + d002["not_applicable"] + sum(d002["not_evaluated"].values())
        if judged and n > PERIOD_NOTICE_SHARE * judged:
            notices.append(
                f"ICD-10-CM {icd10cm.get('release')} ({icd10cm.get('valid_from')} to "
                f"{icd10cm.get('valid_to')}): {n:,} of {judged:,} in-scope lines "
                f"({n / judged:.1%}) have a service date outside it; D002 did not judge them"
            )
    return notices


def _impact_totals(findings: pd.DataFrame, by: str) -> dict:
    impact = findings.dropna(subset=["impact_usd"])
    if impact.empty:
        return {}
    grouped = impact.groupby(by, observed=True)["impact_usd"]
    return {str(k): impact_split(v) for k, v in grouped}


def build_summary(
    raws: list[RawInput],
    checked: Validated,
    counts: LineCounts,
    findings: pd.DataFrame,
    coverage: dict,
    config: Config,
    bundle: Bundle,
    timings: dict,
    started: datetime,
) -> dict:
    """summary.json (SPEC section 6) from the run's inputs, line counts, findings and coverage."""
    audited = counts.audited
    files = []
    for raw in raws:
        name = str(raw.path)
        files.append(
            {
                "path": name,
                "sha256": raw.sha256,
                "encoding": raw.encoding,
                "rows_read": raw.rows_read,
                "rows_audited": int(audited.get(name, 0)),
                "rows_rejected": int(checked.rows_rejected.get(name, 0)),
            }
        )
    rules = effective_rules(config)
    by_rule = findings["rule_code"].value_counts()
    impact = findings["impact_usd"]
    icd10cm = _icd10cm_release()
    coverage = {  # every rule run, even one that judged no line
        r.code: coverage.get(r.code) or {"evaluated": 0, "not_applicable": 0, "not_evaluated": {}}
        for r in rules
    }
    return {
        "tool": "claims-audit",
        "tool_version": __version__,
        "started_at": started.isoformat(timespec="seconds"),
        "config": {"source": config.source, "sha256": config.sha256, "settings": config.as_dict()},
        "reference": {"path": str(bundle.path), "manifest": bundle.manifest},
        "inputs": files,
        "totals": {
            "rows_read": sum(f["rows_read"] for f in files),
            "rows_audited": sum(f["rows_audited"] for f in files),
            "rows_rejected": sum(f["rows_rejected"] for f in files),
            "lines_in_scope": counts.in_scope,
            "lines_not_audited_out_of_scope": counts.out_of_scope,
            "findings": len(findings),
            "lines_with_findings": int(
                findings[["claim_id", "line_number"]].drop_duplicates().shape[0]
            ),
        },
        "void_lines": counts.void,
        "rates": _rates(bundle.manifest),
        "icd10cm_release": icd10cm,
        "lines_outside_reference_period": {
            name: counts.outside.get(name, 0) for name in _dated_sources(bundle.manifest)
        },
        "reference_period_notices": period_notices(counts, bundle.manifest, coverage, icd10cm),
        "findings_by_severity": {
            s: int((findings["severity"] == s).sum()) for s in ("error", "warning", "info")
        },
        "findings_by_rule": {
            r.code: {
                "name": r.name,
                "severity": r.severity,
                "category": r.category,
                "count": int(by_rule.get(r.code, 0)),
            }
            for r in rules
        },
        "disabled_rules": list(config.disable),
        "coverage_by_rule": coverage,
        "not_evaluated_by_rule": not_evaluated_totals(coverage),
        "impact": {
            **impact_split(impact),
            "by_rule": _impact_totals(findings, "rule_code"),
            "by_code": _impact_totals(findings, "hcpcs_code"),
            "by_severity": _impact_totals(findings, "severity"),
        },
        "timings_seconds": timings,
        "peak_rss_mb": peak_rss_mb(),
    }


@dataclass
class BatchResult:
    ran: RuleRun
    rejects: pd.DataFrame
    counts: LineCounts  # of every audited line
    report_lines: pd.DataFrame  # REPORT_LINE_COLUMNS of the lines of claims with findings
    seconds: dict[str, float]


def audit_batch(
    raw: pd.DataFrame, bundle: Bundle, config: Config, prior: pd.DataFrame | None
) -> BatchResult:
    """Validate, enrich and check one batch of raw lines (whole patients and claims)."""
    start = time.perf_counter()
    checked = validate_frame(raw, config.values, config.date_formats)
    validated = time.perf_counter()
    lines = enrich(checked.lines, bundle, config.rounding)
    enriched = time.perf_counter()
    ran = run_rules(lines, RuleContext(config=config, bundle=bundle, history=prior))
    seconds = {
        "validate": validated - start,
        "enrich": enriched - validated,
        "rules": time.perf_counter() - enriched,
    }
    flagged = lines["claim_id"].isin(ran.findings["claim_id"].unique())
    report_lines = lines.loc[flagged.to_numpy(), REPORT_LINE_COLUMNS]
    counts = LineCounts.of(lines, bundle.manifest)
    return BatchResult(ran, checked.rejects, counts, report_lines, seconds)


def patient_batches(lines: pd.DataFrame, batch_lines: int) -> list[np.ndarray]:
    """Row positions of `lines` in batches of about `batch_lines` lines (in file order within
    a batch). A batch holds every line of its patients and of their claims: patients linked by
    a claim that carries several patient ids (a data error) go together."""
    n_batches = -(-len(lines) // batch_lines)
    if n_batches <= 1:
        return [np.arange(len(lines))]
    label = linked_labels(codes_of(lines["patient_id"]), codes_of(lines["claim_id"]))
    batch = label % n_batches
    order = np.argsort(batch, kind="stable")
    return np.split(order, np.cumsum(np.bincount(batch, minlength=n_batches))[:-1])


def split_batches(raw: pd.DataFrame, batches: list[np.ndarray]) -> list[pd.DataFrame]:
    """The lines of each batch as a frame of its own, built column by column while the columns
    are taken out of `raw`, so the lines are never held twice."""
    if len(batches) == 1:
        return [raw]
    pieces: list[dict] = [{} for _ in batches]
    for name in list(raw.columns):
        column = raw.pop(name)
        for piece, positions in zip(pieces, batches, strict=True):
            piece[name] = pd.Series(column.array.take(positions), name=name)
        del column
    return [pd.DataFrame(piece, copy=False) for piece in pieces]


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def run_audit(
    inputs,
    bundle: Bundle,
    config: Config,
    history=None,
    progress=None,
    max_field_bytes: int | None = None,
) -> AuditResult:
    """Run the whole pipeline over the input files; nothing is written. Lines are validated,
    enriched and checked in batches of patients (`BATCH_LINES`); the result does not depend on
    the batches."""
    started = datetime.now(UTC)
    watch = Stages(progress)
    t0 = time.perf_counter()
    with watch.stage("ingest"):
        raws = read_inputs(inputs, config, max_field_bytes)
        watch.rows = sum(raw.rows_read for raw in raws)
    with watch.stage("validate"):
        raw = combine_inputs(raws)
        for item in raws:  # the combined frame holds the lines now: keep only the counts
            item.frame = item.frame.iloc[:0]
    with watch.stage("enrich"):
        prior = load_history(history, config, bundle)
    findings, rejects, coverage, report_lines = [], [], [], []
    counts = LineCounts()

    def collect(done) -> None:
        nonlocal counts
        batch: BatchResult = done.result()
        ran = batch.ran
        findings.append(ran.findings)
        rejects.append(batch.rejects)
        coverage.append(ran.coverage)
        counts = counts + batch.counts
        report_lines.append(batch.report_lines)
        for stage, spent in batch.seconds.items():
            watch.add(stage, spent, report=False)
        if watch.progress:
            watch.progress(
                f"validate, enrich, rules: batch {len(coverage)} of {len(batches)}", None, None
            )

    batches = split_batches(raw, patient_batches(raw, BATCH_LINES))
    del raw
    workers = min(BATCH_WORKERS, len(batches))
    checking = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # results are taken in batch order
        pending: deque = deque()
        for k in range(len(batches)):
            batch, batches[k] = batches[k], None  # a batch's lines go once it is checked
            pending.append(pool.submit(audit_batch, batch, bundle, config, prior))
            del batch
            if len(pending) >= workers:
                collect(pending.popleft())
        while pending:
            collect(pending.popleft())
    if watch.progress:
        watch.progress("validate, enrich, rules", time.perf_counter() - checking, watch.rows)
    checked = finish_rejects(rejects, raws)
    # the report joins findings to these lines
    payers = _joined(report_lines)
    ran = RuleRun(merge_findings(findings), merge_coverage(coverage))
    watch.timings["total"] = round(time.perf_counter() - t0, 4)
    summary = build_summary(
        raws,
        checked,
        counts,
        ran.findings,
        ran.coverage,
        config,
        bundle,
        watch.timings,
        started,
    )
    return AuditResult(ran.findings, checked.rejects, payers, summary, watch.timings)
