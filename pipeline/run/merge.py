"""Step 5 of the plan (`run/plan.py`): the partitions' findings merged in report order (claim,
line, rule) without holding them all in memory.

A partition's task writes its findings, sorted as `run_rules` leaves them, to an Arrow IPC file
of the run's scratch area (`write_run`): record batches of `RUN_BATCH_ROWS` findings, the
few-valued columns dictionary-encoded; it reports the claim of each batch's first finding (the
run's fences). The client (`SortedFindings`) cuts the claims into ranges of about `RANGE_ROWS`
findings by the fences. A claim lies in one partition, so a range's findings are a contiguous
slice of each run, and those slices, in partition order and stably sorted, are that range of
the merged findings exactly as one stable sort of all of them orders them. A range is read when
it is wanted: once for the summary's columns (`SortedFindings.tally`, which keeps each range's
order), once per output written (`frames`); `frame()` gives them all at once (the HTML and XLSX
reports, a baseline comparison).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit import storage
from claims_audit.parsing import TEXT, TEXT_TYPES
from claims_audit.rules.engine import FINDING_COLUMNS, SEVERITY_RANK, empty_findings
from claims_audit.summary import distinct_lines, first_of_lines
from claims_audit.threads import ordered_ahead

RUN_BATCH_ROWS = 4096  # findings per record batch of a run (a fence per batch)
RANGE_ROWS = 1 << 18  # findings of all runs merged at once (about)
# findings columns of a handful of values (one per rule, or per code): dictionaries in the runs,
# each distinct text stored once (about half the bytes of the findings: the citation and rule
# name alone are a third). Not the sort keys (Arrow sorts no dictionary).
FEW_VALUES = [
    "rule_name",
    "severity",
    "category",
    "citation",
    "carc",
    "rarc",
    "hcpcs_code",
    "payer_type",
]
# what the reports keep of the audited lines: the payer of each line with findings (a run holds
# it beside the findings, `PAYER`; `SortedFindings.report_lines` gives it per line)
REPORT_LINE_COLUMNS = ["claim_id", "line_number", "payer_type"]
PAYER = "payer_type"
SORT_KEYS = [("claim_id", "ascending"), ("line_number", "ascending"), ("rule_code", "ascending")]
# what the summary reads of every finding (`summary.build_summary`), and the sort keys
TALLY_COLUMNS = ["claim_id", "line_number", "rule_code", "severity", "hcpcs_code", "impact_usd"]
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
NO_TEXT = pd.Series(dtype=TEXT)


# -- a partition's task ----------------------------------------------------------------------


@dataclass
class FindingsRun:
    """A partition's findings, sorted, in an Arrow IPC file (none written when `rows` is 0)."""

    location: str  # a path, or a URL of the scratch area
    rows: int
    fences: list[str] = field(default_factory=list)  # claim of each record batch's first row
    sizes: list[int] = field(default_factory=list)  # rows of each record batch


def as_arrow(findings: pd.DataFrame) -> pa.Table:
    """Findings (`FINDING_COLUMNS`, and `PAYER` when present) as Arrow in one chunk per column,
    the `FEW_VALUES` columns as dictionaries of one index type."""
    columns = FINDING_COLUMNS + ([PAYER] if PAYER in findings else [])
    table = pa.Table.from_pandas(findings[columns], preserve_index=False)
    for i, column in enumerate(table.schema):
        if column.name in FEW_VALUES:
            table = table.set_column(i, column.name, table.column(i).cast(_DICTIONARY))
    return table.unify_dictionaries().combine_chunks()


def write_run(findings: pd.DataFrame, path: str) -> FindingsRun:
    """Write a partition's sorted findings (with the `PAYER` of their lines, if given) to the
    local file `path` (nothing when there are none); the run it is (its location `path`: an
    executor that uploads it sets the URL)."""
    if findings.empty:
        return FindingsRun(path, 0)
    table = as_arrow(findings)
    batches = table.to_batches(max_chunksize=RUN_BATCH_ROWS)
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    starts = np.cumsum([0] + [b.num_rows for b in batches[:-1]])
    fences = table["claim_id"].take(pa.array(starts)).to_pylist()
    return FindingsRun(path, table.num_rows, fences, [b.num_rows for b in batches])


# -- the client ------------------------------------------------------------------------------


