"""`claims-audit convert`: the canonical claim lines of any input (837, CSV, Parquet), unaudited.

The file written holds what the audit reads, before validation: `source_file`, `source_row`
and the canonical text columns each input carries. Lines refused while reading (an 837 claim
whose envelope is broken, a malformed CSV record) are not in it; the command counts them and
`claims-audit validate` lists them. `--out` replaces only an earlier `convert` output (Parquet:
its schema metadata says so; CSV: its header starts with `source_file,source_row,`).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from claims_audit.errors import OutputError, set_stage

CONVERT_MARK = b"claims-audit-convert"  # Parquet schema metadata key of a convert output
HEADER_PREFIX = "source_file,source_row,"  # the first line of a convert CSV output
EXAMPLE_CONVERT = """
\b
Example:
  claims-audit convert claims.837 --out lines.csv
  claims-audit convert extracts/ --out lines.parquet --config audit.toml
"""


def _format(out_file: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "parquet" if out_file.suffix.lower() in (".parquet", ".pq") else "csv"


def check_convert_output(out_file: Path, fmt: str) -> None:
    """An existing `out_file` may be replaced only when `convert` wrote it (OutputError)."""
    from claims_audit.report.writers import check_file_replaceable

    if not os.path.lexists(out_file):
        return
    if fmt == "csv":
        check_file_replaceable(out_file, HEADER_PREFIX, "convert output")
        return
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(out_file).metadata or {}
    except Exception:  # not Parquet at all (pyarrow raises several kinds)
        metadata = {}
    if CONVERT_MARK not in metadata or os.path.islink(out_file):
        raise OutputError(
            f"{out_file}: exists and is not an earlier `claims-audit convert` output; refusing "
            "to replace it: choose a new file name"
        )


def canonical_lines(inputs, config) -> tuple:
    """The lines of every input (frame with source_file first) and the rows read / refused."""
    import pandas as pd

    from claims_audit.ingest import read_input, resolve_inputs
    from claims_audit.schemas.claims import FIELDS

    frames, read, refused = [], 0, 0
    for path in resolve_inputs(inputs):
        raw = read_input(path, config.columns)
        frame = raw.frame.astype("string")
        frame.insert(0, "source_file", str(path))
        frames.append(frame)
        read += raw.rows_read
        refused += raw.rejects.drop_duplicates("source_row").shape[0]
    lines = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    present = [c for c in FIELDS if c in lines.columns]
    lines = lines[["source_file", "source_row", *present]]
    lines["source_row"] = lines["source_row"].astype("int64")
    return lines, read, refused


def write_lines(lines, out_file: Path, fmt: str) -> None:
    """The lines to `out_file`, atomically (a temp file beside it, then a rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from claims_audit.report.writers import write_csv, write_file_atomically

    def parquet(tmp: Path) -> None:
        table = pa.Table.from_pandas(lines, preserve_index=False)
        pq.write_table(table.replace_schema_metadata({CONVERT_MARK: b"1"}), tmp, compression="zstd")

    write_file_atomically(out_file, parquet if fmt != "csv" else lambda tmp: write_csv(lines, tmp))


@click.command(epilog=EXAMPLE_CONVERT)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .parquet or .csv (replaces only an earlier convert output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    help="Output format (default: from the --out suffix, else csv).",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="audit.toml")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def convert(inputs, out_file, fmt, config_path, quiet) -> None:
    """Write the canonical claim lines of INPUT files, directories or globs (837P/837I, CSV
    or Parquet) without auditing them: exactly what `run` reads, before validation."""
    from claims_audit.config import load_config
    from claims_audit.report.outputs import check_out_dir

    set_stage("convert")
    fmt = _format(out_file, fmt)
    protected = {"an input": list(inputs), "the --config file": [config_path] * bool(config_path)}
    check_out_dir(out_file, protected, replace=False)
    check_convert_output(out_file, fmt)
    config = load_config(config_path)
    lines, read, refused = canonical_lines(inputs, config)
    write_lines(lines, out_file, fmt)
    if not quiet:
        click.echo(
            f"wrote {len(lines):,} lines to {out_file} ({read:,} rows read, {refused:,} refused "
            "while reading: `claims-audit validate` lists them)"
        )
