"""Hand-curated tables the CMS files do not hold: CPT modifiers, container type, drug policy.

They live in the curated directory (`reference/` by default; a `curated/` subdirectory of it is
looked in too), as `<name>.csv` with the columns of their bundle table and a `source` per row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims_audit.errors import BundleError, ReferenceBuildError
from claims_audit.ingest import file_sha256
from claims_audit.reference import read_table_file, validate_table
from claims_audit.reference_build.sources import Source

CURATED_PRODUCT = "curated"


def validated(name: str, df: pd.DataFrame, where: str) -> pd.DataFrame:
    """`claims_audit.reference.validate_table`, reported as a build error (the input is at
    fault)."""
    try:
        return validate_table(name, df, where)
    except BundleError as exc:
        raise ReferenceBuildError(str(exc)) from None


def curated_path(curated_dir: Path, name: str) -> Path:
    """`<curated_dir>/<name>.csv|.parquet`, else the same under `<curated_dir>/curated/`."""
    for directory in (curated_dir, curated_dir / "curated"):
        for suffix in (".parquet", ".csv"):
            if (directory / f"{name}{suffix}").is_file():
                return directory / f"{name}{suffix}"
    raise ReferenceBuildError(
        f"curated table {name!r} not found: expected {curated_dir / (name + '.csv')} "
        f"(or under {curated_dir / 'curated'})"
    )


def read_curated(curated_dir: Path, name: str, table: str) -> tuple[pd.DataFrame, Source]:
    """Read and validate a curated table against the schema of bundle table `table`."""
    path = curated_path(curated_dir, name)
    try:
        df = read_table_file(path.parent, name)
    except Exception as exc:  # pandas / pyarrow parse errors: the file is broken
        raise ReferenceBuildError(f"{path}: cannot read ({exc})") from None
    source = Source(path, f"{CURATED_PRODUCT} {name}", None, None, file_sha256(path))
    return validated(table, df, str(path)), source
