"""The 837 writer (`claims_audit.x12.write`), `sample generate --format x12` and `convert`."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.ingest import read_input
from claims_audit.x12.write import to_837, write_837

DATA = Path(__file__).resolve().parents[1] / "data" / "x12"
BASE = {
    "patient_id": "MRN1",
    "payer_type": "medicare",
    "payer_id": "MCR",
    "provider_id": "1111111112",
    "claim_frequency": "1",
    "claim_type": "professional",
    "place_of_service": "11",
    "service_date": "2024-03-15",
    "submission_date": "2024-03-20",
    "payer_sequence": "primary",
}


def lines() -> pd.DataFrame:
    rows = [
        {
            "claim_id": "A1",
            "line_number": "1",
            "hcpcs_code": "J9035",
            "modifiers": "JZ",
            "billed_units": "40",
            "charge_usd": "3940.00",
            "ndc": "50242-0061-01",
            "ndc_unit_qualifier": "UN",
            "ndc_quantity": "1",
            "diagnosis_codes": "C18.9|Z51.11",
        },
        {
            "claim_id": "A1",
            "line_number": "2",
            "hcpcs_code": "96413",
            "billed_units": "1",
            "charge_usd": "185.00",
            "diagnosis_codes": "Z51.11",
            "provider_id": "2222222223",
            "place_of_service": "22",
            "prior_auth_number": "PA9",
        },
        {
            "claim_id": "B7",
            "line_number": "1",
            "hcpcs_code": "J1442",
            "modifiers": "JW KX",
            "billed_units": "2",
            "charge_usd": "80",
            "claim_frequency": "7",
            "payer_sequence": "secondary",
            "payer_type": "commercial",
            "other_payer_paid_usd": "61.20",
            "diagnosis_codes": "D70.1",
        },
        {
            "claim_id": "H3",
            "line_number": "1",
            "hcpcs_code": "J0885",
            "modifiers": "JA",
            "billed_units": "40",
            "charge_usd": "1400",
            "claim_type": "institutional",
            "payer_type": "medicaid",
            "diagnosis_codes": "N18.6,D64.81",
            "service_date": "20240301",
        },
    ]
    return pd.DataFrame([BASE | row for row in rows])


def test_written_lines_read_back_as_the_same_canonical_lines(tmp_path):
    path = write_837(lines(), tmp_path / "out.837")
    raw = read_input(path)
    assert raw.rows_read == 4 and raw.rejects.empty
    got = raw.frame.astype("object").where(raw.frame.notna(), None).drop(columns="source_row")
    got = got.set_index(["claim_id", "line_number"]).sort_index()
    a1 = got.loc[("A1", "1")]
    assert (a1["hcpcs_code"], a1["modifiers"], a1["ndc"], a1["diagnosis_codes"]) == (
        "J9035",
        "JZ",
        "50242-0061-01",
        "C189,Z5111",
    )
    a2 = got.loc[("A1", "2")]
    assert (a2["provider_id"], a2["place_of_service"], a2["prior_auth_number"]) == (
        "2222222223",
        "22",
        "PA9",
    )
    assert a2["diagnosis_codes"] == "Z5111" and a2["service_date"] == "20240315"
    b7 = got.loc[("B7", "1")]
    assert (b7["claim_frequency"], b7["payer_sequence"], b7["payer_type"]) == (
        "7",
        "secondary",
        "commercial",
    )
    assert (b7["modifiers"], b7["other_payer_paid_usd"]) == ("JW,KX", "61.20")
    h3 = got.loc[("H3", "1")]
    assert (h3["claim_type"], h3["payer_type"], h3["diagnosis_codes"]) == (
        "institutional",
        "medicaid",
        "N186,D6481",
    )
    assert h3["place_of_service"] is None  # CLM05-1 of an 837I is a facility code


def test_writer_output_is_deterministic_and_counts_segments():
    first, again = to_837(lines()), to_837(lines())
    assert first == again
    text = first.decode()
    assert text.count("ST*837*") == 2  # the 837P set of 2024-03-20 (two claims), the 837I set
    assert "SE*22*0002~" in text  # ST..SE of the 837I set: 22 segments
    assert "GS*HC*SUBMITTER01*RECEIVER01*20240320*1200*2*X*005010X223A2~" in text
    assert text.rstrip().endswith("IEA*2*000000001~")


def test_sample_generate_format_x12(tmp_path):
    out = tmp_path / "claims.837"
    args = ["sample", "generate", "--rows", "300", "--seed", "4", "--out", str(out), "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert sorted(os.listdir(tmp_path)) == ["claims.837", "claims.837.labels.parquet"]
    raw = read_input(out)
    assert raw.rows_read == 300 and raw.rejects.empty
    assert set(raw.frame["claim_type"]) == {"professional", "institutional"}
    assert pq.read_table(str(out) + ".labels.parquet").num_rows > 0
    again = CliRunner().invoke(main, args)  # replaces its own earlier output
    assert again.exit_code == 0
    help_text = " ".join(CliRunner().invoke(main, ["sample", "generate", "--help"]).output.split())
    assert "an 837P group (005010X222A1) for the professional claims" in help_text
    assert "an 837I group (005010X223A2) for the institutional ones" in help_text


def test_convert_writes_the_canonical_lines_and_refuses_other_files(tmp_path):
    out = tmp_path / "lines.csv"
    run = CliRunner().invoke(main, ["convert", str(DATA / "professional.837"), "--out", str(out)])
    assert run.exit_code == 0, run.output
    lines_read = pd.read_csv(out, dtype=str)
    assert len(lines_read) == 6
    assert lines_read.columns[:4].tolist() == [
        "source_file",
        "source_row",
        "claim_id",
        "line_number",
    ]
    assert lines_read.loc[2, "modifiers"] == "JW,KX" and lines_read.loc[2, "source_row"] == "33"
    again = CliRunner().invoke(
        main, ["convert", str(DATA / "institutional.837"), "--out", str(out)]
    )
    assert again.exit_code == 0 and len(pd.read_csv(out)) == 4  # its own output: replaced
    parquet = tmp_path / "lines.parquet"
    both = [str(DATA / "professional.837"), str(DATA / "institutional.837")]
    assert CliRunner().invoke(main, ["convert", *both, "--out", str(parquet)]).exit_code == 0
    assert pq.read_table(parquet).num_rows == 10
    foreign = tmp_path / "mine.parquet"
    foreign.write_bytes((DATA / "professional.837").read_bytes())
    refused = CliRunner().invoke(main, ["convert", *both, "--out", str(foreign)])
    assert refused.exit_code == 2 and "refusing to replace it" in refused.output
    assert foreign.read_bytes() == (DATA / "professional.837").read_bytes()
