"""`--engine dask`: the partitioned plan of `run/plan.py` on a Dask cluster (a local one unless
`--scheduler` names one), inputs and the scratch area as local paths or fsspec URLs.

The client plans (`plan.plan_pieces` for local files; a remote file is one piece) and merges;
workers do the rest, and read and write only what they can see by path or URL:

1. scatter (a task per piece): a remote input is copied into the worker's own temporary
   directory and read there, exactly as `ingest.read_input` reads a local file; the piece's
   lines, hashed into partitions by patient (`plan.scatter_piece`), go to an Arrow IPC file of
   the run's scratch area: written in place when it is a local (or shared) directory, else
   written in the worker's directory and uploaded to the scratch URL.
2. audit (a task per partition, `plan.audit_partition`): its record batch of every piece,
   memory-mapped from the scratch directory, or fetched from the scratch URL (only that batch's
   bytes) into the worker's directory first.
   Its sorted findings go to the scratch area too (uploaded when it is a URL).
3. merge on the client (`merge.SortedFindings`): the partitions' findings read from the scratch
   area a range of claims at a time as they are written; only rejects, counts and the
   findings' fences travel back, never lines or findings.

Nothing is written to the client's temporary directory unless it is the scratch area, which
with a scheduler it never is by default (the CLI puts the scratch area beside `--out`). Before
the first task every worker checks that it sees the inputs and the scratch area.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from claims_audit import storage
from claims_audit.config import Config
from claims_audit.errors import InputError, PipelineError
from claims_audit.ingest import MAX_FIELD_BYTES
from claims_audit.reference import Bundle
from claims_audit.run import plan
from claims_audit.run.common import AuditResult, Stages, load_history, one_compute_thread
from claims_audit.run.local import CSV_BYTES_PER_LINE, estimated_lines, merged_result

DEFAULT_PARTITION_ROWS = plan.PARTITION_LINES  # lines audited per task
DEFAULT_PIECE_ROWS = plan.PIECE_LINES  # lines read per scatter task
DEFAULT_WORKERS = 2


def _require_dask():
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError:
        raise PipelineError(
            "--engine dask needs the optional dependencies dask and distributed: "
            'pip install "claims-audit[dask]"'
        ) from None
    return distributed


# -- the worker's own files ------------------------------------------------------------------


class WorkerFiles:
    """Temporary files of one task in the worker's own directory (its `local_directory`, else
    its temp directory): made here, deleted here, nothing else."""

    def __init__(self):
        try:
            from distributed import get_worker

            self.directory: str | None = get_worker().local_directory
        except (ImportError, ValueError):
            self.directory = None
        self.paths: list[str] = []

    def new(self, suffix: str) -> str:
        fd, path = tempfile.mkstemp(prefix="claims-audit-", suffix=suffix, dir=self.directory)
        os.close(fd)
        self.paths.append(path)
        return path

    def __enter__(self) -> WorkerFiles:
        return self

    def __exit__(self, *exc) -> None:
        for path in self.paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # made by `new` above


def _renamed(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Rejects naming a file by another name (a worker's copy, a placeholder) renamed, in
    `source_file` and at the start of `message` (`<file> row <n>: ...`)."""
    if frame is None or not len(frame) or "source_file" not in frame:
        return frame
    frame = frame.copy()
    files = frame["source_file"].astype("string")
    message = frame["message"].astype("string")
    for old, new in names.items():
        mine = (files == old).fillna(False).to_numpy()
        if mine.any():
            files = files.where(~mine, new)
            message = message.where(~mine, new + message.str.slice(len(old)))
    frame["source_file"] = files.to_numpy(dtype=object)
    frame["message"] = message.to_numpy(dtype=object)
    return frame


# -- step 1 on a worker: scatter a piece -------------------------------------------------------


def _download(url: str, files: WorkerFiles) -> str:
    local = files.new(storage.Location(url).suffix or ".csv")
    fs, path = storage.filesystem(url)
    try:
        fs.get_file(path, local)
    except (OSError, ValueError) as exc:
        raise InputError(f"{url}: cannot be read ({exc})") from None
    return local


def scatter_task(
    piece: plan.Piece,
    n_partitions: int,
    location: str,
    aliases: dict[str, str],
    max_field_bytes: int = MAX_FIELD_BYTES,
    undecodable: bool = False,
) -> plan.PieceInfo:
    """`plan.scatter_piece` on a worker, whatever the input and the scratch area are: a remote
    input read from a copy in the worker's directory (its rejects and errors name the URL), the
    Arrow file uploaded to a scratch URL."""
    url = piece.path if storage.is_remote(piece.path) else None
    with WorkerFiles() as files:
        if url is not None:
            piece = replace(piece, path=_download(url, files))
            if storage.identity(url) != piece.identity:
                raise InputError(f"{url}: changed while it was read: run again once it is complete")
        target = files.new(".arrow") if storage.is_remote(location) else location
        try:
            info = plan.scatter_piece(
                piece, n_partitions, target, aliases, max_field_bytes, undecodable
            )
        except InputError as exc:
            if url is None:
                raise
            raise InputError(str(exc).replace(piece.path, url)) from None
        if target != location:
            fs, path = storage.filesystem(location)
            fs.put_file(target, path)
            info.arrow_path = location
    if url is not None:
        info.raw.path = storage.Location(url)
        info.raw.rejects = _renamed(info.raw.rejects, {piece.path: url})
    return info