def range_bounds(runs: list[FindingsRun], target: int) -> list[str]:
    """Claims that cut all the runs' findings into ranges of about `target` findings (a range:
    the claims from one bound, included, to the next, excluded), ascending, from the fences."""
    if not runs:
        return []
    fences = np.array([f for r in runs for f in r.fences], dtype=object)
    sizes = np.array([s for r in runs for s in r.sizes], dtype=np.int64)
    order = np.argsort(fences, kind="stable")
    fences, before = fences[order], np.cumsum(sizes[order]) - sizes[order]
    wanted = np.arange(target, int(sizes.sum()), target)
    picked = np.searchsorted(before, wanted, side="left")
    bounds = np.unique(fences[picked[picked < len(fences)]])
    return [b for b in bounds.tolist() if b != fences[0]]  # no range before the first claim


def _schema(run: FindingsRun) -> pa.Schema:
    with _open(run.location) as source:
        return pa.ipc.open_file(source).schema


def _open(location: str):
    """A run's file: memory-mapped, or opened at its URL."""
    if storage.is_remote(location):
        return storage.open_input(location)
    return pa.memory_map(location)


def run_slice(run: FindingsRun, lo: str | None, hi: str | None, columns: list[str]) -> pa.Table:
    """The findings of `run` of the claims in [lo, hi) (None: unbounded), `columns` of them:
    only the record batches the fences say may hold them are read."""
    fences = np.array(run.fences, dtype=object)
    first = 0 if lo is None else max(int(np.searchsorted(fences, lo, side="left")) - 1, 0)
    last = len(fences) - 1 if hi is None else int(np.searchsorted(fences, hi, side="left")) - 1
    with _open(run.location) as source:
        reader = pa.ipc.open_file(source)
        schema = reader.schema
        batches = [reader.get_batch(j).select(columns) for j in range(first, last + 1)]
    table = pa.Table.from_batches(batches, schema=pa.schema([schema.field(c) for c in columns]))
    claims = table["claim_id"]
    start = 0 if lo is None else pc.sum(pc.less(claims, lo)).as_py() or 0
    stop = table.num_rows if hi is None else pc.sum(pc.less(claims, hi)).as_py() or 0
    return table.slice(start, stop - start)


def in_order(column: pa.ChunkedArray, order: pa.Array | None) -> pa.Array:
    """A column in `order` (None: as it is), as one array."""
    return (column.take(order) if order is not None else column).combine_chunks()


def decoded(column: pa.ChunkedArray, order: pa.Array | None) -> pa.Array:
    """One column of merged findings: in `order`, a dictionary decoded to text, one array."""
    column = in_order(column, order)
    return column.cast(pa.large_string()) if pa.types.is_dictionary(column.type) else column


