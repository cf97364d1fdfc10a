"""Write an audit's outputs into the output directory, all or nothing (see `StagedOutput`),
and refuse an output directory that would replace something the tool did not write."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

from claims_audit.audit import AuditResult
from claims_audit.errors import OutputError
from claims_audit.privacy import masked_rejects
from claims_audit.report.writers import (
    StagedOutput,
    check_replaceable,
    write_csv,
    write_csv_frames,
    write_json,
    write_parquet_frames,
    write_text,
)

FORMATS = ("csv", "parquet", "html", "xlsx")
DEFAULT_FORMATS = ("csv", "parquet", "html")


def parse_formats(text: str) -> tuple[str, ...]:
    """`csv,parquet,html` -> validated tuple; raises ValueError naming an unknown format."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    return formats


def _real_paths(item) -> list[Path]:
    """`item` (a file, directory or glob as given) and what a glob matches, symlinks resolved."""
    text = str(item)
    hits = glob.glob(text) if any(c in text for c in "*?[") else []
    return [Path(os.path.realpath(p)) for p in (text, *hits)]


def check_out_dir(out_dir: Path, protected: dict[str, list], replace: bool = True) -> None:
    """Refuse (OutputError, exit 2) an output directory that is the working directory or one
    of its parents, that is or holds (at any depth) a path of `protected` (label -> paths: the
    inputs, the baseline, the suppress file, ...), or (`replace`) an existing directory that is
    not an earlier claims-audit output (`check_replaceable`)."""
    out = Path(os.path.realpath(out_dir))
    cwd = Path(os.path.realpath(os.getcwd()))
    if out == cwd or out in cwd.parents:
        raise OutputError(
            f"--out {out_dir}: is the current directory or one of its parents; refusing to "
            "replace it: choose a new directory"
        )
    for label, paths in protected.items():
        for item in paths:
            for real in _real_paths(item):
                if real == out or out in real.parents:
                    raise OutputError(
                        f"--out {out_dir}: is or holds {label} ({item}); refusing to replace "
                        "it: choose a directory outside it"
                    )
    if replace:
        check_replaceable(Path(out_dir))


def write_outputs(
    result: AuditResult,
    out_dir: Path,
    formats=DEFAULT_FORMATS,
    show_phi: bool = False,
    replace: bool = True,
    progress: Callable[[str, float | None], None] | None = None,
) -> list[Path]:
    """Write findings, rejects, summary.json and the requested report formats atomically.

    `replace`: `out_dir` may be an earlier claims-audit output, replaced whole; else an existing
    `out_dir` is kept and the outputs go to `out_dir-2`, `-3`, ... The paths returned are in the
    directory actually written. `progress(name, None)` is called before each file is written
    and `progress(name, seconds)` after it."""
    planned: list[str] = []
    with StagedOutput(out_dir, replace=replace) as out, ThreadPoolExecutor(1) as alongside:
        pending: list[tuple[str, Future]] = []

        def timed(writer: Callable[[Path], object], path: Path) -> float:
            start = time.perf_counter()
            writer(path)
            return time.perf_counter() - start

        def write(name: str, writer: Callable[[Path], object], background: bool = False) -> None:
            planned.append(name)
            if progress:
                progress(name, None)
            path = out.path(name)  # here, not on the thread: it lists the name in the marker
            if background:  # Parquet's writer lets go the GIL: it runs beside the next files
                pending.append((name, alongside.submit(timed, writer, path)))
                return
            seconds = timed(writer, path)
            if progress:
                progress(name, seconds)

        if "parquet" in formats:  # findings read a range at a time, once per format
            parquet = partial(write_parquet_frames, result.finding_frames())
            write("findings.parquet", parquet, background=True)
        if "csv" in formats:
            write("findings.csv", lambda path: write_csv_frames(result.finding_frames(), path))
        write("rejects.csv", lambda path: write_csv(masked_rejects(result.rejects, show_phi), path))
        if result.resolved is not None:
            write("resolved.csv", lambda path: write_csv(result.resolved, path))
        if "html" in formats:
            from claims_audit.report.html import render_html

            write(
                "report.html", lambda path: write_text(render_html(result, show_phi=show_phi), path)
            )
        if "xlsx" in formats:
            from claims_audit.report.xlsx import write_xlsx

            write("findings.xlsx", lambda path: write_xlsx(result, path, show_phi=show_phi))
        for name, future in pending:  # an error of the file written alongside is raised here
            seconds = future.result()
            if progress:
                progress(name, seconds)
        write("summary.json", lambda path: write_json(result.summary, path))
    return [out.target / name for name in planned]
