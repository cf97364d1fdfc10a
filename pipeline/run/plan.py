"""The partitioned plan of an audit, the same for every executor (`run/local.py`, `run/dask.py`).

1. `plan_pieces`: cut the inputs into pieces (Parquet row groups; a CSV file, or a Parquet file
   whose metadata cannot be read, is one piece read exactly as `ingest.read_input` reads it).
2. `scatter_piece` (a task per piece): read the piece with `ingest`'s functions (same rejects,
   same canonical text), hash every line's patient into one of N partitions and write the
   piece's lines to an Arrow IPC file of the run's `Scratch` area, one record batch per
   partition. It reports the distinct (claim, patient) pairs of the piece.
3. `linked_moves`: patients linked by a claim that carries several of them (a data error) are
   moved into one partition, so each partition holds whole patients and whole claims.
4. `audit_partition` (a task per partition): read its record batches from every piece
   (memory-mapped), restore file order and run the pure `audit_batch`: validate, enrich, rules.
   Its findings go to an Arrow IPC file of the scratch area too (`merge.write_run`).
5. `merge.SortedFindings`, `file_inputs`: the partitions' sorted findings merged range by
   range as they are read (`run/merge.py`), each file's provenance (rows read, encoding,
   sha256, ingest rejects, patient ids); the executor adds rejects, counts and coverage
   (`run/local.py`). Nothing depends on the partition count.

Lines and findings travel between tasks only as Arrow IPC files; each task's result (rejects,
counts, the fences of its findings) is small next to them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from claims_audit.columns import codes_of, linked_labels
from claims_audit.config import Config
from claims_audit.enrich import enrich
from claims_audit.errors import InputError
from claims_audit.ingest import (
    MAX_FIELD_BYTES,
    RawInput,
    _check_unchanged,
    _identity,
    canonical_table,
    file_sha256,
    input_kind,
    map_columns,
    near_unique_limit,
    read_input,
    read_parquet_piece,
)
from claims_audit.parsing import TEXT_TYPES
from claims_audit.reference import Bundle
from claims_audit.report.views import findings_with_payer
from claims_audit.rules.common import RuleContext, repeated
from claims_audit.rules.engine import RuleRun, empty_findings, run_rules
from claims_audit.run.merge import REPORT_LINE_COLUMNS, FindingsRun, write_run
from claims_audit.schemas.claims import IDENTIFIERS
from claims_audit.summary import LineCounts
from claims_audit.validate import combine_inputs, validate_frame

# lines per partition (memory per worker: about 1 GB per 500k lines while it is audited)
PARTITION_LINES = 500_000
# lines per piece read by one task (Parquet row groups are joined up to this)
PIECE_LINES = 500_000
# what is kept of the audited lines: for the summary, their counts (`LineCounts`); for the
# report, the payer of the lines of claims with findings (`merge.REPORT_LINE_COLUMNS`)
HELPER_COLUMNS = ["_file", "_phash"]
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


# -- the pure function per partition -------------------------------------------------------


@dataclass
class BatchResult:
    ran: RuleRun
    rejects: pd.DataFrame
    counts: LineCounts  # of every audited line
    report_lines: pd.DataFrame  # REPORT_LINE_COLUMNS of the lines of claims with findings
    seconds: dict[str, float]
    run: FindingsRun | None = None  # the findings as written by `audit_partition`


def _flagged_claims(lines: pd.DataFrame, findings: pd.DataFrame) -> np.ndarray:
    """Per line, whether its claim has a finding (Arrow `is_in`, no Python loop)."""
    if findings.empty or lines.empty:
        return np.zeros(len(lines), dtype=bool)
    claims = pa.array(lines["claim_id"].array)
    wanted = pc.unique(pa.array(findings["claim_id"].array))
    return pc.is_in(claims, value_set=wanted).to_numpy(zero_copy_only=False)


def audit_batch(
    raw: pd.DataFrame, bundle: Bundle, config: Config, prior: pd.DataFrame | None
) -> BatchResult:
    """Validate, enrich and check one batch of raw lines (whole patients and claims): the pure
    function every executor runs per partition. `raw`: combined raw lines
    (`validate.combine_inputs`) in file order; `prior`: enriched history lines or None."""
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
    report_lines = lines.loc[_flagged_claims(lines, ran.findings), REPORT_LINE_COLUMNS]
    counts = LineCounts.of(lines, bundle.manifest)
    return BatchResult(ran, checked.rejects, counts, report_lines, seconds)


def patient_batches(lines: pd.DataFrame, batch_lines: int) -> list[np.ndarray]:
    """Row positions of in-memory `lines` in batches of about `batch_lines` lines (file order
    within a batch). A batch holds every line of its patients and of their claims: patients
    linked by a claim that carries several patient ids (a data error) go together."""
    n_batches = -(-len(lines) // batch_lines)
    if n_batches <= 1:
        return [np.arange(len(lines))]
    label = linked_labels(codes_of(lines["patient_id"]), codes_of(lines["claim_id"]))
    batch = label % n_batches
    order = np.argsort(batch, kind="stable")
    return np.split(order, np.cumsum(np.bincount(batch, minlength=n_batches))[:-1])


# -- 1. pieces of the inputs ---------------------------------------------------------------


@dataclass
class Piece:
    """A part of one input read by one task: row groups of a Parquet file, or a whole file
    (`row_groups` None: read by `read_input`)."""

    index: int
    file_index: int
    path: str
    row_groups: list[int] | None = None
    first_row: int = 0  # lines of the file before the piece: its `source_row`s follow them
    rows: int = 0  # lines of the piece (Parquet row groups; 0 where unknown before reading)
    identity: tuple = ()  # the file's identity when planned (`ingest._identity`)


def piece_name(index: int) -> str:
    """The scratch file of piece `index`'s lines (`scatter_piece`)."""
    return f"piece-{index:06d}.arrow"


