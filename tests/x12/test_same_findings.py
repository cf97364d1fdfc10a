"""Done-when of issue 16: one set of lines, as CSV and as 837P + 837I, gives the same findings
through `claims-audit run`."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.x12.write import write_837

COMPARED = ["claim_id", "line_number", "rule_code", "observed", "expected"]
DOSE_COLUMNS = ["administered_amount", "administered_unit", "wasted_amount"]


def lines_an_837_carries(lines: pd.DataFrame) -> pd.DataFrame:
    """Generated lines as an 837 can hold them: no documented dose (an 837 has none), and the
    lines of an institutional claim share its diagnoses (an 837I has no diagnosis pointers)."""
    lines = lines.copy()
    lines[DOSE_COLUMNS] = None
    institutional = lines["claim_type"] == "institutional"
    claim_dx = lines.groupby("claim_id")["diagnosis_codes"].transform("first")
    lines.loc[institutional, "diagnosis_codes"] = claim_dx[institutional]
    return lines


def _run(path, out) -> tuple[pd.DataFrame, dict]:
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    findings = pd.read_parquet(out / "findings.parquet")[COMPARED].astype("string")
    summary = json.loads((out / "summary.json").read_text())
    return findings.sort_values(COMPARED, ignore_index=True), summary


def test_csv_and_837_give_the_same_findings(tmp_path):
    generated = tmp_path / "generated.parquet"
    args = ["sample", "generate", "--rows", "1500", "--seed", "11", "--out", str(generated)]
    assert CliRunner().invoke(main, [*args, "--quiet"]).exit_code == 0
    lines = lines_an_837_carries(pq.read_table(generated).to_pandas())
    assert set(lines["claim_type"]) == {"professional", "institutional"}
    csv_file, x12_file = tmp_path / "lines.csv", tmp_path / "lines.837"
    lines.to_csv(csv_file, index=False)
    write_837(lines, x12_file)
    from_csv, csv_summary = _run(csv_file, tmp_path / "csv-out")
    from_837, x12_summary = _run(x12_file, tmp_path / "x12-out")
    assert len(from_csv) > 100  # the planted defects fire
    assert set(from_csv["rule_code"]) >= {"C001", "N002", "M002", "P003", "U003", "D001"}
    pd.testing.assert_frame_equal(from_837, from_csv)
    for key in ("rows_read", "rows_audited", "rows_rejected"):
        assert x12_summary["inputs"][0][key] == csv_summary["inputs"][0][key], key
    # dose-based rules are not evaluated on 837 lines, honestly, as on the CSV without doses
    coverage = x12_summary["coverage_by_rule"]
    assert coverage["U001"]["evaluated"] == 0 and coverage["U001"]["not_evaluated"]["no_dose"] > 0
    assert coverage["N005"]["evaluated"] > 0  # NDC-quantity rules run
