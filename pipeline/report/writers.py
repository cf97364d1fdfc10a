"""Atomic, deterministic writers, and the one place that may delete an output directory.

Every output goes to a staging directory beside the target first; the finished set replaces
the target in one rename, so a crash leaves either the previous complete result or nothing.

Safety (the tool never deletes a file it did not write):

* Every directory the tool writes carries a marker file, `.claims-audit-output` (JSON: tool,
  version and the names of the files the tool wrote there). The staging directory gets it when
  it is created and each file is listed before it is written.
* `remove_output_dir` is the only function that deletes anything in an output directory. It
  reads the marker first, refuses a directory without one, unlinks only the regular files the
  marker lists (plain names, never a path) and the marker, then `os.rmdir`s the directory,
  which fails, leaving it in place, if anything else is in it. There is no `shutil.rmtree`.
* `check_replaceable` refuses, before a run and again at commit, a target that is a file, a
  link, or a non-empty directory that is not a claims-audit output or holds anything its
  marker does not list.
* Directories are made with the mode the umask gives (mkdtemp's 0700 is corrected).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from claims_audit import __version__
from claims_audit.errors import OutputError
from claims_audit.parsing import TEXT
from claims_audit.report.safety import FORMULA_PREFIXES, escape_text_columns, is_text_column
from claims_audit.threads import ordered_ahead

MARKER = ".claims-audit-output"
MARKER_TOOL = "claims-audit"
MARKER_MAX_BYTES = 1 << 16
MAX_SUFFIX = 1000  # audit-out/<timestamp>-2 ... -999 before giving up


def cannot_write(path: Path, exc: OSError) -> OutputError:
    """One line naming the output file as the user knows it (not the staging directory) and
    the system's reason (e.g. `No space left on device`)."""
    stage = Path(path).parent
    shown = Path(path)
    match = re.fullmatch(r"\.(.+)\.tmp-[^/]*", stage.name)
    if match:
        shown = stage.parent / match.group(1) / Path(path).name
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    reason = exc.strerror or text
    return OutputError(f"{shown}: cannot write ({reason})")


