"""The `claims-audit` command line: a thin layer over the pipeline's library functions.

Exit codes (every command): 0 ran and found nothing at or above --fail-on; 1 found something
at or above it, --max-reject-rate was exceeded, or an input with rows had none audited; 2 could
not run (a `PipelineError`: bad arguments, unreadable input, missing column, bad reference or
config, an --out that would replace something the tool did not write), one line; 3 internal
error (any other exception), one line naming its type and stage, the traceback in a crash file;
130 interrupted (Ctrl-C), one line.

Start-up imports only click and this package's small modules: pandas, pyarrow, pandera, the
rules and the reference builder are imported inside the commands that use them, so that
`--version` and `--help` answer at once.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path

import click

from claims_audit import __version__
from claims_audit.cli.convert import convert
from claims_audit.cli.reference import reference
from claims_audit.cli.sample import sample
from claims_audit.errors import PipelineError, current_stage, one_line, set_stage
from claims_audit.money import format_usd

EXAMPLE_RUN = """
\b
Example:
  claims-audit run sample_data/claims.csv --config sample_data/audit.toml --out audit-out/today
"""
CRASH_PREFIX = "claims-audit-crash-"
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 3


def write_crash_file(exc: BaseException, stage: str) -> Path:
    """The traceback of an internal error in a new file of the temp directory (`$TMPDIR`, else
    /tmp): `claims-audit-crash-<timestamp>-<pid>.txt`, mode 0600 (the exception's message may
    quote a value of the input)."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    text = (
        f"claims-audit {__version__}: internal error in {stage}\n"
        f"python {platform.python_version()} on {platform.platform()}\n"
        f"command: {' '.join(sys.argv)}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for k in range(1, 100):
        suffix = "" if k == 1 else f"-{k}"
        path = Path(tempfile.gettempdir()) / f"{CRASH_PREFIX}{stamp}-{os.getpid()}{suffix}.txt"
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        return path
    raise FileExistsError(f"{CRASH_PREFIX}{stamp}-{os.getpid()}*.txt")


def internal_error_line(exc: BaseException, stage: str, where: str) -> str:
    """The one line of an internal error: the exception's type and the stage, never its message
    (which may quote patient data)."""
    return (
        f"claims-audit: internal error: {type(exc).__name__} in {stage}; please report it "
        f"(details: {where})"
    )


class AuditGroup(click.Group):
    """The exit codes of every command: a PipelineError is one line and exit 2; Ctrl-C one line
    and 130; any other exception one line, a crash file and exit 3 (tracebacks on stderr only
    with --debug). click's own exits and usage errors pass through."""

    def invoke(self, ctx: click.Context):
        set_stage("startup")
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            click.echo("claims-audit: error: " + one_line(str(exc)), err=True)
            sys.exit(2)
        except (
            click.exceptions.ClickException,
            click.exceptions.Exit,
            click.exceptions.Abort,
            BrokenPipeError,  # `claims-audit rules | head`: click's own handling
        ):
            raise
        except KeyboardInterrupt:
            start = "\n" if sys.stderr.isatty() else ""  # after the terminal's ^C
            click.echo(f"{start}claims-audit: interrupted (Ctrl-C) in {current_stage()}", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            stage = current_stage()
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            try:
                where = str(write_crash_file(exc, stage))
            except OSError as err:
                where = f"no crash file ({err.strerror or err}): rerun with --debug"
            click.echo(internal_error_line(exc, stage, where), err=True)
            sys.exit(EXIT_INTERNAL)


@click.group(cls=AuditGroup)
@click.version_option(__version__, prog_name="claims-audit")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (on stderr).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Audit drug claim lines (HCPCS J-codes) against CMS reference data."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _load(reference, config_path):
    from claims_audit.config import load_config
    from claims_audit.reference import load_bundle
    from claims_audit.rules import REGISTRY

    config = load_config(config_path, rule_codes=set(REGISTRY))
    return load_bundle(reference), config


def stderr_is_terminal() -> bool:
    """Whether a person is watching stderr (progress is shown), not a log file or a pipe."""
    return sys.stderr.isatty()


def _progress(enabled: bool):
    """Stage-by-stage progress on stderr, for a person at a terminal (silent in cron/CI logs).
    Either way the stage is recorded (`set_stage`) for an internal-error line."""

    def show(stage: str, seconds: float | None, rows: int | None) -> None:
        set_stage(stage.split(":")[0] if seconds is None else f"audit (after {stage})")
        if not enabled:
            return
        count = f" {rows:,} rows" if rows is not None else ""
        if seconds is None:
            click.echo(f"\r  {stage}...{count}".ljust(60), err=True, nl=False)
        else:
            click.echo(f"\r  {stage}{count} in {seconds:.1f}s".ljust(60), err=True)

    return show


def _write_progress(enabled: bool):
    """Each output file as it is written, on stderr at a terminal (None: silent)."""
    if not enabled:
        return None

    def show(name: str, seconds: float | None) -> None:
        if seconds is None:
            click.echo(f"\r  writing {name}...".ljust(60), err=True, nl=False)
        else:
            click.echo(f"\r  wrote {name} in {seconds:.1f}s".ljust(60), err=True)

    return show


@main.command(epilog=EXAMPLE_RUN)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--out",
    "out_dir",
    help="Output directory or URL, e.g. s3://bucket/audits/today (default audit-out/<timestamp>).",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    help="Reference bundle directory (default: the packaged starter bundle).",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="audit.toml")
