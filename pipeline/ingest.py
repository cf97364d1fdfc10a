"""Ingest: read claim extracts (CSV or Parquet; file, directory or glob) into canonical columns.

Values come out as text (identifiers as Arrow strings, other text as categoricals), from CSV and
Parquet alike: each file is brought to this canonical form on its own, a typed Parquet column
becoming its exact text (numbers in full, timestamps and dates their calendar date), so a value's
verdict never depends on the other files of the batch; typing is the validator's job. Headers are
matched case-insensitively after trimming, then through the `[columns]` alias table of the config.
Several headers may map to a list column (`diagnosis_codes`, `modifiers`: `Dx1`..`Dx4`): their
values are joined in header order, empty ones skipped (`join_repeated`); for any other column the
first header wins. A missing required column (V001) names the headers found and `[columns]`.

CSV is read with pyarrow, the delimiter sniffed from the header line (`,` `;` tab `|`), quoted
values may span lines. Encoding: UTF-8 with or without BOM; a file that is not valid UTF-8 falls
back to cp1252, unless it holds valid UTF-8 text too (a mixed file), when it stays UTF-8. Bytes
that the chosen encoding cannot decode (invalid UTF-8 in a mixed file; 0x81 0x8D 0x8F 0x90 0x9D in
cp1252) make their row a V006 reject, as do a NUL byte or a control character in a value, a value
longer than the field size limit and a record with the wrong number of fields; a timestamp in an
unknown time zone is V004. Nothing is dropped without a reject record; a reject never carries the
raw record text (it may hold PHI).

Only regular files are read (a FIFO or a device is an InputError, never a hang), and a file that
changes while it is read is an InputError: the sha256 recorded is that of the bytes parsed.
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
import io
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claims_audit.errors import InputError, one_line
from claims_audit.parsing import TEXT
from claims_audit.rejects import REJECT_COLUMNS, unreadable_rows
from claims_audit.schemas.claims import FIELDS, IDENTIFIERS, REQUIRED
from claims_audit.x12 import is_x12

INPUT_SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
# X12 837 files (recognised by their ISA envelope whatever the suffix; in a directory by these)
INPUT_SUFFIXES |= {".837": "x12", ".x12": "x12", ".edi": "x12"}
DELIMITERS = (",", ";", "\t", "|")
MAX_FIELD_BYTES = 64 * 1024  # default `--max-field-bytes`
BLOCK_SIZE = 16 << 20  # pyarrow reads CSV in blocks: a record must fit in one
_MAX_HEADER_BYTES = 1 << 20
_EXCERPT = 80
# list columns that several source columns may map to, joined in order (`join_repeated`)
JOINED_COLUMNS = ("diagnosis_codes", "modifiers")
LIST_JOINER = ","
_HEADERS_SHOWN = 40  # header names quoted in a V001 message at most
# cells read as empty: SQL, R, pandas and hand-typed markers; not spreadsheet errors (`#N/A`)
NULL_MARKERS = ["", "NULL", "null", "NA", "N/A", "n/a", "None", "NaN", "nan"]
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Parquet column chunks of more bytes a value than dictionary indices take hold plain pages
_PLAIN_BYTES_PER_VALUE = 4


@dataclass
class RawInput:
    """One input file read into canonical string columns, with its provenance."""

    path: Path
    frame: pd.DataFrame  # canonical columns present in the file + `source_row` (1-based)
    encoding: str
    sha256: str
    rows_read: int
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    # distinct patient ids of the file (rejected rows too): masked wherever they land
    patient_ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))


def _regular_file(path: Path, shown: str) -> Path:
    """`path` when it is (a link to) a regular file; InputError naming `shown` for a FIFO, a
    device, a socket, a directory, a dangling link or a symlink loop. `os.stat` never opens
    the entry, so a FIFO or a device cannot make the run hang."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:  # ELOOP (a symlink loop), ENOENT (a dangling link), EACCES
        raise InputError(f"{shown}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{shown}: not a regular file ({_file_kind(mode)})")
    return path


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def resolve_inputs(inputs: tuple[str, ...] | list[str]) -> list[Path]:
    """Expand files, directories and globs into a sorted, de-duplicated list of input files.

    Only regular files are taken: an entry of a directory (or a glob hit) with an input suffix
    that is a FIFO, a device, a directory, a dangling link or a symlink loop is an InputError
    naming it (exit 2); entries with other suffixes are ignored, never opened.

    The list is sorted by path whatever the order of the arguments, so that the order in which
    files are named never changes the result (which of two repeated claim lines is the "later"
    one, V005, follows this order)."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            hits = [p for p in sorted(path.iterdir()) if p.suffix.lower() in INPUT_SUFFIXES]
            if not hits:
                known = ", ".join(INPUT_SUFFIXES)
                raise InputError(f"{item}: directory holds no claims file ({known})")
            found.extend(_regular_file(p, str(p)) for p in hits)
        elif path.exists() or path.is_symlink():
            found.append(_regular_file(path, item))
        else:
            hits = [Path(p) for p in sorted(glob.glob(item)) if not Path(p).is_dir()]
            if not hits:
                raise InputError(f"{item}: no such file, directory or matching glob")
            found.extend(_regular_file(p, str(p)) for p in hits)
    return sorted(dict.fromkeys(p.resolve() for p in found), key=str)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_file(path: Path, identity: tuple[int, ...] | None = None) -> tuple[str, bool]:
    """sha256 of the file and whether it is valid UTF-8, in one pass (ASCII chunks, the usual
    case, are checked at memory speed). With `identity` (from `_open_regular`), the file opened
    must still be that one (opened without blocking: a FIFO swapped in is an InputError)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid = True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if identity is not None and _identity(os.fstat(fd)) != identity:
        os.close(fd)
        raise InputError(f"{path}: changed while it was read (file replaced)")
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            digest.update(chunk)
            if valid and not chunk.isascii():
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    return digest.hexdigest(), valid


# -- header ------------------------------------------------------------------------------


