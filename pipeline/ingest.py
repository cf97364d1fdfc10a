"""Ingest: read claim extracts (CSV or Parquet; file, directory or glob) into canonical columns.

Every value comes out as a string (or NA); typing is the validator's job. Headers are matched
case-insensitively after trimming, then through the `[columns]` alias table of the config.
CSV is read with pyarrow: UTF-8 (with or without BOM), falling back to cp1252; malformed
records are kept as V006 rejects, never dropped silently.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.columns import recode
from pipeline.errors import InputError
from schemas.claims import FIELDS, IDENTIFIERS, REQUIRED

INPUT_SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
REJECT_COLUMNS = ["source_file", "source_row", "column", "value", "reason_code", "message"]


@dataclass
class RawInput:
    """One input file read into canonical string columns, with its provenance."""

    path: Path
    frame: pd.DataFrame  # canonical columns present in the file + `source_row` (1-based)
    encoding: str
    sha256: str
    rows_read: int
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))


def resolve_inputs(inputs: tuple[str, ...] | list[str]) -> list[Path]:
    """Expand files, directories and globs into a sorted, de-duplicated list of input files."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            hits = [p for p in sorted(path.iterdir()) if p.suffix.lower() in INPUT_SUFFIXES]
            if not hits:
                raise InputError(f"{item}: directory holds no .csv or .parquet file")
            found.extend(hits)
        elif path.is_file():
            found.append(path)
        else:
            hits = [Path(p) for p in sorted(glob.glob(item)) if Path(p).is_file()]
            if not hits:
                raise InputError(f"{item}: no such file, directory or matching glob")
            found.extend(hits)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def map_columns(header: list[str], aliases: dict[str, str], source: Path) -> dict[str, str]:
    """Map header names to canonical names; InputError (V001) when a required one is missing."""
    alias_map = {k.strip().lower(): v for k, v in aliases.items()}
    canonical = set(FIELDS)
    mapping: dict[str, str] = {}
    for name in header:
        key = name.strip().lower().lstrip("\ufeff")
        target = alias_map.get(key, key)
        if target in canonical and target not in mapping.values():
            mapping[name] = target
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        raise InputError(
            f"{source}: required column {', '.join(missing)} is missing (V001); "
            f"header has: {', '.join(h.strip() for h in header)[:300]}"
        )
    return mapping


def _csv_header(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    text = head.decode(encoding, errors="replace")
    first = next(csv.reader(io.StringIO(text)), None)
    if not first:
        raise InputError(f"{path}: file is empty (no header row)")
    return first


def _read_csv(path: Path, aliases: dict[str, str]) -> tuple[pa.Table, str, list[dict]]:
    bad_rows: list[dict] = []

    def on_invalid(row) -> str:
        bad_rows.append(
            {
                "number": row.number,
                "text": row.text,
                "expected": row.expected_columns,
                "actual": row.actual_columns,
            }
        )
        return "skip"

    for encoding in ("utf-8", "cp1252"):
        header = _csv_header(path, encoding)
        mapping = map_columns(header, aliases, path)
        for use_threads in (True, False):
            bad_rows.clear()
            try:
                table = pacsv.read_csv(
                    path,
                    read_options=pacsv.ReadOptions(
                        encoding=encoding,
                        block_size=1 << 24,
                        column_names=header,
                        skip_rows=1,
                        use_threads=use_threads,
                    ),
                    parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=list(mapping),
                        column_types={name: _text_type(mapping[name]) for name in mapping},
                        strings_can_be_null=True,
                    ),
                )
            except pa.ArrowInvalid as exc:
                if encoding == "utf-8" and "UTF8" in str(exc).upper().replace("-", ""):
                    break
                message = str(exc).splitlines()[0]
                raise InputError(f"{path}: cannot be read as CSV ({message})") from None
            # the threaded reader cannot number bad records: read again single-threaded
            if all(b["number"] is not None for b in bad_rows):
                table = table.rename_columns([mapping[n] for n in table.column_names])
                return table, encoding, bad_rows
    raise InputError(f"{path}: cannot be decoded as UTF-8 or cp1252")


