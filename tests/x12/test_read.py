"""837P / 837I fixtures read into canonical lines, field by field (issue 16 items 1 and 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from claims_audit.ingest import input_kind, read_input, resolve_inputs

DATA = Path(__file__).resolve().parents[1] / "data" / "x12"
PROFESSIONAL = DATA / "professional.837"
INSTITUTIONAL = DATA / "institutional.837"
NA = None

# (claim_id, line_number) -> expected canonical text; every column the 837 carries
PROFESSIONAL_LINES = {
    ("PC1001", "1"): {
        "patient_id": "1EG4TE5MK73",
        "payer_type": "medicare",
        "payer_id": "MEDICAREB",
        "provider_id": "1457389210",
        "claim_frequency": "1",
        "claim_type": "professional",
        "place_of_service": "11",
        "service_date": "20240315",
        "submission_date": "20240320",
        "hcpcs_code": "J9355",
        "modifiers": "JZ",
        "billed_units": "21",
        "charge_usd": "1200",
        "ndc": "63020005201",
        "ndc_unit_qualifier": "UN",
        "ndc_quantity": "1",
        "diagnosis_codes": "C50911,Z5111",
        "prior_auth_number": "PA777001",
        "payer_sequence": "primary",
        "other_payer_paid_usd": NA,
        "source_row": 25,
    },
    ("PC1001", "2"): {
        "hcpcs_code": "96413",
        "modifiers": NA,
        "billed_units": "1",
        "charge_usd": "300",
        "ndc": NA,
        "ndc_quantity": NA,
        "diagnosis_codes": "C50911",
        "provider_id": "1457389210",
        "service_date": "20240315",
        "source_row": 30,
    },
    ("PC1001", "3"): {  # line-level rendering provider (2420A) and place of service (SV105)
        "hcpcs_code": "J1442",
        "modifiers": "JW,KX",
        "billed_units": "2.5",
        "place_of_service": "22",
        "provider_id": "1972635481",
        "service_date": "20240316",
        "ndc": "55513092401",
        "ndc_unit_qualifier": "ML",
        "ndc_quantity": "0.5",
        "diagnosis_codes": "C50911,D701",
        "source_row": 33,
    },
    ("PC1002", "1"): {  # replacement claim; claim DTP*472, line REF*G1, billing provider NPI
        "claim_frequency": "7",
        "service_date": "20240318",
        "prior_auth_number": "PA777002",
        "provider_id": "1234567893",
        "hcpcs_code": "J0897",
        "billed_units": "60",
        "diagnosis_codes": "M810",
        "patient_id": "1EG4TE5MK73",
    },
    ("PC1003", "1"): {  # secondary: AMT*D of 2320; 2330B REF*G1 and 2330D NM1*82 not taken
        "payer_sequence": "secondary",
        "payer_type": "commercial",
        "payer_id": "ACME01",
        "other_payer_paid_usd": "612.40",
        "prior_auth_number": NA,
        "provider_id": "1234567893",
        "patient_id": "XYZ123456789",
        "ndc": "00078082581",
    },
}


def _line(raw, claim: str, line: str) -> dict:
    frame = raw.frame.astype("object").where(raw.frame.notna(), None)
    hit = frame[(frame["claim_id"] == claim) & (frame["line_number"] == line)]
    assert len(hit) == 1, (claim, line)
    return hit.iloc[0].to_dict()


def test_professional_fixture_field_by_field():
    raw = read_input(PROFESSIONAL)
    assert raw.encoding == "x12"
    assert raw.rows_read == 6
    assert raw.rejects.empty
    for (claim, line), expected in PROFESSIONAL_LINES.items():
        got = _line(raw, claim, line)
        assert {k: got[k] for k in expected} == expected, (claim, line)
    assert {"administered_amount", "administered_unit", "wasted_amount"}.isdisjoint(raw.frame)


def test_dependent_patient_id_joins_member_id_name_and_birth_date():
    got = _line(read_input(PROFESSIONAL), "PC1004", "1")
    assert got["patient_id"] == "MA5550001:POE:PETER:20100505"
    assert got["payer_type"] == "medicare_advantage"
    assert got["billed_units"] == "0"  # read as sent; the validator rejects it (V004)


def test_institutional_fixture_field_by_field():
    raw = read_input(INSTITUTIONAL)
    assert raw.rows_read == 4 and raw.rejects.empty
    first = _line(raw, "IC2001", "1")
    assert first == first | {
        "claim_type": "institutional",
        "payer_type": "medicare",
        "payer_id": "MEDICAREA",
        "hcpcs_code": "J0885",
        "modifiers": "JA",
        "billed_units": "40",
        "charge_usd": "1400",
        "ndc": "59676031001",
        "ndc_quantity": "1",
        "ndc_unit_qualifier": "UN",
        "provider_id": "1770000002",  # 2310D rendering, not 2310A attending (NM1*71)
        "diagnosis_codes": "C9000,D6481,N186",  # every HI code of the claim
        "prior_auth_number": "PAH0001",
        "service_date": "20240325",
        "place_of_service": None,
    }
    no_line_date = _line(raw, "IC2001", "3")
    assert no_line_date["service_date"] == "20240325"  # DTP*434 statement start
    void = _line(raw, "IC2002", "1")
    assert (void["claim_frequency"], void["service_date"], void["provider_id"]) == (
        "8",
        "20240310",
        "1881234567",
    )


@pytest.mark.parametrize(
    ("name", "claims", "lines"),
    [("x12sdk_837p_seed7.837", 4, 5), ("x12sdk_837i_seed7.837", 3, 4)],
)
def test_reads_files_of_another_generator(name, claims, lines):
    """Files written by x12sdk's generator (Apache-2.0, synthetic, no PHI) read cleanly."""
    raw = read_input(DATA / name)
    assert raw.rows_read == lines and raw.rejects.empty
    assert raw.frame["claim_id"].nunique() == claims
    assert raw.frame["service_date"].notna().all()
    assert raw.frame["diagnosis_codes"].notna().all()
    assert raw.frame["patient_id"].str.contains(":").any()  # a dependent (HL 23) patient


