"""Reading CMS CSVs (header search, banner, padding) and telling the period a file covers."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from claims_audit.errors import ReferenceBuildError
from claims_audit.reference_build.sources import (
    Column,
    Fixes,
    clean_codes,
    parse_number,
    period_from_banner,
    period_from_name,
    read_cms_csv,
)

COLUMNS = [
    Column("code", "hcpcs code", r"hcpcs code"),
    Column("limit", "payment limit", r"payment limit"),
]


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("MCR_MUE_PractitionerServices_Eff_04-01-2026.csv", date(2026, 4, 1), date(2026, 6, 30)),
        ("cms_opps_addendum_b_2025Q4_oct2025_103125.csv", date(2025, 10, 1), date(2025, 12, 31)),
        ("january-2026-alpha-numeric-hcpcs-file.zip", date(2026, 1, 1), date(2026, 3, 31)),
        ("HCPC2026_JUL_ANWEB_07012026.txt", date(2026, 7, 1), date(2026, 9, 30)),
        ("508 version of October 2025 Web Addendum B.10.31.25.csv", date(2025, 10, 1),
         date(2025, 12, 31)),
    ],
)  # fmt: skip
def test_period_from_name_quarter(name, start, end):
    assert period_from_name(name) == (start, end)


def test_period_from_name_none_without_date():
    assert period_from_name("mue.csv") is None


def test_period_from_banner_effective_through():
    banner = '"     Effective January 1, 2026 through March 31, 2026",,,'
    assert period_from_banner(banner) == (date(2026, 1, 1), date(2026, 3, 31))
    assert period_from_banner("Payment Allowance Limits for Medicare Part B Drugs") is None


def _write(path, text: str):
    path.write_bytes(text.encode("cp1252"))
    return path


def test_read_cms_csv_finds_header_below_banner(tmp_path):
    path = _write(
        tmp_path / "limits_2026Q1.csv",
        'Title,,,\n"Effective January 1, 2026 through March 31, 2026",,,\n,,,\n'
        "HCPCS Code,Short Description,Payment Limit,\n"
        " J2997 ,Alteplase recombinant, 93.832 ,\n,,,\nJ9035,Bevacizumab \u2013 inj,73.632,\n",
    )
    df, banner = read_cms_csv(path, COLUMNS, "payment limit")
    assert list(df.columns) == ["_row", "code", "limit"]
    assert df[["code", "limit"]].values.tolist() == [["J2997", "93.832"], ["J9035", "73.632"]]
    assert list(df["_row"]) == [1, 3]  # data row numbers survive the dropped padding row
    assert period_from_banner(banner) == (date(2026, 1, 1), date(2026, 3, 31))


def test_read_cms_csv_header_with_embedded_newline(tmp_path):
    path = _write(
        tmp_path / "mue.csv",
        '"Copyright notice\n\nspanning lines",,\n"HCPCS/\nCPT Code",Values\nJ2354,60\n',
    )
    columns = [Column("code", "hcpcs/cpt code", r"hcpcs/ ?cpt code"), Column("v", "v", r"values")]
    df, _ = read_cms_csv(path, columns, "MUE")
    assert df[["code", "v"]].values.tolist() == [["J2354", "60"]]


def test_read_cms_csv_missing_column_named(tmp_path):
    path = _write(tmp_path / "x.csv", "Title\nHCPCS Code,Short Description,Dosage\nJ2997,a,1 MG\n")
    columns = [*COLUMNS, Column("dosage", "dosage", r"dosage")]
    with pytest.raises(
        ReferenceBuildError, match=r"x\.csv: the header row .* lacks .*'payment limit'"
    ):
        read_cms_csv(path, columns, "payment limit")


def test_read_cms_csv_no_header_row(tmp_path):
    path = _write(tmp_path / "other.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(ReferenceBuildError, match=r"other\.csv: no header row with columns"):
        read_cms_csv(path, COLUMNS, "payment limit")


def test_read_cms_csv_not_cp1252(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"HCPCS Code,Payment Limit\n\x81\x8d\x8f\n")
    with pytest.raises(ReferenceBuildError, match=r"binary\.csv: not a cp1252 text file"):
        read_cms_csv(path, COLUMNS, "payment limit")


def test_parse_number_dollars_commas_and_na(tmp_path):
    df = pd.DataFrame(
        {"_row": [1, 2, 3, 4], "v": ["$3,179.530", "100,000", pd.NA, "N/A"]}, dtype="object"
    )
    values = parse_number(df, "v", tmp_path / "f.csv", "v")
    assert values.iloc[:2].tolist() == [3179.53, 100000.0]
    assert values.iloc[2:].isna().all()


def test_parse_number_text_is_error_naming_row(tmp_path):
    df = pd.DataFrame({"_row": [1, 2], "v": ["1", "see note"]})
    with pytest.raises(
        ReferenceBuildError, match=r"f\.csv: data row 2: column 'v' value 'see note'"
    ):
        parse_number(df, "v", tmp_path / "f.csv", "v")


def test_clean_codes_fixes_and_drops_recorded(tmp_path):
    df = pd.DataFrame({"_row": [1, 2, 3], "code": [" j2997 ", "A4341\xff", "Note: see"]})
    fixes = Fixes()
    out = clean_codes(df, "code", "t", tmp_path / "f.csv", fixes)
    assert out["code"].tolist() == ["J2997", "A4341"]
    assert fixes.counts == {"t": 2}
    assert [f["action"] for f in fixes.items["t"]] == [
        "removed stray characters from the code",
        "dropped: not a HCPCS/CPT code",
    ]