def run_name(partition: int) -> str:
    """The scratch file of partition `partition`'s findings (`audit_partition`)."""
    return f"findings-{partition:06d}.arrow"


def _row_group_pieces(
    path: Path, file_index: int, start: int, piece_lines: int, aliases: dict[str, str]
) -> list[Piece] | None:
    """Row groups of about `piece_lines` lines; None when the file is read whole (a single
    piece, or metadata that cannot be read: `read_input` then says what is wrong)."""
    try:
        identity = _identity(os.stat(path))
        with pq.ParquetFile(path) as source:
            meta, names = source.metadata, source.schema_arrow.names
        map_columns(names, aliases, path)  # V001 before any task starts
    except (pa.ArrowException, OSError, ValueError, UnicodeError, IndexError, KeyError):
        return None
    sizes = [meta.row_group(rg).num_rows for rg in range(meta.num_row_groups)]
    if sum(sizes) <= piece_lines:
        return None
    pieces, group, rows, first = [], [], 0, 0
    for rg, size in enumerate(sizes):
        group.append(rg)
        rows += size
        if rows >= piece_lines or rg == len(sizes) - 1:
            index = start + len(pieces)
            pieces.append(Piece(index, file_index, str(path), group, first, rows, identity))
            group, first, rows = [], first + rows, 0
    return pieces


def plan_pieces(
    paths: list[Path], aliases: dict[str, str], piece_lines: int = PIECE_LINES
) -> list[Piece]:
    """The pieces of the input files (from `ingest.resolve_inputs`), in file order: a large
    Parquet file as pieces of whole row groups, any other file as one piece."""
    pieces: list[Piece] = []
    for i, path in enumerate(paths):
        found = None
        if input_kind(path) == "parquet":  # its bytes tell, as for `read_input`
            found = _row_group_pieces(path, i, len(pieces), piece_lines, aliases)
        pieces += found or [Piece(len(pieces), i, str(path))]
    return pieces


# -- 2. read a piece, hash its lines into partitions ---------------------------------------


@dataclass
class PieceInfo:
    """What `scatter_piece` tells the plan about a piece (its lines are in `arrow_path`)."""

    index: int
    raw: RawInput  # the piece's provenance: empty frame, rows read, encoding, rejects, ids
    repaired: bool  # Parquet: invalid UTF-8 replaced (U+FFFD) in the piece
    pairs: np.ndarray  # distinct (claim hash, patient hash) of the piece, uint64 (n, 2)
    sizes: np.ndarray  # lines of each partition in the piece (record batch p holds p)
    arrow_path: str
    seconds: float