def current_umask() -> int:
    """The process umask, read without changing it where Linux says it (/proc), else by the
    classic set-and-restore."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..", MARKER)
        and "/" not in name
        and "\x00" not in name
    )


def _shown(name: str) -> str:
    return name if name.isprintable() else ascii(name)


def marker_names(directory: Path) -> list[str] | None:
    """The files a claims-audit output directory's marker lists; None when `directory` is not
    one (no marker, a marker that is a link, too big, not ours, or of the wrong shape)."""
    path = Path(directory) / MARKER
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MARKER_MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != MARKER_TOOL:
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(_plain_name(n) for n in files):
        return None
    return files


def _write_marker(directory: Path, names: list[str]) -> None:
    data = {"tool": MARKER_TOOL, "version": __version__, "files": sorted(names)}
    (directory / MARKER).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _foreign_entries(directory: Path, names: list[str]) -> list[str]:
    """Entries of a marked directory that the tool did not write: anything the marker does not
    list, or a listed name that is not a regular file."""
    listed = set(names)
    foreign = []
    for entry in sorted(os.listdir(directory)):
        if entry == MARKER:
            continue
        if entry not in listed or not stat.S_ISREG(os.lstat(directory / entry).st_mode):
            foreign.append(entry)
    return foreign


def check_replaceable(target: Path) -> None:
    """Raise OutputError unless `target` is absent, an empty directory, or an earlier
    claims-audit output holding only the files its marker lists."""
    target = Path(target)
    try:
        info = os.lstat(target)
        if stat.S_ISLNK(info.st_mode):
            raise OutputError(
                f"output directory {target}: is a symbolic link; refusing to replace it "
                "(give a new directory)"
            )
        if not stat.S_ISDIR(info.st_mode):
            raise OutputError(f"output directory {target}: is a file, not a directory")
        entries = os.listdir(target)
        if not entries:
            return
        names = marker_names(target)
        if names is None:
            raise OutputError(
                f"output directory {target}: exists and is not a claims-audit output "
                f"(no {MARKER} marker, {len(entries):,} entries); refusing to replace it: "
                "choose a new or empty directory"
            )
        foreign = _foreign_entries(target, names)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(
            f"output directory {target}: cannot write ({exc.strerror or exc})"
        ) from None
    if foreign:
        more = f" and {len(foreign) - 3:,} more" if len(foreign) > 3 else ""
        raise OutputError(
            f"output directory {target}: holds files claims-audit did not write "
            f"({', '.join(map(_shown, foreign[:3]))}{more}); refusing to replace it: "
            "move them or choose another directory"
        )


def remove_output_dir(directory: Path) -> bool:
    """Delete a claims-audit output directory: the only deleting function of the tool.

    Refuses (OutputError) a link or a directory without a valid marker; unlinks only the
    regular files the marker lists, then the marker, then `rmdir`s the directory. Returns
    False, leaving the directory in place, when something else is still in it."""
    directory = Path(directory)
    if os.path.islink(directory) or not directory.is_dir():
        raise OutputError(f"{directory}: not a claims-audit output directory; not removed")
    names = marker_names(directory)
    if names is None:
        raise OutputError(f"{directory}: not a claims-audit output directory; not removed")
    for name in names:
        path = directory / name
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
        except FileNotFoundError:
            continue
    os.unlink(directory / MARKER)
    try:
        os.rmdir(directory)
    except OSError:
        return False
    return True


def missing_ancestors(path: Path) -> list[Path]:
    """`path` and its ancestors that do not exist yet, outermost first."""
    missing = []
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    return missing[::-1]


class StagedOutput:
    """Write files into a staging dir beside `target`; `commit()` swaps it into place.

    `replace=True`: `target` may be absent, empty or an earlier claims-audit output (replaced
    whole). `replace=False`: an existing `target` is never touched; the result goes to the first
    free name of `target`, `target-2`, `target-3`, ... (`self.target` says which)."""

    def __init__(self, target: Path, replace: bool = True):
        self.target = Path(target)
        self.replace = replace
        if replace:
            check_replaceable(self.target)
        parent = self.target.parent
        self._made = missing_ancestors(parent)
        self._names: list[str] = []
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.stage = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=parent))
        except OSError as exc:
            raise OutputError(
                f"output directory {self.target}: cannot write ({exc.strerror or exc})"
            ) from None
        try:
            os.chmod(self.stage, 0o777 & ~current_umask())  # mkdtemp makes it 0700
            _write_marker(self.stage, self._names)
        except OSError as exc:
            self._unmake(self.stage)
            raise OutputError(
                f"output directory {self.target}: cannot write ({exc.strerror or exc})"
            ) from None

    def path(self, name: str) -> Path:
        """Where to write output `name` (a plain file name), listed in the marker first."""
        if not _plain_name(name):
            raise ValueError(f"not a plain output file name: {name!r}")
        if name not in self._names:
            self._names.append(name)
            try:
                _write_marker(self.stage, self._names)
            except OSError as exc:
                raise cannot_write(self.stage / name, exc) from None
        return self.stage / name

    def commit(self) -> None:
        try:
            if self.replace:
                self._swap_in()
            else:
                self.target = self._move_to_free_name()
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise OutputError(
                    f"output directory {self.target}: cannot write ({exc.strerror or exc})"
                ) from None
            raise

    def _swap_in(self) -> None:
        check_replaceable(self.target)  # again: it may have changed during the run
        old = None
        if os.path.lexists(self.target) and os.listdir(self.target):  # an earlier output
            old = self.target.with_name(
                f".{self.target.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            )
            os.replace(self.target, old)
        try:
            os.replace(self.stage, self.target)  # onto nothing or an empty directory
        except BaseException:  # Ctrl-C included: never leave the previous result aside
            if old is not None and not os.path.lexists(self.target):
                os.replace(old, self.target)  # put the previous result back
            raise
        if old is not None:
            with contextlib.suppress(OSError, OutputError):  # else left in place: never
                remove_output_dir(old)  # worth failing a finished run

    def _move_to_free_name(self) -> Path:
        for k in range(1, MAX_SUFFIX):
            candidate = self.target if k == 1 else self.target.with_name(f"{self.target.name}-{k}")
            try:
                os.mkdir(candidate)  # exclusive: claims the name, never an earlier run's
            except FileExistsError:
                continue
            try:
                os.replace(self.stage, candidate)  # onto the empty directory just made
            except OSError:
                os.rmdir(candidate)
                raise
            return candidate
        raise OutputError(f"output directory {self.target}: no free name (-2 .. -{MAX_SUFFIX})")

    def _unmake(self, stage: Path) -> None:
        """Undo a staging directory that never got its marker (it holds at most a partial
        marker of ours), and the parents this run made."""
        try:
            if os.path.lexists(stage / MARKER):
                os.unlink(stage / MARKER)
            os.rmdir(stage)
        except OSError:
            pass
        self._remove_made_parents()

    def _remove_made_parents(self) -> None:
        for directory in reversed(self._made):
            try:
                os.rmdir(directory)  # only if still empty
            except OSError:
                break

    def abort(self) -> None:
        """Remove the staging directory (through `remove_output_dir`) and the parents made."""
        if os.path.lexists(self.stage):
            with contextlib.suppress(OSError, OutputError):
                remove_output_dir(self.stage)
        self._remove_made_parents()

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def check_file_replaceable(path: Path, header_prefix: str, kind: str) -> None:
    """A single-file output (`validate --out`) may replace only an earlier output of the same
    kind: absent, or a regular file whose first line starts with `header_prefix`."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    first = b""
    if stat.S_ISREG(info.st_mode):
        try:
            with path.open("rb") as fh:
                first = fh.read(len(header_prefix.encode()))
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if first != header_prefix.encode():
        raise OutputError(
            f"{path}: exists and is not an earlier {kind} written by claims-audit; "
            "refusing to replace it: choose a new file name"
        )


