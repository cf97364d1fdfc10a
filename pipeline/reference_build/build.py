"""`build_bundle`: the official CMS files as downloaded -> a reference bundle directory.

The bundle is written to a temporary directory beside `out_dir` and renamed into place only when
every table is built and valid, so a failed build leaves `out_dir` exactly as it was. The
manifest's `tables` gives each table's file, row count and the sha256 of the file as written,
which `claims_audit.reference.load_bundle` checks before it uses the table.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import claims_audit.reference_build.asp as asp
import claims_audit.reference_build.hcpcs as hcpcs
from claims_audit import __version__
from claims_audit.errors import ReferenceBuildError
from claims_audit.reference import MANIFEST_FORMAT, table_entry
from claims_audit.reference_build.curated import read_curated, validated
from claims_audit.reference_build.mue import mue_table
from claims_audit.reference_build.opps import opps_table
from claims_audit.reference_build.sources import Fixes
from claims_audit.resources import curated_dir as packaged_curated_dir
from claims_audit.schemas.reference import TABLE_SCHEMAS

SORT_KEYS = {
    "hcpcs": ["hcpcs_code"],
    "modifiers": ["modifier"],
    "ndc_crosswalk": ["ndc11", "hcpcs_code", "source"],
    "payment_limits": ["hcpcs_code"],
    "mue": ["hcpcs_code", "setting"],
    "opps": ["hcpcs_code"],
    "container": ["ndc11", "hcpcs_code", "container", "source"],
    "drug_policy": ["hcpcs_code", "ndc11", "source"],
}


def build_bundle(
    hcpcs_zip: Path | str,
    asp_pricing: Path | str,
    asp_crosswalk: Path | str,
    mue_practitioner: Path | str,
    mue_outpatient: Path | str,
    opps: Path | str | None = None,
    *,
    out_dir: Path | str,
    curated_dir: Path | str | None = None,
) -> dict:
    """Build every table of `claims_audit.schemas.reference.TABLE_SCHEMAS` into `out_dir`;
    return the manifest.

    Raises ReferenceBuildError (one line naming the file and what is wrong) when a source is
    unreadable or has the wrong layout; `out_dir` is then left untouched. `curated_dir` holds
    the hand-curated tables (None: the packaged ones, `claims_audit.resources.curated_dir()`).
    """
    started = time.perf_counter()
    given = {
        "hcpcs_zip": hcpcs_zip,
        "asp_pricing": asp_pricing,
        "asp_crosswalk": asp_crosswalk,
        "mue_practitioner": mue_practitioner,
        "mue_outpatient": mue_outpatient,
        "opps": opps,
    }
    files = {name: Path(path) for name, path in given.items() if path is not None}
    curated = Path(curated_dir if curated_dir is not None else packaged_curated_dir()).resolve()
    out = Path(out_dir).resolve()
    _check_out_dir(out, [curated, *files.values()])
    for path in files.values():
        if not path.is_file():
            raise ReferenceBuildError(f"{path}: file not found")

    fixes = Fixes()
    tables, sources, stats = _build_tables(files, curated, fixes)
    for name in TABLE_SCHEMAS:
        df = tables[name].sort_values(SORT_KEYS[name], kind="mergesort", na_position="last")
        files = ", ".join(sorted({s["file"] for s in sources if s["table"] == name}))
        tables[name] = validated(name, df.reset_index(drop=True), f"{name} built from {files}")
    stats["source_rows_fixed"] = fixes.as_dict()
    stats["build_seconds"] = round(time.perf_counter() - started, 2)
    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "cms",
        "tool_version": __version__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": sources,
        "tables": {},  # file, rows and sha256 of each table, filled in as it is written
        "stats": stats,
    }
    _write_atomically(out, tables, manifest)
    return manifest


def _build_tables(
    files: dict[str, Path], curated_dir: Path, fixes: Fixes
) -> tuple[dict[str, pd.DataFrame], list[dict], dict]:
    """Read every source; return the tables, the manifest's source entries and stats."""
    hcpcs_file = hcpcs.read_hcpcs_zip(files["hcpcs_zip"])
    pricing, pricing_src = asp.read_pricing(files["asp_pricing"], fixes)
    crosswalk, crosswalk_src = asp.ndc_crosswalk_table(files["asp_crosswalk"], fixes)
    mue_p, mue_p_src = mue_table(files["mue_practitioner"], "practitioner", fixes)
    mue_o, mue_o_src = mue_table(files["mue_outpatient"], "outpatient_hospital", fixes)
    opps_df, opps_src = opps_table(files.get("opps"), fixes)
    cpt_modifiers, cpt_src = read_curated(curated_dir, "cpt_modifiers", "modifiers")
    container, container_src = read_curated(curated_dir, "container", "container")
    drug_policy, policy_src = read_curated(curated_dir, "drug_policy", "drug_policy")

    hcpcs_df, stats = hcpcs.hcpcs_table(hcpcs_file, pricing, pricing_src)
    modifiers_df, modifier_stats = hcpcs.modifiers_table(hcpcs_file, cpt_modifiers)
    stats.update(modifier_stats)
    tables = {
        "hcpcs": hcpcs_df,
        "modifiers": modifiers_df,
        "ndc_crosswalk": crosswalk,
        "payment_limits": asp.payment_limits_table(pricing, pricing_src, fixes),
        "mue": pd.concat([mue_p, mue_o], ignore_index=True),
        "opps": opps_df,
        "container": container,
        "drug_policy": drug_policy,
    }
    sources = [
        hcpcs_file.source.manifest_entry("hcpcs", len(hcpcs_df)),
        pricing_src.manifest_entry("hcpcs", stats["hcpcs_codes_with_asp_dosage"])
        | {"product": f"{asp.PRICING_PRODUCT} (dosage column: billing unit)"},
        hcpcs_file.source.manifest_entry("modifiers", modifier_stats["modifiers_from_hcpcs"]),
        cpt_src.manifest_entry("modifiers", modifier_stats["modifiers_from_curated"]),
        crosswalk_src.manifest_entry("ndc_crosswalk", len(crosswalk)),
        pricing_src.manifest_entry("payment_limits", len(tables["payment_limits"])),
        mue_p_src.manifest_entry("mue", len(mue_p)),
        mue_o_src.manifest_entry("mue", len(mue_o)),
        *([opps_src.manifest_entry("opps", len(opps_df))] if opps_src else []),
        container_src.manifest_entry("container", len(container)),
        policy_src.manifest_entry("drug_policy", len(drug_policy)),
    ]
    return tables, sources, stats


