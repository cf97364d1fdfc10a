"""`claims-audit sample ...`: synthetic claims with known, labelled defects (demos, benchmarks).

`generate --out FILE` replaces only an earlier generated file: one with its labels file
(`FILE.labels.parquet`) beside it; any other existing file is refused (exit 2).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from claims_audit.errors import OutputError, set_stage

EXAMPLE_GENERATE = """
\b
Example:
  claims-audit sample generate --rows 100000 --out claims.parquet --seed 7
  claims-audit run claims.parquet --out audit-out --fail-on never
  (claims.parquet.labels.parquet lists every planted defect: claim_id, line_number, rule_code)
"""


@click.group("sample")
def sample() -> None:
    """Synthetic claim data."""


@sample.command(epilog=EXAMPLE_GENERATE)
@click.option("--rows", type=click.IntRange(min=1), required=True, help="Claim lines to write.")
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (.csv, .parquet, or .837 for --format x12); labels go to "
    "<out>.labels.parquet.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "x12"]),
    help="Output format (default: from the file suffix, else csv). x12: one X12 5010 "
    "interchange, an 837P group (005010X222A1) for the professional claims and an 837I group "
    "(005010X223A2) for the institutional ones; dose columns are not written (an 837 has none).",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="Reference bundle to draw codes and NDCs from (default: the starter bundle).",
)
@click.option(
    "--defect-rate",
    type=click.FloatRange(0, 0.03),
    default=None,
    help="Fraction of claims carrying each planted defect (default 0.004 per rule).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1000),
    default=None,
    help="Lines generated and written per chunk (bounded memory; default 500000).",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def generate(rows, out_file, seed, fmt, reference, defect_rate, chunk_rows, quiet) -> None:
    """Write synthetic claim lines over the reference bundle's codes and NDCs, with defects
    planted at a known rate and listed in a labels file beside the output."""
    from claims_audit.generate import (
        DEFAULT_CHUNK_ROWS,
        DEFAULT_DEFECT_RATE,
        generate_claims,
        labels_path_for,
    )
    from claims_audit.reference import load_bundle

    set_stage("sample generate")
    if os.path.lexists(out_file) and not labels_path_for(out_file).is_file():
        raise OutputError(
            f"{out_file}: exists and is not an earlier `sample generate` output (no "
            f"{labels_path_for(out_file).name} beside it); refusing to replace it: choose a new "
            "file name"
        )
    bundle = load_bundle(reference)
    progress = None
    if sys.stderr.isatty() and not quiet:

        def progress(done: int, total: int) -> None:
            click.echo(f"\r  .. {done:,}/{total:,} lines", err=True, nl=done >= total)

    def write(path: Path, kind: str | None = fmt):
        return generate_claims(
            bundle,
            rows,
            path,
            seed=seed,
            fmt=kind,
            chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
            defect_rate=DEFAULT_DEFECT_RATE if defect_rate is None else defect_rate,
            progress=progress,
        )

    if fmt == "x12" or (fmt is None and out_file.suffix.lower() in (".837", ".x12", ".edi")):
        from claims_audit.x12.write import generated_as_837

        result = generated_as_837(lambda path: write(path, "parquet"), out_file, labels_path_for)
    else:
        result = write(out_file)
    if quiet:
        return
    planted = sum(result.planted.values())
    click.echo(
        f"wrote {result.rows:,} lines ({result.claims:,} claims, {result.patients:,} patients) "
        f"to {result.path}"
    )
    click.echo(f"labels: {result.labels_path} ({planted:,} planted findings)")
    if result.planted:
        click.echo("planted: " + ", ".join(f"{k} {v:,}" for k, v in result.planted.items()))
