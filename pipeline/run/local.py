"""The local executor: the partitioned plan (`run/plan.py`) on every core of this machine.

Pieces of the inputs are read and hashed into partitions by a pool of worker processes
(`START_METHOD`), each writing its lines to an Arrow IPC file of the run's scratch area; the
workers then audit one partition each, memory-mapping their record batches, one thread each.
The bundle, the config and the history reach a worker once, when it starts (`_start_worker`);
lines never travel pickled, only each task's small result (findings, rejects, counts). With
one worker (or a small input) the same plan runs in this process.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from claims_audit.config import Config
from claims_audit.ingest import MAX_FIELD_BYTES, resolve_inputs
from claims_audit.reference import Bundle
from claims_audit.rules.engine import merge_coverage
from claims_audit.run import plan
from claims_audit.run.common import AuditResult, Stages, load_history, one_compute_thread
from claims_audit.run.merge import SortedFindings
from claims_audit.storage import Scratch
from claims_audit.summary import LineCounts, build_summary
from claims_audit.validate import finish_rejects

# below this many lines (estimated) the plan runs in this process: starting workers costs more
SMALL_INPUT_LINES = 100_000
CSV_BYTES_PER_LINE = 120  # to estimate the lines of a CSV file before reading it
# how workers start (`CLAIMS_AUDIT_START_METHOD` overrides it): 'fork' where the platform has
# it, measured safe and the cheapest (workers share the imported pipeline and the bundle, nothing
# is pickled to start them; the parent runs no thread of its own and Arrow resets its thread
# pool after a fork); else 'forkserver' (a clean server that imports the pipeline once)
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "forkserver"
_STATE: tuple = ()  # a worker's (bundle, config, prior), set once by `_start_worker`


def _start_worker(bundle: Bundle, config: Config, prior: pd.DataFrame | None) -> None:
    """Worker initializer: keep the run's bundle, config and history; Ctrl-C is the parent's."""
    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STATE = (bundle, config, prior)
    one_compute_thread()


def _audit_task(slices: list, moved_out, files: list[str], run_path: str) -> plan.BatchResult:
    return plan.audit_partition(slices, moved_out, files, *_STATE, run_path)


def _pool(workers: int, bundle: Bundle, config: Config, prior) -> ProcessPoolExecutor:
    method = os.environ.get("CLAIMS_AUDIT_START_METHOD", START_METHOD)
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["claims_audit.run.plan"])
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(bundle, config, prior)
    )


def _results(pool: ProcessPoolExecutor | None, fn: Callable, calls: list[tuple]) -> Iterator:
    """`fn(*args)` for each of `calls`, in order: on the pool (all submitted at once), or here."""
    if pool is None:
        for args in calls:
            yield fn(*args)
        return
    futures: list[Future] = [pool.submit(fn, *args) for args in calls]
    for k in range(len(futures)):
        future, futures[k] = futures[k], None
        yield future.result()


def _stop(pool: ProcessPoolExecutor | None, failed: bool) -> None:
    """Shut the pool down; after a failure (or Ctrl-C) without waiting for running tasks."""
    if pool is None:
        return
    if failed:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()  # running tasks would only be thrown away
    pool.shutdown(wait=True, cancel_futures=True)


def estimated_lines(pieces: list[plan.Piece]) -> int:
    """Lines of the inputs before reading them: Parquet metadata, else CSV bytes."""
    return sum(p.rows or os.path.getsize(p.path) // CSV_BYTES_PER_LINE for p in pieces)


def _scatter(pool, pieces, n, scratch, config, max_field_bytes) -> list[plan.PieceInfo]:
    """Step 2 of the plan on every piece; pieces of a damaged Parquet file read again."""
    paths = {p.index: scratch.path(plan.piece_name(p.index)) for p in pieces}

    def calls(todo, undecodable):
        return [(p, n, paths[p.index], config.columns, max_field_bytes, undecodable) for p in todo]

    infos = list(_results(pool, plan.scatter_piece, calls(pieces, False)))
    again = plan.damaged_pieces(pieces, infos)
    if again:
        redone = {i.index: i for i in _results(pool, plan.scatter_piece, calls(again, True))}
        infos = [redone.get(i.index, i) for i in infos]
    plan.check_pieces(infos, pieces)
    return infos


def _audit(pool, infos, n, files, bundle, config, prior, watch, scratch) -> list[plan.BatchResult]:
    """Step 4 of the plan on every partition, results in partition order; each partition's
    findings written to `scratch`."""
    moves = plan.linked_moves(infos, n)
    calls = [(plan.partition_slices(infos, p, moves, n), moves.out.get(p), files) for p in range(n)]
    runs = [scratch.path(plan.run_name(p)) for p in range(n)]
    if pool is None:
        fn = plan.audit_partition
        calls = [(*c, bundle, config, prior, run) for c, run in zip(calls, runs, strict=True)]
    else:
        fn = _audit_task
        calls = [(*c, run) for c, run in zip(calls, runs, strict=True)]
    results = []
    for result in _results(pool, fn, calls):
        results.append(result)
        for stage, spent in result.seconds.items():
            watch.add(stage, spent, report=False)
        if watch.progress:
            watch.progress(f"validate, enrich, rules: partition {len(results)} of {n}", None, None)
    return results


def merged_result(
    parts: list[plan.BatchResult], raws, config, bundle, watch, started, scratch
) -> AuditResult:
    """Step 5 of the plan, for every executor: the partitions' results as the run's; their
    findings stay in `scratch` (which the result closes), read a range at a time."""
    checked = finish_rejects([p.rejects for p in parts], raws)
    findings = SortedFindings([p.run for p in parts], scratch)
    tally, lines_with_findings = findings.tally()
    coverage = merge_coverage(p.ran.coverage for p in parts)
    counts = sum((p.counts for p in parts), LineCounts())
    summary = build_summary(
        raws,
        checked,
        counts,
        tally,
        coverage,
        config,
        bundle,
        watch.timings,
        started,
        lines=lines_with_findings,
    )
    return AuditResult(findings, checked.rejects, None, summary, watch.timings)


def run_audit(
    inputs,
    bundle: Bundle,
    config: Config,
    history=None,
    progress=None,
    max_field_bytes: int | None = None,
    workers: int | None = None,
    partition_lines: int = plan.PARTITION_LINES,
    scratch_dir: str | Path | None = None,
    piece_lines: int = plan.PIECE_LINES,
) -> AuditResult:
    """Run the whole audit over the input files on this machine; nothing is written.
    `workers`: processes (default: every core, or this process alone for a small input);
    `partition_lines`: lines per partition; `piece_lines`: lines of a Parquet file read by one
    task; `scratch_dir`: where the run's Arrow files go (default the temp directory). The
    result depends on none of them."""
    started, watch, t0 = datetime.now(UTC), Stages(progress), time.perf_counter()
    paths = resolve_inputs(inputs)
    pieces = plan.plan_pieces(paths, config.columns, piece_lines)
    lines = estimated_lines(pieces)
    if workers is None:
        workers = 1 if lines < SMALL_INPUT_LINES else os.cpu_count() or 1
    n = max(1, math.ceil(lines / partition_lines), workers if workers > 1 else 1)
    with watch.stage("enrich"):
        prior = load_history(history, config, bundle)
    pool = _pool(workers, bundle, config, prior) if workers > 1 else None
    scratch = Scratch(scratch_dir or tempfile.gettempdir(), prefix="claims-audit-run-")
    failed = True
    try:
        with watch.stage("ingest"):
            limit = max_field_bytes or MAX_FIELD_BYTES
            infos = _scatter(pool, pieces, n, scratch, config, limit)
            watch.rows = sum(i.raw.rows_read for i in infos)
        with watch.stage("audit"):
            files = [str(p) for p in paths]
            parts = _audit(pool, infos, n, files, bundle, config, prior, watch, scratch)
            raws = plan.file_inputs(pieces, infos, paths)
        scratch.remove([plan.piece_name(p.index) for p in pieces])  # the lines: audited
        with watch.stage("merge"):
            watch.timings["total"] = round(time.perf_counter() - t0, 4)
            result = merged_result(parts, raws, config, bundle, watch, started, scratch)
        failed = False
    finally:
        _stop(pool, failed)
        if failed:
            scratch.close()
    result.summary["engine"] = "local"
    result.summary["plan"] = {"partitions": n, "workers": workers, "pieces": len(pieces)}
    if pool is not None:  # the largest worker's peak (the parent's is `peak_rss_mb`)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result.summary["peak_rss_mb_largest_worker"] = round(peak / 1024, 1)
    return result