# -- step 2 on a worker: audit a partition -----------------------------------------------------


def _fetched(slices: list[plan.Slice], files: WorkerFiles) -> list[plan.Slice]:
    """Slices in a scratch URL as local Arrow files of one record batch each (the schema and
    its metadata kept): only that batch's bytes are read."""
    local = []
    for s in slices:
        if not storage.is_remote(s.arrow_path):
            local.append(s)
            continue
        with storage.open_input(s.arrow_path) as source:
            reader = pa.ipc.open_file(source)
            batch = reader.get_batch(s.batch)
            schema = reader.schema
        path = files.new(".arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            writer.write_batch(batch)
        local.append(plan.Slice(path, 0, s.patients))
    return local


def audit_task(
    slices: list[plan.Slice],
    moved_out: np.ndarray | None,
    files: list[str],
    bundle: Bundle,
    config: Config,
    prior: pd.DataFrame | None,
    run_location: str,
) -> plan.BatchResult:
    """`plan.audit_partition` on a worker, its record batches read from the scratch area and
    its findings written to `run_location` there (uploaded when it is a URL)."""
    with WorkerFiles() as own:
        started = time.perf_counter()
        local = _fetched(slices, own)
        fetched = time.perf_counter() - started
        remote = storage.is_remote(run_location)
        target = own.new(".arrow") if remote else run_location
        result = plan.audit_partition(local, moved_out, files, bundle, config, prior, target)
        if remote and result.run.rows:
            fs, path = storage.filesystem(run_location)
            fs.put_file(target, path)
        result.run.location = run_location
    if fetched > 0.001:
        result.seconds["fetch partition"] = fetched
    return result


# -- the client --------------------------------------------------------------------------------


def plan_inputs(
    paths: list, aliases: dict[str, str], piece_lines: int
) -> tuple[list[plan.Piece], int]:
    """The pieces of the inputs (local files by `plan.plan_pieces`, a remote file as one
    piece) and the lines they hold, estimated."""
    pieces: list[plan.Piece] = []
    lines = 0
    for i, path in enumerate(paths):
        if isinstance(path, storage.Location):
            identity = storage.identity(path)
            pieces.append(plan.Piece(len(pieces), i, str(path), identity=identity))
            lines += identity[0] // CSV_BYTES_PER_LINE
            continue
        found = plan.plan_pieces([path], aliases, piece_lines)
        found = [replace(p, index=len(pieces) + k, file_index=i) for k, p in enumerate(found)]
        lines += estimated_lines(found)
        pieces += found
    return pieces, lines


def _client(distributed, scheduler: str | None, n_workers: int):
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="30s"), None
        except OSError as exc:
            raise PipelineError(
                f"cannot connect to the Dask scheduler {scheduler}: {exc}"
            ) from None
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    )
    return distributed.Client(cluster), cluster


def check_workers(client, paths: list, area: storage.Scratch) -> None:
    """PipelineError unless every worker sees every input and the scratch area (a probe file
    the client writes there)."""
    probe = area.path("probe")
    with storage.open_output(probe) as fh:
        fh.write(b"claims-audit\n")
    wanted = [str(p) for p in paths] + [probe]
    missing = {w: m for w, m in client.run(storage.worker_sees, wanted).items() if m}
    if not client.scheduler_info().get("workers"):
        raise PipelineError("the Dask cluster has no workers")
    if missing:
        worker, what = sorted(missing.items())[0]
        shown = ", ".join(str(m).replace(probe, f"the scratch area {area.location}") for m in what)
        raise PipelineError(
            f"Dask worker {worker} cannot see {shown}: inputs and --scratch must be paths or "
            "URLs every worker can reach (a shared file system, s3://...)"
        )


def _scatter(client, pieces, n, area, config, max_field_bytes) -> list[plan.PieceInfo]:
    """Step 1 on the cluster; pieces of a damaged Parquet file read again."""
    locations = [area.path(plan.piece_name(p.index)) for p in pieces]
    options = {"aliases": config.columns, "max_field_bytes": max_field_bytes, "pure": False}
    futures = client.map(scatter_task, pieces, [n] * len(pieces), locations, **options)
    infos = client.gather(futures)
    del futures
    again = plan.damaged_pieces(pieces, infos)
    if again:
        where = [locations[p.index] for p in again]
        redone = client.gather(
            client.map(scatter_task, again, [n] * len(again), where, undecodable=True, **options)
        )
        by_index = {i.index: i for i in redone}
        infos = [by_index.get(i.index, i) for i in infos]
    plan.check_pieces(infos, pieces)
    return infos


