"""A plain `claims-audit run` imports no dataframe library it does not use (issue 14).

pandera's `DataFrameModel` imports every dataframe library pandera supports when a model is
built (dask alone takes about half a second); the schemas are `DataFrameSchema`s, so a run on
the local executor loads pandas and pandera only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "claims.csv"
UNUSED = ("dask", "distributed", "modin", "pyspark", "polars", "ibis", "geopandas")
AUDIT = """
import sys
from click.testing import CliRunner
from claims_audit.cli.main import main
import claims_audit.run.local, claims_audit.report.outputs
result = CliRunner().invoke(main, ["run", SAMPLE, "--out", OUT, "--fail-on", "never"])
assert result.exit_code == 0, result.output
print(sorted({m.split(".")[0] for m in sys.modules} & set(UNUSED)))
"""


def test_run_imports_no_dask(tmp_path):
    """Importing the CLI, the local executor and the writers, then auditing the sample: dask
    (and the other libraries pandera could use) never load."""
    out = tmp_path / "out"
    code = f"SAMPLE = {str(SAMPLE)!r}\nOUT = {str(out)!r}\nUNUSED = {UNUSED!r}\n" + AUDIT
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert (out / "findings.parquet").is_file()