def read_piece(
    piece: Piece, aliases: dict[str, str], max_field_bytes: int, undecodable: bool = False
) -> tuple[RawInput, pa.Table, bool, list[str]]:
    """One piece read by `ingest`'s functions as `read_input` reads the whole file: its
    provenance (a RawInput without lines), its lines in canonical form as an Arrow table (plus
    `source_row`), whether invalid UTF-8 was replaced and the near-unique text columns read
    plain. A whole file is read by `read_input` itself; row groups by `read_parquet_piece`
    and `canonical_table`, `source_row` counting on from the file's earlier pieces, no sha256
    (`file_inputs` adds the file's). `undecodable`: the file has invalid UTF-8 (in another
    piece), so a U+FFFD is V006 here too, as `read_input` decides for the whole file."""
    path = Path(piece.path)
    if piece.row_groups is None:
        raw = read_input(path, aliases, max_field_bytes)
        frame, raw.frame = raw.frame, raw.frame.iloc[:0]
        return raw, pa.Table.from_pandas(frame, preserve_index=False), False, []
    table, repaired, plain = read_parquet_piece(path, aliases, piece.row_groups)
    rows = table.num_rows
    source_rows = np.arange(piece.first_row + 1, piece.first_row + rows + 1, dtype=np.int64)
    tables, table = [table], None  # `canonical_table` holds the only reference
    table, rejects, ids = canonical_table(
        tables, source_rows, path, max_field_bytes, repaired or undecodable, plain
    )
    if len(rejects):
        rejects = rejects.sort_values(["source_row", "column"], kind="stable", ignore_index=True)
    raw = RawInput(path, pd.DataFrame(), "parquet", "", rows, rejects, ids)
    return raw, table, repaired, plain


_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime (odd: every power is a unit)
_HASH_CHUNK = 1 << 20  # values hashed at a time (bounds the per-byte temporaries)
_SHORT_BYTES = 32  # values of up to this many bytes are hashed a byte position at a time


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit moves every output bit."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _text_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of a large_string array's data buffer and its values' bounds into them."""
    bounds = np.frombuffer(values.buffers()[1], dtype=np.int64)[
        values.offset : values.offset + len(values) + 1
    ]
    data = values.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw, bounds


def _long_sums(values: pa.Array) -> np.ndarray:
    """Per value of a large_string array, the sum over its bytes b_j of (b_j + 1) * P^(j + 1)
    modulo 2^64 (P `_PRIME`), from running sums over all its bytes."""
    raw, bounds = _text_bytes(values)
    raw = raw[bounds[0] : bounds[-1]].astype(np.uint64)
    lengths = np.diff(bounds)
    position = np.arange(len(raw), dtype=np.int64) - np.repeat(bounds[:-1] - bounds[0], lengths)
    powers = np.cumprod(np.full(int(lengths.max(initial=0)) + 1, _PRIME, dtype=np.uint64))
    with np.errstate(over="ignore"):  # arithmetic modulo 2^64 is the point
        sums = np.concatenate([[np.uint64(0)], np.cumsum((raw + np.uint64(1)) * powers[position])])
        ends = bounds - bounds[0]
        return sums[ends[1:]] - sums[ends[:-1]]


