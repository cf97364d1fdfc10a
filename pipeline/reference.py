"""Load and check a reference bundle (SPEC section 4): Parquet or CSV tables plus `manifest.json`.

The manifest lists every table with its file, row count and sha256 (of the file as stored). A
table is used only when its bytes hash to the manifest's sha256 and hold the manifest's number
of rows, and then only when it passes its schema (`claims_audit.schemas.reference`: codes,
enumerations, and numbers finite and within range). Anything else (a missing table or manifest,
a table cut to its header, one changed byte, a payment limit of `inf`, a manifest of the wrong
shape) raises `BundleError` naming the table, which the CLI reports as one line and exit 2. The
bytes that are hashed are the bytes that are parsed, so a file replaced while it is read cannot
slip through.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.errors

from claims_audit.errors import BundleError
from claims_audit.resources import starter_bundle
from claims_audit.schemas.reference import OPTIONAL_TABLES, TABLE_SCHEMAS

# reference/ in a checkout, installed as claims_audit.starter
DEFAULT_REFERENCE_DIR = starter_bundle()
MANIFEST_FORMAT = "claims-audit-reference/2"  # /2: `tables` holds file, rows and sha256
TABLE_SUFFIXES = (".parquet", ".csv")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Bundle:
    """The reference tables of one bundle, validated, with its provenance."""

    path: Path
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def table_path(directory: Path, name: str) -> Path | None:
    """`<name>.parquet` or `<name>.csv` in a bundle directory (Parquet first); None when neither."""
    for suffix in TABLE_SUFFIXES:
        if (directory / f"{name}{suffix}").is_file():
            return directory / f"{name}{suffix}"
    return None


def parse_table(data: bytes, suffix: str) -> pd.DataFrame:
    """The table held by `data`, the bytes of a `.parquet` or `.csv` table file."""
    if suffix == ".parquet":
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""])


def read_table_file(directory: Path, name: str) -> pd.DataFrame | None:
    """Read `<name>.parquet` or `<name>.csv` from a directory, unverified (curated inputs of the
    builder); None when neither exists."""
    path = table_path(directory, name)
    return None if path is None else parse_table(path.read_bytes(), path.suffix)


def table_entry(path: Path, rows: int) -> dict:
    """The manifest's record of one table file: its name, row count and sha256."""
    return {"file": path.name, "rows": int(rows), "sha256": sha256_bytes(path.read_bytes())}