def _column_positions(header: list[str], aliases: dict[str, str], source: Path) -> dict[int, str]:
    """Header position -> canonical name; InputError (V001) when a required column is missing.

    A canonical column named twice keeps its first occurrence, except the list columns of
    JOINED_COLUMNS: every header mapped to one of them is kept (`Dx1`..`Dx4` ->
    `diagnosis_codes`), and `join_repeated` joins them in header order. The message names the
    headers found, unless the header line looks like data (no header line: it would put
    patient ids into an error message)."""
    alias_map = {k.strip().lower(): v for k, v in aliases.items()}
    canonical = set(FIELDS)
    positions: dict[int, str] = {}
    for i, name in enumerate(header):
        key = str(name).strip().lstrip("\ufeff").strip().lower()
        target = alias_map.get(key, key)
        if target in canonical and (target in JOINED_COLUMNS or target not in positions.values()):
            positions[i] = target
    missing = [c for c in REQUIRED if c not in positions.values()]
    if missing:
        found = [positions[i] for i in sorted(positions)]
        other = len(header) - len(found)
        looks_like_data = sum(bool(re.search(r"[0-9]", str(h))) for h in header) * 2 > len(header)
        hint = (
            "; the first line looks like data: is the header row missing?"
            if looks_like_data
            else ""
        )
        raise InputError(
            f"{source}: required column {', '.join(missing)} is missing (V001); "
            f"recognised: {', '.join(found) or 'none'}, {other} other column(s){hint}"
            f"{_headers_seen(header, looks_like_data)}; map other header names to canonical "
            'columns in the [columns] table of the config (`"Header" = "canonical"`)'
        )
    return positions


def _headers_seen(header: list[str], looks_like_data: bool) -> str:
    """The header names found, for the V001 message: each cut to 40 characters, at most 40 of
    them; none when the first line looks like data (it may hold patient ids)."""
    if looks_like_data:
        return ""
    names = [str(h).strip().lstrip("\ufeff") for h in header[:_HEADERS_SHOWN]]
    shown = ", ".join(repr(n if len(n) <= 40 else n[:39] + "…") for n in names)
    more = f" and {len(header) - _HEADERS_SHOWN} more" if len(header) > _HEADERS_SHOWN else ""
    return f"; headers found: {shown}{more}"


def map_columns(header: list[str], aliases: dict[str, str], source: Path) -> dict[str, str]:
    """Map header names to canonical names; InputError (V001) when a required one is missing.

    A name that appears twice (or two names for one canonical column) keeps the first, but for
    the list columns of JOINED_COLUMNS, which keep them all (`_column_positions`)."""
    positions = _column_positions(header, aliases, source)
    return {header[i]: name for i, name in positions.items()}


def join_repeated(table: pa.Table) -> pa.Table:
    """One column per canonical name: the columns of a list field mapped from several headers
    (`Dx1`..`Dx4`) become one, their values trimmed and joined with `LIST_JOINER` in column
    order, empty and null ones skipped (all empty: null); Arrow kernels, no row loop."""
    names = table.column_names
    repeated = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    for name in repeated:
        where = [i for i, n in enumerate(names) if n == name]
        parts = [pc.utf8_trim_whitespace(_as_text(_plain(table.column(i)), name)) for i in where]
        # null_handling="skip" drops the rows where every part is null (pyarrow 26): join
        # with empty strings instead, then collapse the separators of the empty parts
        joined = pc.binary_join_element_wise(
            *parts, LIST_JOINER, null_handling="replace", null_replacement=""
        )
        joined = pc.replace_substring_regex(joined, f"{LIST_JOINER}{{2,}}", LIST_JOINER)
        joined = pc.utf8_trim(joined, LIST_JOINER)
        joined = pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)
        for i in reversed(where[1:]):
            table = table.remove_column(i)
        table = table.set_column(where[0], name, joined)
        names = table.column_names
    return table


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded column as its value type (other columns as they are)."""
    kind = column.type
    return column.cast(kind.value_type) if pa.types.is_dictionary(kind) else column


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file from its header line: the most frequent of `,` `;` tab `|`
    outside quotes (comma on a tie or when none is present)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _sniff_kind(path: Path, head: bytes) -> str:
    """csv or parquet from the file's first bytes (the suffix can lie); InputError for formats
    that are neither (compressed archives, UTF-16/32 text)."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if is_x12(head):
        return "x12"
    if head.startswith(b"PK\x03\x04"):
        raise InputError(
            f"{path}: is a zip archive (an Excel workbook?), not CSV or Parquet: export it as CSV"
        )
    if head.startswith(b"\x1f\x8b"):
        raise InputError(f"{path}: is gzip-compressed: decompress it first")
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raise InputError(f"{path}: is UTF-16/32 encoded: save it as UTF-8 (or cp1252) CSV")
    suffix_kind = INPUT_SUFFIXES.get(path.suffix.lower(), "csv")
    return suffix_kind