def write_file_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """One file written atomically: `write(tmp)` fills a temporary file beside `path` (mode as
    the umask gives), which is then renamed over it; on any failure only that temporary file is
    removed (an OSError is the user's OutputError naming `path`)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent or ".")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # ours: made by mkstemp above
        if isinstance(exc, OSError):
            raise cannot_write(path, exc) from None
        raise
    return path


def write_csv_file(frame: pd.DataFrame, path: Path) -> None:
    """`write_csv` to a single file, atomically (`write_file_atomically`)."""
    write_file_atomically(path, lambda tmp: write_csv(frame, tmp))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV with text cells escaped against formula injection; byte-identical for equal input.
    Any text is written (a character UTF-8 cannot encode, e.g. a lone surrogate, as `\\udxxx`).
    Built with Arrow kernels (`_csv_sources`) where every column allows it, chunk by chunk (the
    next chunks on threads while one is written), the same bytes as `DataFrame.to_csv` (which
    writes any other frame)."""
    write_csv_frames([frame], path)


def write_csv_frames(frames: Iterable[pd.DataFrame], path: Path) -> None:
    """`write_csv` of frames of the same columns, given in turn (at least one): the bytes it
    writes for their concatenation, one frame held at a time."""
    try:
        with open(path, "w", encoding="utf-8", errors="backslashreplace", newline="") as text:
            for k, frame in enumerate(frames):
                sources = _csv_sources(frame)
                if sources is None:
                    escape_text_columns(frame).to_csv(
                        text, index=False, header=k == 0, lineterminator="\n"
                    )
                    continue
                text.flush()  # what pandas wrote, before the bytes written beside it
                out = text.buffer
                if k == 0:
                    out.write(
                        (",".join(_csv_quoted(str(c)) for c in frame.columns) + "\n").encode()
                    )
                chunk = partial(_chunk_lines, sources)
                for lines in ordered_ahead(chunk, range(0, len(frame), _CSV_CHUNK_ROWS)):
                    out.write(lines)
    except OSError as exc:
        raise cannot_write(path, exc) from None


_CSV_CHUNK_ROWS = 200_000
_CSV_SPECIAL = re.compile(r'[,"\n]')  # what `csv.QUOTE_MINIMAL` quotes with "\n" line ends
# floats whose shortest Arrow text is numpy's `str` (pandas' CSV text) once ".0" is added to a
# whole number: 0 and magnitudes in [1e-4, 1e9); numpy's own text for the others
_FLOAT_ARROW_RANGE = (1e-4, 1e9)
# a column's CSV cells of the rows [start, start + rows)
CellSource = Callable[[int, int], pa.Array]


def _csv_quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if _CSV_SPECIAL.search(text) else text


def _text_source(values: pd.Series) -> CellSource | None:
    """A text column's CSV cells (`_text_cells`); a column of few distinct values (a rule's
    name, citation, severity) is done once per distinct value and taken back to the rows."""
    try:
        if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
            values = values.astype(TEXT)
        text = pa.array(values.array).cast(pa.string())
        if isinstance(text, pa.ChunkedArray):  # e.g. a column of concatenated frames
            text = text.combine_chunks()
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        return None  # e.g. a lone surrogate: pandas writes it escaped
    sample = text.slice(0, _DISTINCT_SAMPLE)
    if len(text) > _DISTINCT_SAMPLE and len(pc.unique(sample)) < len(sample) // 4:
        encoded = pc.dictionary_encode(text)
        cells = _text_cells(encoded.dictionary)
        return lambda start, rows: _taken(cells, encoded.indices.slice(start, rows))
    return lambda start, rows: _text_cells(text.slice(start, rows))


