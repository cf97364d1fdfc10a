"""`--engine dask`: the pandas pipeline's own functions over partitions of the batch, on a Dask
cluster (a local one by default), in bounded memory.

1. partition: each input is cut into pieces (Parquet row groups; CSV byte ranges at record
   ends, the header repeated, the encoding of a file that is not UTF-8 decided once for all its
   pieces). A task reads a piece with `ingest`'s own per-file functions (a CSV piece with
   `read_input`; a Parquet piece with `read_parquet` and `canonical_rows`, which `read_input`
   runs on a whole file): the same V004 (unknown time zone) and V006 (NUL, control characters,
   undecodable or overlong values) rejects, and the piece's distinct patient ids, which mask a
   reject value equal to one of them (`finish_rejects`). It hashes every row's patient_id into
   one of N buckets and writes the piece, rows ordered by bucket, to an Arrow file in a scratch
   directory.
2. audit: a task per bucket maps its rows from every piece, restores file order, and runs
   `validate_inputs`, `enrich` and `run_rules` on them: every line of a patient is in one bucket,
   so drug groups, MUE per day, duplicates and frequency rules see all of them.
3. collect: the client concatenates findings and rejects and sorts them as the pandas engine
   does, so the findings files are byte-identical.

Claims are normally one patient's; a claim_id that carries several patient_ids (a data error)
would be split across buckets, breaking its drug groups and the duplicate-line (V005) check.
The partition step reports every (claim, patient) pair, and the patients linked by such claims
are moved into one bucket before the audit, so even then the result is the pandas engine's.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from claims_audit.audit import AuditResult, LineCounts, Stages, audit_batch, build_summary
from claims_audit.columns import linked_labels
from claims_audit.config import Config
from claims_audit.errors import InputError, PipelineError
from claims_audit.ingest import (
    BLOCK_SIZE,
    MAX_FIELD_BYTES,
    REJECT_COLUMNS,
    RawInput,
    canonical_rows,
    choose_fallback_encoding,
    file_sha256,
    input_kind,
    map_columns,
    read_input,
    read_parquet,
    resolve_inputs,
    scan_file,
)
from claims_audit.parsing import TEXT
from claims_audit.reference import Bundle
from claims_audit.rules.engine import merge_coverage, merge_findings
from claims_audit.validate import combine_inputs, finish_rejects

DEFAULT_PARTITION_ROWS = 250_000  # lines audited per task (memory per worker ~ 1-2 GB)
DEFAULT_PIECE_ROWS = 500_000  # lines read per partition task
DEFAULT_WORKERS = 2
_MAX_RECORD_BYTES = 2 * BLOCK_SIZE  # a CSV piece grows this far to end on a record end
_HELPERS = ["_file", "_piece", "_phash"]
# identifiers come back as the Arrow-backed strings `ingest` makes (pandas writes them as
# large_string): never as Python objects
_TEXT_TYPES = {pa.string(): TEXT, pa.large_string(): TEXT}


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


# -- planning: pieces of the inputs ---------------------------------------------------------


@dataclass
class Piece:
    index: int
    file_index: int
    kind: str  # parquet | csv
    path: str  # the input file (parquet) or the piece's own CSV file
    row_groups: list[int] = field(default_factory=list)
    rows: int = 0  # known (parquet) or estimated (csv)
    file: str = ""  # the input file (named in errors)
    fallback: str | None = None  # a CSV file not valid UTF-8: its encoding (every piece's)


@dataclass
class PieceInfo:
    index: int
    rows_read: int
    encoding: str
    rejects: pd.DataFrame  # ingest rejects (V004, V006) of the piece, rows relative to it
    patient_ids: pa.Array  # distinct patient ids of the piece (rejected rows too)
    undecodable: bool  # Parquet: invalid UTF-8 replaced (U+FFFD) in the piece
    pairs: np.ndarray  # distinct (claim hash, patient hash) of the piece, uint64 (n, 2)
    bucket_offsets: np.ndarray  # rows of bucket b are [offsets[b], offsets[b + 1])
    arrow_path: str
    seconds: float


def _parquet_pieces(
    path: Path, file_index: int, start: int, piece_rows: int, aliases: dict[str, str]
) -> list[Piece]:
    """Row groups of about `piece_rows` rows; V001 (a required column missing) at once."""
    try:
        with pq.ParquetFile(path) as source:
            meta, names = source.metadata, source.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError, UnicodeError, IndexError, KeyError) as exc:
        raise InputError(
            f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]})"
        ) from None
    map_columns(names, aliases, path)
    pieces, group, rows = [], [], 0
    for rg in range(meta.num_row_groups):
        group.append(rg)
        rows += meta.row_group(rg).num_rows
        if rows >= piece_rows:
            pieces.append(
                Piece(start + len(pieces), file_index, "parquet", str(path), group, rows, str(path))
            )
            group, rows = [], 0
    if group or not pieces:
        pieces.append(
            Piece(start + len(pieces), file_index, "parquet", str(path), group, rows, str(path))
        )
    return pieces


def _csv_pieces(
    path: Path, file_index: int, start: int, piece_rows: int, scratch: Path, fallback: str | None
) -> list[Piece]:
    """Cut a CSV file at record ends into files of about `piece_rows` records, each starting
    with the header line (the byte-order mark, if any, stays on the first piece only). A file
    that is not valid UTF-8 has its `fallback` encoding decided once, for every piece.

    A record ends at a line end outside quotes: after an even number of `"` (a doubled quote
    counts twice). A quote never closed makes the rest of the file one record, as when the file
    is read whole, up to the read block (beyond it `ingest` refuses the record anyway)."""
    with path.open("rb") as fh:
        header = fh.readline()
        sample = fh.read(1 << 20)
    bare_header = header[3:] if header.startswith(b"\xef\xbb\xbf") else header
    if not header.endswith(b"\n"):
        header += b"\n"
        bare_header += b"\n" if not bare_header.endswith(b"\n") else b""
    per_row = max(len(sample) / max(sample.count(b"\n"), 1), 1.0)
    target = int(per_row * piece_rows)
    pieces: list[Piece] = []
    with path.open("rb") as fh:
        fh.readline()
        while True:
            block = fh.read(target)
            if not block:
                break
            parts = [block] if block.endswith(b"\n") else [block, fh.readline()]
            odd, size = sum(part.count(b'"') for part in parts) % 2, len(block)
            while odd and size < _MAX_RECORD_BYTES:  # inside a quoted value: read on
                line = fh.readline()
                if not line:
                    break
                parts.append(line)
                odd, size = odd ^ line.count(b'"') % 2, size + len(line)
            block = b"".join(parts)
            index = start + len(pieces)
            piece_path = scratch / f"piece-{index:06d}.csv"
            with piece_path.open("wb") as out:
                out.write(header if not pieces else bare_header)
                out.write(block)
            rows = int(len(block) / per_row)
            pieces.append(
                Piece(index, file_index, "csv", str(piece_path), [], rows, str(path), fallback)
            )
    if not pieces:
        piece_path = scratch / f"piece-{start:06d}.csv"
        piece_path.write_bytes(header)
        pieces.append(Piece(start, file_index, "csv", str(piece_path), [], 0, str(path), fallback))
    return pieces


# -- step 1: read a piece and bucket its rows by patient ------------------------------------


def _hash(values: pd.Series) -> np.ndarray:
    """A stable 64-bit hash per row (0 for NA), computed once per distinct value."""
    codes, uniques = pd.factorize(values)
    hashed = pd.util.hash_pandas_object(pd.Series(uniques), index=False).to_numpy()
    return np.where(codes >= 0, hashed[np.maximum(codes, 0)], np.uint64(0)).astype(np.uint64)


def read_piece(
    piece: Piece, aliases: dict[str, str], max_field_bytes: int, undecodable: bool = False
) -> tuple[RawInput, bool]:
    """One piece read by `ingest`'s per-file functions, as `read_input` reads a whole file:
    `source_row` (of the frame and the rejects) counts from the piece's first row; a Parquet
    piece has no sha256 (`_audit` records the file's). Also whether invalid UTF-8 was replaced
    in a Parquet piece; `undecodable`: the file has some (in another piece), so a U+FFFD is
    V006 in this piece too, as `read_input` would decide for the whole file."""
    path = Path(piece.path)
    try:
        if piece.kind == "csv":
            return read_input(path, aliases, max_field_bytes, piece.fallback), False
        table, repaired = read_parquet(path, aliases, piece.row_groups)
        rows = table.num_rows
        tables, table = [table], None  # `canonical_rows` holds the only reference
        frame, rejects, ids = canonical_rows(
            tables,
            np.arange(1, rows + 1, dtype=np.int64),
            path,
            max_field_bytes,
            repaired or undecodable,
        )
    except InputError as exc:  # the error names the input file, not the piece's scratch copy
        raise InputError(str(exc).replace(piece.path, piece.file or piece.path)) from None
    return RawInput(path, frame, "parquet", "", rows, rejects, ids), repaired


def partition_piece(
    piece: Piece,
    n_buckets: int,
    scratch: str,
    aliases: dict[str, str],
    max_field_bytes: int = MAX_FIELD_BYTES,
    undecodable: bool = False,
) -> PieceInfo:
    """Read one piece as `ingest` reads a file (`read_piece`); write its rows ordered by
    patient bucket."""
    started = time.perf_counter()
    raw, repaired = read_piece(piece, aliases, max_field_bytes, undecodable)
    frame, rows_read, encoding, rejects = raw.frame, raw.rows_read, raw.encoding, raw.rejects
    frame["_file"] = np.int32(piece.file_index)
    frame["_piece"] = np.int32(piece.index)
    claim = _hash(frame["claim_id"]) if "claim_id" in frame else np.zeros(len(frame), np.uint64)
    patient = _hash(frame["patient_id"])
    frame["_phash"] = patient
    known = (frame["patient_id"].notna() & frame["claim_id"].notna()).to_numpy()
    pairs = pd.DataFrame({"c": claim[known], "p": patient[known]}).drop_duplicates().to_numpy()
    bucket = (patient % np.uint64(n_buckets)).astype(np.int64)
    order = np.argsort(bucket, kind="stable")
    offsets = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
    table = pa.Table.from_pandas(frame.take(order), preserve_index=False)
    table = _decode_wide_dictionaries(table)
    arrow_path = os.path.join(scratch, f"rows-{piece.index:06d}.arrow")
    table = table.combine_chunks()  # one dictionary per column: the file format needs that
    with pa.OSFile(arrow_path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for b in range(n_buckets):  # record batch b holds bucket b (read alone, memory-mapped)
            part = table.slice(offsets[b], offsets[b + 1] - offsets[b])
            writer.write_batch(
                pa.RecordBatch.from_arrays(
                    [
                        col.chunk(0) if col.num_chunks else pa.array([], col.type)
                        for col in part.columns
                    ],
                    schema=table.schema,
                )
            )
    return PieceInfo(
        piece.index,
        rows_read,
        encoding,
        rejects,
        raw.patient_ids,
        repaired,
        pairs,
        offsets,
        arrow_path,
        time.perf_counter() - started,
    )


# -- step 2: audit one bucket ----------------------------------------------------------------


@dataclass
class Slice:
    arrow_path: str
    bucket: int  # the record batch of the piece's file that holds the bucket
    start: int
    stop: int
    patients: np.ndarray | None = None  # only these patient hashes (moved into this bucket)


@dataclass
class BucketResult:
    findings: pd.DataFrame
    rejects: pd.DataFrame
    counts: LineCounts
    coverage: dict[str, dict]
    seconds: dict[str, float]


def _read_slices(slices: list[Slice], moved_out: np.ndarray) -> pd.DataFrame | None:
    tables = []
    for s in slices:
        if s.stop <= s.start:
            continue
        with pa.memory_map(s.arrow_path) as source:
            table = pa.Table.from_batches([pa.ipc.open_file(source).get_batch(s.bucket)])
        phash = table["_phash"].to_numpy()
        keep = np.isin(phash, s.patients) if s.patients is not None else ~np.isin(phash, moved_out)
        if not keep.all():
            table = table.filter(pa.array(keep))
        if table.num_rows:
            tables.append(table)
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="permissive")
    frame = table.to_pandas(types_mapper=_TEXT_TYPES.get)
    for name in json.loads((table.schema.metadata or {}).get(b"decoded", b"[]")):
        values = frame[name].to_numpy(dtype=object, na_value=None)
        frame[name] = pd.Categorical(values)  # categorical again, as `ingest` makes it
    return frame


def _decode_wide_dictionaries(table: pa.Table) -> pa.Table:
    """Store near-unique text columns (charges, amounts, auth numbers) as plain strings.

    Every record batch of an Arrow file shares one dictionary per column: a bucket would
    otherwise carry the whole piece's dictionary, and a bucket made of a hundred pieces would
    unify a hundred of them. The reader makes them categorical again.
    """
    decoded = []
    for i, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type):
            size = sum(len(chunk.dictionary) for chunk in table.column(i).chunks)
            if size > max(1000, table.num_rows // 100):
                decoded.append(column.name)
                table = table.set_column(i, column.name, table.column(i).cast(pa.string()))
    metadata = dict(table.schema.metadata or {})
    metadata[b"decoded"] = json.dumps(decoded).encode()
    return table.replace_schema_metadata(metadata)


def audit_bucket(
    slices: list[Slice],
    moved_out: np.ndarray,
    row_offsets: dict[int, int],
    files: list[str],
    bundle: Bundle,
    config: Config,
    history: pd.DataFrame | None,
) -> BucketResult:
    """validate + enrich + rules (`audit_batch`) on every line of the bucket's patients, in
    file order."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    frame = _read_slices(slices, moved_out)
    if frame is None:
        return BucketResult(
            pd.DataFrame(), pd.DataFrame(columns=REJECT_COLUMNS), LineCounts(), {}, seconds
        )
    offsets = pd.Series(row_offsets)
    frame["source_row"] = (
        frame["source_row"].to_numpy() + offsets.reindex(frame["_piece"].to_numpy()).to_numpy()
    )
    frame = frame.sort_values(["_file", "source_row"], kind="stable")
    raws = []
    for file_index, part in frame.groupby("_file", sort=True):
        part = part.drop(columns=_HELPERS).reset_index(drop=True)
        raws.append(RawInput(Path(files[int(file_index)]), part, "", "", len(part)))
    del frame
    seconds["read"] = time.perf_counter() - t
    batch = audit_batch(combine_inputs(raws), bundle, config, history)
    seconds.update(batch.seconds)
    return BucketResult(
        batch.ran.findings, batch.rejects, batch.counts, batch.ran.coverage, seconds
    )


# -- claims that carry several patients -------------------------------------------------------


def _linked_patients(pairs: np.ndarray) -> list[np.ndarray]:
    """Groups of patient hashes linked by claims that carry more than one patient."""
    if not len(pairs):
        return []
    frame = pd.DataFrame(pairs, columns=["claim", "patient"]).drop_duplicates()
    frame = frame[frame["claim"].duplicated(keep=False)]  # claims with several patients
    if frame.empty:
        return []
    label = linked_labels(
        pd.factorize(frame["patient"])[0].astype(np.int64),
        pd.factorize(frame["claim"])[0].astype(np.int64),
    )
    patients = frame.assign(label=label).drop_duplicates(["label", "patient"])
    groups = patients.sort_values("patient").groupby("label", sort=True)["patient"]
    return [g.to_numpy(dtype=np.uint64) for _, g in groups if len(g) > 1]


# -- the engine ---------------------------------------------------------------------------------


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
        dashboard_address=None,
        silence_logs=40,
    )
    return distributed.Client(cluster), cluster


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
    scratch_dir: str | Path | None = None,
    client=None,
    max_field_bytes: int | None = None,
) -> AuditResult:
    """The audit of `run_audit`, on a Dask cluster: same findings and rejects, bounded memory.

    `scheduler`: address of an existing cluster (its workers must see the input files and the
    scratch directory); default a local cluster of `n_workers` processes. `client`: an already
    connected `distributed.Client` (tests). `max_field_bytes`: as for `run_audit`.
    """
    distributed = _require_dask()
    started = datetime.now(UTC)
    watch = Stages(progress)
    t0 = time.perf_counter()
    paths = resolve_inputs(inputs)
    scratch = Path(tempfile.mkdtemp(prefix="claims-audit-dask-", dir=scratch_dir))
    own_client = cluster = None
    try:
        with watch.stage("plan"):
            pieces: list[Piece] = []
            for i, path in enumerate(paths):
                if input_kind(path) == "parquet":  # its bytes tell, as for `read_input`
                    pieces += _parquet_pieces(path, i, len(pieces), piece_rows, config.columns)
                else:
                    valid = scan_file(path)[1]
                    fallback = None if valid else choose_fallback_encoding(path)
                    pieces += _csv_pieces(path, i, len(pieces), piece_rows, scratch, fallback)
            total_rows = sum(p.rows for p in pieces)
            n_buckets = max(1, math.ceil(total_rows / partition_rows))
            if client is None:
                own_client, cluster = _client(distributed, scheduler, n_workers)
                client = own_client
        with watch.stage("partition"):
            watch.rows = None
            options = {
                "n_buckets": n_buckets,
                "scratch": str(scratch),
                "aliases": config.columns,
                "max_field_bytes": max_field_bytes or MAX_FIELD_BYTES,
                "pure": False,
            }
            futures = client.map(partition_piece, pieces, **options)
            infos: list[PieceInfo] = sorted(client.gather(futures), key=lambda x: x.index)
            del futures
            # `read_input` makes a U+FFFD V006 in the whole of a Parquet file in which invalid
            # UTF-8 was replaced: its other pieces are read again with `undecodable`
            damaged = {p.file_index for p, i in zip(pieces, infos, strict=True) if i.undecodable}
            again = [
                p
                for p, i in zip(pieces, infos, strict=True)
                if p.file_index in damaged and not i.undecodable
            ]
            if again:
                redone = client.gather(
                    client.map(partition_piece, again, undecodable=True, **options)
                )
                by_index = {i.index: i for i in infos} | {i.index: i for i in redone}
                infos = [by_index[p.index] for p in pieces]
            watch.rows = sum(i.rows_read for i in infos)
        with watch.stage("audit"):
            result = _audit(client, paths, pieces, infos, n_buckets, bundle, config, history)
        findings, checked, raws, summary_parts = result
        workers_rss = sorted(client.run(_peak_rss_mb).values())
        watch.timings["total"] = round(time.perf_counter() - t0, 4)
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
    result = _result(findings, checked, raws, summary_parts, config, bundle, watch, started)
    result.summary["peak_rss_mb_workers"] = workers_rss
    return result


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _audit(client, paths, pieces, infos, n_buckets, bundle, config, history):
    """Schedule one audit task per bucket; gather and merge their results."""
    from claims_audit.audit import load_history

    files = [str(p) for p in paths]
    # rows of a piece are numbered after those of the file's earlier pieces
    row_offsets, seen = {}, {}
    for piece, info in zip(pieces, infos, strict=True):
        row_offsets[piece.index] = seen.get(piece.file_index, 0)
        seen[piece.file_index] = row_offsets[piece.index] + info.rows_read
    # patients linked by a claim that carries several of them go to one bucket
    pairs = np.concatenate([i.pairs for i in infos]) if infos else np.zeros((0, 2), np.uint64)
    moves: dict[int, np.ndarray] = {}  # target bucket -> patient hashes moved into it
    moved_out: dict[int, list[np.ndarray]] = {}
    for group in _linked_patients(pairs):
        buckets = (group % np.uint64(n_buckets)).astype(np.int64)
        if len(set(buckets.tolist())) == 1:
            continue
        target = int(buckets.min())
        moves[target] = np.concatenate([moves.get(target, np.zeros(0, np.uint64)), group])
        for b in set(buckets.tolist()) - {target}:
            moved_out.setdefault(b, []).append(group[buckets == b])
    del pairs
    prior = load_history(history, config, bundle)
    shared = client.scatter([bundle, config, prior], broadcast=True)
    tasks = []
    for b in range(n_buckets):
        slices = [
            Slice(i.arrow_path, b, int(i.bucket_offsets[b]), int(i.bucket_offsets[b + 1]))
            for i in infos
        ]
        if b in moves:
            sources = {int(x) for x in (moves[b] % np.uint64(n_buckets))} - {b}
            slices += [
                Slice(
                    i.arrow_path,
                    s,
                    int(i.bucket_offsets[s]),
                    int(i.bucket_offsets[s + 1]),
                    moves[b],
                )
                for s in sorted(sources)
                for i in infos
            ]
        out = np.concatenate(moved_out[b]) if b in moved_out else np.zeros(0, np.uint64)
        tasks.append(
            client.submit(audit_bucket, slices, out, row_offsets, files, *shared, pure=False)
        )
    parts: list[BucketResult] = []
    for future in distributed_as_completed(tasks):
        parts.append(future.result())
        future.release()
    frames = [p.findings for p in parts]
    for p in parts:  # the client holds one copy of the findings, not two
        p.findings = None
    findings = merge_findings(frames)
    del frames
    ingested = [
        _file_rejects(info.rejects, piece.path, files[piece.file_index], row_offsets[piece.index])
        for piece, info in zip(pieces, infos, strict=True)
        if len(info.rejects)
    ]
    raws = []
    for i, path in enumerate(paths):
        mine = [info for piece, info in zip(pieces, infos, strict=True) if piece.file_index == i]
        encodings = {info.encoding for info in mine}
        encoding = "cp1252" if "cp1252" in encodings else encodings.pop() if encodings else "utf-8"
        ids = [info.patient_ids for info in mine if len(info.patient_ids)]
        raws.append(
            RawInput(
                path,
                pd.DataFrame(),
                encoding,
                file_sha256(path),
                sum(info.rows_read for info in mine),
                patient_ids=pc.unique(pa.concat_arrays(ids)) if ids else pa.array([], pa.string()),
            )
        )
    # the ingest rejects travel as parts: the inputs carry only their patient ids
    checked = finish_rejects([p.rejects for p in parts] + ingested, raws)
    return findings, checked, raws, parts