def _read_parquet(path: Path, aliases: dict[str, str]) -> pa.Table:
    try:
        schema = pq.read_schema(path)
        mapping = map_columns(schema.names, aliases, path)
        text = [n for n in mapping if pa.types.is_string(schema.field(n).type)
                and mapping[n] not in IDENTIFIERS]
        table = pq.read_table(path, columns=list(mapping), read_dictionary=text)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]})"
        ) from None
    return table.rename_columns([mapping[n] for n in table.column_names])


def _text_type(canonical: str) -> pa.DataType:
    """Identifiers are read as plain strings, every other text column dictionary-encoded."""
    return pa.string() if canonical in IDENTIFIERS else pa.dictionary(pa.int32(), pa.string())


def _as_canonical(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Identifiers become trimmed strings (empty -> null); other text is dictionary-encoded
    (trimmed later, once per distinct value); typed numbers and dates (Parquet) stay typed."""
    kind = column.type
    if name in IDENTIFIERS:
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        column = pc.utf8_trim_whitespace(column.cast(pa.string()))
        return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    if pa.types.is_dictionary(kind):
        if not pa.types.is_string(kind.value_type):
            column = column.cast(pa.dictionary(kind.index_type, pa.string()))
        return column.unify_dictionaries()
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return column.cast(pa.float64())
    if pa.types.is_temporal(kind):
        return column
    return column.cast(pa.string()).dictionary_encode().unify_dictionaries()


def _trim(values: pd.Series) -> pd.Series:
    return values.str.strip().replace("", pd.NA)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow table -> pandas: identifiers as Arrow strings, other text as trimmed categoricals."""
    table = pa.table(
        [_as_canonical(table[name], name) for name in table.column_names],
        names=table.column_names,
    )
    frame = table.to_pandas(
        types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get, split_blocks=True
    )
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = recode(frame[name], _trim)
    return frame


def read_input(path: Path, aliases: dict[str, str] | None = None) -> RawInput:
    """Read one CSV or Parquet file into canonical string columns plus `source_row`."""
    aliases = aliases or {}
    kind = INPUT_SUFFIXES.get(path.suffix.lower(), "csv")
    bad_rows: list[dict] = []
    if kind == "parquet":
        table, encoding = _read_parquet(path, aliases), "parquet"
    else:
        table, encoding, bad_rows = _read_csv(path, aliases)
    frame = to_frame(table)
    # source_row: 1-based data record number, skipping the records rejected as malformed
    n_total = len(frame) + len(bad_rows)
    bad_numbers = sorted({b["number"] - 1 for b in bad_rows if b["number"] and b["number"] > 0})
    good_numbers = pd.Index(range(1, n_total + 1)).difference(pd.Index(bad_numbers))
    if len(good_numbers) != len(frame):  # line numbers unavailable: fall back to order
        good_numbers = pd.RangeIndex(1, len(frame) + 1)
    frame["source_row"] = good_numbers.to_numpy()[: len(frame)]
    rejects = pd.DataFrame(
        {
            "source_file": str(path),
            "source_row": [
                b["number"] - 1 if b["number"] and b["number"] > 0 else None for b in bad_rows
            ],
            "column": "",
            "value": [str(b["text"])[:80] for b in bad_rows],
            "reason_code": "V006",
            "message": [
                f"malformed CSV record: {b['actual']} fields, expected {b['expected']}"
                for b in bad_rows
            ],
        },
        columns=REJECT_COLUMNS,
    )
    return RawInput(
        path=path,
        frame=frame,
        encoding=encoding,
        sha256=file_sha256(path),
        rows_read=len(frame) + len(bad_rows),
        rejects=rejects,
    )
