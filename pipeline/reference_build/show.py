"""Reading a bundle's `manifest.json` and printing it for people (`reference show`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.errors import BundleError


def read_manifest(bundle_dir: Path | str) -> dict:
    """The manifest of the bundle in `bundle_dir`. Raises BundleError when absent or not JSON."""
    path = Path(bundle_dir) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"reference bundle {bundle_dir}: manifest.json is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"reference bundle {path}: cannot read ({exc})") from None


def format_manifest(manifest: dict, where: Path | str | None = None) -> str:
    """Provenance, periods, row counts, short hashes, tool version and build time, as text."""
    lines = [
        f"reference bundle {where or ''}".rstrip(),
        f"  kind {manifest.get('kind', '?')}, format {manifest.get('format', '?')}",
        f"  built {manifest.get('built_at', '?')}"
        f" by claims-audit {manifest.get('tool_version', '?')}",
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
    lines += [f"  {name:<16}{rows:>8}" for name, rows in manifest.get("tables", {}).items()]
    scalar = {
        k: v for k, v in manifest.get("stats", {}).items() if isinstance(v, int | float | str)
    }
    if scalar:
        lines += ["", "stats:"] + [f"  {k}: {v}" for k, v in scalar.items()]
    return "\n".join(lines)


def _period(period: dict | None) -> str:
    if not period or not (period.get("start") or period.get("end")):
        return "-"
    return f"{period.get('start') or '?'}..{period.get('end') or '?'}"
