"""Payer- and setting-aware policy facts the fixtures cannot reach with the starter bundle:
the payment of each setting (`rate_usd`), claim frequency and provider keys, MUE edits with MAI 1,
the Medicare calendar-year filing rule at extreme dates, and the ICD-10-CM release in use.

Lines go through validation and enrich like a real batch, against a small in-memory bundle whose
facts are chosen here (so a change of the starter bundle cannot move them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from claims_audit.audit import validate_files
from claims_audit.config import Config, PayerSettings
from claims_audit.enrich import enrich
from claims_audit.reference import Bundle
from claims_audit.rules import REGISTRY
from claims_audit.rules.common import RuleContext
from claims_audit.rules.diagnosis import ICD10CM_RELEASE, check_icd10cm_release, in_icd10cm_release
from claims_audit.rules.payer import day_number, key_text, one_year_deadline

HEADER = (
    "claim_id,line_number,patient_id,payer_type,claim_type,claim_frequency,provider_id,"
    "service_date,hcpcs_code,modifiers,billed_units\n"
)


def tiny_bundle(mue_rows: list[tuple] | None = None) -> Bundle:
    """Three drug codes: K-status (J9035), packaged N (J2354), no OPPS row (J0897)."""
    hcpcs = pd.DataFrame(
        {
            "hcpcs_code": ["J9035", "J2354", "J0897", "J3490"],
            "long_description": [
                "bevacizumab 10 mg",
                "octreotide 25 mcg",
                "denosumab 1 mg",
                "Unclassified drugs",
            ],
            "add_date": pd.to_datetime(["2005-01-01", "2004-01-01", "2012-01-01", "1986-01-01"]),
            "termination_date": pd.to_datetime([None] * 4),
            "billing_unit_amount": [10.0, 25.0, 1.0, np.nan],
            "billing_unit": ["mg", "mcg", "mg", None],
            "is_noc": [False, False, False, True],
        }
    )
    limits = pd.DataFrame(
        {"hcpcs_code": ["J9035", "J2354", "J0897"], "payment_limit_usd": [73.632, 0.658, 29.457]}
    )
    opps = pd.DataFrame(
        {
            "hcpcs_code": ["J9035", "J2354"],
            "status_indicator": ["K", "N"],
            "payment_rate_usd": [73.201, np.nan],
        }
    )
    mue = pd.DataFrame(
        mue_rows or [("J9035", "practitioner", 230, 3, "CMS Policy")],
        columns=["hcpcs_code", "setting", "mue_value", "mai", "rationale"],
    )
    xwalk = pd.DataFrame(
        columns=["ndc11", "hcpcs_code", "billing_units_per_item", "pkg_size", "drug_name"]
    )
    container = pd.DataFrame(columns=["ndc11", "hcpcs_code", "container"])
    tables = {
        "hcpcs": hcpcs,
        "payment_limits": limits,
        "opps": opps,
        "mue": mue,
        "ndc_crosswalk": xwalk,
        "container": container,
        "drug_policy": pd.DataFrame(columns=["hcpcs_code", "ndc11"]),
        "modifiers": pd.DataFrame(columns=["modifier", "add_date", "termination_date"]),
    }
    return Bundle(path=Path("tiny"), manifest={}, tables=tables)


def enriched(tmp_path: Path, rows: list[str], bundle: Bundle) -> pd.DataFrame:
    path = tmp_path / "claims.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    _, checked = validate_files([str(path)], Config())
    assert checked.rejects.empty, checked.rejects.to_dict("records")
    return enrich(checked.lines, bundle)


def test_rate_of_each_setting(tmp_path):
    lines = enriched(
        tmp_path,
        [
            "C1,1,P1,medicare,professional,,,2026-02-10,J9035,,38",
            "C2,1,P1,medicare,institutional,,,2026-02-10,J9035,,38",
            "C3,1,P1,medicare,institutional,,,2026-02-10,J2354,,4",
            "C4,1,P1,medicare,institutional,,,2026-02-10,J0897,,60",
            "C5,1,P1,medicare,professional,,,2026-02-10,J2354,,4",
        ],
        tiny_bundle(),
    )
    rate = lines["rate_usd"].to_numpy()
    assert rate[:3].tolist() == [73.632, 73.201, 0.0]  # ASP; OPPS K rate; OPPS N packaged
    assert np.isnan(rate[3])  # institutional without an OPPS row: unknown
    assert rate[4] == 0.658  # SI N matters only on institutional claims
    assert lines["separately_payable"].tolist() == [True, True, False, True, True]


def test_claim_frequency_scope_and_provider_key(tmp_path):
    lines = enriched(
        tmp_path,
        [
            "C1,1,P1,medicare,,,,2026-02-10,J9035,,38",
            "C2,1,P1,medicare,,7,NPI1,2026-02-10,J9035,,38",
            "C3,1,P1,medicare,,8,NPI2,2026-02-10,J9035,,38",
            "C3,2,P1,medicare,,8,,2026-02-10,96413,,1",
            "C4,1,P1,medicare,,1,,2026-02-10,96413,,1",
        ],
        tiny_bundle(),
    )
    assert lines["claim_frequency"].astype(str).tolist() == ["1", "7", "8", "8", "1"]
    assert lines["is_void"].tolist() == [False, False, True, True, False]
    assert lines["is_replacement"].tolist() == [False, True, False, False, False]
    assert lines["in_scope"].tolist() == [True, True, False, False, False]
    assert lines["cpt_in_scope"].tolist() == [False, False, False, False, True]
    assert lines["provider_key"].astype(str).tolist() == ["", "NPI1", "NPI2", "", ""]


def test_claim_frequency_outside_the_allowed_set_is_rejected(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(HEADER + "C1,1,P1,medicare,,9,,2026-02-10,J9035,,38\n", encoding="utf-8")
    _, checked = validate_files([str(path)], Config())
    assert checked.lines.empty
    assert checked.rejects[["column", "reason_code"]].values.tolist() == [
        ["claim_frequency", "V004"]
    ]


def _u003(lines: pd.DataFrame, bundle: Bundle):
    flags = REGISTRY["U003"].func(lines, RuleContext(Config(), bundle))
    flagged = pd.Series(np.asarray(flags.mask, dtype=bool), index=lines.index)
    return flags, flagged


def test_mue_mai_1_denies_each_line_over_the_mue(tmp_path):
    bundle = tiny_bundle([("J9035", "practitioner", 40, 1, "Prescribing Information")])
    lines = enriched(
        tmp_path,
        [
            "C1,1,P1,medicare,,,,2026-02-10,J9035,,41",  # over on the line itself
            "C1,2,P1,medicare,,,,2026-02-10,J9035,,40",  # at the MUE: the day's 81 do not count
            "C2,1,P2,medicare,,,,2026-02-10,J9035,,30",
            # a replacement claim the same day: the original it may replace is not judged
            "C3,1,P3,medicare,,,,2026-02-10,J9035,,41",
            "C4,1,P3,medicare,,7,,2026-02-10,J9035,,40",
        ],
        bundle,
    )
    flags, flagged = _u003(lines, bundle)
    assert flagged.tolist() == [True, False, False, False, False]
    assert flags.observed[flagged].tolist() == [41.0]  # the line's units, all denied
    assert flags.impact_usd[flagged].round(2).tolist() == [-3018.91]  # -41 x 73.632


def test_mue_day_total_is_per_provider_and_claim_type(tmp_path):
    bundle = tiny_bundle(
        [
            ("J9035", "practitioner", 40, 3, "CMS Policy"),
            ("J9035", "outpatient_hospital", 40, 2, "CMS Policy"),
        ]
    )
    lines = enriched(
        tmp_path,
        [
            "C1,1,P1,medicare,professional,,NPI1,2026-02-10,J9035,,30",
            "C2,1,P1,medicare,professional,,NPI2,2026-02-10,J9035,,30",  # another provider
            "C3,1,P1,medicare,institutional,,NPI1,2026-02-10,J9035,,30",  # another setting
            "C4,1,P2,medicare,institutional,,NPI1,2026-02-10,J9035,,30",
            "C5,1,P2,medicare,institutional,,NPI1,2026-02-10,J9035,JW,11",  # JW counts: 41
        ],
        bundle,
    )
    flags, flagged = _u003(lines, bundle)
    assert flagged.tolist() == [False, False, False, True, False]
    assert flags.observed[flagged].tolist() == [41.0]
    assert flags.impact_usd[flagged].round(2).tolist() == [-3001.24]  # -41 x OPPS 73.201
    assert pd.Series(flags.carc)[flagged].tolist() == ["B5"]


def test_p002_calendar_parts_never_overflow():
    service = pd.Series(pd.to_datetime(["1677-09-22", "2262-04-11", "2024-02-29", "2023-12-31"]))
    submitted = pd.Series(pd.to_datetime(["2262-04-11", "1677-09-22", "2025-03-01", "2024-12-31"]))
    days = day_number(submitted) - day_number(service)  # datetime.date arithmetic agrees
    assert days.tolist() == [213_502.0, -213_502.0, 366.0, 366.0]
    deadline = one_year_deadline(service)
    assert key_text(deadline).tolist() == ["1678-09-22", "2263-04-11", "2025-03-01", "2024-12-31"]


def test_p002_extreme_dates_in_the_rule():
    """A service in 1677 filed in 2262 is late and reported, without an overflow."""
    lines = pd.DataFrame(
        {
            "payer_type": pd.Categorical(["medicare", "commercial", "medicare"]),
            "payer_id": pd.Categorical([None, None, None]),
            "service_date": pd.to_datetime(["1677-09-22", "1677-09-22", "2262-04-11"]),
            "submission_date": pd.to_datetime(["2262-04-11", "2262-04-11", "2262-04-11"]),
        }
    )
    config = Config()
    config.payer["commercial"] = PayerSettings(filing_limit_days=180)
    flags = REGISTRY["P002"].func(lines, RuleContext(config, tiny_bundle()))
    assert np.asarray(flags.mask, dtype=bool).tolist() == [True, True, False]
    assert flags.observed.tolist() == [213_502.0, 213_502.0, 0.0]


def test_icd10cm_release_is_the_one_the_library_ships():
    assert check_icd10cm_release() == "icd10c-tabular-April-1-2026.xml"
    assert ICD10CM_RELEASE["valid_from"] == "2025-10-01"
    assert ICD10CM_RELEASE["valid_to"] == "2026-09-30"
    dates = pd.Series(pd.to_datetime(["2025-09-30", "2025-10-01", "2026-09-30", "2026-10-01"]))
    assert in_icd10cm_release(dates).tolist() == [False, True, True, False]


@pytest.mark.parametrize(
    ("code", "noc"),
    [("J3490", True), ("J9035", False)],
)
def test_drug_noc_flag(tmp_path, code, noc):
    lines = enriched(tmp_path, [f"C1,1,P1,medicare,,,,2026-02-10,{code},,1"], tiny_bundle())
    assert lines["is_drug_noc"].tolist() == [noc]
