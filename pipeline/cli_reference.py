"""`claims-audit reference ...`: build, show and compare reference bundles (SPEC section 4).

Each command is a few lines over `pipeline.reference_build`. Errors are `PipelineError`s, which the
main CLI turns into one line and exit 2 (any other exception: exit 3, see `pipeline.cli`). `diff
--out` replaces only an earlier diff file (its first line is the diff's header).
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.errors import set_stage
from pipeline.reference import DEFAULT_REFERENCE_DIR
from pipeline.reference_build import build_bundle, diff_bundles, format_manifest, read_manifest

EXAMPLE_BUILD = """
\b
Example (the files as downloaded from CMS):
  claims-audit reference build \\
    --hcpcs january-2026-alpha-numeric-hcpcs-file.zip \\
    --asp-pricing "January 2026 Medicare Part B Payment Limit File 121725.csv" \\
    --asp-crosswalk "January 2026 ASP NDC-HCPCS Crosswalk 121725.csv" \\
    --mue-practitioner MCR_MUE_PractitionerServices_Eff_04-01-2026.csv \\
    --mue-outpatient MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv \\
    --opps "508 version of October 2025 Web Addendum B.10.31.25.csv" \\
    --out reference-2026Q1
"""
EXAMPLE_SHOW = """
\b
Example:
  claims-audit reference show --reference reference-2026Q1
"""
EXAMPLE_DIFF = """
\b
Example:
  claims-audit reference diff reference-2025Q4 reference-2026Q1 --out changes.csv
"""

_FILE = click.Path(dir_okay=False, path_type=Path)
DIFF_HEADER_PREFIX = "change_type,"  # the first line of a `reference diff --out` file


@click.group("reference")
def reference() -> None:
    """Build, show and compare reference bundles."""


@reference.command(epilog=EXAMPLE_BUILD)
@click.option(
    "--hcpcs",
    "hcpcs_zip",
    required=True,
    type=_FILE,
    help="HCPCS Level II alpha-numeric file (the zip).",
)
@click.option("--asp-pricing", required=True, type=_FILE, help="ASP payment limit file (CSV).")
@click.option("--asp-crosswalk", required=True, type=_FILE, help="ASP NDC-HCPCS crosswalk (CSV).")
@click.option(
    "--mue-practitioner",
    required=True,
    type=_FILE,
    help="NCCI MUE table, practitioner services (CSV).",
)
@click.option(
    "--mue-outpatient",
    required=True,
    type=_FILE,
    help="NCCI MUE table, outpatient hospital services (CSV).",
)
@click.option("--opps", type=_FILE, help="OPPS Addendum B (CSV), optional.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle directory to write (replaced only when the new bundle is complete).",
)
def build(hcpcs_zip, asp_pricing, asp_crosswalk, mue_practitioner, mue_outpatient, opps, out_dir):
    """Build a reference bundle from the official CMS files, as downloaded."""
    set_stage("reference build")
    manifest = build_bundle(
        hcpcs_zip,
        asp_pricing,
        asp_crosswalk,
        mue_practitioner,
        mue_outpatient,
        opps,
        out_dir=out_dir,
    )
    click.echo(format_manifest(manifest, out_dir))


@reference.command(epilog=EXAMPLE_SHOW)
@click.option(
    "--reference",
    "bundle_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REFERENCE_DIR,
    show_default="the starter bundle in reference/",
    help="Bundle directory.",
)
def show(bundle_dir):
    """Which sources, periods, row counts and hashes a bundle holds."""
    set_stage("reference show")
    click.echo(format_manifest(read_manifest(bundle_dir), bundle_dir))


@reference.command(epilog=EXAMPLE_DIFF)
@click.argument("old", type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=_FILE, help="Also write the changes to this CSV file.")
def diff(old, new, out_file):
    """What changed from bundle OLD to bundle NEW: codes added/terminated, billing units, MUE,
    payment limits, NDCs."""
    from pipeline.report.writers import check_file_replaceable

    set_stage("reference diff")
    if out_file is not None:
        check_file_replaceable(out_file, DIFF_HEADER_PREFIX, "reference diff")
    changes = diff_bundles(old, new)
    if out_file is not None:
        changes.to_csv(out_file, index=False)
    if changes.empty:
        click.echo("no changes")
        return
    counts = changes["change_type"].value_counts().sort_index()
    click.echo("\n".join(f"{kind}: {n}" for kind, n in counts.items()) + "\n")
    click.echo(changes.fillna("").to_string(index=False))
