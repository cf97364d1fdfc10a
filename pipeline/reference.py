"""Load and check a reference bundle (SPEC section 4): Parquet or CSV tables plus `manifest.json`.

A broken bundle (missing table or manifest, a table that fails its schema) raises `BundleError`,
which the CLI reports as exit 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.errors

from pipeline.errors import BundleError
from schemas.reference import OPTIONAL_TABLES, TABLE_SCHEMAS

DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"


@dataclass
class Bundle:
    """The reference tables of one bundle, validated, with its provenance."""

    path: Path
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def read_table_file(directory: Path, name: str) -> pd.DataFrame | None:
    """Read `<name>.parquet` or `<name>.csv` from a bundle directory; None when neither exists."""
    parquet, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
    if parquet.exists():
        return pd.read_parquet(parquet)
    if csv.exists():
        return pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    return None


def validate_table(name: str, df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check one table against its schema; coerce types. Raises BundleError naming the problem."""
    schema = TABLE_SCHEMAS[name].to_schema()
    if "is_noc" in df.columns and df["is_noc"].dtype == object:
        df = df.assign(is_noc=df["is_noc"].astype(str).str.lower().isin(["true", "1", "y", "yes"]))
    try:
        return schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        raise BundleError(
            f"reference table {where}: {len(cases)} schema failure(s); first: column "
            f"{first['column']!r} check {first['check']!r} value {first['failure_case']!r}"
        ) from None
    except pandera.errors.SchemaError as exc:
        raise BundleError(f"reference table {where}: {exc}".splitlines()[0]) from None


def load_bundle(path: Path | str | None = None) -> Bundle:
    """Load every table of the bundle at `path` (default: the starter bundle in `reference/`)."""
    directory = Path(path) if path is not None else DEFAULT_REFERENCE_DIR
    if not directory.is_dir():
        raise BundleError(f"reference bundle {directory}: not a directory")
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise BundleError(f"reference bundle {directory}: manifest.json is missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"reference bundle {manifest_path}: invalid JSON ({exc})") from None
    bundle = Bundle(path=directory, manifest=manifest)
    for name in TABLE_SCHEMAS:
        try:
            df = read_table_file(directory, name)
        except Exception as exc:  # pyarrow / csv parse errors: the bundle is broken
            raise BundleError(f"reference table {directory / name}: cannot read ({exc})") from None
        if df is None:
            if name in OPTIONAL_TABLES:
                df = pd.DataFrame(
                    {c: pd.Series(dtype="object") for c in TABLE_SCHEMAS[name].to_schema().columns}
                )
            else:
                raise BundleError(f"reference bundle {directory}: table {name!r} is missing")
        bundle.tables[name] = validate_table(name, df, str(directory / name))
    return bundle
