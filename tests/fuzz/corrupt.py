"""Corrupted claim extracts for the fuzz properties, built from the sample data.

A *case* is plain data (a dict of strings, ints, bytes and tuples), so that any failure the fuzzer
finds can be pasted as an explicit `@example(case=...)`. `build(case)` turns it into the bytes of
a CSV or Parquet file, deterministically:

* `rows`: a slice of the sample's rows (start, count);
* `edits`: changes to the table before it is written: a cell or header replaced by a token
  (control characters, NUL, huge numbers, non-ASCII digits, dates out of range, formulas, ...),
  two columns swapped, a column dropped or duplicated;
* `retype` (Parquet only): a column written as another Arrow type (huge integers, special
  floats, time-zone-aware or out-of-range timestamps, dates, binary with invalid UTF-8, nested
  lists and structs, dictionaries, decimals, durations, nulls);
* `format` (CSV only): encoding (UTF-8 with or without BOM, cp1252, Latin-1, UTF-16),
  delimiter and line ends (LF, CRLF, lone CR);
* `options` (Parquet only): dictionary encoding, row-group size, data page version, compression;
* `damage`: byte-level damage of the written file: bits flipped, bytes inserted or deleted,
  a range duplicated, the file truncated.

Positions are taken modulo the size they index, so a case stays valid for any sample size.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from tests.conftest import SAMPLE

MAX_ROWS = 40

TOKENS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m",
    "\x7f",
    "\r",
    "line\rbreak",
    "line\nbreak",
    "\r\n",
    "\t",
    '"',
    '""',
    '"quoted, with comma"',
    ",",
    ";",
    "|",
    "\ufeff",
    "\u202e",
    "\u200b",
    "\ud7ff",
    "\U0001f600",
    "é",
    "Ã©",
    "NULL",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "1e309",
    "-1e308",
    "1e-320",
    "5e-324",
    "-0",
    "0",
    "-1",
    "0.0000001",
    "9007199254740993",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "9" * 400,
    "1" * 5000,
    "0x1F",
    "1_000",
    "1,5",
    "١١",
    "٩٦٤١٣",
    "１２",
    "J９０",
    "𝟗𝟔𝟒𝟏𝟑",
    "²",
    "1678-01-01",
    "1677-09-21",
    "2262-04-12",
    "9999-12-31",
    "0001-01-01",
    "0000-00-00",
    "2026-02-30",
    "02/30/2026",
    "13/13/2026",
    "20261301",
    "2026-01-01T10:00:00+00:00",
    "2026-01-01 25:00",
    '=HYPERLINK("http://x","y")',
    "+1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "&amp;",
    "]]>",
    "{{ config }}",
    "medicare",
    "MEDICARE ",
    "institutional",
    "J9999",
    "J0897",
    "96413",
    "JW JZ",
    "JW,JZ,JW,25,59",
    "00000-0000-00",
    "N412345678901",
    "UN",
    "mg",
    "7",
    "8",
    "x" * 70_000,
]

TOKEN = st.sampled_from(TOKENS) | st.text(max_size=12)
POSITION = st.integers(0, 2**31)

EDIT = st.one_of(
    st.tuples(st.just("cell"), POSITION, POSITION, TOKEN),
    st.tuples(st.just("header"), POSITION, TOKEN),
    st.tuples(st.just("swap"), POSITION, POSITION),
    st.tuples(st.just("drop"), POSITION),
    st.tuples(st.just("duplicate"), POSITION),
)
RETYPES = [
    "int64",
    "uint64",
    "int8",
    "float64",
    "bool",
    "timestamp",
    "timestamp_tz",
    "timestamp_bad_tz",
    "timestamp_ns",
    "date32",
    "binary",
    "large_string",
    "dictionary",
    "list",
    "struct",
    "decimal",
    "duration",
    "null",
]
RETYPE = st.tuples(POSITION, st.sampled_from(RETYPES))
DAMAGE = st.one_of(
    st.tuples(st.just("flip"), POSITION, st.integers(0, 7)),
    st.tuples(st.just("insert"), POSITION, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), POSITION, st.integers(1, 64)),
    st.tuples(st.just("duplicate"), POSITION, st.integers(1, 256)),
    st.tuples(st.just("truncate"), POSITION),
)
CSV_FORMATS = st.fixed_dictionaries(
    {
        "encoding": st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]),
        "delimiter": st.sampled_from([",", ";", "\t", "|"]),
        "newline": st.sampled_from(["\n", "\r\n", "\r"]),
    }
)
OPTIONS = st.fixed_dictionaries(
    {
        "dictionary": st.booleans(),
        "row_group_size": st.integers(1, 64),
        "page_version": st.sampled_from(["1.0", "2.0"]),
        "compression": st.sampled_from(["none", "snappy", "zstd", "gzip"]),
    }
)


@st.composite
def cases(draw) -> dict:
    """A corrupted extract: a CSV or Parquet file made from a slice of the sample."""
    kind = draw(st.sampled_from(["csv", "parquet"]))
    case = {
        "kind": kind,
        "rows": (draw(POSITION), draw(st.integers(1, MAX_ROWS))),
        "edits": tuple(draw(st.lists(EDIT, max_size=6))),
        # most files keep their bytes whole, so that the corrupted values reach the audit
        "damage": tuple(draw(st.lists(DAMAGE, max_size=3))) if draw(st.booleans()) else (),
    }
    if kind == "csv" and draw(st.booleans()):
        case["format"] = draw(CSV_FORMATS)
    if kind == "parquet":
        case["retype"] = tuple(draw(st.lists(RETYPE, max_size=3)))
        case["options"] = draw(OPTIONS)
    return case


# -- the sample ------------------------------------------------------------------------------


@cache
def sample_rows() -> tuple[list[str], list[list[str]]]:
    with (SAMPLE / "claims.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [row for row in reader if row]


def _slice(rows: list, start: int, count: int) -> list:
    start %= len(rows)
    return [rows[(start + k) % len(rows)] for k in range(count)]


def _apply_edits(header: list[str], rows: list[list[str]], edits) -> tuple[list, list]:
    header, rows = list(header), [list(r) for r in rows]
    for edit in edits:
        op, width = edit[0], len(header)
        if width == 0:
            break
        if op == "cell":
            row = rows[edit[1] % len(rows)]
            row[edit[2] % width] = edit[3]
        elif op == "header":
            header[edit[1] % width] = edit[2]
        elif op == "swap":  # the values move, the header stays: a shifted extract
            i, j = edit[1] % width, edit[2] % width
            for row in rows:
                row[i], row[j] = row[j], row[i]
        elif op == "drop":
            i = edit[1] % width
            del header[i]
            for row in rows:
                del row[i]
        elif op == "duplicate":
            i = edit[1] % width
            header.append(header[i])
            for row in rows:
                row.append(row[i])
    return header, rows


def _damage(data: bytes, damage) -> bytes:
    for op in damage:
        if not data:
            return data
        at = op[1] % len(data)
        if op[0] == "flip":
            data = data[:at] + bytes([data[at] ^ (1 << op[2])]) + data[at + 1 :]
        elif op[0] == "insert":
            data = data[:at] + op[2] + data[at:]
        elif op[0] == "delete":
            data = data[:at] + data[at + op[2] :]
        elif op[0] == "duplicate":
            data = data[:at] + data[at : at + op[2]] + data[at:]
        elif op[0] == "truncate":
            data = data[:at]
    return data


CSV_FORMAT = {"encoding": "utf-8", "delimiter": ",", "newline": "\n"}


def _csv_bytes(header: list[str], rows: list[list[str]], form: dict) -> bytes:
    """Fields joined raw (no quoting): a token holding a delimiter, a quote or a line break
    breaks its record, as in a hand-made or badly exported extract."""
    sep, newline = form["delimiter"], form["newline"]
    text = newline.join([sep.join(header), *(sep.join(r) for r in rows)]) + newline
    encoding = form["encoding"]
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    return text.encode(encoding, errors=errors)


# -- Parquet ---------------------------------------------------------------------------------

_INTS = [1, 0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 20260101, 96413]
_FLOATS = [1.5, float("nan"), float("inf"), float("-inf"), 1e308, 5e-324, -0.0, 1e-7]
_DATES = [
    dt.date(2026, 1, 15),
    dt.date(1, 1, 1),
    dt.date(9999, 12, 31),
    dt.date(1678, 1, 1),
    dt.date(2262, 4, 12),
    dt.date(1899, 12, 31),
]


def _cycle(values: list, n: int) -> list:
    return [values[k % len(values)] for k in range(n)]


def _retyped(column: pa.Array, kind: str) -> pa.Array:
    n = len(column)
    try:  # the column's values as text, for the kinds that keep them
        texts = [None if v is None else str(v) for v in column.to_pylist()]
    except Exception:  # e.g. a timestamp with an unknown time zone, retyped again
        texts = [None] * n
    if kind == "int64":
        return pa.array(_cycle(_INTS, n), pa.int64())
    if kind == "uint64":
        return pa.array(_cycle([0, 1, 2**64 - 1, 2**63], n), pa.uint64())
    if kind == "int8":
        return pa.array(_cycle([-128, 0, 1, 127, None], n), pa.int8())
    if kind == "float64":
        return pa.array(_cycle(_FLOATS, n), pa.float64())
    if kind == "bool":
        return pa.array(_cycle([True, False, None], n), pa.bool_())
    if kind in ("timestamp", "timestamp_tz", "timestamp_bad_tz"):
        stamps = [dt.datetime.combine(d, dt.time(10, 30)) for d in _cycle(_DATES, n)]
        tz = {
            "timestamp": None,
            "timestamp_tz": "America/Chicago",
            "timestamp_bad_tz": "Mars/Olympus",
        }
        return pa.array(stamps, pa.timestamp("us", tz=tz[kind]))
    if kind == "timestamp_ns":
        return pa.array(
            _cycle([0, 2**63 - 1, -(2**63) + 1, 1767225600 * 10**9], n), pa.int64()
        ).cast(pa.timestamp("ns"))
    if kind == "date32":
        return pa.array(_cycle(_DATES, n), pa.date32())
    if kind == "binary":
        raw = [(t or "").encode("utf-8", errors="surrogatepass") + b"\xff\xfe" for t in texts]
        return pa.array(raw, pa.binary())
    if kind == "large_string":
        return pa.array(texts, pa.large_string())
    if kind == "dictionary":
        return pa.array(texts, pa.string()).dictionary_encode()
    if kind == "list":
        return pa.array([[t, t] for t in texts], pa.list_(pa.string()))
    if kind == "struct":
        return pa.array([{"value": t} for t in texts], pa.struct([("value", pa.string())]))
    if kind == "decimal":
        values = _cycle([decimal.Decimal("1.5"), decimal.Decimal("-0.0000000001"), None], n)
        return pa.array(values, pa.decimal128(38, 10))
    if kind == "duration":
        return pa.array(_cycle([0, 86400, -1], n), pa.duration("s"))
    return pa.nulls(n)


def _parquet_bytes(header: list[str], rows: list[list[str]], retype, options: dict) -> bytes:
    columns = []
    for i in range(len(header)):
        values = [None if row[i] in ("",) else row[i] for row in rows]
        columns.append(pa.array(values, pa.string()))
    for position, kind in retype:
        if columns:
            i = position % len(columns)
            columns[i] = _retyped(columns[i], kind)
    fields = [pa.field(name, col.type) for name, col in zip(header, columns, strict=True)]
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        use_dictionary=options["dictionary"],
        row_group_size=options["row_group_size"],
        data_page_version=options["page_version"],
        compression=options["compression"],
    )
    return sink.getvalue()


def build(case: dict) -> bytes:
    """The bytes of the file a case describes."""
    header, rows = sample_rows()
    header, rows = _apply_edits(header, _slice(rows, *case["rows"]), case["edits"])
    if case["kind"] == "csv":
        data = _csv_bytes(header, rows, {**CSV_FORMAT, **case.get("format", {})})
    else:
        data = _parquet_bytes(header, rows, case.get("retype", ()), case["options"])
    return _damage(data, case["damage"])


def write_case(case: dict, directory: Path) -> Path:
    path = directory / f"claims.{case['kind']}"
    path.write_bytes(build(case))
    return path
