"""Write an audit's outputs into the output directory, all or nothing (see `StagedOutput`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.audit import AuditResult
from pipeline.privacy import mask_id
from pipeline.report.writers import StagedOutput, write_csv, write_json, write_parquet, write_text
from schemas.claims import PHI_FIELDS

FORMATS = ("csv", "parquet", "html", "xlsx")
DEFAULT_FORMATS = ("csv", "parquet", "html")


def parse_formats(text: str) -> tuple[str, ...]:
    """`csv,parquet,html` -> validated tuple; raises ValueError naming an unknown format."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    return formats


RECORD_WITHHELD = "(record withheld: may hold PHI; --show-phi shows it)"


def masked_rejects(rejects: pd.DataFrame, show_phi: bool) -> pd.DataFrame:
    """Rejects as written: PHI values masked unless the user opted in with --show-phi.

    A whole-record reject (V006, no column) carries the raw record text, patient id included,
    so its text is withheld too.
    """
    if show_phi:
        return rejects
    phi = rejects["column"].isin(PHI_FIELDS)
    value = rejects["value"].astype("string")
    whole_record = rejects["column"].fillna("").astype(str).eq("") & value.fillna("").ne("")
    out = rejects.copy()
    out["value"] = value.where(~phi, mask_id(value)).where(~whole_record, RECORD_WITHHELD)
    return out


def write_outputs(
    result: AuditResult, out_dir: Path, formats=DEFAULT_FORMATS, show_phi: bool = False
) -> list[Path]:
    """Write findings, rejects, summary.json and the requested report formats atomically."""
    written = []
    with StagedOutput(out_dir) as out:
        if "csv" in formats:
            write_csv(result.findings, out.path("findings.csv"))
            written.append("findings.csv")
        if "parquet" in formats:
            write_parquet(result.findings, out.path("findings.parquet"))
            written.append("findings.parquet")
        write_csv(masked_rejects(result.rejects, show_phi), out.path("rejects.csv"))
        written.append("rejects.csv")
        if result.resolved is not None:
            write_csv(result.resolved, out.path("resolved.csv"))
            written.append("resolved.csv")
        if "html" in formats:
            from pipeline.report.html import render_html

            write_text(render_html(result, show_phi=show_phi), out.path("report.html"))
            written.append("report.html")
        if "xlsx" in formats:
            from pipeline.report.xlsx import write_xlsx

            write_xlsx(result, out.path("findings.xlsx"), show_phi=show_phi)
            written.append("findings.xlsx")
        write_json(result.summary, out.path("summary.json"))
        written.append("summary.json")
    return [Path(out_dir) / name for name in written]