def _file_rejects(rejects: pd.DataFrame, piece_path: str, file: str, offset: int) -> pd.DataFrame:
    """A piece's ingest rejects as the file's: its name, rows numbered after those of the
    file's earlier pieces, also in the message (`<path> row <n>...`, as `ingest` writes it)."""
    out = rejects.copy()
    rows = pd.to_numeric(out["source_row"], errors="coerce").astype("int64") + offset
    rest = (
        out["message"]
        .astype("string")
        .str.slice(len(f"{Path(piece_path)} row "))
        .str.replace(r"^[0-9]+", "", regex=True)
    )
    out["source_file"] = file
    out["source_row"] = rows.to_numpy()
    out["message"] = (f"{file} row " + rows.astype("string") + rest).to_numpy(dtype=object)
    return out


def distributed_as_completed(futures):
    from distributed import as_completed

    return as_completed(futures)


def _result(findings, checked, raws, parts, config, bundle, watch, started) -> AuditResult:
    """The summary as the pandas engine writes it, from the buckets' counts and coverage."""
    counts = LineCounts()
    worker: dict[str, float] = {}
    for p in parts:
        counts = counts + p.counts
        for k, v in p.seconds.items():
            worker[k] = worker.get(k, 0.0) + v
    coverage = merge_coverage(p.coverage for p in parts)
    timings = dict(watch.timings)
    timings["worker_seconds"] = {k: round(v, 4) for k, v in worker.items()}
    summary = build_summary(
        raws, checked, counts, findings, coverage, config, bundle, timings, started
    )
    summary["engine"] = "dask"
    empty = pd.DataFrame(columns=["source_file", "in_scope", "service_date"])
    return AuditResult(findings, checked.rejects, empty, summary, timings)
