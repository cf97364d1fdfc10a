"""`claims-audit reference ...`: build, show and compare reference bundles (SPEC section 4).

Each command is a few lines over `claims_audit.reference_build`. Errors are `PipelineError`s,
which the main CLI turns into one line and exit 2 (any other exception: exit 3, see
`claims_audit.cli.main`). `diff --out` replaces only an earlier diff file (its first line is the
diff's header).

The builder (pandas, pyarrow, pandera) is imported only when a command runs, through the small
wrappers below, so that `claims-audit --help` and `--version` start at once.
"""

from __future__ import annotations

from pathlib import Path

import click

from claims_audit.errors import set_stage

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
PAYMENT_LIMIT_CHANGES = ("payment_limit_added", "payment_limit_removed", "payment_limit_changed")


def build_bundle(*args, **kwargs) -> dict:
    """`claims_audit.reference_build.build_bundle`, imported when a build runs."""
    from claims_audit.reference_build import build_bundle as build

    return build(*args, **kwargs)


def read_manifest(bundle_dir: Path | None) -> dict:
    """The manifest of `bundle_dir` (None: the starter bundle), checked for shape."""
    from claims_audit.reference_build.show import read_manifest as read

    return read(_bundle_dir(bundle_dir))


def diff_bundles(old: Path, new: Path):
    """`claims_audit.reference_build.diff_bundles`, imported when a diff runs."""
    from claims_audit.reference_build import diff_bundles as diff

    return diff(old, new)


def format_manifest(manifest: dict, where: Path | str | None = None) -> str:
    """`claims_audit.reference_build.show.format_manifest`, imported when a command prints it."""
    from claims_audit.reference_build.show import format_manifest as show

    return show(manifest, where)


def _bundle_dir(bundle_dir: Path | None) -> Path:
    """`--reference`, else the starter bundle's directory."""
    from claims_audit.reference import DEFAULT_REFERENCE_DIR

    return DEFAULT_REFERENCE_DIR if bundle_dir is None else bundle_dir


def _shown_changes(changes):
    """The changes as printed: payment limits in dollars per billing unit (`$29.457`, the ASP
    file's three places), empty cells blank. `--out` keeps the plain numbers."""
    from claims_audit.money import format_usd

    shown = changes.astype(object).where(changes.notna(), "")
    limits = changes["change_type"].isin(PAYMENT_LIMIT_CHANGES)
    for column in ("old", "new"):
        values = changes.loc[limits, column].dropna()
        shown.loc[values.index, column] = [format_usd(float(v), decimals=3) for v in values]
    return shown


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
@click.option(
    "--curated",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of the hand-curated tables (cpt_modifiers, container, drug_policy .csv) "
    "to use instead of the ones shipped with claims-audit.",
)
def build(
    hcpcs_zip, asp_pricing, asp_crosswalk, mue_practitioner, mue_outpatient, opps, out_dir, curated
):
    """Build a reference bundle from the official CMS files, as downloaded."""
    set_stage("reference build")
    # the packaged curated tables unless --curated is given (build_bundle's own default)
    overrides = {} if curated is None else {"curated_dir": curated}
    manifest = build_bundle(
        hcpcs_zip,
        asp_pricing,
        asp_crosswalk,
        mue_practitioner,
        mue_outpatient,
        opps,
        out_dir=out_dir,
        **overrides,
    )
    click.echo(format_manifest(manifest, out_dir))


@reference.command(epilog=EXAMPLE_SHOW)
@click.option(
    "--reference",
    "bundle_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle directory (default: the packaged starter bundle).",
)
def show(bundle_dir):
    """Which sources, periods, row counts and hashes a bundle holds, and when it was built."""
    set_stage("reference show")
    click.echo(format_manifest(read_manifest(bundle_dir), _bundle_dir(bundle_dir)))


@reference.command(epilog=EXAMPLE_DIFF)
@click.argument("old", type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=_FILE, help="Also write the changes to this CSV file.")
def diff(old, new, out_file):
    """What changed from bundle OLD to bundle NEW: codes added/terminated, billing units, MUE,
    payment limits, NDCs."""
    from claims_audit.report.writers import check_file_replaceable

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
    click.echo(_shown_changes(changes).to_string(index=False))
