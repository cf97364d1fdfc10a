"""Facts the revised rules need, read from the real CMS files in ../shared/reference-raw and the
curated CPT modifier list: descriptor units that are not per amount, amounts in millions,
modifier add and termination dates, MUE rationale in both settings (CPT codes included)."""

from __future__ import annotations

import pandas as pd
import pytest

from claims_audit.reference import DEFAULT_REFERENCE_DIR, load_bundle
from claims_audit.reference_build.asp import read_pricing
from claims_audit.reference_build.curated import read_curated
from claims_audit.reference_build.hcpcs import hcpcs_table, modifiers_table, read_hcpcs_zip
from claims_audit.reference_build.mue import mue_table
from claims_audit.reference_build.sources import Fixes
from claims_audit.schemas.reference import TABLE_SCHEMAS
from tests.reference.conftest import RAW_FILES, needs_raw

pytestmark = needs_raw


@pytest.fixture(scope="module")
def hcpcs_file():
    return read_hcpcs_zip(RAW_FILES["hcpcs_zip"])


@pytest.fixture(scope="module")
def hcpcs(hcpcs_file) -> pd.DataFrame:
    pricing, source = read_pricing(RAW_FILES["asp_pricing"], Fixes())
    table, _ = hcpcs_table(hcpcs_file, pricing, source)
    return table.set_index("hcpcs_code")


@pytest.fixture(scope="module")
def modifiers(hcpcs_file) -> pd.DataFrame:
    curated, _ = read_curated(DEFAULT_REFERENCE_DIR, "cpt_modifiers", "modifiers")
    table, _ = modifiers_table(hcpcs_file, curated)
    return table.set_index("modifier")


@pytest.fixture(scope="module")
def mue() -> pd.DataFrame:
    practitioner, _ = mue_table(RAW_FILES["mue_practitioner"], "practitioner", Fixes())
    outpatient, _ = mue_table(RAW_FILES["mue_outpatient"], "outpatient_hospital", Fixes())
    return pd.concat([practitioner, outpatient]).set_index(["hcpcs_code", "setting"])


def _unit(hcpcs: pd.DataFrame, code: str) -> tuple:
    row = hcpcs.loc[code]
    amount = None if pd.isna(row["billing_unit_amount"]) else row["billing_unit_amount"]
    unit = None if pd.isna(row["billing_unit"]) else row["billing_unit"]
    return amount, unit, row["billing_unit_text"]


def test_j1560_over_10_cc_has_no_billing_unit_amount(hcpcs):
    # one unit at any volume above 10 cc: the ASP file's `10 CC` is not an amount per unit
    assert hcpcs.loc["J1560", "long_description"].endswith("intramuscular, over 10 cc")
    assert _unit(hcpcs, "J1560") == (None, None, "over 10 cc")


def test_j1460_per_cc_keeps_its_amount(hcpcs):
    assert _unit(hcpcs, "J1460") == (1.0, "mL", "1 CC")


@pytest.mark.parametrize(
    ("code", "amount", "text"),
    [
        ("J9213", 3_000_000.0, "3 million units"),  # interferon alfa-2a
        ("J9214", 1_000_000.0, "1 million units"),  # interferon alfa-2b
        ("J9215", 250_000.0, "250,000 iu"),  # interferon alfa-n3
        ("J9216", 3_000_000.0, "3 million units"),  # interferon gamma 1-b
    ],
)
def test_interferon_amounts_in_millions(hcpcs, code, amount, text):
    assert _unit(hcpcs, code) == (amount, "units", text)
    assert hcpcs.loc[code, "source"] == "january-2026-alpha-numeric-hcpcs-file.zip (2026Q1)"


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("J9035", (10.0, "mg", "10 MG")),
        ("J2354", (25.0, "mcg", "25 MCG")),
        ("J1645", (2500.0, "units", "2500 IU")),
        ("J3301", (10.0, "mg", "10 MG")),  # NOS with a unit: not a true NOC
        ("J9201", (200.0, "mg", "200 MG")),
        ("J1170", (4.0, "mg", "up to 4 mg")),
    ],
)
def test_normal_codes_keep_their_billing_unit(hcpcs, code, unit):
    assert _unit(hcpcs, code) == unit


def test_other_threshold_descriptors_have_no_amount(hcpcs):
    for code in ["J0572", "J0573", "J0574", "J0575", "Q9991", "Q9992"]:
        assert pd.isna(hcpcs.loc[code, "billing_unit_amount"]), code
    assert hcpcs.loc["Q9992", "billing_unit_text"] == "greater than 100 mg"


def test_hcpcs_modifier_add_and_termination_dates(modifiers):
    assert modifiers.loc["JZ", "add_date"] == pd.Timestamp("2023-01-01")  # as the file gives it
    assert pd.isna(modifiers.loc["JZ", "termination_date"])
    assert modifiers.loc["JW", "add_date"] == pd.Timestamp("2003-01-01")
    assert modifiers.loc["JG", "termination_date"] == pd.Timestamp("2024-12-31")
    assert modifiers.loc["TB", "add_date"] == pd.Timestamp("2018-01-01")
    assert modifiers.loc["XE", "add_date"] == pd.Timestamp("2015-01-01")
    assert modifiers.loc["JZ", "source"] == "january-2026-alpha-numeric-hcpcs-file.zip (2026Q1)"


