"""The `claims-audit` command line: a thin layer over the pipeline's library functions.

Exit codes: 0 ran and found nothing at or above --fail-on; 1 found something at or above it;
2 could not run (bad arguments, unreadable input, missing column, bad reference or config).
"""

from __future__ import annotations

import sys
import traceback
from datetime import datetime
from pathlib import Path

import click

from pipeline import __version__
from pipeline.cli_reference import reference
from pipeline.cli_sample import sample
from pipeline.errors import PipelineError

EXAMPLE_RUN = """
\b
Example:
  claims-audit run sample_data/claims.csv --config sample_data/audit.toml --out audit-out
"""


class AuditGroup(click.Group):
    """Maps every PipelineError to one line on stderr and exit 2 (traceback only with --debug)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"claims-audit: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=AuditGroup)
@click.version_option(__version__, prog_name="claims-audit")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Audit drug claim lines (HCPCS J-codes) against CMS reference data."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _load(reference, config_path):
    from pipeline.config import load_config
    from pipeline.reference import load_bundle
    from pipeline.rules import REGISTRY

    config = load_config(config_path, rule_codes=set(REGISTRY))
    return load_bundle(reference), config


def _progress(enabled: bool):
    """Stage-by-stage progress on stderr, for a person at a terminal (silent in cron/CI logs)."""
    if not enabled:
        return None

    def show(stage: str, seconds: float | None, rows: int | None) -> None:
        count = f" {rows:,} rows" if rows is not None else ""
        if seconds is None:
            click.echo(f"\r  {stage}...{count}".ljust(60), err=True, nl=False)
        else:
            click.echo(f"\r  {stage}{count} in {seconds:.1f}s".ljust(60), err=True)

    return show


@main.command(epilog=EXAMPLE_RUN)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (default audit-out/<timestamp>).",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="Reference bundle directory (default: the starter bundle in reference/).",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="audit.toml")
@click.option(
    "--engine", type=click.Choice(["pandas", "dask"]), default="pandas", show_default=True
)
@click.option("--scheduler", help="Dask scheduler address (default: a local cluster).")
@click.option(
    "--format",
    "formats",
    default="csv,parquet,html",
    show_default=True,
    help="Comma-separated: csv, parquet, html, xlsx.",
)
@click.option("--history", multiple=True, help="Prior claims for frequency rules (F002).")
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, path_type=Path),
    help="A previous run's output directory: mark findings new or persisting.",
)
@click.option(
    "--suppress",
    "suppress_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of accepted findings (finding_id, reason, expires) to silence.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "never"]),
    help="Exit 1 when a finding at or above this severity exists (default: config, else error).",
)
@click.option("--show-phi", is_flag=True, help="Do not mask patient ids in rejects and reports.")
@click.option(
    "--max-reject-rate",
    type=click.FloatRange(0, 1),
    help="Exit 1 when rows rejected / rows read exceeds this (0..1); outputs are still written.",
)
@click.option(
    "--max-field-bytes",
    type=click.IntRange(1024, 1 << 30),
    help="A value longer than this many bytes is rejected (V006); default 65536.",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def run(
    inputs,
    out_dir,
    reference,
    config_path,
    engine,
    scheduler,
    formats,
    history,
    baseline,
    suppress_file,
    fail_on,
    show_phi,
    max_reject_rate,
    max_field_bytes,
    quiet,
) -> None:
    """Run the whole audit on INPUT files, directories or globs (CSV or Parquet)."""
    from pipeline.audit import run_audit
    from pipeline.report.outputs import parse_formats, write_outputs

    try:
        chosen = parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    bundle, config = _load(reference, config_path)
    progress = _progress(sys.stderr.isatty() and not quiet)
    if engine == "dask":
        from pipeline.engines.dask_engine import run_audit_dask

        result = run_audit_dask(
            inputs, bundle, config, history=history, scheduler=scheduler, progress=progress
        )
    else:
        result = run_audit(
            inputs,
            bundle,
            config,
            history=history,
            progress=progress,
            max_field_bytes=max_field_bytes,
        )
    too_many_rejects = reject_rate_exceeded(result.summary, max_reject_rate)
    if baseline or suppress_file:
        from pipeline.report.baseline import compare_with_baseline

        compare_with_baseline(result, baseline, suppress_file)
    out_dir = out_dir or Path("audit-out") / datetime.now().strftime("%Y%m%dT%H%M%S")
    write_outputs(result, out_dir, chosen, show_phi=show_phi)
    code = result.exit_code(fail_on or config.fail_on)
    if not quiet:
        click.echo(format_summary(result.summary, out_dir))
    if too_many_rejects:
        click.echo(f"claims-audit: {too_many_rejects}", err=True)
        code = max(code, 1)
    sys.exit(code)


def reject_rate_exceeded(summary: dict, max_rate: float | None) -> str | None:
    """Record the reject rate in the summary; the one-line reason when it exceeds `max_rate`."""
    if max_rate is None:
        return None
    read, rejected = summary["totals"]["rows_read"], summary["totals"]["rows_rejected"]
    rate = rejected / read if read else 0.0
    exceeded = rate > max_rate
    summary["reject_rate"] = {"rate": round(rate, 6), "max": max_rate, "exceeded": exceeded}
    if not exceeded:
        return None
    return (
        f"reject rate {rate:.2%} ({rejected:,} of {read:,} rows) exceeds "
        f"--max-reject-rate {max_rate:g}; outputs written, exit 1"
    )


def format_summary(summary: dict, out_dir: Path) -> str:
    t, sev, imp = summary["totals"], summary["findings_by_severity"], summary["impact"]
    top = sorted(
        (
            (v["count"], code, v["name"])
            for code, v in summary["findings_by_rule"].items()
            if v["count"]
        ),
        reverse=True,
    )[:8]
    lines = [
        f"claims-audit {summary['tool_version']}: {t['rows_read']:,} rows read, "
        f"{t['rows_audited']:,} audited, {t['rows_rejected']:,} rejected "
        f"({t['lines_not_audited_out_of_scope']:,} CPT lines out of scope)",
        f"findings: {t['findings']:,} ({sev['error']:,} errors, {sev['warning']:,} warnings) "
        f"on {t['lines_with_findings']:,} lines",
        f"impact: missed revenue ${imp['missed_revenue_usd']:,.2f}, "
        f"overpayment risk ${imp['overpayment_risk_usd']:,.2f}",
    ]
    base = summary.get("baseline")
    if base:
        lines.append(
            f"since the baseline: {base['new']:,} new, {base['persisting']:,} persisting, "
            f"{base['resolved']:,} resolved; {base['suppressed']:,} suppressed"
        )
    if top:
        lines.append("top rules: " + ", ".join(f"{c} {n} ({k})" for k, c, n in top))
    lines.append(f"outputs: {out_dir}/ (took {summary['timings_seconds']['total']:.2f}s)")
    return "\n".join(lines)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="audit.toml")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rejects to this CSV file.",
)
def validate(inputs, config_path, out_file) -> None:
    """Schema check only: count good and rejected rows, no rules. Exit 1 if any row is rejected."""
    from pipeline.audit import validate_files
    from pipeline.config import load_config
    from pipeline.report.outputs import masked_rejects
    from pipeline.report.writers import write_csv

    config = load_config(config_path)
    raws, checked = validate_files(inputs, config)
    for raw in raws:
        rejected = checked.rows_rejected.get(str(raw.path), 0)
        click.echo(
            f"{raw.path}: {raw.rows_read:,} rows read, {raw.rows_read - rejected:,} valid, "
            f"{rejected:,} rejected ({raw.encoding})"
        )
    rejects = masked_rejects(checked.rejects, show_phi=False)
    for rec in rejects.head(20).itertuples():
        click.echo(f"  {rec.reason_code} {rec.message}" + (f" [{rec.value}]" if rec.value else ""))
    if len(rejects) > 20:
        click.echo(f"  ... {len(rejects) - 20:,} more")
    if out_file:
        write_csv(rejects, out_file)
    sys.exit(1 if len(rejects) else 0)


@main.group(invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="audit.toml")
@click.pass_context
def rules(ctx: click.Context, config_path) -> None:
    """List the rule catalog (code, name, category, severity after config, enabled)."""
    ctx.obj["rules_config"] = config_path
    if ctx.invoked_subcommand:
        return
    from pipeline.config import load_config
    from pipeline.rules import REGISTRY

    config = load_config(config_path, rule_codes=set(REGISTRY))
    click.echo(f"{'code':<6}{'name':<30}{'category':<11}{'severity':<9}enabled")
    for code in sorted(REGISTRY):
        r = REGISTRY[code]
        sev = config.severity.get(code, r.severity)
        enabled = "no" if code in config.disable else "yes"
        click.echo(f"{code:<6}{r.name:<30}{r.category:<11}{sev:<9}{enabled}")


@rules.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print one rule's What it checks / Why it matters / Example / Fix / Source."""
    from pipeline.rules import REGISTRY

    found = REGISTRY.get(code.strip().upper())
    if found is None:
        raise PipelineError(f"unknown rule code {code!r} (see `claims-audit rules`)")
    click.echo(found.explain())


main.add_command(reference)
main.add_command(sample)