class SortedFindings:
    """The run's findings in report order, held in the runs of the scratch area until read.
    `tally()` reads the summary's columns (and the severities `worst` needs); `frames()` the
    findings a range at a time; `frame()` all at once; each range is sorted once, by whichever
    reads it first. `close()` deletes the scratch area (also when the
    object is let go)."""

    def __init__(self, runs: list[FindingsRun], scratch: storage.Scratch | None = None):
        self.runs = [r for r in runs if r.rows]
        self.rows = sum(r.rows for r in self.runs)
        bounds = range_bounds(self.runs, RANGE_ROWS)
        self.ranges = list(zip([None, *bounds], [*bounds, None], strict=True))
        self._orders: dict[int, pa.Array | None] = {}
        self.severities: dict[str, int] = {}
        self._close = weakref.finalize(self, scratch.close) if scratch is not None else None

    def __len__(self) -> int:
        return self.rows

    def close(self) -> None:
        if self._close is not None:
            self._close()

    def _range(self, k: int, columns: list[str]) -> tuple[pa.Table | None, pa.Array | None]:
        """Range `k` of every run (in partition order), `columns` and the sort keys, one chunk
        per column (a take from one array is about 3x faster than from many), and the order
        that sorts it."""
        lo, hi = self.ranges[k]
        columns = list(dict.fromkeys([*(key for key, _ in SORT_KEYS), *columns]))
        parts = [run_slice(r, lo, hi, columns) for r in self.runs]
        parts = [p for p in parts if p.num_rows]
        if not parts:
            return None, None
        table = pa.concat_tables(parts).unify_dictionaries().combine_chunks()
        if k not in self._orders:  # one part: `run_rules` sorted it
            order = pc.sort_indices(table, SORT_KEYS) if len(parts) > 1 else None
            self._orders[k] = order.cast(pa.uint32()) if order is not None else None
        return table, self._orders[k]

    def _ahead(self, fn, columns: list[str]) -> Iterator:
        """`fn(table, order)` of each range holding findings (its `columns`), in order, the
        next range read and computed on a thread while the caller uses one
        (`threads.ordered_ahead`; one ahead: a range of decoded findings is some 400 MB)."""

        def of_range(k: int):
            table, order = self._range(k, columns)
            return None if table is None else fn(table, order)

        for done in ordered_ahead(of_range, range(len(self.ranges)), ahead=1):
            if done is not None:
                yield done

    def tally(self) -> tuple[pd.DataFrame, int]:
        """What the summary reads of every finding, in report order: `TALLY_COLUMNS` less the
        keys, the text ones categorical (categories sorted), and the number of distinct lines
        with findings (a claim's lines lie in one range)."""
        tables, lines = [], 0
        for table, distinct in self._ahead(_tally_of_range, TALLY_COLUMNS):
            tables.append(table)
            lines += distinct
        if not tables:
            return _tally_frame(empty_findings()), 0
        frame = pa.concat_tables(tables).unify_dictionaries().combine_chunks().to_pandas()
        self.severities = {str(k): int(v) for k, v in frame["severity"].value_counts().items()}
        return _tally_frame(frame), lines

    def frames(self) -> Iterator[pd.DataFrame]:
        """The findings, `FINDING_COLUMNS` as text and numbers, one frame per range in order
        (one empty frame when there are none)."""
        if not self.rows:
            yield empty_findings()
            return
        yield from self._ahead(_findings_of_range, FINDING_COLUMNS)

    def report_lines(self) -> pd.DataFrame:
        """`REPORT_LINE_COLUMNS` of each line with findings, in report order (none when the
        runs hold no payer)."""
        frames = []
        if self.runs and all(PAYER in _schema(r).names for r in self.runs):
            frames = list(self._ahead(_first_of_each_line, REPORT_LINE_COLUMNS))
        if not frames:
            return empty_findings()[["claim_id", "line_number"]].assign(payer_type=NO_TEXT)
        return pd.concat(frames, ignore_index=True)

    def frame(self) -> pd.DataFrame:
        """All the findings as one frame (`frames` concatenated)."""
        parts = list(self.frames())
        if len(parts) == 1:
            return parts[0]
        return pd.concat(parts, ignore_index=True)

    def worst(self) -> int | None:
        """The rank of the most severe finding (`SEVERITY_RANK`), None without findings."""
        ranks = [SEVERITY_RANK[s] for s, n in self.severities.items() if n]
        return max(ranks) if ranks else None


# what is made of each range (`SortedFindings._ahead`): functions of its table and order


def _tally_of_range(table: pa.Table, order: pa.Array | None) -> tuple[pa.Table, int]:
    """The summary's columns of a range's findings in `order` (text ones as dictionaries) and
    the distinct lines among them."""
    claim, line = in_order(table["claim_id"], order), in_order(table["line_number"], order)
    kept = {}
    for name in ("rule_code", "severity", "hcpcs_code"):
        values = in_order(table[name], order)
        kept[name] = values if pa.types.is_dictionary(values.type) else values.dictionary_encode()
    kept["impact_usd"] = in_order(table["impact_usd"], order)
    return pa.table(kept), distinct_lines(claim, line.to_numpy())


def _findings_of_range(table: pa.Table, order: pa.Array | None) -> pd.DataFrame:
    """A range's findings in `order`, `FINDING_COLUMNS` as text and numbers."""
    table = table.select(FINDING_COLUMNS)
    columns, names = table.columns, table.column_names
    del table
    done = [decoded(columns.pop(0), order) for _ in range(len(names))]
    table = pa.Table.from_arrays(done, names=names)
    return table.to_pandas(types_mapper=TEXT_TYPES.get, self_destruct=True)


def _first_of_each_line(table: pa.Table, order: pa.Array | None) -> pd.DataFrame:
    """`REPORT_LINE_COLUMNS` of a range's findings in `order`, one row per line."""
    claim, line = in_order(table["claim_id"], order), in_order(table["line_number"], order)
    payer = decoded(table[PAYER], order)
    kept = pa.table({"claim_id": claim, "line_number": line, PAYER: payer})
    kept = kept.filter(pa.array(first_of_lines(claim, line.to_numpy())))
    return kept.to_pandas(types_mapper=TEXT_TYPES.get)


def _tally_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The tally's text columns as categoricals with sorted categories (so that a sorted
    `factorize` orders them as text)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name in ("rule_code", "severity", "hcpcs_code"):
        values = frame[name].astype("category")
        out[name] = values.cat.reorder_categories(sorted(values.cat.categories))
    out["impact_usd"] = frame["impact_usd"].to_numpy(dtype="float64", na_value=np.nan)
    return out