def test_curated_cpt_modifiers_common_on_drug_and_administration_lines(modifiers):
    common = ["25", "26", "50", "51", "59", "76", "77", "79", "91", "95"]
    assert set(common) <= set(modifiers.index)
    cpt = modifiers[modifiers.index.str.fullmatch(r"[0-9]{2}")]
    assert cpt["source"].str.startswith("AMA CPT Appendix A (curated)").all()
    assert cpt["description"].notna().all()
    assert cpt["termination_date"].isna().all()
    assert modifiers.loc["95", "add_date"] == pd.Timestamp("2017-01-01")
    assert modifiers.loc["93", "add_date"] == pd.Timestamp("2022-01-01")
    assert pd.isna(modifiers.loc["26", "add_date"])  # not published: left empty
    assert modifiers.loc["26", "description"].startswith("Professional component")


def test_mue_rationale_both_settings_and_cpt_rows(mue):
    assert mue.loc[("96413", "practitioner"), ["mue_value", "mai", "rationale"]].tolist() == [
        1, 3, "Code Descriptor / CPT Instruction"
    ]  # fmt: skip
    assert mue.loc[("96365", "outpatient_hospital"), "mue_value"] == 2
    assert mue.loc[("96365", "practitioner"), "mue_value"] == 1
    codes = mue.index.get_level_values(0)
    cpt = mue[codes.str.fullmatch(r"[0-9]{5}") & (codes >= "96360") & (codes <= "96549")]
    assert len(cpt) == 84  # 42 administration codes 96360-96549, both settings
    assert mue["rationale"].notna().all()


def test_mue_zero_in_one_setting(mue):
    assert mue.loc[("J8610", "practitioner"), ["mue_value", "mai", "rationale"]].tolist() == [
        0, 3, "Oral Medication; Not Payable"
    ]  # fmt: skip
    assert mue.loc[("J8610", "outpatient_hospital"), "mue_value"] == 20
    assert mue.loc[("J9216", "outpatient_hospital"), ["mue_value", "rationale"]].tolist() == [
        0, "CMS Policy"
    ]  # fmt: skip
    assert mue.loc[("J1560", "practitioner"), ["mue_value", "mai"]].tolist() == [1, 2]


def _same_rows(starter: pd.DataFrame, built: pd.DataFrame, keys: list[str]) -> None:
    wanted = built.merge(starter[keys], on=keys)
    assert len(wanted) == len(starter)

    def plain(df: pd.DataFrame) -> pd.DataFrame:  # one missing-value marker, object cells
        df = df.sort_values(keys, ignore_index=True)[list(built.columns)].astype(object)
        return df.where(df.notna(), None)

    pd.testing.assert_frame_equal(plain(starter), plain(wanted))


def test_starter_bundle_rows_are_those_of_the_full_build(built):
    """reference/ is current: its CMS rows are exactly the built bundle's rows of those keys."""
    starter = load_bundle()
    tables = {name: load_bundle(built[0])[name] for name in TABLE_SCHEMAS}
    for name, keys in {
        "hcpcs": ["hcpcs_code"],
        "payment_limits": ["hcpcs_code"],
        "mue": ["hcpcs_code", "setting"],
        "opps": ["hcpcs_code"],
        "ndc_crosswalk": ["ndc11", "hcpcs_code"],
    }.items():
        _same_rows(starter[name], tables[name], keys)
    cms_modifiers = starter["modifiers"][~starter["modifiers"]["source"].str.contains("CPT")]
    _same_rows(cms_modifiers, tables["modifiers"], ["modifier"])


def test_starter_bundle_has_the_fixture_codes():
    starter = load_bundle()
    mue = starter["mue"].set_index(["hcpcs_code", "setting"])
    for code in ["96413", "96415", "96365", "96372", "96374", "96375", "96402", "36593", "99214",
                 "45378", "96401", "96366", "96367", "99213"]:  # fmt: skip
        assert {(code, "practitioner"), (code, "outpatient_hospital")} <= set(mue.index), code
    assert mue.loc[("J8610", "practitioner"), "mue_value"] == 0
    assert mue.loc[("J9216", "outpatient_hospital"), "mue_value"] == 0
    hcpcs = starter["hcpcs"].set_index("hcpcs_code")
    assert {"J1560", "J3301", "J9201", "J3490", "J3590", "J9999"} <= set(hcpcs.index)
    limits = starter["payment_limits"].set_index("hcpcs_code")["payment_limit_usd"]
    assert limits[["J3301", "J9201", "J8610"]].tolist() == [0.741, 3.59, 0.151]
    opps = starter["opps"].set_index("hcpcs_code")
    assert opps.loc["96413", ["status_indicator", "payment_rate_usd"]].tolist() == ["S", 331.69]
    assert opps.loc["J1560", "payment_rate_usd"] == pytest.approx(170.476)
    assert starter["modifiers"].set_index("modifier").loc["JZ", "add_date"] == pd.Timestamp(
        "2023-01-01"
    )