def validate_table(name: str, df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check one table against its schema; coerce types. Raises BundleError naming the problem."""
    schema = TABLE_SCHEMAS[name]
    if "is_noc" in df.columns and df["is_noc"].dtype == object:
        df = df.assign(is_noc=df["is_noc"].astype(str).str.lower().isin(["true", "1", "y", "yes"]))
    try:
        return schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        value = first["failure_case"]
        value = value.item() if hasattr(value, "item") else value  # np.float64(inf) -> inf
        raise BundleError(
            f"reference table {where}: {len(cases)} schema failure(s); first: column "
            f"{first['column']!r} check {first['check']!r} value {value!r}"
        ) from None
    except pandera.errors.SchemaError as exc:
        raise BundleError(f"reference table {where}: {exc}".splitlines()[0]) from None


def read_manifest(directory: Path) -> dict:
    """The bundle's `manifest.json`, checked for shape. Raises BundleError when it is missing,
    not a regular file, not JSON, too deeply nested, or not of the expected shape."""
    path = directory / "manifest.json"
    if not path.exists():
        raise BundleError(f"reference bundle {directory}: manifest.json is missing")
    if not path.is_file():
        raise BundleError(f"reference bundle {path}: not a regular file")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BundleError(f"reference bundle {path}: invalid JSON ({reason})") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise BundleError(f"reference bundle {path}: {problem}")
    return manifest


def _manifest_problem(manifest: object) -> str | None:
    """What is wrong with the shape of a manifest, or None."""
    if not isinstance(manifest, dict):
        return f"the manifest must be a JSON object, not {type(manifest).__name__}"
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        return "'tables' must be an object listing each table's file, rows and sha256"
    for name, entry in tables.items():
        if name not in TABLE_SCHEMAS:
            return f"'tables' lists an unknown table {name!r}"
        if not isinstance(entry, dict):
            return (
                f"tables.{name} must be an object with file, rows and sha256 (a bundle written "
                f"by an older claims-audit: rebuild it with `claims-audit reference build`)"
            )
        if entry.get("file") not in [f"{name}{s}" for s in TABLE_SUFFIXES]:
            return f"tables.{name}.file must be {name}.parquet or {name}.csv"
        rows = entry.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            return f"tables.{name}.rows must be a whole number of rows"
        if not isinstance(entry.get("sha256"), str) or not _SHA256.match(entry["sha256"]):
            return f"tables.{name}.sha256 must be 64 lower-case hex digits"
    sources = manifest.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        return "'sources' must be a list of objects"
    for i, source in enumerate(sources):
        period = source.get("effective_period")
        if period is None:
            continue
        if not isinstance(period, dict):
            return f"sources[{i}].effective_period must be an object with start and end"
        for key in ("start", "end"):
            value = period.get(key)
            if value is not None and not (isinstance(value, str) and _DATE.match(value)):
                return f"sources[{i}].effective_period.{key} must be a YYYY-MM-DD date or null"
        for key in ("table", "file", "product"):
            if not isinstance(source.get(key, ""), str):
                return f"sources[{i}].{key} must be text"
    return None


def _verified_table(directory: Path, name: str, entry: dict | None) -> pd.DataFrame | None:
    """The table `name`, read once, checked against its manifest entry (rows and sha256)."""
    found = table_path(directory, name)
    if entry is None:
        if found is None:
            return None
        raise BundleError(
            f"reference table {name!r}: {found} is not listed in manifest.json (no row count "
            f"or sha256 to check it against)"
        )
    path = directory / entry["file"]
    if not path.is_file():
        raise BundleError(f"reference table {name!r}: {path} is missing or not a regular file")
    if found is not None and found != path:
        raise BundleError(f"reference table {name!r}: both {found.name} and {path.name} exist")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"reference table {name!r}: cannot read {path} ({exc})") from None
    digest = sha256_bytes(data)
    try:
        df = parse_table(data, path.suffix)
    except Exception:  # pyarrow / csv parse errors: the bundle is broken
        df = None
    rows = entry["rows"]
    if df is not None and len(df) != rows:
        raise BundleError(
            f"reference table {name!r} ({path}): {len(df)} rows where manifest.json counts "
            f"{rows}; the table was cut or changed after the bundle was built"
        )
    if digest != entry["sha256"]:
        raise BundleError(
            f"reference table {name!r} ({path}): sha256 {digest[:12]}... is not the "
            f"{entry['sha256'][:12]}... of manifest.json; the file was changed after the bundle "
            f"was built"
        )
    if df is None:
        raise BundleError(f"reference table {name!r} ({path}): cannot read it as {path.suffix}")
    return df


def load_bundle(path: Path | str | None = None) -> Bundle:
    """Load every table of the bundle at `path` (default: the starter bundle in `reference/`),
    each verified against the manifest (rows, sha256) and its schema before use."""
    directory = Path(path) if path is not None else DEFAULT_REFERENCE_DIR
    if not directory.is_dir():
        raise BundleError(f"reference bundle {directory}: not a directory")
    manifest = read_manifest(directory)
    bundle = Bundle(path=directory, manifest=manifest)
    for name in TABLE_SCHEMAS:
        df = _verified_table(directory, name, manifest["tables"].get(name))
        if df is None:
            if name not in OPTIONAL_TABLES:
                raise BundleError(f"reference bundle {directory}: table {name!r} is missing")
            df = pd.DataFrame({c: pd.Series(dtype="object") for c in TABLE_SCHEMAS[name].columns})
        bundle.tables[name] = validate_table(name, df, f"{name!r} ({directory / name})")
    return bundle
