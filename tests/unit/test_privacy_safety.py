import pandas as pd
import pyarrow as pa

from claims_audit.privacy import PHI_FLAG, mask_id, masked_rejects, phi_rejects
from claims_audit.report.safety import escape_formula, escape_text_columns


def test_mask_id_keeps_last_four():
    out = mask_id(pd.Series(["PAT0012345", "P1", None]))
    assert out[0] == "P***2345"
    assert out[1] == "***"
    assert pd.isna(out[2])


def test_masked_rejects_masks_only_phi_columns():
    rejects = pd.DataFrame(
        {"column": ["patient_id", "billed_units"], "value": ["PAT0012345", "-3"]}
    )
    out = masked_rejects(rejects, show_phi=False)
    assert out["value"].tolist() == ["P***2345", "-3"]
    assert masked_rejects(rejects, show_phi=True)["value"].tolist() == ["PAT0012345", "-3"]


def test_escape_formula_prefixes_risky_text():
    out = escape_formula(pd.Series(["=1+1", "+A1", "-2", "@SUM(A1)", "\tx", "\rx", "ok", None]))
    assert out[:7].tolist() == ["'=1+1", "'+A1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok"]
    assert pd.isna(out[7])


def test_escape_text_columns_leaves_numbers():
    frame = pd.DataFrame({"claim_id": ["=cmd|' /C calc'!A0"], "impact_usd": [-25.5]})
    out = escape_text_columns(frame)
    assert out.loc[0, "claim_id"].startswith("'=")
    assert out.loc[0, "impact_usd"] == -25.5


def test_phi_rejects_marks_patient_ids_in_any_column():
    rejects = pd.DataFrame(
        {
            "column": ["payer_type", "patient_id", "billed_units", "payer_type", "claim_id"],
            "value": ["MRN700001", "x", "-3", " MRN700002 ", ""],
        }
    )
    ids = [pa.array(["MRN700001"]), pa.array(["MRN700002", "MRN700003"]), pa.array([], pa.string())]
    assert phi_rejects(rejects, ids).tolist() == [True, True, False, True, False]
    assert phi_rejects(rejects, []).tolist() == [False, True, False, False, False]


def test_masked_rejects_uses_the_phi_flag_and_drops_it():
    rejects = pd.DataFrame(
        {
            "source_file": ["a.csv"] * 2,
            "source_row": [1, 2],
            "column": ["payer_type", "billed_units"],
            "value": ["MRN700001", "-3"],
            "reason_code": ["V004", "V004"],
            "message": ["m", "m"],
            PHI_FLAG: [True, False],
        }
    )
    out = masked_rejects(rejects, show_phi=False)
    assert out["value"].tolist() == ["M***0001", "-3"]
    assert PHI_FLAG not in out
    shown = masked_rejects(rejects, show_phi=True)
    assert shown["value"].tolist() == ["MRN700001", "-3"] and PHI_FLAG not in shown