def _header_line(path: Path) -> tuple[bytes, bool]:
    """The first line's bytes (no BOM, no line end) and whether anything follows it. A line ends
    at LF, CRLF or a lone CR (old Mac line ends, which pyarrow reads as line ends too)."""
    with path.open("rb") as fh:
        data = fh.read(_MAX_HEADER_BYTES + 2)
        tail = fh.read(1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    end = re.search(b"\r\n|\r|\n", data)
    if end is None and (tail or len(data) > _MAX_HEADER_BYTES):
        raise InputError(
            f"{path}: first line is longer than {_MAX_HEADER_BYTES:,} bytes: not a CSV header"
        )
    line = data[: end.start()] if end else data
    more = bool(end and data[end.end() :]) or bool(tail)
    if not line.strip():
        what = "first line is empty" if more else "file is empty"
        raise InputError(f"{path}: {what} (no header row)")
    if b"\x00" in line:
        raise InputError(f"{path}: header holds NUL bytes: a binary or UTF-16 file, not CSV")
    return line, more


def _parse_header(line: bytes, encoding: str) -> tuple[list[str], str]:
    text = line.decode(encoding, errors="replace")
    delimiter = sniff_delimiter(text)
    header = next(csv.reader([text], delimiter=delimiter), [])
    return [h.strip() for h in header], delimiter


# -- encoding ----------------------------------------------------------------------------


def choose_fallback_encoding(path: Path) -> str:
    """For a file that is not valid UTF-8: `utf-8` when it also holds valid multi-byte UTF-8
    text, at least as many characters as there are invalid bytes (a mixed file: decoding it all
    as cp1252 would garble those rows silently), else `cp1252`. Real cp1252 text almost never
    forms valid UTF-8 sequences."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    valid = invalid = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            text = decoder.decode(chunk)
            bad = text.count("\ufffd")
            non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
            invalid += bad
            valid += non_ascii - bad
    return "utf-8" if valid and valid >= invalid else "cp1252"


class _Transcoder(io.RawIOBase):
    """A binary stream of `path` decoded from `encoding` (undecodable bytes -> U+FFFD) and
    re-encoded as UTF-8, read by pyarrow in blocks: bounded memory, no temporary file."""

    def __init__(self, path: Path, encoding: str):
        super().__init__()
        self._raw = path.open("rb")
        name = "utf-8-sig" if encoding == "utf-8" else encoding
        self._decoder = codecs.getincrementaldecoder(name)(errors="replace")
        self._buffer = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while len(self._buffer) < len(target) and not self._eof:
            chunk = self._raw.read(1 << 20)
            self._eof = not chunk
            self._buffer += self._decoder.decode(chunk, final=self._eof).encode("utf-8")
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        del self._buffer[:n]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


# -- CSV ---------------------------------------------------------------------------------


def _arrow_reason(exc: Exception) -> str:
    """pyarrow's message, first line, without any echo of the record text (may hold PHI)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"(got \d+)\s*:.*$", r"\1", text)
    return one_line(text[:160])  # a damaged file's bytes may be quoted: control chars escaped


def _locate_overlong_record(path: Path, encoding: str, delimiter: str, limit: int) -> int | None:
    """The data row whose field runs past `limit` bytes (python csv, error path only)."""
    old = csv.field_size_limit()
    csv.field_size_limit(limit)
    row = 0
    try:
        with path.open(encoding=encoding, errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            next(reader, None)
            for record in reader:
                row += bool(record)
    except csv.Error:
        return row + 1
    finally:
        csv.field_size_limit(old)
    return None


@dataclass
class _CsvRead:
    """pyarrow's CSV reader as `_read_csv` uses it: the mapped columns as text, nulls from the
    markers of NULL_MARKERS, quoted line breaks inside values, bad records to a handler."""

    names: list[str]
    include: list[str]
    types: dict[str, pa.DataType]
    delimiter: str
    block_size: int
    use_threads: bool

    def table(self, source, on_invalid) -> pa.Table:
        return pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(
                encoding="utf8",
                block_size=self.block_size,
                column_names=self.names,
                skip_rows=1,
                use_threads=self.use_threads,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=True,  # else a quoted line break desyncs the reader
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=self.include,
                column_types=self.types,
                null_values=NULL_MARKERS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )


def _read_csv(
    path: Path,
    aliases: dict[str, str],
    max_field_bytes: int,
    utf8_valid: bool = True,
    fallback: str | None = None,
) -> tuple[pa.Table, str, list[dict], bool]:
    """CSV -> Arrow table of the mapped columns (canonical names), its encoding, the malformed
    records (number = 1-based record number counting the header) and whether the text was
    transcoded with replacement characters (then a U+FFFD marks undecodable bytes). Text that
    is not UTF-8 is transcoded from `fallback`, by default `choose_fallback_encoding`'s."""
    line, more = _header_line(path)
    # pyarrow cannot hand an invalid record holding invalid UTF-8 to the handler (it fails
    # decoding it), so a file that is not valid UTF-8 goes straight to the transcoding path
    encodings = ["utf-8"] if utf8_valid else []
    block_size = max(BLOCK_SIZE, 2 * max_field_bytes)
    for encoding in [*encodings, None]:
        if encoding is None:  # not valid UTF-8: transcode, undecodable bytes -> U+FFFD
            encoding = fallback or choose_fallback_encoding(path)
            transcode = True
        else:
            transcode = False
        header, delimiter = _parse_header(line, encoding)
        positions = _column_positions(header, aliases, path)
        names = [f"f{i}" for i in range(len(header))]
        types = {
            names[i]: pa.string() if c in IDENTIFIERS else pa.dictionary(pa.int32(), pa.string())
            for i, c in positions.items()
        }
        include = [names[i] for i in sorted(positions)]
        if not more:  # header only, no data line
            table = pa.table({n: pa.array([], types[n]) for n in include})
            return _rename(table, names, positions), encoding, [], False
        bad_rows: list[dict] = []

        def on_invalid(row, bad_rows=bad_rows) -> str:
            text = row.text or ""
            bad_rows.append(
                {
                    "number": row.number,
                    "expected": row.expected_columns,
                    "actual": row.actual_columns,
                    "lines": text.count("\n") + 1,
                }
            )
            return "skip"

        for use_threads in (True, False):
            bad_rows.clear()
            source = _Transcoder(path, encoding) if transcode else path
            try:
                read = _CsvRead(names, include, types, delimiter, block_size, use_threads)
                table = read.table(source, on_invalid)
            except pa.ArrowInvalid as exc:
                reason = str(exc)
                if not transcode and "UTF8" in reason.upper().replace("-", ""):
                    break  # not UTF-8 after all: fall back
                if "straddl" in reason or "block" in reason:
                    row = _locate_overlong_record(path, encoding, delimiter, max_field_bytes)
                    where = f"row {row}: " if row else ""
                    raise InputError(
                        f"{path}: {where}a value runs past {max_field_bytes:,} bytes and the "
                        f"record past the {block_size >> 20} MiB read block (an unclosed quote?); "
                        "the file cannot be parsed"
                    ) from None
                raise InputError(f"{path}: cannot be read as CSV ({_arrow_reason(exc)})") from None
            finally:
                if transcode:
                    source.close()
            # the threaded reader cannot number bad records: read again single-threaded
            if all(b["number"] is not None for b in bad_rows):
                return _rename(table, names, positions), encoding, list(bad_rows), transcode
    raise InputError(f"{path}: cannot be decoded as UTF-8 or cp1252")  # pragma: no cover


def _rename(table: pa.Table, names: list[str], positions: dict[int, str]) -> pa.Table:
    canonical = {names[i]: c for i, c in positions.items()}
    return join_repeated(table.rename_columns([canonical[n] for n in table.column_names]))


# -- Parquet -----------------------------------------------------------------------------


def near_unique_limit(rows: int) -> int:
    """The most distinct values text of `rows` lines may have to stay dictionary-encoded in
    the plan's Arrow files; text with more is near-unique (charges, amounts, auth numbers)."""
    return max(1000, rows // 100)


def _plain_guess(source: pq.ParquetFile, row_groups: list[int], names: list[str]) -> list[str]:
    """Of the text columns `names` of a piece, those read faster as plain strings: column
    chunks of more than `_PLAIN_BYTES_PER_VALUE` bytes a value, whose writer's dictionary
    outgrew its page (Arrow would hash every value of the plain pages to rebuild it):
    near-unique text, which the plan writes plain anyway. A guess from the metadata, checked
    by `read_parquet_piece`."""
    size, values = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
    for rg in row_groups:
        group = source.metadata.row_group(rg)
        for j in range(group.num_columns):
            chunk = group.column(j)
            if chunk.path_in_schema in size:
                size[chunk.path_in_schema] += chunk.total_uncompressed_size
                values[chunk.path_in_schema] += chunk.num_values
    return [n for n in names if size[n] > _PLAIN_BYTES_PER_VALUE * max(values[n], 1)]


def _read_parquet(
    path: Path, aliases: dict[str, str], row_groups: list[int] | None = None, guess: bool = False
) -> tuple[pa.Table, list[str]]:
    """The mapped columns of a Parquet file (canonical names), text other than identifiers
    dictionary-encoded; only `row_groups` when given (a piece of the file). With `guess` (a
    piece read by the plan: `row_groups`), the identifiers are encoded too (their lines are
    hashed, their values screened and trimmed, once per distinct value: `canonical_table`)
    and near-unique text is left plain (`_plain_guess`): also the names of those columns."""
    plain: list[str] = []
    try:
        with pq.ParquetFile(path) as source:
            schema = source.schema_arrow
            positions = _column_positions(schema.names, aliases, path)
            wanted = sorted(positions)
            if len(set(schema.names)) == len(schema.names):
                text = [
                    schema.names[i]
                    for i in wanted
                    if pa.types.is_string(schema.field(i).type)
                    and (guess or positions[i] not in IDENTIFIERS)
                ]
                columns = [schema.names[i] for i in wanted]
                if row_groups is None:
                    table = pq.read_table(path, columns=columns, read_dictionary=text)
                else:
                    if guess:  # not identifiers, not joined list columns
                        once = [n for n in text if _single_field(positions, schema.names, n)]
                        plain = _plain_guess(source, row_groups, once)
                    encoded = [n for n in text if n not in plain]
                    # a local file: no pre-buffered copy of its column chunks (CPU time)
                    with pq.ParquetFile(path, read_dictionary=encoded, pre_buffer=False) as piece:
                        table = piece.read_row_groups(row_groups, columns=columns)
            else:  # duplicated names cannot be selected by name: read all, pick by position
                table = source.read() if row_groups is None else source.read_row_groups(row_groups)
                table = pa.table([table.column(i) for i in wanted], names=[f"f{i}" for i in wanted])
    except (pa.ArrowException, OSError, ValueError, UnicodeError, IndexError, KeyError) as exc:
        # a corrupted footer can fail anywhere in pyarrow's metadata decoding
        raise InputError(f"{path}: cannot be read as Parquet ({_arrow_reason(exc)})") from None
    names = [positions[i] for i in wanted]
    plain = [names[i] for i, n in enumerate(columns) if n in plain] if plain else []
    return join_repeated(table.rename_columns(names)), plain


def _single_field(positions: dict[int, str], names: list[str], name: str) -> bool:
    """Whether the source column `name` maps to a field of its own that is no identifier."""
    field_name = positions[names.index(name)]
    return field_name not in IDENTIFIERS and list(positions.values()).count(field_name) == 1


def _repair_chunk(chunk: pa.Array) -> pa.Array:
    """Invalid UTF-8 in a string chunk -> U+FFFD (per value, Python: corrupted files only)."""
    if pa.types.is_dictionary(chunk.type):
        return pa.DictionaryArray.from_arrays(chunk.indices, _repair_chunk(chunk.dictionary))
    raw = chunk.cast(pa.binary() if pa.types.is_string(chunk.type) else pa.large_binary())
    texts = [None if b is None else b.decode("utf-8", errors="replace") for b in raw.to_pylist()]
    return pa.array(texts, type=chunk.type)


def repair_utf8(table: pa.Table) -> tuple[pa.Table, bool]:
    """Parquet strings are not validated on read: replace invalid UTF-8 by U+FFFD (then the
    value is a V006 reject) and say whether anything was replaced."""
    repaired = False
    columns = []
    for column in table.columns:
        kind = column.type
        value = kind.value_type if pa.types.is_dictionary(kind) else kind
        if pa.types.is_string(value) or pa.types.is_large_string(value):
            chunks = []
            for chunk in column.chunks:
                try:
                    chunk.validate(full=True)
                except pa.ArrowInvalid:
                    chunk = _repair_chunk(chunk)
                    repaired = True
                chunks.append(chunk)
            column = pa.chunked_array(chunks, type=kind)
        columns.append(column)
    return pa.table(columns, names=table.column_names), repaired


def read_parquet(
    path: Path, aliases: dict[str, str], row_groups: list[int] | None = None
) -> tuple[pa.Table, bool]:
    """The mapped columns of a Parquet file (or of its `row_groups`) with invalid UTF-8
    replaced (`repair_utf8`), and whether anything was replaced."""
    return _repaired(path, _read_parquet(path, aliases, row_groups)[0])


def _repaired(path: Path, table: pa.Table) -> tuple[pa.Table, bool]:
    """`repair_utf8` of a table read from `path`; InputError when its data is damaged."""
    try:
        return repair_utf8(table)
    except pa.ArrowException as exc:  # e.g. dictionary indices out of bounds
        raise InputError(f"{path}: cannot be read ({_arrow_reason(exc)})") from None


def read_parquet_piece(
    path: Path, aliases: dict[str, str], row_groups: list[int]
) -> tuple[pa.Table, bool, list[str]]:
    """`read_parquet` of `row_groups` (a piece, read by the plan), identifiers encoded and
    near-unique text left plain (`_read_parquet` with `guess`), and the names of those
    columns: each is near-unique by its first lines alone (`_certainly_near_unique`), else,
    or when that read fails (a damaged file), the piece is read by `read_parquet` itself, so
    the lines, or the error, are `read_parquet`'s. Text left plain is no dictionary the plan
    would have kept: the lines' values are the same."""
    try:
        table, plain = _read_parquet(path, aliases, row_groups, guess=True)
        table, repaired = _repaired(path, table)
    except InputError:
        table, plain = None, []
    if table is None or not all(_certainly_near_unique(table[n], table.num_rows) for n in plain):
        table, repaired = read_parquet(path, aliases, row_groups)
        plain = []
    return table, repaired, plain


def _certainly_near_unique(column: pa.ChunkedArray, rows: int) -> bool:
    """Whether plain text of `rows` lines has more distinct values than `near_unique_limit`
    among its first lines alone (8 times the limit), trimmed and empty ones null as
    `canonical_table` makes them: the other lines can only add values, and the plan counts
    those of rejected lines too."""
    limit = near_unique_limit(rows)
    head = pc.utf8_trim_whitespace(column.slice(0, 8 * limit))
    distinct = pc.count_distinct(head, mode="only_valid").as_py()
    distinct -= bool(pc.any(pc.equal(head, "")).as_py())
    return distinct > limit


# -- canonical columns -------------------------------------------------------------------


def _as_string(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(
            f"column {name} has type {column.type}, which cannot be read as text"
        ) from None


def _as_text(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """The canonical text of a typed Parquet column, the same whichever file it comes from
    (so a value's verdict never depends on the other files of the batch): numbers exactly
    (shortest round-trip form, integers beyond 2^53 in full; NaN is empty), timestamps and
    dates as their calendar date `YYYY-MM-DD` (time of day dropped; a zoned timestamp was made
    wall-clock by `resolve_time_zones`). Nested types (list, struct, map) are an InputError
    naming the column: such a column is not the field."""
    kind = column.type
    if pa.types.is_floating(kind):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
    elif pa.types.is_timestamp(kind):
        if kind.tz:  # not made wall-clock yet (`to_frame` called directly)
            try:
                column = pc.local_timestamp(column)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(f"column {name}: time zone {kind.tz[:40]!r} is unknown") from None
        column = column.cast(pa.timestamp(kind.unit)).cast(pa.date32())
    return _as_string(column, name)


def _as_canonical(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Identifiers become trimmed strings (empty -> null); every other column becomes
    dictionary-encoded text (trimmed once per distinct value). Typed Parquet values become
    their canonical text (`_as_text`): the validator parses them exactly as it parses CSV."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        if pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type):
            if name in IDENTIFIERS:
                column = column.cast(kind.value_type)
            else:
                column = column.cast(pa.dictionary(kind.index_type, pa.string()))
                return _trimmed_dictionary(column.unify_dictionaries())
        else:
            column = column.cast(kind.value_type)
    if name in IDENTIFIERS:
        return _trimmed_text(column, name)
    return _trimmed_dictionary(_as_text(column, name).dictionary_encode().unify_dictionaries())


def _trimmed_text(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Plain text trimmed per value, empty -> null (`_as_text` first)."""
    column = pc.utf8_trim_whitespace(_as_text(column, name))
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def _is_text_dictionary(kind: pa.DataType) -> bool:
    """Whether `kind` is dictionary-encoded (not large) strings."""
    return pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type)


def _index_type(n_values: int) -> pa.DataType:
    """The smallest dictionary index type for `n_values` values: pandas keeps it as the
    categorical codes (int8 for a handful of payer types instead of int32)."""
    for kind, limit in ((pa.int8(), 127), (pa.int16(), 32_767)):
        if n_values <= limit:
            return kind
    return pa.int32()


def _trimmed_dictionary(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary-encoded text with every distinct value trimmed once (empty -> null) and the
    values that became equal merged, so the pandas categories are unique. The chunks share one
    dictionary (`unify_dictionaries`). The indices are valid (made by a reader or by
    `dictionary_encode`; Parquet's checked by `repair_utf8`), so neither their narrowing nor
    the new arrays are checked again (a check per line, several times the cost of the rest)."""
    if column.num_chunks == 0:
        return column
    dictionary = column.chunk(0).dictionary
    values = pc.utf8_trim_whitespace(dictionary)
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    if values.null_count == 0 and values.equals(dictionary):  # clean values: nothing merges
        index_type = _index_type(len(values))
        chunks = [
            pa.DictionaryArray.from_arrays(
                pc.cast(chunk.indices, index_type, safe=False), values, safe=False
            )
            for chunk in column.chunks
        ]
        return pa.chunked_array(chunks, type=pa.dictionary(index_type, pa.string()))
    merged = pc.dictionary_encode(values)
    index_type = _index_type(len(merged.dictionary))
    lut = merged.indices.cast(index_type)
    chunks = [
        pa.DictionaryArray.from_arrays(pc.take(lut, chunk.indices), merged.dictionary, safe=False)
        for chunk in column.chunks
    ]
    return pa.chunked_array(chunks, type=pa.dictionary(index_type, pa.string()))


def _to_pandas(column: pa.ChunkedArray, name: str) -> pd.Series:
    """One column in its canonical pandas form (see `_as_canonical`)."""
    one = pa.table([_as_canonical(column, name)], names=[name])
    return one.to_pandas(types_mapper={pa.string(): TEXT}.get, self_destruct=True)[name]


def _frame(columns: dict[str, pd.Series], rows: int) -> pd.DataFrame:
    frame = pd.DataFrame(columns, index=pd.RangeIndex(rows), copy=False)
    pa.default_memory_pool().release_unused()  # hand the conversion's scratch back to the OS
    return frame


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow table -> pandas: identifiers as Arrow strings, other text as trimmed categoricals.
    Column by column, so only one column is ever converted at a time."""
    columns = {name: _to_pandas(table[name], name) for name in table.column_names}
    return _frame(columns, table.num_rows)


# -- time zones: zoned timestamps to wall-clock ones; an unknown zone is V004 ---------------


def resolve_time_zones(
    table: pa.Table, source_rows: np.ndarray, path: Path
) -> tuple[pa.Table, np.ndarray, pd.DataFrame]:
    """Zoned (tz-aware) timestamp columns as wall-clock timestamps where they were recorded
    (their calendar date is the date of the service), the rows to drop and their V004 rejects:
    a timestamp in a time zone the time zone database does not know has no calendar date."""
    drop = np.zeros(table.num_rows, dtype=bool)
    records = []
    for i, name in enumerate(table.column_names):
        kind = table.schema.field(i).type
        if not (pa.types.is_timestamp(kind) and kind.tz):
            continue
        column = table.column(i)
        naive = pa.timestamp(kind.unit)
        try:
            local = pc.local_timestamp(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hit = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
            drop[hit] = True
            shown = column.take(pa.array(hit)).cast(naive).cast(pa.string()).to_pylist()
            why = f"time zone {kind.tz[:40]!r} is unknown: the calendar date cannot be determined"
            records.append(_ingest_rejects(path, source_rows[hit], name, shown, "V004", why))
            local = pa.nulls(table.num_rows, naive)
        table = table.set_column(i, name, local.cast(naive))
    return table, drop, _joined_rejects(records)


def _ingest_rejects(
    path: Path, rows: np.ndarray, column: str, shown, code: str, why
) -> pd.DataFrame:
    """Reject records of rows refused at ingest; `why` is one text or one per row."""
    why = pd.Series(why, index=range(len(rows)), dtype="string")
    return pd.DataFrame(
        {
            "source_file": str(path),
            "source_row": rows,
            "column": column,
            "value": shown,
            "reason_code": code,
            "message": (
                f"{path} row " + pd.Series(rows).astype("string") + f" column {column}: " + why
            ).to_numpy(),
        },
        columns=REJECT_COLUMNS,
    )


def _joined_rejects(records: list[pd.DataFrame]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    return pd.concat(records, ignore_index=True)


def patient_ids(table: pa.Table) -> pa.Array:
    """The distinct patient ids of a file (trimmed, as validation sees them), also those of
    the rows rejected: a reject value equal to one of them is masked (it is PHI whichever
    column it landed in, e.g. a row shifted by one field)."""
    if "patient_id" not in table.column_names:
        return pa.array([], pa.string())
    try:  # distinct raw values first: each is trimmed once
        distinct = pa.chunked_array([pc.unique(table["patient_id"].combine_chunks())])
        ids = _as_canonical(distinct, "patient_id")
    except (InputError, pa.ArrowException):
        return pa.array([], pa.string())
    return pc.unique(ids.combine_chunks()).drop_null()


# -- screening values: V006 for undecodable bytes, NUL, control chars, long values ------------


# characters no value of a claim line holds and that writers cannot all carry (XML 1.0, hence
# XLSX, forbids C0 controls but tab, LF, CR, and U+FFFE/U+FFFF): C0, DEL, C1, noncharacters
CONTROL_PATTERN = r"[\x{01}-\x{08}\x{0b}\x{0c}\x{0e}-\x{1f}\x{7f}-\x{9f}\x{fffe}\x{ffff}]"
_CONTROLS = [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]
_ESCAPES = {c: f"\\x{c:02x}" for c in [0, *_CONTROLS]} | {0xFFFE: "\\ufffe", 0xFFFF: "\\uffff"}
_UNDECODABLE, _NUL, _TOO_LONG, _CONTROL = 1, 2, 3, 4


def _suspect_values(values: pa.Array) -> np.ndarray:
    """Per value of a string array, whether a byte of it is not printable ASCII (a control
    character, NUL, DEL or any non-ASCII byte; tab, LF and CR are fine): only those can hold
    what `_flag_chunk` looks for. One pass over the bytes, no regex."""
    values = values.cast(pa.large_string()) if pa.types.is_string(values.type) else values
    if values.offset or values.buffers()[2] is None:
        values = pa.concat_arrays([values])  # offsets from 0 (a slice) or an empty data buffer
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[: len(values) + 1]
    data = values.buffers()[2]
    if data is None:
        return np.zeros(len(values), dtype=bool)
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    odd = (raw < 0x20) | (raw >= 0x7F)
    odd &= (raw != 0x09) & (raw != 0x0A) & (raw != 0x0D)
    where = np.flatnonzero(odd) + offsets[0]
    suspect = np.zeros(len(values), dtype=bool)
    suspect[np.searchsorted(offsets, where, side="right") - 1] = True
    return suspect


def _flag_chunk(chunk: pa.Array, max_field_bytes: int, undecodable: bool) -> np.ndarray:
    """Per row of a string or dictionary chunk: 0 fine, else the problem code (`_WHY`); when a
    value has several, undecodable > NUL > control character > too long."""
    values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
    codes = np.zeros(len(values), dtype=np.int8)
    if len(values):
        long = pc.greater(pc.binary_length(values), max_field_bytes)
        if pc.any(long).as_py():
            codes[long.fill_null(False).to_numpy(zero_copy_only=False)] = _TOO_LONG
        suspect = np.flatnonzero(_suspect_values(values))  # the others are printable ASCII
        if len(suspect):
            some = values.take(pa.array(suspect))
            checks = [
                (_CONTROL, pc.match_substring_regex(some, CONTROL_PATTERN)),
                (_NUL, pc.match_substring(some, "\x00")),
            ]
            if undecodable:
                checks.append((_UNDECODABLE, pc.match_substring(some, "\ufffd")))
            for code, mask in checks:  # later checks win
                if pc.any(mask).as_py():
                    codes[suspect[mask.fill_null(False).to_numpy(zero_copy_only=False)]] = code
    if not codes.any():
        return np.zeros(len(chunk), dtype=np.int8)
    if pa.types.is_dictionary(chunk.type):
        indices = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        padded = np.append(codes, np.int8(0))  # index -1 (null) -> fine
        return padded[indices]
    return codes


_WHY = {
    _UNDECODABLE: "undecodable bytes (shown as \ufffd)",
    _NUL: "NUL byte in the value",
    _CONTROL: "control character in the value (shown as \\xNN)",
}


def screen_values(
    table: pa.Table, source_rows: np.ndarray, path: Path, max_field_bytes: int, undecodable: bool
) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows to keep, and a V006 reject per (row, column) holding undecodable bytes, a NUL byte,
    a control character or a value longer than `max_field_bytes`. Distinct values are checked
    once (dictionaries). The value shown has NUL and control characters escaped (`\x07`), so
    every writer can carry it."""
    keep = np.ones(table.num_rows, dtype=bool)
    records = []
    for name in table.column_names:
        column = table[name]
        kind = column.type
        if not (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))
        ):
            continue
        flags = [_flag_chunk(chunk, max_field_bytes, undecodable) for chunk in column.chunks]
        flag = np.concatenate(flags) if flags else np.zeros(0, dtype=np.int8)
        hit = np.flatnonzero(flag)
        if not len(hit):
            continue
        keep[hit] = False
        values = column.take(pa.array(hit)).cast(pa.string()).to_pandas().astype("string")
        lengths = values.str.encode("utf-8").str.len()
        why = pd.Series(flag[hit]).map(_WHY).astype("string")
        long = flag[hit] == _TOO_LONG
        why[long] = (
            "value is "
            + lengths[long].map("{:,}".format).astype("string")
            + f" bytes, over the {max_field_bytes:,}-byte limit (--max-field-bytes)"
        )
        shown = values.str.slice(0, _EXCERPT).str.translate(_ESCAPES)
        rows = source_rows[hit]
        shown = shown.where(~long, "").to_numpy()
        records.append(_ingest_rejects(path, rows, name, shown, "V006", why.to_numpy()))
    return keep, _joined_rejects(records)


def _malformed_rejects(path: Path, bad_rows: list[dict], rows: np.ndarray) -> pd.DataFrame:
    """V006 for records with the wrong number of fields; never the record text (PHI)."""
    messages = []
    for bad, row in zip(bad_rows, rows, strict=True):
        spans = f", spans {bad['lines']} lines (an unclosed quote?)" if bad["lines"] > 1 else ""
        messages.append(
            f"{path} row {row}: malformed CSV record: {bad['actual']} fields, "
            f"expected {bad['expected']}{spans}"
        )
    return unreadable_rows(path, rows, messages)


def _source_rows(n_good: int, bad_rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """1-based data record numbers of the good rows and of the malformed ones (disjoint)."""
    n_total = n_good + len(bad_rows)
    if not bad_rows:
        return np.arange(1, n_total + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bad = np.array([(b["number"] or 0) - 1 for b in bad_rows], dtype=np.int64)
    if bad.min() < 1 or bad.max() > n_total or len(np.unique(bad)) != len(bad):
        # numbers unavailable: good rows first, then the malformed ones, never overlapping
        return np.arange(1, n_good + 1), np.arange(n_good + 1, n_total + 1)
    is_good = np.ones(n_total + 1, dtype=bool)
    is_good[0] = False
    is_good[bad] = False
    return np.flatnonzero(is_good).astype(np.int64), bad


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is written or replaced: device, inode, size, mtime and ctime
    (ctime cannot be set back by a user, so an in-place rewrite that restores mtime shows)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _open_regular(path: Path) -> tuple[bytes, tuple[int, ...]]:
    """The first bytes of `path` and its identity, opening it without blocking: a FIFO or a
    device put in its place after the inputs were listed is an InputError, never a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file ({_file_kind(st.st_mode)})")
        try:
            head = os.pread(fd, 8, 0)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    return head, _identity(st)


def _check_unchanged(path: Path, before: tuple[int, ...]) -> None:
    """InputError when `path` was written or replaced while it was read: its sha256 in the
    summary would not be that of the bytes audited."""
    try:
        now = _identity(os.stat(path))
    except OSError as exc:
        raise InputError(f"{path}: disappeared while it was read ({exc.strerror})") from None
    if now != before:
        raise InputError(
            f"{path}: changed while it was read (size, time or file replaced): run again "
            "once the file is complete"
        )


def _screened(
    table: pa.Table, source_rows: np.ndarray, path: Path, max_field_bytes: int, undecodable: bool
) -> tuple[pa.Table, np.ndarray, bool, pd.DataFrame, pa.Array]:
    """The rows of `table` that pass the time zone and value screens, their source rows, whether
    any was dropped, the rejects of the others and the distinct patient ids of all of them."""
    ids = patient_ids(table)
    table, zoned, unknown_zone = resolve_time_zones(table, source_rows, path)
    keep, screened = screen_values(table, source_rows, path, max_field_bytes, undecodable)
    keep &= ~zoned
    dropped = not keep.all()
    if dropped:
        table = table.filter(pa.array(keep))
        source_rows = source_rows[keep]
    rejects = _joined_rejects([r for r in (screened, unknown_zone) if len(r)])
    return table, source_rows, dropped, rejects, ids


def canonical_rows(
    tables: list[pa.Table],
    source_rows: np.ndarray,
    path: Path,
    max_field_bytes: int,
    undecodable: bool,
) -> tuple[pd.DataFrame, pd.DataFrame, pa.Array]:
    """The rows of a file's table (or of a piece of it, `--engine dask`) as `read_input` gives
    them: the frame of the rows kept, canonical columns plus `source_row` (`source_rows`, one
    per table row); the V004 (unknown time zone, `resolve_time_zones`) and V006
    (`screen_values`) rejects of the others, in no particular order; the distinct patient ids
    of all of them (`patient_ids`). `tables` holds the one table and is emptied: the
    conversion then holds the only reference and lets go of each Arrow column once converted,
    so the rows are never held twice."""
    table = tables.pop()
    try:
        table, source_rows, dropped, rejects, ids = _screened(
            table, source_rows, path, max_field_bytes, undecodable
        )
        rows, columns = table.num_rows, {}
        while table.num_columns:
            columns[table.column_names[0]] = _to_pandas(table.column(0), table.column_names[0])
            table = table.remove_column(0)
        frame = _frame(columns, rows)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except pa.ArrowException as exc:  # corrupted Parquet data that survived the read
        raise InputError(f"{path}: cannot be read ({_arrow_reason(exc)})") from None
    if dropped:  # values only the rejected rows held are no categories of the rest
        for name in frame.columns:
            if isinstance(frame[name].dtype, pd.CategoricalDtype):
                frame[name] = frame[name].cat.remove_unused_categories()
    frame["source_row"] = source_rows.astype(np.int64)
    return frame, rejects, ids


def canonical_table(
    tables: list[pa.Table],
    source_rows: np.ndarray,
    path: Path,
    max_field_bytes: int,
    undecodable: bool,
    plain: list[str] | tuple[str, ...] = (),
) -> tuple[pa.Table, pd.DataFrame, pa.Array]:
    """`canonical_rows` staying in Arrow (the partitioned plan writes it to Arrow files): the
    same values, identifiers as strings (as trimmed dictionaries where they come encoded, from
    `_read_parquet`'s pieces: the plan hashes their distinct values, then decodes them), other
    text as dictionaries (which may hold values of rejected rows: they are no line's), but
    the near-unique text columns `plain` (`read_parquet_piece`), trimmed strings as
    identifiers are; `source_row` int64."""
    table = tables.pop()
    try:
        table, source_rows, _, rejects, ids = _screened(
            table, source_rows, path, max_field_bytes, undecodable
        )
        for i, name in enumerate(table.column_names):
            column = table.column(i)
            if name in IDENTIFIERS and _is_text_dictionary(column.type):
                column = _trimmed_dictionary(column.unify_dictionaries())
            elif name in plain:
                column = _trimmed_text(column, name)
            else:
                column = _as_canonical(column, name)
            table = table.set_column(i, name, column)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except pa.ArrowException as exc:  # corrupted Parquet data that survived the read
        raise InputError(f"{path}: cannot be read ({_arrow_reason(exc)})") from None
    table = table.append_column("source_row", pa.array(source_rows.astype(np.int64)))
    return table, rejects, ids


def input_kind(path: Path) -> str:
    """csv or parquet, as `read_input` tells them (the first bytes, not the suffix); an
    InputError for a special file or a format that is neither."""
    head, _ = _open_regular(path)
    return _sniff_kind(path, head)


def _file_rejects(*parts: pd.DataFrame) -> pd.DataFrame:
    """A file's rejects (whole records that cannot be read, then screened values) as one table
    in file order."""
    rejects = pd.concat(
        [r[REJECT_COLUMNS] for r in parts if len(r)] or [pd.DataFrame(columns=REJECT_COLUMNS)],
        ignore_index=True,
    )
    return rejects.sort_values(["source_row", "column"], kind="stable", ignore_index=True)


def _codes_encoded(table: pa.Table) -> pa.Table:
    """Every column but the identifiers dictionary-encoded: codes repeat, so each distinct
    value is screened and trimmed once."""
    return pa.table(
        [
            c if n in IDENTIFIERS else pc.dictionary_encode(c)
            for n, c in zip(table.column_names, table.columns, strict=True)
        ],
        names=table.column_names,
    )


def _x12_input(path: Path, before: tuple[int, ...], max_field_bytes: int) -> RawInput:
    """An 837 file (`claims_audit.x12.read`) as the RawInput a CSV file gives: its repeated
    list columns joined, codes dictionary-encoded (each distinct value screened once), values
    screened; the structural rejects kept with the screening's."""
    from claims_audit.x12.read import ENCODING, read_x12

    lines = read_x12(path)
    _check_unchanged(path, before)  # the bytes parsed are the bytes hashed
    tables = [_codes_encoded(join_repeated(lines.table))]
    lines.table = None  # `canonical_rows` holds the only reference to the lines
    frame, screened, ids = canonical_rows(
        tables, lines.source_rows, path, max_field_bytes, lines.undecodable
    )
    return RawInput(
        path=path,
        frame=frame,
        encoding=ENCODING,
        sha256=lines.sha256,
        rows_read=lines.rows_read,
        rejects=_file_rejects(lines.rejects, screened),
        patient_ids=ids,
    )


def read_input(
    path: Path,
    aliases: dict[str, str] | None = None,
    max_field_bytes: int = MAX_FIELD_BYTES,
    fallback: str | None = None,
) -> RawInput:
    """Read one CSV or Parquet file into canonical columns plus `source_row` (1-based data row).

    Malformed records and values that cannot be trusted (undecodable bytes, NUL bytes, longer
    than `max_field_bytes`) are V006 rejects; every record read is in the frame or the rejects.
    `fallback`: when `path` is a piece of a CSV file that is not valid UTF-8 (`--engine
    dask`), that file's encoding (`choose_fallback_encoding`): the piece is decoded as the
    whole file is, even where its own bytes would be read otherwise.
    """
    aliases = aliases or {}
    path = Path(path)
    head, before = _open_regular(path)
    kind = _sniff_kind(path, head)
    if kind == "x12":
        return _x12_input(path, before, max_field_bytes)
    sha256, utf8_valid = scan_file(path, before)
    utf8_valid &= fallback is None
    bad_rows: list[dict] = []
    undecodable = False
    if kind == "parquet":
        table, undecodable = read_parquet(path, aliases)
        encoding = "parquet"
    else:
        table, encoding, bad_rows, undecodable = _read_csv(
            path, aliases, max_field_bytes, utf8_valid, fallback
        )
    _check_unchanged(path, before)  # the bytes parsed are the bytes hashed
    rows_read = table.num_rows + len(bad_rows)
    good_rows, bad_numbers = _source_rows(table.num_rows, bad_rows)
    tables, table = [table], None  # `canonical_rows` holds the only reference
    frame, rejects, ids = canonical_rows(tables, good_rows, path, max_field_bytes, undecodable)
    return RawInput(
        path=path,
        frame=frame,
        encoding=encoding,
        sha256=sha256,
        rows_read=rows_read,
        rejects=_file_rejects(_malformed_rejects(path, bad_rows, bad_numbers), rejects),
        patient_ids=ids,
    )