def test_detected_by_content_whatever_the_suffix(tmp_path):
    copy = tmp_path / "claims.txt"
    shutil.copy(PROFESSIONAL, copy)
    assert input_kind(copy) == "x12"
    assert read_input(copy).rows_read == 6
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(PROFESSIONAL, folder / "a.837")
    shutil.copy(INSTITUTIONAL, folder / "b.x12")
    assert [p.name for p in resolve_inputs([str(folder)])] == ["a.837", "b.x12"]


def _with_separators(text: str, element: str, component: str, terminator: str) -> str:
    return (
        text.replace("~\n", "\x00")
        .replace(":", component)
        .replace("*", element)
        .replace("\x00", terminator)
    )


def test_separators_are_taken_from_the_isa(tmp_path):
    text = PROFESSIONAL.read_text()
    odd = tmp_path / "odd.edi"
    odd.write_text(_with_separators(text, "|", ">", "\n"))
    raw, plain = read_input(odd), read_input(PROFESSIONAL)
    assert raw.rows_read == 6
    pd.testing.assert_frame_equal(raw.frame, plain.frame)


def test_several_interchanges_groups_and_sets_in_one_file(tmp_path):
    both = tmp_path / "both.837"
    both.write_text(PROFESSIONAL.read_text() + INSTITUTIONAL.read_text())
    raw = read_input(both)
    assert raw.rows_read == 10 and raw.rejects.empty
    kinds = raw.frame.groupby("claim_id", observed=True)["claim_type"].first()
    assert kinds["PC1001"] == "professional" and kinds["IC2001"] == "institutional"
    offset = len(PROFESSIONAL.read_text().split("~\n")) - 1
    assert _line(raw, "IC2001", "1")["source_row"] == 29 + offset


def test_a_csv_whose_first_header_starts_with_isa_is_still_csv(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("ISA,claim_id\n1,2\n")
    assert input_kind(path) == "csv"
