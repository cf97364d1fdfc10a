from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.ingest import read_input, resolve_inputs
from pipeline.validate import validate_inputs

HEADER = "claim_id,line_number,patient_id,payer_type,service_date,hcpcs_code,billed_units"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_headers_case_insensitive_and_aliases(tmp_path):
    path = write(
        tmp_path,
        "a.csv",
        " Claim_ID ,LINE_NUMBER,Patient_Id,payer_type,service_date,"
        "Proc Code,billed_units,unused\nC1,1,P1,medicare,2026-01-05,J9035,38,x\n",
    )
    raw = read_input(path, {"proc code": "hcpcs_code"})
    assert set(raw.frame.columns) >= {"claim_id", "hcpcs_code", "source_row"}
    assert "unused" not in raw.frame.columns
    assert raw.frame.loc[0, "hcpcs_code"] == "J9035"


def test_missing_required_column_names_file_and_column(tmp_path):
    path = write(tmp_path, "b.csv", "claim_id,line_number,patient_id\nC1,1,P1\n")
    with pytest.raises(InputError) as err:
        read_input(path)
    assert "b.csv" in str(err.value) and "payer_type" in str(err.value)


def test_bom_and_cp1252_fallback(tmp_path):
    bom = write(tmp_path, "bom.csv", "\ufeff" + HEADER + "\nC1,1,P1,medicare,2026-01-05,J9035,38\n")
    assert read_input(bom).encoding == "utf-8"
    legacy = write(
        tmp_path, "cp.csv", HEADER + "\nC1,1,Pé,medicare,2026-01-05,J9035,38\n", encoding="cp1252"
    )
    raw = read_input(legacy)
    assert raw.encoding == "cp1252"
    assert raw.frame.loc[0, "patient_id"] == "Pé"


def test_ragged_row_is_v006_with_its_row_number(tmp_path):
    path = write(
        tmp_path,
        "r.csv",
        HEADER + "\nC1,1,P1,medicare,2026-01-05,J9035,38\nC2,1,P2\n"
        "C3,1,P3,medicare,2026-01-05,J9035,38\n",
    )
    raw = read_input(path)
    assert raw.rows_read == 3
    assert raw.rejects[["source_row", "reason_code"]].values.tolist() == [[2, "V006"]]
    assert raw.frame["source_row"].tolist() == [1, 3]


def test_validate_reason_codes_and_reconciliation(tmp_path):
    path = write(
        tmp_path,
        "v.csv",
        HEADER + ",administered_amount,administered_unit\n"
        "C1,1,P1,Medicare,2026-01-05,j9035,38,375,mg\n"
        "C2,1,,medicare,2026-01-05,J9035,38,,\n"  # V002 patient_id
        "C3,1,P3,medicare,2026/01/05,J9035,38,,\n"  # V003 date
        "C4,1,P4,martian,2026-01-05,J9035,0,,\n"  # V004 payer_type and units
        "C5,1,P5,medicare,2026-01-05,J9035,38,5,\n"  # V002 unit with amount
        "C1,1,P1,medicare,2026-01-05,J9035,38,,\n",
    )  # V005 duplicate
    raw = read_input(path)
    checked = validate_inputs([raw])
    assert checked.lines["claim_id"].tolist() == ["C1"]
    assert checked.lines.loc[0, "payer_type"] == "medicare"
    assert checked.lines.loc[0, "hcpcs_code"] == "J9035"
    got = checked.rejects[["source_row", "column", "reason_code"]].values.tolist()
    assert got == [
        [2, "patient_id", "V002"],
        [3, "service_date", "V003"],
        [4, "billed_units", "V004"],
        [4, "payer_type", "V004"],
        [5, "administered_unit", "V002"],
        [6, "line_number", "V005"],
    ]
    assert raw.rows_read == len(checked.lines) + checked.rows_rejected[str(path)]
    assert all(str(path) in m and "row" in m for m in checked.rejects["message"])


def test_parquet_input_reads_typed_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "claim_id": ["C1"],
            "line_number": [1],
            "patient_id": ["P1"],
            "payer_type": ["medicare"],
            "service_date": [pd.Timestamp("2026-01-05")],
            "hcpcs_code": ["J9035"],
            "billed_units": [38.0],
        }
    )
    path = tmp_path / "x.parquet"
    frame.to_parquet(path)
    checked = validate_inputs([read_input(path)])
    assert checked.lines.loc[0, "service_date"] == pd.Timestamp("2026-01-05")
    assert checked.lines.loc[0, "billed_units"] == 38.0
    assert checked.rejects.empty


def test_resolve_inputs_dir_and_glob(tmp_path):
    for name in ("b.csv", "a.parquet", "note.md"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in resolve_inputs([str(tmp_path)])] == ["a.parquet", "b.csv"]
    assert [p.name for p in resolve_inputs([str(tmp_path / "*.csv")])] == ["b.csv"]
    with pytest.raises(InputError, match="no such file"):
        resolve_inputs([str(tmp_path / "missing.csv")])