def _short_sums(raw: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """`_long_sums` of values of `width` bytes each, at `starts` of `raw`: one vectorised step
    per byte position (no temporary per byte, no running sum)."""
    sums = np.zeros(len(starts), dtype=np.uint64)
    power = np.uint64(1)
    with np.errstate(over="ignore"):
        for j in range(width):
            power = power * _PRIME
            sums += (raw[starts + j].astype(np.uint64) + np.uint64(1)) * power
    return sums


def _text_hash_chunk(values: pa.Array) -> np.ndarray:
    """`text_hash` of a plain (large_)string array: the polynomial sum of each value's bytes
    (`_long_sums`; values of up to `_SHORT_BYTES` bytes by `_short_sums`, a length at a time)
    plus its length, mixed."""
    values = values.cast(pa.large_string())
    raw, bounds = _text_bytes(values)
    lengths = np.diff(bounds)
    sums = np.zeros(len(values), dtype=np.uint64)
    short = lengths <= _SHORT_BYTES
    for width in np.flatnonzero(np.bincount(lengths[short])):  # ids and codes: a few lengths
        at = np.flatnonzero(lengths == width)
        sums[at] = _short_sums(raw, bounds[at], int(width))
    if not short.all():
        at = np.flatnonzero(~short)
        sums[at] = _long_sums(values.take(pa.array(at)))
    with np.errstate(over="ignore"):
        h = _mix(sums + lengths.astype(np.uint64))
    h[h == 0] = 1  # 0 is kept for null
    if values.null_count:
        h[values.is_null().to_numpy(zero_copy_only=False)] = 0
    return h


def _hashed_values(values: pa.Array) -> np.ndarray:
    """`_text_hash_chunk` of plain text, a bounded number of values at a time."""
    values = values.cast(pa.string()) if not pa.types.is_large_string(values.type) else values
    parts = [
        _text_hash_chunk(values.slice(start, _HASH_CHUNK))
        for start in range(0, len(values), _HASH_CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def _encoded_hash(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for null) of Arrow text and the hash of each distinct value."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values)
    codes = values.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, _hashed_values(values.dictionary)


def text_hash(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash per value of Arrow text (plain or dictionary), the same in every process
    and run, 0 for null: a polynomial hash of the UTF-8 bytes modulo 2^64, mixed, computed once
    per distinct value from the Arrow buffers (no Python object per value). It only places
    lines in partitions: a collision merely puts two patients (or claims) in one partition."""
    codes, hashed = _encoded_hash(values)
    return np.append(hashed, np.uint64(0))[codes]  # code -1 (null) -> 0


def _by_first_line(codes: np.ndarray) -> np.ndarray:
    """The distinct codes (>= 0) of the lines' `codes` in the order of their first lines:
    ascending where each new code is the next one (a dictionary built in line order, as
    Arrow's are), else by a hash table (a dictionary read from Parquet need not be)."""
    present = codes[codes >= 0]
    if not len(present):
        return present
    top = np.maximum.accumulate(present)
    if top[0] == 0 and (np.diff(top) <= 1).all():
        return np.arange(top[-1] + 1)
    return pd.unique(present)


def _claim_patient_pairs(claims: pa.ChunkedArray | None, patient: np.ndarray) -> np.ndarray:
    """Distinct (claim hash, patient hash) of the lines with both ids, uint64 (n, 2): one pair
    per claim of one patient (the usual case: every line of the claim has the patient of one
    of them), in the order of the claims' first lines, then every pair of a claim that carries
    several, in line order. `patient`: the lines' patient hashes (0: no patient)."""
    if claims is None:
        return np.zeros((0, 2), dtype=np.uint64)
    codes, hashed = _encoded_hash(claims)
    appearance = _by_first_line(codes)
    known = (codes >= 0) & (patient != 0)
    codes, patient = codes[known], patient[known]
    if not len(codes):
        return np.zeros((0, 2), dtype=np.uint64)
    seen = np.zeros(len(hashed), dtype=bool)
    seen[codes] = True
    one = np.zeros(len(hashed), dtype=np.uint64)
    one[codes] = patient  # a patient of each claim (whichever line wins)
    mixed = np.zeros(len(hashed), dtype=bool)
    mixed[codes[patient != one[codes]]] = True  # claims with several patients
    single = appearance[seen[appearance] & ~mixed[appearance]]
    pairs = [np.stack([hashed[single], one[single]], axis=1)]
    if mixed.any():  # claims with several patients: each of their pairs, in line order
        several = mixed[codes]
        found = pd.DataFrame({"c": codes[several], "p": patient[several]}).drop_duplicates()
        pairs.append(np.stack([hashed[found["c"].to_numpy()], found["p"].to_numpy()], axis=1))
    return np.concatenate(pairs).astype(np.uint64)


def _in_partition_order(
    column: pa.ChunkedArray, order: pa.Array, plain: bool
) -> tuple[pa.Array, bool]:
    """One column of a piece's lines in `order`, one chunk, and whether it was decoded.
    Identifiers (`plain`) are plain strings, decoded after the take where `ingest` encoded
    them; near-unique text (charges, amounts, auth numbers) becomes plain strings (each record
    batch of an Arrow file carries the whole dictionary of its column, so a partition would
    read the piece's whole dictionary for its share of the lines; a dictionary of near-unique
    values saves nothing later either); other dictionaries get one index type (`_DICTIONARY`)
    and text values in every piece, after the take (fewer bytes to move)."""
    column = column.take(order)
    if not pa.types.is_dictionary(column.type):
        return column.combine_chunks(), False
    if plain:
        return column.cast(pa.string()).combine_chunks(), False
    size = sum(len(chunk.dictionary) for chunk in column.chunks)
    if size > near_unique_limit(len(column)):
        return column.cast(pa.string()).combine_chunks(), True
    return column.cast(_DICTIONARY).combine_chunks(), False  # one dictionary per column


def _write_partitions(
    table: pa.Table, partition: np.ndarray, n: int, path: str, plain: list[str]
) -> np.ndarray:
    """The lines ordered by partition, one record batch per partition, identifiers as plain
    strings; the lines per partition. The names of the near-unique text columns, read plain
    (`plain`) or decoded by `_in_partition_order`, are in the schema metadata, `decoded`
    (`read_partition` decodes them in pieces that kept them encoded)."""
    # a stable sort of small integers is a radix sort; file order within each partition
    keys = partition.astype(np.int16) if n <= np.iinfo(np.int16).max else partition
    order = pa.array(np.argsort(keys, kind="stable"))
    sizes = np.bincount(partition, minlength=n)
    columns, decoded = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        column, was_decoded = _in_partition_order(column, order, name in IDENTIFIERS)
        columns.append(column)
        decoded += [name] if was_decoded or name in plain else []
    table = pa.table(columns, names=table.column_names)
    table = table.replace_schema_metadata({b"decoded": json.dumps(decoded).encode()})
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for p in range(n):
            part = table.slice(offsets[p], sizes[p])
            arrays = [c.chunk(0) if c.num_chunks else pa.array([], c.type) for c in part.columns]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=table.schema))
    return sizes


def scatter_piece(
    piece: Piece,
    n_partitions: int,
    arrow_path: str,
    aliases: dict[str, str],
    max_field_bytes: int = MAX_FIELD_BYTES,
    undecodable: bool = False,
) -> PieceInfo:
    """Read one piece (`read_piece`), hash each line's patient_id into one of `n_partitions`
    partitions (`text_hash`) and write the lines to `arrow_path` (one record batch
    per partition, file order within it). The lines do not come back: only the piece's
    provenance, rejects, patient ids and (claim, patient) pairs."""
    started = time.perf_counter()
    raw, table, repaired, plain = read_piece(piece, aliases, max_field_bytes, undecodable)
    patient = text_hash(table["patient_id"])
    claims = table["claim_id"] if "claim_id" in table.column_names else None
    pairs = _claim_patient_pairs(claims, patient)
    table = table.append_column(
        "_file", pa.array(np.full(table.num_rows, piece.file_index, np.int32))
    )
    table = table.append_column("_phash", pa.array(patient))
    partition = (patient % np.uint64(n_partitions)).astype(np.int64)
    sizes = _write_partitions(table, partition, n_partitions, arrow_path, plain)
    seconds = time.perf_counter() - started
    return PieceInfo(piece.index, raw, repaired, pairs, sizes, arrow_path, seconds)


# -- 3. patients linked by claims ----------------------------------------------------------


def _linked_patients(pairs: np.ndarray) -> list[np.ndarray]:
    """Groups of patient hashes linked by claims that carry more than one patient."""
    if not len(pairs):
        return []
    frame = pd.DataFrame(pairs[repeated(pairs[:, 0])], columns=["claim", "patient"])
    frame = frame.drop_duplicates()  # of the claims of several pairs the distinct pairs (few)
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


@dataclass
class Moves:
    """Patients moved between partitions: into[p] the hashes partition p takes from others,
    out[p] the hashes of p's own lines that went elsewhere."""

    into: dict[int, np.ndarray] = field(default_factory=dict)
    out: dict[int, np.ndarray] = field(default_factory=dict)


def linked_moves(infos: list[PieceInfo], n_partitions: int) -> Moves:
    """Where linked patients go: every group of patients linked by claims that carry several
    of them to the smallest partition any of them hashes to."""
    pairs = [i.pairs for i in infos if len(i.pairs)]
    moves = Moves()
    if not pairs:
        return moves
    out: dict[int, list[np.ndarray]] = {}
    for group in _linked_patients(np.concatenate(pairs)):
        homes = (group % np.uint64(n_partitions)).astype(np.int64)
        target = int(homes.min())
        if (homes == target).all():
            continue
        moves.into[target] = np.concatenate([moves.into.get(target, group[:0]), group])
        for p in np.unique(homes[homes != target]):
            out.setdefault(int(p), []).append(group[homes == p])
    moves.out = {p: np.concatenate(parts) for p, parts in out.items()}
    return moves


# -- 4. audit a partition ------------------------------------------------------------------


@dataclass
class Slice:
    """Record batch `batch` of a piece's Arrow file; only the lines of `patients` when given
    (lines moved into another partition)."""

    arrow_path: str
    batch: int
    patients: np.ndarray | None = None


def partition_slices(infos: list[PieceInfo], p: int, moves: Moves, n: int) -> list[Slice]:
    """What partition `p` reads: its record batch of every piece, and the lines of the
    patients moved into it from the other partitions."""
    slices = [Slice(i.arrow_path, p) for i in infos if i.sizes[p]]
    if p in moves.into:
        homes = np.unique((moves.into[p] % np.uint64(n)).astype(np.int64))
        slices += [
            Slice(i.arrow_path, int(s), moves.into[p])
            for s in homes
            if s != p
            for i in infos
            if i.sizes[s]
        ]
    return slices


def read_partition(slices: list[Slice], moved_out: np.ndarray | None) -> pa.Table | None:
    """The lines of a partition from its slices (memory-mapped), file order restored; None when
    it holds no line. Near-unique text stays plain (`_in_partition_order`)."""
    tables, decoded = [], set()
    for s in slices:
        with pa.memory_map(s.arrow_path) as source:
            reader = pa.ipc.open_file(source)
            table = pa.Table.from_batches([reader.get_batch(s.batch)])
        decoded |= set(json.loads((reader.schema.metadata or {}).get(b"decoded", b"[]")))
        phash = table["_phash"].to_numpy()
        keep = np.isin(phash, s.patients) if s.patients is not None else None
        if keep is None and moved_out is not None and len(moved_out):
            keep = ~np.isin(phash, moved_out)
        if keep is not None and not keep.all():
            table = table.filter(pa.array(keep))
        if table.num_rows:
            tables.append(table)
    if not tables:
        return None
    for k, t in enumerate(tables):  # decoded in some piece: plain text in all, to concatenate
        for name in sorted(decoded & set(t.column_names)):
            if pa.types.is_dictionary(t.schema.field(name).type):
                t = t.set_column(t.column_names.index(name), name, t[name].cast(pa.string()))
        tables[k] = t
    table = pa.concat_tables(tables, promote_options="permissive").unify_dictionaries()
    if any(s.patients is not None for s in slices):  # else the pieces' order is file order
        order = pc.sort_indices(table, [("_file", "ascending"), ("source_row", "ascending")])
        table = table.take(order)
    return table.combine_chunks()  # one chunk per column, as `ingest` makes them


def _raw_frames(table: pa.Table, files: list[str]) -> list[RawInput]:
    """The partition's lines as one RawInput per file (as `combine_inputs` wants them)."""
    # identifiers come back as the Arrow-backed strings `ingest` makes
    frame = table.to_pandas(types_mapper=TEXT_TYPES.get, self_destruct=True)
    file_index = frame.pop("_file").to_numpy()
    frame.pop("_phash")
    bounds = np.flatnonzero(np.diff(file_index)) + 1  # lines are in file order
    raws = []
    for lo, hi in zip([0, *bounds], [*bounds, len(frame)], strict=True):
        part = frame.iloc[lo:hi].reset_index(drop=True)
        raws.append(RawInput(Path(files[int(file_index[lo])]), part, "", "", len(part)))
    return raws


def audit_partition(
    slices: list[Slice],
    moved_out: np.ndarray | None,
    files: list[str],
    bundle: Bundle,
    config: Config,
    prior: pd.DataFrame | None,
    run_path: str,
) -> BatchResult:
    """Audit one partition: its lines (`read_partition`) through `audit_batch`, its findings
    and their lines' payer written to the local file `run_path` (`merge.write_run`; the
    result's `run`, its findings and report lines left empty). `files`: the input paths by
    file index; `bundle`, `config`, `prior` as for `audit_batch`."""
    started = time.perf_counter()
    table = read_partition(slices, moved_out)
    if table is None:
        empty = RuleRun(empty_findings(), {})
        reports = pd.DataFrame(columns=REPORT_LINE_COLUMNS)
        none = FindingsRun(run_path, 0)
        return BatchResult(empty, pd.DataFrame(), LineCounts(), reports, {}, none)
    raw = combine_inputs(_raw_frames(table, files))
    del table
    read = time.perf_counter() - started
    result = audit_batch(raw, bundle, config, prior)
    written = time.perf_counter()
    findings = result.ran.findings
    if len(findings):  # the payer of each finding's line, which the reports show
        findings = findings_with_payer(findings, result.report_lines)
    result.run = write_run(findings, run_path)
    result.ran.findings = result.ran.findings.iloc[:0]
    result.report_lines = result.report_lines.iloc[:0]  # in the run now
    result.seconds["read partition"] = read
    result.seconds["write findings"] = time.perf_counter() - written
    return result


# -- 5. the files' provenance ---------------------------------------------------------------


def file_inputs(pieces: list[Piece], infos: list[PieceInfo], paths: list[Path]) -> list[RawInput]:
    """One RawInput per input file from its pieces (no lines): rows read, encoding, ingest
    rejects in row order, patient ids, sha256 (hashed here for row-group pieces, after checking
    that the file did not change while its pieces were read)."""
    raws = []
    for i, path in enumerate(paths):
        mine = [(p, info) for p, info in zip(pieces, infos, strict=True) if p.file_index == i]
        if len(mine) == 1 and mine[0][0].row_groups is None:
            raws.append(mine[0][1].raw)
            continue
        _check_unchanged(path, mine[0][0].identity)
        rejects = [info.raw.rejects for _, info in mine if len(info.raw.rejects)]
        ids = [info.raw.patient_ids for _, info in mine if len(info.raw.patient_ids)]
        raw = RawInput(path, pd.DataFrame(), "parquet", file_sha256(path), 0)
        raw.rows_read = sum(info.raw.rows_read for _, info in mine)
        if rejects:
            raw.rejects = pd.concat(rejects, ignore_index=True)
        if ids:
            raw.patient_ids = pc.unique(pa.concat_arrays(ids))
        raws.append(raw)
    return raws


def damaged_pieces(pieces: list[Piece], infos: list[PieceInfo]) -> list[Piece]:
    """Pieces to read again with `undecodable`: `read_input` makes a U+FFFD V006 in the whole
    of a Parquet file in which invalid UTF-8 was replaced, also in its other pieces."""
    damaged = {p.file_index for p, i in zip(pieces, infos, strict=True) if i.repaired}
    return [
        p for p, i in zip(pieces, infos, strict=True) if p.file_index in damaged and not i.repaired
    ]


def check_pieces(infos: list[PieceInfo], pieces: list[Piece]) -> None:
    """InputError when a piece read fewer lines than its row groups hold (a file changed)."""
    for piece, info in zip(pieces, infos, strict=True):
        if piece.row_groups is not None and info.raw.rows_read != piece.rows:
            raise InputError(f"{piece.path}: changed while it was read (row count)")
