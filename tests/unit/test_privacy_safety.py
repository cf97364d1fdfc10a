import pandas as pd

from pipeline.privacy import mask_id
from pipeline.report.outputs import masked_rejects
from pipeline.report.safety import escape_formula, escape_text_columns


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