_DISTINCT_SAMPLE = 4096  # values looked at to tell a column of few distinct values


def _taken(cells: pa.Array, indices: pa.Array) -> pa.Array:
    return pc.take(cells, indices).fill_null("")


def _text_cells(text: pa.Array) -> pa.Array:
    """Arrow text as CSV cells: formula-escaped (`safety.escape_formula`'s rule), quoted
    where `csv` quotes (a comma, a quote, a line feed), empty for a missing value."""
    first = pc.utf8_slice_codeunits(text, 0, 1)
    risky = pc.is_in(first, value_set=pa.array(FORMULA_PREFIXES))
    if pc.any(risky).as_py():
        text = pc.if_else(risky, pc.binary_join_element_wise("'", text, ""), text)
    special = pc.match_substring_regex(text, '[,"\n]')  # one pass for the three
    if pc.any(special).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(special, quoted, text)
    return text.fill_null("")


def _category_source(values: pd.Series) -> CellSource | None:
    """A categorical text column's cells: each category's once, taken by the codes."""
    categories = _text_source(pd.Series(values.cat.categories, dtype="object"))
    if categories is None:
        return None
    cells = categories(0, len(values.cat.categories))
    codes = values.cat.codes.to_numpy()
    indices = pa.array(codes, mask=codes < 0)
    return lambda start, rows: _taken(cells, indices.slice(start, rows))


def _number_source(values: pd.Series) -> CellSource | None:
    """An int64 or float64 column's cells (`_number_cells`)."""
    array = values.to_numpy()
    if array.dtype.kind not in "iu" and array.dtype != np.float64:
        return None
    return lambda start, rows: _number_cells(array[start : start + rows])


def _number_cells(array: np.ndarray) -> pa.Array:
    """Integers' or floats' CSV cells as pandas writes them (NaN: empty); the same text whether
    the floats are given all at once or in chunks (Arrow's text and numpy's agree in
    `_FLOAT_ARROW_RANGE`)."""
    if array.dtype.kind in "iu":
        return pc.cast(pa.array(array), pa.string())
    present = ~np.isnan(array)
    magnitude = np.abs(array[present])
    low, high = _FLOAT_ARROW_RANGE
    if not (((magnitude >= low) & (magnitude < high)) | (magnitude == 0)).all():
        text = pa.array(array.astype(str))  # numpy's text (`inf`, `1e-07`), as pandas writes it
    else:
        text = pc.cast(pa.array(array), pa.string())
        whole = pc.invert(pc.match_substring_regex(text, "[.en]"))
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return pc.if_else(pa.array(present), text, pa.scalar("", pa.string()))


def _csv_sources(frame: pd.DataFrame) -> list[CellSource] | None:
    """Each column's source of CSV cells, or None when a column is of a kind written by pandas
    (bool, nullable integers, dates, mixed objects), or the frame is one column or has no rows
    (the `csv` module quotes a lone empty field)."""
    if len(frame.columns) < 2 or not len(frame) or not frame.columns.is_unique:
        return None
    sources = []
    for name in frame.columns:
        values = frame[name]
        kind = values.dtype
        if isinstance(kind, pd.CategoricalDtype) and is_text_column(values):
            source = _category_source(values)
        elif is_text_column(values) and not pd.api.types.is_bool_dtype(kind):
            source = _text_source(values)
        elif isinstance(kind, np.dtype) and kind.kind in "iuf":
            source = _number_source(values)
        else:
            source = None
        if source is None:
            return None
        sources.append(source)
    return sources


def _chunk_lines(sources: list[CellSource], start: int) -> memoryview:
    """The CSV lines of the rows [start, start + `_CSV_CHUNK_ROWS`)."""
    return _csv_lines([source(start, _CSV_CHUNK_ROWS) for source in sources])