def _audit(client, infos, n, files, shared, watch, area) -> list[plan.BatchResult]:
    """Step 2 on the cluster: one task per partition, results in partition order; each
    partition's findings written to the scratch area."""
    from distributed import as_completed

    moves = plan.linked_moves(infos, n)
    tasks = [
        client.submit(
            audit_task,
            plan.partition_slices(infos, p, moves, n),
            moves.out.get(p),
            files,
            *shared,
            area.path(plan.run_name(p)),
            pure=False,
        )
        for p in range(n)
    ]
    order = {future.key: p for p, future in enumerate(tasks)}
    results: list[plan.BatchResult | None] = [None] * n
    for done, future in enumerate(as_completed(tasks), start=1):
        result = future.result()
        results[order[future.key]] = result
        future.release()
        for stage, spent in result.seconds.items():
            watch.add(stage, spent, report=False)
        if watch.progress:
            watch.progress(f"validate, enrich, rules: partition {done} of {n}", None, None)
    return results


def _placeholders(paths: list) -> tuple[list[str], dict[str, str]]:
    """The names the partitions give the inputs (`plan.audit_partition` makes them `Path`s,
    which would fold the `//` of a URL) and, for remote inputs, the URL each stands for."""
    files = [str(p) for p in paths]
    names = {str(Path(f)): f for f in files if storage.is_remote(f)}
    return files, names


def _named(parts: list[plan.BatchResult], names: dict[str, str]) -> None:
    """The partitions' rejects and per-file counts under the inputs' URLs."""
    if not names:
        return
    for part in parts:
        part.rejects = _renamed(part.rejects, names)
        part.counts = replace(
            part.counts, audited={names.get(k, k): v for k, v in part.counts.audited.items()}
        )


def _scratch_area(scratch, scheduler: str | None) -> storage.Scratch:
    if scratch is not None:
        return storage.Scratch(scratch)
    if scheduler:
        raise PipelineError(
            "--scheduler needs a scratch area every worker can reach: give --scratch "
            "(a shared directory or a URL such as s3://bucket/scratch)"
        )
    return storage.Scratch(tempfile.gettempdir())  # a local cluster: this machine's own


def run_audit_dask(
    inputs,
    bundle: Bundle,
    config: Config,
    history=None,
    scheduler: str | None = None,
    progress=None,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    piece_rows: int = DEFAULT_PIECE_ROWS,
    n_workers: int = DEFAULT_WORKERS,
    scratch: str | os.PathLike | None = None,
    client=None,
    max_field_bytes: int | None = None,
) -> AuditResult:
    """The audit of `run_audit` on a Dask cluster: the same findings, rejects and summary.

    `inputs`: local paths, globs, directories or fsspec URLs. `scheduler`: the address of a
    running cluster, else a local one of `n_workers` processes; `client`: a connected
    `distributed.Client` (tests). `scratch`: a directory or URL under which the run makes its
    own scratch directory (needed with `scheduler`; default this machine's temp directory).
    """
    distributed = _require_dask()
    started, watch, t0 = datetime.now(UTC), Stages(progress), time.perf_counter()
    paths = storage.resolve_locations(inputs)
    pieces, lines = plan_inputs(paths, config.columns, piece_rows)
    n = max(1, math.ceil(lines / partition_rows))
    with watch.stage("enrich"):
        prior = load_history(history, config, bundle)
    area = _scratch_area(scratch, scheduler)
    own = cluster = None
    failed = True
    try:
        if client is None:
            own, cluster = _client(distributed, scheduler, n_workers)
        if cluster is not None:  # this machine's cores: one process each, one thread each
            own.run(one_compute_thread)
        active = client or own
        check_workers(active, paths, area)
        with watch.stage("ingest"):
            limit = max_field_bytes or MAX_FIELD_BYTES
            infos = _scatter(active, pieces, n, area, config, limit)
            watch.rows = sum(i.raw.rows_read for i in infos)
        with watch.stage("audit"):
            shared = active.scatter([bundle, config, prior], broadcast=True)
            files, names = _placeholders(paths)
            parts = _audit(active, infos, n, files, shared, watch, area)
            _named(parts, names)
            raws = plan.file_inputs(pieces, infos, paths)
        workers_rss = sorted(active.run(_peak_rss_mb).values())
        area.remove([plan.piece_name(p.index) for p in pieces])  # the lines: audited
        failed = False
    finally:
        if own is not None:
            own.close()
        if cluster is not None:
            cluster.close()
        if failed:
            area.close()
    try:
        with watch.stage("merge"):
            watch.timings["partitions"] = n
            watch.timings["total"] = round(time.perf_counter() - t0, 4)
            result = merged_result(parts, raws, config, bundle, watch, started, area)
    except BaseException:
        area.close()
        raise
    result.summary["engine"] = "dask"
    result.summary["peak_rss_mb_workers"] = workers_rss
    return result


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
