"""Reading a bundle's `manifest.json` and printing it for people (`reference show`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims_audit.reference import read_manifest as _read_checked


def read_manifest(bundle_dir: Path | str) -> dict:
    """The manifest of the bundle in `bundle_dir`, checked for shape (see
    `claims_audit.reference.read_manifest`). Raises BundleError when absent, not JSON or
    ill-shaped."""
    return _read_checked(Path(bundle_dir))


def format_manifest(manifest: dict, where: Path | str | None = None) -> str:
    """Provenance, periods, row counts, short hashes, tool version and build time, as text."""
    lines = [
        f"reference bundle {where or ''}".rstrip(),
        f"  kind {manifest.get('kind', '?')}, format {manifest.get('format', '?')}",
        f"  {_built(manifest)}",
        "",
        "sources:",
    ]
    sources = pd.DataFrame(
        [
            {
                "table": s.get("table", ""),
                "file": s.get("file", ""),
                "product": s.get("product", ""),
                "period": _period(s.get("effective_period")),
                "rows": s.get("rows", ""),
                "sha256": (s.get("sha256") or "")[:12],
            }
            for s in manifest.get("sources", [])
        ]
    )
    lines += (
        ["  " + line for line in sources.to_string(index=False).splitlines()]
        if len(sources)
        else ["  (none listed)"]
    )
    lines += ["", "tables:"]
    lines += [
        f"  {name:<16}{_rows(entry):>8}  {_short_sha(entry)}".rstrip()
        for name, entry in manifest.get("tables", {}).items()
    ]
    scalar = {
        k: v for k, v in manifest.get("stats", {}).items() if isinstance(v, int | float | str)
    }
    if scalar:
        lines += ["", "stats:"] + [f"  {k}: {v}" for k, v in scalar.items()]
    return "\n".join(lines)


def _built(manifest: dict) -> str:
    """When and by which version the bundle was built; the starter bundle (`built_at` null) is
    curated, not built."""
    version = f"claims-audit {manifest.get('tool_version') or '?'}"
    built_at = manifest.get("built_at")
    if built_at:
        return f"built {built_at} by {version}"
    if manifest.get("kind") == "starter":
        return f"starter bundle (not built from CMS files), written by {version}"
    return f"build time not recorded, by {version}"


def _period(period: dict | None) -> str:
    if not period or not (period.get("start") or period.get("end")):
        return "-"
    return f"{period.get('start') or '?'}..{period.get('end') or '?'}"


def _rows(entry: object) -> object:
    return entry.get("rows", "?") if isinstance(entry, dict) else entry


def _short_sha(entry: object) -> str:
    return str(entry.get("sha256") or "")[:12] if isinstance(entry, dict) else ""