def _csv_lines(cells: list[pa.Array]) -> memoryview:
    """The CSV lines of equally long cell columns: one Arrow join (the line feed joined to the
    last cell first), a view of its value bytes (no copy)."""
    last = pc.binary_join_element_wise(cells[-1], pa.scalar("", pa.string()), "\n")
    lines = pc.binary_join_element_wise(*cells[:-1], last, ",")
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset :]
    data = lines.buffers()[2]
    return memoryview(data)[int(offsets[0]) : int(offsets[len(lines)])]


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow; an object column that mixes text with other values (which Arrow
    cannot type) is written as text."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        mixed = {
            name: frame[name].astype("string")
            for name in frame.columns
            if pd.api.types.is_object_dtype(frame[name])
        }
        return pa.Table.from_pandas(frame.assign(**mixed), preserve_index=False)


# free text no reader filters on: no Parquet min/max statistics (for 2.5M findings they cost a
# third of the writing); the keys (claim, line, rule, code, severity, amounts) keep theirs
UNFILTERED_TEXT = ("finding_id", "rule_name", "message", "observed", "expected", "citation")


# rows of a findings.parquet row group: pyarrow's default for `pq.write_table`
PARQUET_ROW_GROUP_ROWS = 1024 * 1024


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """The frame as zstd Parquet without pandas metadata (stable bytes)."""
    write_parquet_frames([frame], path)


def write_parquet_frames(frames: Iterable[pd.DataFrame], path: Path) -> None:
    """`write_parquet` of frames given in turn (at least one), as if they were one frame: each
    converted whole, all of the first one's Arrow schema (columns typed by their dtypes, not by
    their values: no mixed object column)."""
    tables = (_arrow_table(f).replace_schema_metadata(None) for f in frames)
    write_parquet_tables(tables, path)


def write_parquet_tables(
    tables: Iterable[pa.Table], path: Path, row_group_rows: int = PARQUET_ROW_GROUP_ROWS
) -> None:
    """Parquet of the Arrow tables `tables` yields (at least one, all of the first one's
    schema), in order, as if they were one table: whatever their sizes, the bytes
    `pq.write_table` writes for their concatenation (row groups of exactly `row_group_rows`
    rows, each column of a row group one contiguous array: Parquet's pages, and where its
    dictionary encoding falls back, depend on it). Only a row group's rows are combined at
    once."""
    tables = iter(tables)
    first = next(tables)
    statistics = [name for name in first.schema.names if name not in UNFILTERED_TEXT]
    options = {"compression": "zstd", "write_statistics": statistics}
    held, count = [first], len(first)
    try:
        with pq.ParquetWriter(path, first.schema, **options) as writer:
            for table in tables:
                held.append(table)
                count += len(table)
                while count >= row_group_rows:
                    table = pa.concat_tables(held)
                    writer.write_table(table.slice(0, row_group_rows).combine_chunks())
                    held, count = [table.slice(row_group_rows)], count - row_group_rows
            if count or not len(first):  # the rest; a file of no rows as write_table writes it
                rest = pa.concat_tables(held).combine_chunks()
                writer.write_table(rest, row_group_size=row_group_rows)
    except OSError as exc:
        raise cannot_write(path, exc) from None


def _json_value(value):
    """What json cannot write by itself: numpy scalars and arrays, dates, pandas NA; anything
    else as its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)  # Path, Decimal, ...: as text, as before


def non_finite_keys(data, where: str = "") -> list[str]:
    """Key paths (`totals.rate`, `rules[3].x`) of NaN and infinite numbers in `data`."""
    if isinstance(data, float | np.floating):
        return [where or "(top)"] if not math.isfinite(float(data)) else []
    if isinstance(data, dict):
        return [
            k
            for key, v in data.items()
            for k in non_finite_keys(v, f"{where}.{key}" if where else str(key))
        ]
    if isinstance(data, list | tuple):
        return [k for i, v in enumerate(data) for k in non_finite_keys(v, f"{where}[{i}]")]
    return []


def write_json(data: dict, path: Path) -> None:
    """Strict JSON (RFC 8259): numpy scalars become numbers; NaN or infinity is a bug of the
    code that built `data` and raises ValueError naming the keys."""
    try:
        text = json.dumps(data, indent=2, sort_keys=False, default=_json_value, allow_nan=False)
    except ValueError:
        bad = non_finite_keys(data)
        raise ValueError(f"{Path(path).name}: NaN or infinity at {', '.join(bad[:5])}") from None
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise cannot_write(path, exc) from None


def write_text(text: str, path: Path) -> None:
    try:
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise cannot_write(path, exc) from None