@click.option(
    "--engine", type=click.Choice(["pandas", "dask"]), default="pandas", show_default=True
)
@click.option("--scheduler", help="Dask scheduler address (default: a local cluster).")
@click.option(
    "--scratch",
    help="--engine dask: directory or URL (s3://...) every worker can reach for the shuffle "
    "(default: beside --out).",
)
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
@click.option(
    "--workers",
    type=click.IntRange(1, 512),
    help="Worker processes of the local engine (default: every core; one for a small input).",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (on stderr).")
def run(
    inputs,
    out_dir,
    reference,
    config_path,
    engine,
    scheduler,
    scratch,
    formats,
    history,
    baseline,
    suppress_file,
    fail_on,
    show_phi,
    max_reject_rate,
    max_field_bytes,
    workers,
    quiet,
    debug,
) -> None:
    """Run the whole audit on INPUT files, directories or globs (CSV, Parquet, X12 837).

    --out replaces only an earlier claims-audit output (or an empty directory); without it the
    outputs go to a new audit-out/<timestamp>/ (never an earlier run's)."""
    started = time.perf_counter()  # "took": the whole command, the imports and writing included
    from claims_audit.audit import run_audit
    from claims_audit.report.outputs import parse_formats

    if debug:
        click.get_current_context().find_root().obj["debug"] = True
    set_stage("arguments")
    try:
        chosen = parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    replace = out_dir is not None
    out_dir = _out_location(out_dir, inputs, engine)
    protected = _protected(inputs, history, baseline, suppress_file, config_path, reference)
    _check_out(out_dir, protected, replace)
    set_stage("load config and reference")
    bundle, config = _load(reference, config_path)
    compared = _baseline_inputs(baseline, suppress_file)  # checked before the audit runs
    interactive = stderr_is_terminal() and not quiet
    progress = _progress(interactive)
    set_stage("audit")
    common = {"history": history, "progress": progress, "max_field_bytes": max_field_bytes}
    if engine == "dask":
        from claims_audit.run.dask import run_audit_dask

        scratch = scratch or _default_scratch(out_dir)
        result = run_audit_dask(
            inputs, bundle, config, scheduler=scheduler, scratch=scratch, **common
        )
    else:
        result = run_audit(inputs, bundle, config, workers=workers, **common)
    with result:  # the findings held in the scratch area until they are written
        set_stage("summary")
        too_many_rejects = reject_rate_exceeded(result.summary, max_reject_rate)
        if compared is not None:
            from claims_audit.report.baseline import compare_with_baseline

            set_stage("baseline")
            compare_with_baseline(result, baseline, suppress_file, inputs=compared)
        set_stage("write outputs")
        writing = time.perf_counter()
        options = {"show_phi": show_phi, "progress": _write_progress(interactive)}
        out_dir = _write(result, out_dir, chosen, replace, options)
        finished = time.perf_counter()
    set_stage("summary")
    code = result.exit_code(fail_on or config.fail_on)
    if not quiet:
        took = {"total": finished - started, "writing": finished - writing}
        click.echo(format_summary(result.summary, out_dir, took=took))
    for problem in (too_many_rejects, none_audited(result.summary)):
        if problem:
            click.echo(f"claims-audit: {problem}", err=True)
            code = max(code, 1)
    sys.exit(code)


def _baseline_inputs(baseline: Path | None, suppress_file: Path | None):
    """The --baseline findings and --suppress entries, read and checked (None: neither given);
    a bad one is exit 2 before the audit, not after it."""
    if not (baseline or suppress_file):
        return None
    from claims_audit.report.baseline import load_baseline_inputs

    set_stage("baseline")
    return load_baseline_inputs(baseline, suppress_file)


def _out_location(out: str | None, inputs, engine: str) -> Path | str:
    """--out as a local `Path` (a `file://` URL too), or a remote URL (`str`). Inputs given as
    URLs need --engine dask."""
    from claims_audit.storage import is_remote, local_text

    remote = [i for i in inputs if is_remote(i)]
    if remote and engine != "dask":
        raise PipelineError(f"{remote[0]}: inputs given as URLs are read by --engine dask")
    if out is None:
        return Path("audit-out") / datetime.now().strftime("%Y%m%dT%H%M%S")
    return out if is_remote(out) else Path(local_text(out))


def _check_out(out_dir: Path | str, protected: dict, replace: bool) -> None:
    from claims_audit.report.outputs import check_out_dir

    if isinstance(out_dir, Path):
        check_out_dir(out_dir, protected, replace=replace)
    else:
        from claims_audit.storage import check_out_url

        check_out_url(out_dir, protected)


def _write(result, out_dir: Path | str, formats, replace: bool, options: dict) -> Path | str:
    """Write the outputs (`write_outputs`) into a local --out, or publish them to a URL; where
    they went (without --out, maybe audit-out/<timestamp>-2)."""
    from claims_audit.report.outputs import write_outputs

    if isinstance(out_dir, str):  # a URL
        from claims_audit.storage import publish_outputs

        publish_outputs(lambda local: write_outputs(result, local, formats, **options), out_dir)
        return out_dir
    written = write_outputs(result, out_dir, formats, replace=replace, **options)
    return written[0].parent


def _default_scratch(out_dir: Path | str) -> str:
    """The dask engine's scratch area without --scratch: beside the output."""
    from claims_audit.storage import default_scratch

    return default_scratch(out_dir)


def _protected(inputs, history, baseline, suppress_file, config_path, reference) -> dict:
    """What --out must neither be nor hold: every path the run reads."""
    from claims_audit.reference import DEFAULT_REFERENCE_DIR

    return {
        "an input": list(inputs),
        "a --history file": list(history),
        "the --baseline directory": [baseline] if baseline else [],
        "the --suppress file": [suppress_file] if suppress_file else [],
        "the --config file": [config_path] if config_path else [],
        "the reference bundle": [reference or DEFAULT_REFERENCE_DIR],
    }


def none_audited(summary: dict) -> str | None:
    """The one-line reason when an input file with rows had none of them audited (every row
    rejected): a scheduler must not read that as a clean audit."""
    empty = [f for f in summary["inputs"] if f["rows_read"] and not f["rows_audited"]]
    if not empty:
        return None
    rows = sum(f["rows_read"] for f in empty)
    names = ", ".join(str(f["path"]) for f in empty[:3])
    more = f" and {len(empty) - 3:,} more files" if len(empty) > 3 else ""
    return (
        f"no row of {names}{more} was audited: all {rows:,} rows rejected (see rejects.csv); exit 1"
    )


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


def format_summary(summary: dict, out_dir: Path, took: dict[str, float] | None = None) -> str:
    """The lines `run` prints. `took`: the command's seconds, `total` (from the start of the
    command to the last output written) and `writing` (the outputs); without it, the audit's
    own total from the summary."""
    t, sev, imp = summary["totals"], summary["findings_by_severity"], summary["impact"]
    top = sorted(
        (
            (v["count"], code, v["name"])
            for code, v in summary["findings_by_rule"].items()
            if v["count"]
        ),
        reverse=True,
    )[:8]
    # the quarters the dollar impacts are priced at: ` (ASP 2026Q1, OPPS 2025Q4 rates)`
    quarters = [
        f"{name.upper()} {r['quarter']}"
        for name, r in (summary.get("rates") or {}).items()
        if r and r.get("quarter")
    ]
    lines = [
        f"claims-audit {summary['tool_version']}: {t['rows_read']:,} rows read, "
        f"{t['rows_audited']:,} audited, {t['rows_rejected']:,} rejected "
        f"({t['lines_not_audited_out_of_scope']:,} CPT lines: MUE check only)",
        f"findings: {t['findings']:,} ({sev['error']:,} errors, {sev['warning']:,} warnings) "
        f"on {t['lines_with_findings']:,} lines",
        f"impact: missed revenue {format_usd(imp['missed_revenue_usd'])}, "
        f"overpayment risk {format_usd(imp['overpayment_risk_usd'])}"
        + (f" ({', '.join(quarters)} rates)" if quarters else ""),
    ]
    if summary.get("void_lines"):
        lines.append(f"void claims: {summary['void_lines']:,} lines counted, not audited")
    lines += [
        f"reference period: {notice}" for notice in summary.get("reference_period_notices", [])
    ]
    gaps = sorted(
        (-sum(c["not_evaluated"].values()), code, c["not_evaluated"])
        for code, c in (summary.get("coverage_by_rule") or {}).items()
        if c["not_evaluated"]
    )
    if gaps:
        shown = ", ".join(f"{code} {-n:,} ({', '.join(why)})" for n, code, why in gaps[:6])
        more = f" and {len(gaps) - 6} more rules" if len(gaps) > 6 else ""
        lines.append(f"lines not evaluated (an input missing): {shown}{more}; see coverage_by_rule")
    base = summary.get("baseline")
    if base:
        lines.append(
            f"since the baseline: {base['new']:,} new, {base['persisting']:,} persisting, "
            f"{base['resolved']:,} resolved; {base['suppressed']:,} suppressed"
        )
    if top:
        lines.append("top rules: " + ", ".join(f"{c} {n} ({k})" for k, c, n in top))
    if took is None:
        timing = f"took {summary['timings_seconds']['total']:.2f}s"
    else:
        timing = f"took {took['total']:.2f}s, writing the outputs {took['writing']:.2f}s"
    lines.append(f"outputs: {out_dir}/ ({timing})")
    return "\n".join(lines)


REJECTS_HEADER_PREFIX = "source_file,source_row,"  # the first line of every rejects CSV


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
    from claims_audit.audit import validate_files
    from claims_audit.config import load_config
    from claims_audit.privacy import masked_rejects
    from claims_audit.report.outputs import check_out_dir
    from claims_audit.report.writers import check_file_replaceable, write_csv_file

    set_stage("validate")
    if out_file:
        protected = {
            "an input": list(inputs),
            "the --config file": [config_path] * bool(config_path),
        }
        check_out_dir(out_file, protected, replace=False)
        check_file_replaceable(out_file, REJECTS_HEADER_PREFIX, "rejects file")
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
        write_csv_file(rejects, out_file)
    sys.exit(1 if len(rejects) else 0)


@main.group(invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="audit.toml")
@click.pass_context
def rules(ctx: click.Context, config_path) -> None:
    """List the rule catalog (code, name, category, severity after config, enabled)."""
    ctx.obj["rules_config"] = config_path
    set_stage("rules")
    if ctx.invoked_subcommand:
        return
    from claims_audit.config import load_config
    from claims_audit.rules import REGISTRY

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
    from claims_audit.rules import REGISTRY

    set_stage("rules explain")
    found = REGISTRY.get(code.strip().upper())
    if found is None:
        raise PipelineError(f"unknown rule code {code!r} (see `claims-audit rules`)")
    click.echo(found.explain())


main.add_command(reference)
main.add_command(sample)
main.add_command(convert)
