"""The bundle built from the real CMS files: row counts, provenance and the facts the rules use."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from claims_audit import __version__
from claims_audit.reference import load_bundle
from claims_audit.schemas.reference import TABLE_SCHEMAS
from tests.reference.conftest import RAW_FILES, needs_raw

pytestmark = needs_raw

ASP_LABEL = "cms_asp_payment_limit_2026Q1_jan2026_121725.csv (2026Q1)"
HCPCS_LABEL = "january-2026-alpha-numeric-hcpcs-file.zip (2026Q1)"


def _row(df: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for column, value in where.items():
        mask &= df[column] == value
    assert mask.sum() == 1, f"{where}: {int(mask.sum())} rows"
    return df[mask].iloc[0]


def test_build_row_counts_exact(built):
    out, manifest, tables = built
    expected = {
        "hcpcs": 8623,  # RECID 3 records
        "modifiers": 389,  # 383 RECID 7 records + 6 curated CPT modifiers
        "ndc_crosswalk": 7124,  # 7125 rows less one 12-digit value that is not an NDC
        "payment_limits": 876,  # 877 rows less A9606 (payment limit N/A)
        "mue": 30140,  # 15095 practitioner + 15045 outpatient hospital
        "opps": 18798,
        "container": 3,
        "drug_policy": 2,
    }
    assert {name: len(df) for name, df in tables.items()} == expected
    assert {name: entry["rows"] for name, entry in manifest["tables"].items()} == expected


def test_manifest_gives_file_and_sha256_of_every_table(built):
    out, manifest, _ = built
    assert set(manifest["tables"]) == set(TABLE_SCHEMAS)
    for name, entry in manifest["tables"].items():
        assert entry["file"] == f"{name}.parquet"
        assert entry["sha256"] == hashlib.sha256((out / entry["file"]).read_bytes()).hexdigest()


def test_build_writes_every_table_and_replaces_old_bundle(built):
    out, _, _ = built
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{t}.parquet" for t in TABLE_SCHEMAS] + ["manifest.json"])
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp/old dirs


def test_build_bundle_loads_with_pipeline_loader(built):
    out, _, _ = built
    bundle = load_bundle(out)
    assert len(bundle["hcpcs"]) == 8623
    assert bundle.manifest["kind"] == "cms"


def test_build_rows_sorted_deterministically(built):
    _, _, tables = built
    assert tables["hcpcs"]["hcpcs_code"].is_monotonic_increasing
    assert tables["modifiers"]["modifier"].is_monotonic_increasing
    assert tables["ndc_crosswalk"]["ndc11"].is_monotonic_increasing
    mue = tables["mue"]
    assert list(mue.sort_values(["hcpcs_code", "setting"]).index) == list(mue.index)


def test_hcpcs_billing_units_of_audit_codes(built):
    hcpcs = built[2]["hcpcs"]
    expected = {
        "J2997": (1.0, "mg", "1 MG"),
        "J2354": (25.0, "mcg", "25 MCG"),
        "J1645": (2500.0, "units", "2500 IU"),
        "J9035": (10.0, "mg", "10 MG"),
        "J0897": (1.0, "mg", "1 MG"),
        "J2353": (1.0, "mg", "1 MG"),
    }
    for code, (amount, unit, text) in expected.items():
        row = _row(hcpcs, hcpcs_code=code)
        assert (row["billing_unit_amount"], row["billing_unit"], row["billing_unit_text"]) == (
            amount,
            unit,
            text,
        ), code
        assert row["source"] == f"{HCPCS_LABEL}; billing unit: {ASP_LABEL}"


def test_hcpcs_billing_unit_from_descriptor_when_not_in_asp(built):
    hcpcs = built[2]["hcpcs"]
    j1170 = _row(hcpcs, hcpcs_code="J1170")  # terminated, so no longer priced in the ASP file
    assert (j1170["billing_unit_amount"], j1170["billing_unit"]) == (4.0, "mg")
    assert j1170["billing_unit_text"] == "up to 4 mg"
    assert j1170["source"] == HCPCS_LABEL


def test_hcpcs_billing_unit_unparsed_keeps_published_text(built):
    hcpcs = built[2]["hcpcs"]
    a9606 = _row(hcpcs, hcpcs_code="A9606")
    assert pd.isna(a9606["billing_unit"]) and pd.isna(a9606["billing_unit_amount"])
    assert a9606["billing_unit_text"] == "1 microCurie"
    j3490 = _row(hcpcs, hcpcs_code="J3490")
    assert pd.isna(j3490["billing_unit"]) and pd.isna(j3490["billing_unit_text"])


def test_hcpcs_dates_of_terminated_code(built):
    j1170 = _row(built[2]["hcpcs"], hcpcs_code="J1170")
    assert j1170["termination_date"] == pd.Timestamp("2024-09-30")
    assert j1170["add_date"] == pd.Timestamp("1982-01-01")
    assert j1170["effective_date"] == pd.Timestamp("2024-10-01")


def test_hcpcs_long_descriptor_joins_continuation_records(built):
    j2354 = _row(built[2]["hcpcs"], hcpcs_code="J2354")
    assert j2354["long_description"] == (
        "Injection, octreotide, non-depot form for subcutaneous or intravenous injection, 25 mcg"
    )
    assert j2354["short_description"] == "Octreotide inj, non-depot"


def test_hcpcs_overlong_record_parsed(built):
    g9871 = _row(built[2]["hcpcs"], hcpcs_code="G9871")  # the 546-byte line
    assert g9871["add_date"] == pd.Timestamp("2026-01-01")
    assert g9871["long_description"].endswith("online, 60 minutes")


def test_hcpcs_invalid_code_absent(built):
    assert "J2297" not in set(built[2]["hcpcs"]["hcpcs_code"])
    assert "J2297" not in set(built[2]["mue"]["hcpcs_code"])


def test_hcpcs_noc_flag_from_cms_list(built):
    hcpcs = built[2]["hcpcs"].set_index("hcpcs_code")["is_noc"]
    assert hcpcs[["J3490", "J3590", "J9999", "J7599", "C9399"]].all()
    assert not hcpcs[["J9035", "J2997", "J0131"]].any()
    assert int(hcpcs.sum()) == 166
    assert built[1]["stats"]["hcpcs_noc_from"] == "cms_noc_list"


def test_modifiers_termination_and_curated(built):
    modifiers = built[2]["modifiers"]
    jg = _row(modifiers, modifier="JG")
    assert jg["termination_date"] == pd.Timestamp("2024-12-31")
    assert jg["add_date"] == pd.Timestamp("2018-01-01")
    assert jg["description"].endswith("reported for informational purposes")
    assert pd.isna(_row(modifiers, modifier="JW")["termination_date"])
    assert _row(modifiers, modifier="25")["source"] == "test fixture"
    assert _row(modifiers, modifier="XE")["source"] == HCPCS_LABEL  # CMS file wins
    stats = built[1]["stats"]
    assert stats["modifiers_curated_superseded_by_hcpcs"] == ["LT", "RT", "XE", "XP", "XS", "XU"]


def test_payment_limits_values_and_quarter(built):
    limits = built[2]["payment_limits"]
    j2997 = _row(limits, hcpcs_code="J2997")
    assert j2997["payment_limit_usd"] == pytest.approx(93.832)
    assert (j2997["quarter"], j2997["dosage_text"], j2997["source"]) == (
        "2026Q1",
        "1 MG",
        ASP_LABEL,
    )
    for code, limit in {"J2354": 0.658, "J0897": 29.457, "J9035": 73.632}.items():
        assert _row(limits, hcpcs_code=code)["payment_limit_usd"] == pytest.approx(limit)
    assert set(limits["quarter"]) == {"2026Q1"}
    assert "A9606" not in set(limits["hcpcs_code"])


def test_ndc_crosswalk_octreotide_depot_maps_to_j2353(built):
    crosswalk = built[2]["ndc_crosswalk"]
    rows = crosswalk[crosswalk["ndc11"] == "00078-0811-81"]
    assert list(rows["hcpcs_code"]) == ["J2353"]
    assert rows.iloc[0]["drug_name"] == "Sandostatin Lar Depot"


def test_ndc_crosswalk_prolia_billing_units(built):
    prolia = _row(built[2]["ndc_crosswalk"], ndc11="55513-0710-01")
    assert prolia["hcpcs_code"] == "J0897"
    assert prolia["billing_units_per_item"] == 60.0
    assert prolia["billing_units_per_package"] == 60.0
    assert prolia["labeler"] == "Amgen Inc"
    assert prolia["source"] == "cms_asp_ndc_hcpcs_crosswalk_2026Q1_jan2026_121725.csv (2026Q1)"
    avastin = _row(built[2]["ndc_crosswalk"], ndc11="50242-0061-01")
    assert (avastin["pkg_size"], avastin["billing_units_per_item"]) == (16.0, 40.0)


def test_ndc_crosswalk_keeps_ndc_listed_under_two_codes(built):
    crosswalk = built[2]["ndc_crosswalk"]
    tice = crosswalk[crosswalk["ndc11"] == "00052-0602-02"]
    assert sorted(tice["hcpcs_code"]) == ["90586", "J9030"]
    assert crosswalk["ndc11"].duplicated().sum() == 179


def test_mue_values_by_setting(built):
    mue = built[2]["mue"]
    j2354 = _row(mue, hcpcs_code="J2354", setting="practitioner")
    assert (j2354["mue_value"], j2354["mai"]) == (60, 3)
    assert j2354["rationale"] == "Prescribing Information"
    assert j2354["source"] == "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv (2026Q2)"
    for code, value in {"J2997": 100, "J0897": 120, "J1645": 10, "J9035": 230}.items():
        assert _row(mue, hcpcs_code=code, setting="practitioner")["mue_value"] == value
    assert len(mue[mue["setting"] == "outpatient_hospital"]) == 15045


def test_mue_mai_only_one_two_three(built):
    counts = built[2]["mue"].groupby(["setting", "mai"]).size().to_dict()
    assert counts == {
        ("outpatient_hospital", 1): 42,
        ("outpatient_hospital", 2): 6075,
        ("outpatient_hospital", 3): 8928,
        ("practitioner", 1): 41,
        ("practitioner", 2): 5417,
        ("practitioner", 3): 9637,
    }


def test_opps_status_indicator_apc_rate(built):
    opps = built[2]["opps"]
    j0897 = _row(opps, hcpcs_code="J0897")
    assert (j0897["status_indicator"], j0897["apc"]) == ("K", "9272")
    assert j0897["payment_rate_usd"] == pytest.approx(29.38)
    j2354 = _row(opps, hcpcs_code="J2354")
    assert j2354["status_indicator"] == "N" and pd.isna(j2354["payment_rate_usd"])
    assert _row(opps, hcpcs_code="A4341")["status_indicator"] == "N"  # stray 0xFF removed
    assert j0897["source"] == "cms_opps_addendum_b_2025Q4_oct2025_103125.csv (2025Q4)"


def test_curated_tables_copied(built):
    container = built[2]["container"]
    assert list(container["container"]) == ["single_dose", "single_dose", "multi_dose"]
    assert list(built[2]["drug_policy"]["hcpcs_code"]) == ["J0897", "J9035"]


def test_manifest_header_and_tables(built):
    out, manifest, _ = built
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["format"] == "claims-audit-reference/2"
    assert manifest["kind"] == "cms"
    assert manifest["tool_version"] == __version__
    assert manifest["built_at"].endswith("+00:00")


def test_manifest_sources_periods_and_hashes(built):
    sources = {(s["table"], s["file"]): s for s in built[1]["sources"]}
    pricing = sources[("payment_limits", RAW_FILES["asp_pricing"].name)]
    assert pricing["effective_period"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert pricing["rows"] == 876
    assert pricing["sha256"] == hashlib.sha256(RAW_FILES["asp_pricing"].read_bytes()).hexdigest()
    mue = sources[("mue", RAW_FILES["mue_outpatient"].name)]
    assert mue["effective_period"] == {"start": "2026-04-01", "end": "2026-06-30"}
    assert mue["rows"] == 15045
    hcpcs = sources[("hcpcs", RAW_FILES["hcpcs_zip"].name)]
    assert hcpcs["effective_period"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert hcpcs["product"] == "HCPCS Level II alpha-numeric file"
    opps = sources[("opps", RAW_FILES["opps"].name)]
    assert opps["effective_period"] == {"start": "2025-10-01", "end": "2025-12-31"}
    assert sources[("modifiers", "cpt_modifiers.csv")]["rows"] == 6
    assert sources[("container", "container.csv")]["effective_period"] == {
        "start": None,
        "end": None,
    }
    assert {s["table"] for s in built[1]["sources"]} == set(TABLE_SCHEMAS)


def test_manifest_stats_unparsed_billing_units(built):
    stats = built[1]["stats"]
    assert stats["hcpcs_billing_unit_unparsed"] == 100
    assert stats["hcpcs_billing_unit_unparsed_asp"] == 40
    assert stats["hcpcs_billing_unit_from_asp"] == 801  # J1560's `10 CC` is not used
    assert stats["hcpcs_billing_unit_from_descriptor"] == 777  # with J9213, J9214, J9216
    assert len(stats["hcpcs_billing_unit_unparsed_codes"]) == 100
    assert {"A9606", "J3490"} <= set(stats["hcpcs_billing_unit_unparsed_codes"])
    assert "J9216" not in stats["hcpcs_billing_unit_unparsed_codes"]  # 3 million units
    assert stats["hcpcs_billing_unit_not_per_amount_codes"] == [
        "J0572", "J0573", "J0574", "J0575", "J1560", "Q9991", "Q9992"
    ]  # fmt: skip


def test_manifest_records_source_fixes(built):
    fixes = built[1]["stats"]["source_rows_fixed"]
    assert fixes["counts"] == {"ndc_crosswalk": 1, "opps": 1, "payment_limits": 1}
    (dropped_ndc,) = fixes["rows"]["ndc_crosswalk"]
    assert (dropped_ndc["value"], dropped_ndc["action"]) == ("888867413689", "dropped: not an NDC")
    (no_limit,) = fixes["rows"]["payment_limits"]
    assert (no_limit["row"], no_limit["value"]) == (43, "N/A")
