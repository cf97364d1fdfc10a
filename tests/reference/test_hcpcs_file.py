"""Parsing a HCPCS zip (synthetic, built in tmp_path) and assembling the hcpcs/modifiers tables."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from claims_audit.errors import ReferenceBuildError
from claims_audit.reference_build.hcpcs import (
    HcpcsFile,
    hcpcs_table,
    layout_positions,
    modifiers_table,
    read_hcpcs_zip,
)
from claims_audit.reference_build.sources import Source

# the fields of the 2026 record layout that the builder reads, in its own words
LAYOUT = """
  1.   Healthcare Common Procedure Coding System Code
                                 5      1      5    CHAR
  4.   HCPCS Modifier Code
                                 2      4      5    CHAR
  5.   HCPCS Sequence Number
                                 5      6     10    NUM
  6.   HCPCS Record Identification Code
                                 1     11     11    CHAR
  7.   HCPCS Long Description
                                80     12     91    CHAR
  8.   HCPCS Short Description
                                28     92    119    CHAR
  27.  HCPCS Code Added Date
                                 8    269    276    NUM
  28.  HCPCS Action Effective Date
                                 8    277    284    NUM
  29.  HCPCS Termination Date
                                 8    285    292    NUM
"""


def _record(code, seq, recid, long, short="", add="", eff="", term="", width=320) -> str:
    line = f"{code:<5}{seq:05d}{recid}{long:<80}{short:<28}".ljust(268)
    return (line + f"{add:<8}{eff:<8}{term:<8}").ljust(width)


def _zip(tmp_path, records: list[str], name="january-2026-alpha-numeric-hcpcs-file.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("HCPC2026_JAN_ANWEB_01122026.txt", "\r\n".join(records) + "\r\n")
        zf.writestr("HCPC2026_recordlayout.txt", LAYOUT)
    return path


RECORDS = [
    _record("   JW", 100, "7", "Drug amount discarded", "Discarded drug", "20030101", "20030101"),
    _record("J1170", 100, "3", "Injection, hydromorphone, up to 4 mg", "Hydromorphone injection",
            "19820101", "20241001", "20240930"),
    _record("J2354", 100, "3", "Injection, octreotide, non-depot form", "Octreotide inj",
            "20040101", "20040101"),
    _record("J2354", 200, "4", "injection, 25 mcg"),
    _record("J3490", 100, "3", "Unclassified drugs", "Drugs unclassified", "19860101", "19970101",
            width=546),
    " " * 296,
]  # fmt: skip


def test_read_hcpcs_zip_records_and_continuations(tmp_path):
    parsed = read_hcpcs_zip(_zip(tmp_path, RECORDS))
    procedures = parsed.procedures.set_index("hcpcs_code")
    assert list(procedures.index) == ["J1170", "J2354", "J3490"]
    assert procedures.loc["J2354", "long_description"] == (
        "Injection, octreotide, non-depot form injection, 25 mcg"
    )
    assert procedures.loc["J1170", "termination_date"] == pd.Timestamp("2024-09-30")
    assert procedures.loc["J1170", "effective_date"] == pd.Timestamp("2024-10-01")
    assert pd.isna(procedures.loc["J3490", "termination_date"])
    assert parsed.modifiers[["modifier", "description"]].values.tolist() == [
        ["JW", "Drug amount discarded"]
    ]
    assert parsed.noc_codes is None
    assert (parsed.source.start, parsed.source.end) == (date(2026, 1, 1), date(2026, 3, 31))


def test_read_hcpcs_zip_unknown_recid_names_line(tmp_path):
    records = [*RECORDS[:2], _record("J9999", 100, "5", "Not otherwise classified")]
    with pytest.raises(ReferenceBuildError, match=r"line 3: record identification '5'"):
        read_hcpcs_zip(_zip(tmp_path, records))


def test_read_hcpcs_zip_orphan_continuation_is_error(tmp_path):
    records = [*RECORDS[:2], _record("J2355", 200, "4", "orphan continuation")]
    with pytest.raises(ReferenceBuildError, match=r"line 3: a code must have exactly one first"):
        read_hcpcs_zip(_zip(tmp_path, records))


def test_read_hcpcs_zip_bad_date_names_line(tmp_path):
    records = [_record("J1170", 100, "3", "Injection", "Inj", "19821301", "19820101")]
    with pytest.raises(ReferenceBuildError, match=r"line 1: add_date '19821301' is not a YYYYMMDD"):
        read_hcpcs_zip(_zip(tmp_path, records))


def test_layout_positions_missing_field_named(tmp_path):
    layout = LAYOUT.replace("HCPCS Termination Date", "HCPCS Ending Date")
    with pytest.raises(ReferenceBuildError, match=r"does not describe field\(s\) 'HCPCS Termin"):
        layout_positions(layout, tmp_path / "layout.txt")


def test_layout_positions_zero_based_slices(tmp_path):
    positions = layout_positions(LAYOUT, tmp_path / "layout.txt")
    assert positions["code"] == (0, 5)
    assert positions["modifier"] == (3, 5)
    assert positions["add_date"] == (268, 276)


ASP_SOURCE = Source(Path("asp.csv"), "ASP", None, None, "0" * 64)


def _hcpcs_file(noc_codes) -> HcpcsFile:
    source = Source(Path("h.zip"), "HCPCS", date(2026, 1, 1), date(2026, 3, 31), "0" * 64)
    procedures = pd.DataFrame(
        {
            "hcpcs_code": ["J1170", "J2354", "J3490", "J7999", "J9999"],
            "long_description": [
                "Injection, hydromorphone, up to 4 mg",
                "Injection, octreotide, non-depot form, 25 mcg",
                "Unclassified drugs",
                "Compounded drug, not otherwise classified",
                "Not otherwise classified, antineoplastic drugs",
            ],
        }
    )
    modifiers = pd.DataFrame({"modifier": ["JW", "XE"], "description": ["Discarded", "Separate"]})
    return HcpcsFile(source, procedures, modifiers, noc_codes)


def test_hcpcs_table_asp_text_wins_over_descriptor():
    pricing = pd.DataFrame({"hcpcs_code": ["J2354", "J7999"], "dosage_text": ["PER DOSE", "1 ML"]})
    table, stats = hcpcs_table(_hcpcs_file(frozenset({"J3490", "J9999"})), pricing, ASP_SOURCE)
    table = table.set_index("hcpcs_code")
    assert pd.isna(table.loc["J2354", "billing_unit"])  # the ASP says PER DOSE: not an amount
    assert table.loc["J2354", "billing_unit_text"] == "PER DOSE"
    assert (table.loc["J7999", "billing_unit_amount"], table.loc["J7999", "billing_unit"]) == (
        1.0,
        "mL",
    )
    assert (table.loc["J1170", "billing_unit_amount"], table.loc["J1170", "billing_unit"]) == (
        4.0,
        "mg",
    )
    assert table["is_noc"].to_dict() == {
        "J1170": False, "J2354": False, "J3490": True, "J7999": False, "J9999": True
    }  # fmt: skip
    assert stats["hcpcs_billing_unit_unparsed_codes"] == ["J2354", "J3490", "J9999"]
    assert stats["hcpcs_noc_from"] == "cms_noc_list"


def test_hcpcs_table_noc_from_descriptor_without_cms_list():
    pricing = pd.DataFrame(
        {"hcpcs_code": pd.Series(dtype=str), "dosage_text": pd.Series(dtype=str)}
    )
    table, stats = hcpcs_table(_hcpcs_file(None), pricing, ASP_SOURCE)
    assert table.set_index("hcpcs_code")["is_noc"].to_dict() == {
        "J1170": False, "J2354": False, "J3490": True, "J7999": True, "J9999": True
    }  # fmt: skip
    assert stats["hcpcs_noc_from"] == "descriptor"


def test_modifiers_table_cms_wins_over_curated():
    curated = pd.DataFrame(
        {
            "modifier": ["25", "XE"],
            "description": ["Significant E/M", "curated XE"],
            "add_date": pd.to_datetime([None, None]),
            "termination_date": pd.to_datetime([None, None]),
            "source": ["CPT", "CPT"],
        }
    )
    hcpcs = _hcpcs_file(None)
    hcpcs.modifiers = hcpcs.modifiers.assign(
        add_date=pd.to_datetime(["2003-01-01", "2015-01-01"]), termination_date=pd.NaT
    )
    table, stats = modifiers_table(hcpcs, curated)
    assert table[["modifier", "description", "source"]].values.tolist() == [
        ["JW", "Discarded", "h.zip (2026Q1)"],
        ["XE", "Separate", "h.zip (2026Q1)"],
        ["25", "Significant E/M", "CPT"],
    ]
    assert stats["modifiers_curated_superseded_by_hcpcs"] == ["XE"]


def test_hcpcs_table_threshold_descriptor_wins_over_asp_amount():
    source = Source(Path("h.zip"), "HCPCS", date(2026, 1, 1), date(2026, 3, 31), "0" * 64)
    procedures = pd.DataFrame(
        {
            "hcpcs_code": ["J1460", "J1560", "J9216"],
            "long_description": [
                "Injection, gamma globulin, intramuscular, 1 cc",
                "Injection, gamma globulin, intramuscular, over 10 cc",
                "Injection, interferon, gamma 1-b, 3 million units",
            ],
        }
    )
    hcpcs = HcpcsFile(source, procedures, pd.DataFrame(), frozenset())
    pricing = pd.DataFrame({"hcpcs_code": ["J1460", "J1560"], "dosage_text": ["1 CC", "10 CC"]})
    table, stats = hcpcs_table(hcpcs, pricing, ASP_SOURCE)
    units = table.set_index("hcpcs_code")[
        ["billing_unit_amount", "billing_unit", "billing_unit_text"]
    ]
    assert units.loc["J1460"].tolist() == [1.0, "mL", "1 CC"]
    assert pd.isna(units.loc["J1560", "billing_unit_amount"])
    assert pd.isna(units.loc["J1560", "billing_unit"])
    assert units.loc["J1560", "billing_unit_text"] == "over 10 cc"
    assert units.loc["J9216"].tolist() == [3_000_000.0, "units", "3 million units"]
    assert stats["hcpcs_billing_unit_not_per_amount_codes"] == ["J1560"]
    assert stats["hcpcs_billing_unit_unparsed_codes"] == []