def _check_out_dir(out: Path, inputs: list[Path]) -> None:
    """Refuse an out_dir whose replacement would destroy something that is not a bundle."""
    for path in inputs:
        resolved = path.resolve()
        if resolved == out or out in resolved.parents:
            raise ReferenceBuildError(
                f"{path}: an input lies inside the output directory {out}, which the build replaces"
            )
    if out.exists() and not out.is_dir():
        raise ReferenceBuildError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        own = _bundle_files(out)
        if own is None:
            raise ReferenceBuildError(
                f"{out}: exists, is not empty and is not a reference bundle; refusing to replace it"
            )
        foreign = sorted(p.name for p in out.iterdir() if p.name not in own)
        if foreign:
            raise ReferenceBuildError(
                f"{out}: holds files the bundle did not write ({', '.join(foreign[:3])}); "
                "refusing to replace it"
            )


def _bundle_files(directory: Path) -> set[str] | None:
    """The names a bundle's manifest says it wrote (tables and the manifest), or None when the
    directory holds no readable bundle manifest."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        tables = manifest["tables"]
        names = {str(entry["file"]) for entry in tables.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if any("/" in n or n in ("", ".", "..") for n in names):
        return None
    return names | {"manifest.json"}


def _remove_bundle_dir(directory: Path) -> None:
    """Remove an earlier bundle: only the files its manifest lists, then the directory (which
    stays, with whatever else is in it, if the bundle did not write everything there)."""
    for name in _bundle_files(directory) or ():
        path = directory / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()


def _write_atomically(out: Path, tables: dict[str, pd.DataFrame], manifest: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.building-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir()
        for name, df in tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
            manifest["tables"][name] = table_entry(tmp / f"{name}.parquet", len(df))
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if out.exists():
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            out.rename(old)
            try:
                tmp.rename(out)
            except OSError:
                old.rename(out)
                raise
            _remove_bundle_dir(old)
        else:
            tmp.rename(out)
    except OSError as exc:
        raise ReferenceBuildError(f"{out}: cannot write the bundle ({exc})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
