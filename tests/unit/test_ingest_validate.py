import os
import signal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claims_audit.errors import InputError
from claims_audit.ingest import read_input, resolve_inputs
from claims_audit.rejects import REJECT_COLUMNS
from claims_audit.validate import validate_inputs

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


# -- issue 17 / 12: batch-independent typing, ranges, ASCII digits, hostile files ----------


def reject_list(checked) -> list[list]:
    return checked.rejects[["source_row", "column", "reason_code", "value"]].values.tolist()


def parquet(tmp_path: Path, name: str, columns: dict) -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


BASE_COLUMNS = {
    "claim_id": ["Z1", "Z2"],
    "line_number": [1, 1],
    "patient_id": ["PZ1", "PZ2"],
    "payer_type": ["medicare", "medicare"],
    "hcpcs_code": ["J9035", "J9035"],
    "billed_units": [38.0, 38.0],
}


def test_zoned_parquet_dates_alone_and_with_a_csv_are_the_same(tmp_path):
    stamps = pa.array([1767261600, 1767308400], pa.timestamp("s", tz="America/New_York"))
    zoned = parquet(tmp_path, "z.parquet", {**BASE_COLUMNS, "service_date": stamps})
    text = write(tmp_path, "t.csv", HEADER + "\nC1,1,P1,medicare,2026-01-05,J9035,38\n")
    alone = validate_inputs([read_input(zoned)])
    both = validate_inputs([read_input(text), read_input(zoned)])
    assert alone.rejects.empty and both.rejects.empty
    # 10:00 UTC is 05:00 in New York (Jan 1); 23:00 UTC on Jan 1 is 18:00 there
    expected = [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-01")]
    assert alone.lines["service_date"].tolist() == expected
    assert both.lines["service_date"].tolist()[1:] == expected


def test_typed_values_become_their_exact_text(tmp_path):
    path = parquet(
        tmp_path,
        "typed.parquet",
        {
            **BASE_COLUMNS,
            "service_date": pa.array([20454, 20455], pa.date32()),
            "billed_units": pa.array([0.1, 1 / 3]),
            "place_of_service": pa.array([11, 22], pa.int32()),
        },
    )
    raw = read_input(path)
    assert raw.frame["billed_units"].astype(str).tolist() == ["0.1", "0.3333333333333333"]
    assert raw.frame["service_date"].astype(str).tolist() == ["2026-01-01", "2026-01-02"]
    lines = validate_inputs([raw]).lines
    assert lines["billed_units"].tolist() == [0.1, 1 / 3]
    assert lines["place_of_service"].astype(str).tolist() == ["11", "22"]


def test_numbers_out_of_range_are_v004(tmp_path):
    rows = ["1e308", "1e-320", "1000000000", "0.000001", "1000000000.5", "0.0000009"]
    text = HEADER + "".join(
        f"\nC{i},1,P{i},medicare,2026-01-05,J9035,{u}" for i, u in enumerate(rows)
    )
    checked = validate_inputs([read_input(write(tmp_path, "n.csv", text + "\n"))])
    assert reject_list(checked) == [
        [1, "billed_units", "V004", "1e308"],
        [2, "billed_units", "V004", "1e-320"],
        [5, "billed_units", "V004", "1000000000.5"],
        [6, "billed_units", "V004", "0.0000009"],
    ]
    assert checked.lines["billed_units"].tolist() == [1e9, 1e-6]
    assert "at most 1e+09, none below 1e-06" in checked.rejects["message"].iloc[0]


def test_dates_outside_1900_2100_are_v004(tmp_path):
    dates = ["1678-01-01", "1899-12-31", "1900-01-01", "2100-12-31", "2101-01-01", "12/31/1850"]
    text = HEADER + "".join(f"\nC{i},1,P{i},medicare,{d},J9035,38" for i, d in enumerate(dates))
    checked = validate_inputs([read_input(write(tmp_path, "d.csv", text + "\n"))])
    assert [r[:3] for r in reject_list(checked)] == [
        [1, "service_date", "V004"],
        [2, "service_date", "V004"],
        [5, "service_date", "V004"],
        [6, "service_date", "V004"],
    ]
    assert "date outside the years 1900-2100" in checked.rejects["message"].iloc[0]
    assert checked.lines["service_date"].tolist() == [
        pd.Timestamp("1900-01-01"),
        pd.Timestamp("2100-12-31"),
    ]


def test_parquet_integers_beyond_2_53_reject_the_row_not_the_file(tmp_path):
    columns = {**BASE_COLUMNS, "service_date": ["2026-01-05", "2026-01-05"]}
    columns["line_number"] = pa.array([1, 2**53 + 1], pa.int64())
    checked = validate_inputs([read_input(parquet(tmp_path, "big.parquet", columns))])
    assert reject_list(checked) == [[2, "line_number", "V004", "9007199254740993"]]
    assert checked.lines["claim_id"].tolist() == ["Z1"]


def test_unknown_time_zone_is_v004_per_row(tmp_path):
    stamps = pa.array([1767261600, None], pa.timestamp("s", tz="Mars/Olympus"))
    path = parquet(tmp_path, "mars.parquet", {**BASE_COLUMNS, "service_date": stamps})
    raw = read_input(path)
    checked = validate_inputs([raw])
    assert reject_list(checked) == [
        [1, "service_date", "V004", "2026-01-01 10:00:00.000"],  # Parquet keeps ms
        [2, "service_date", "V002", ""],
    ]
    assert "time zone 'Mars/Olympus' is unknown" in checked.rejects["message"].iloc[0]
    assert raw.rows_read == 2


def test_nested_column_is_exit_2_naming_file_and_column(tmp_path):
    columns = {**BASE_COLUMNS, "service_date": ["2026-01-05", "2026-01-05"]}
    columns["payer_type"] = pa.array([{"a": "medicare"}, None], pa.struct([("a", pa.string())]))
    path = parquet(tmp_path, "nested.parquet", columns)
    with pytest.raises(InputError) as err:
        read_input(path)
    assert str(path) in str(err.value) and "column payer_type has type struct" in str(err.value)


def test_ascii_digits_only(tmp_path):
    arabic = str.maketrans(
        "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    )
    text = (
        HEADER
        + ",place_of_service"
        + "\nC1,1,P1,medicare,2026-01-05,J9035,38,"
        + "11".translate(arabic)
        + "\nC2,1,P2,medicare,2026-01-05,J9035,"
        + "38".translate(arabic)
        + ",11\nC3,"
        + "1".translate(arabic)
        + ",P3,medicare,2026-01-05,J9035,38,11\n"
    )
    checked = validate_inputs([read_input(write(tmp_path, "ar.csv", text))])
    assert [r[:3] for r in reject_list(checked)] == [
        [1, "place_of_service", "V004"],
        [2, "billed_units", "V003"],
        [3, "line_number", "V003"],
    ]


def test_arabic_indic_hcpcs_is_not_a_cpt_code():
    from claims_audit.enrich import CPT_PATTERN

    codes = pd.Series(["96413", "\u0669\u0666\u0664\u0661\u0663", "0001F"], dtype="string")
    assert codes.str.match(CPT_PATTERN).tolist() == [True, False, True]


def test_control_characters_are_v006_shown_escaped(tmp_path):
    text = (
        HEADER
        + ",payer_id\nC1,1,P1,medicare,2026-01-05,J9035,38,MCR\x07JH"
        + "\nC2,1,P2,medicare,2026-01-05,J9035,38,X\u0085Y"
        + '\nC3,1,P3,medicare,2026-01-05,J9035,38,"A\tB"\n'
    )
    raw = read_input(write(tmp_path, "ctl.csv", text))
    checked = validate_inputs([raw])
    assert reject_list(checked) == [
        [1, "payer_id", "V006", "MCR\\x07JH"],
        [2, "payer_id", "V006", "X\\x85Y"],
    ]
    assert "control character" in checked.rejects["message"].iloc[0]
    assert checked.lines["claim_id"].tolist() == ["C3"]


def test_lone_cr_line_ends_are_read(tmp_path):
    text = HEADER + "\rC1,1,P1,medicare,2026-01-05,J9035,38\rC2,1,P2,medicare,2026-01-05,J9035,38\r"
    checked = validate_inputs([read_input(write(tmp_path, "cr.csv", text))])
    assert checked.rejects.empty
    assert checked.lines["claim_id"].tolist() == ["C1", "C2"]
    assert checked.lines["billed_units"].tolist() == [38.0, 38.0]


def test_corrupt_dictionary_page_is_input_error(tmp_path):
    from tests.reliability.conftest import make_corpus

    path = tmp_path / "dict.parquet"
    path.write_bytes(
        make_corpus.corrupt_dictionary(make_corpus.text_table(make_corpus.good_rows(5)))
    )
    with pytest.raises(InputError) as err:
        read_input(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def _with_alarm(fn):
    """Run fn, failing (not hanging) if it blocks for more than 5 s."""

    def on_alarm(*_):
        raise TimeoutError("blocked")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(5)
    try:
        return fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("kind", ["fifo", "device_link", "loop", "dangling", "subdir"])
def test_directory_inputs_take_regular_files_only(tmp_path, kind):
    good = write(tmp_path, "a.csv", HEADER + "\nC1,1,P1,medicare,2026-01-05,J9035,38\n")
    entry = tmp_path / "b.csv"
    if kind == "fifo":
        os.mkfifo(entry)
    elif kind == "device_link":
        entry.symlink_to("/dev/zero")
    elif kind == "loop":
        entry.symlink_to(tmp_path / "c.csv")
        (tmp_path / "c.csv").symlink_to(entry)
    elif kind == "dangling":
        entry.symlink_to(tmp_path / "gone.csv")
    else:
        entry.mkdir()
    with pytest.raises(InputError) as err:
        _with_alarm(lambda: resolve_inputs([str(tmp_path)]))
    assert str(entry) in str(err.value) and "\n" not in str(err.value)
    assert resolve_inputs([str(good)]) == [good.resolve()]


def test_fifo_named_directly_never_blocks(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        _with_alarm(lambda: resolve_inputs([str(fifo)]))
    with pytest.raises(InputError, match="not a regular file .a FIFO."):
        _with_alarm(lambda: read_input(fifo))


def test_file_changed_while_read_is_input_error(tmp_path, monkeypatch):
    from claims_audit import ingest

    path = write(tmp_path, "x.csv", HEADER + "\nC1,1,P1,medicare,2026-01-05,J9035,38\n")
    real = ingest._read_csv

    def read_then_replace(*args, **kwargs):
        result = real(*args, **kwargs)
        other = tmp_path / "other.csv"
        other.write_text(HEADER + "\nC9,1,P9,medicare,2026-01-05,J9035,99\n")
        os.replace(other, path)  # another file put in its place after it was parsed
        return result

    monkeypatch.setattr(ingest, "_read_csv", read_then_replace)
    with pytest.raises(InputError, match="changed while it was read"):
        read_input(path)


def test_sha256_is_of_the_bytes_parsed(tmp_path):
    import hashlib

    data = (HEADER + "\nC1,1,P1,medicare,2026-01-05,J9035,38\n").encode()
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    assert read_input(path).sha256 == hashlib.sha256(data).hexdigest()


def test_patient_id_shifted_into_another_column_is_masked(tmp_path):
    from claims_audit.privacy import masked_rejects

    text = (
        HEADER
        + "\nC1,1,PSECRET77,medicare,2026-01-05,J9035,38"
        + "\nC2,,1,PSECRET77,2026-01-05,J9035,38\n"  # shifted: patient id in payer_type
    )
    checked = validate_inputs([read_input(write(tmp_path, "s.csv", text))])
    shown = masked_rejects(checked.rejects, show_phi=False)
    assert list(shown.columns) == REJECT_COLUMNS
    assert shown[["column", "value"]].values.tolist() == [
        ["line_number", ""],
        ["payer_type", "P***ET77"],
    ]
    raw_values = masked_rejects(checked.rejects, show_phi=True)["value"].tolist()
    assert raw_values == ["", "PSECRET77"]


# -- real exports: V001 message, list columns from several headers, money, values, dates ------

DX_ALIASES = {"dx1": "diagnosis_codes", "Dx2": "diagnosis_codes", "DX3": "diagnosis_codes"}


def test_missing_required_column_lists_headers_found_and_points_to_columns(tmp_path):
    path = write(tmp_path, "b.csv", "Claim #,Line,MRN\nC1,1,P1\n")
    with pytest.raises(InputError) as err:
        read_input(path)
    message = str(err.value)
    assert "required column claim_id" in message and "(V001)" in message
    assert "headers found: 'Claim #', 'Line', 'MRN'" in message
    assert "[columns] table of the config" in message


def test_missing_required_column_never_echoes_a_data_line(tmp_path):
    path = write(tmp_path, "b.csv", "C1,1,MRN123456,medicare,2026-01-05,J9035,38\n")
    with pytest.raises(InputError) as err:
        read_input(path)
    assert "MRN123456" not in str(err.value) and "headers found" not in str(err.value)
    assert "[columns]" in str(err.value)


def test_several_headers_join_into_diagnosis_codes_and_modifiers(tmp_path):
    path = write(
        tmp_path,
        "dx.csv",
        f"{HEADER},Dx1,Dx2,Dx3,Mod1,Mod2\r\n"
        "C1,1,P1,medicare,2026-01-05,J9035,38,C34.11,,Z51.11, JW ,\r\n"
        "C2,1,P2,medicare,2026-01-05,J9035,38,,,,,\r\n"
        "C3,1,P3,medicare,2026-01-05,J9035,38,, ,E66.9, ,KX\r\n",
    )
    aliases = {**DX_ALIASES, "mod1": "modifiers", "MOD2": "modifiers"}
    frame = read_input(path, aliases).frame
    assert frame["diagnosis_codes"].astype(object).fillna("").tolist() == [
        "C34.11,Z51.11",
        "",
        "E66.9",
    ]
    assert pd.isna(frame["diagnosis_codes"][1])
    assert frame["modifiers"].astype(object).fillna("").tolist() == ["JW", "", "KX"]
    checked = validate_inputs([read_input(path, aliases)])
    assert checked.lines["diagnosis_codes"].astype(object).fillna("").tolist() == [
        "C3411 Z5111",
        "",
        "E669",
    ]
    # without the aliases, only canonical headers count: Dx1.. are extra columns
    assert "diagnosis_codes" not in read_input(path).frame.columns


def test_several_parquet_columns_join_like_csv_ones(tmp_path):
    path = tmp_path / "dx.parquet"
    base = {c: ["C1", "C2"] if c == "claim_id" else ["1", "1"] for c in HEADER.split(",")}
    base.update(patient_id=["P1", "P2"], payer_type=["medicare"] * 2)
    base.update(service_date=["2026-01-05"] * 2, hcpcs_code=["J9035"] * 2, billed_units=["38"] * 2)
    pq.write_table(
        pa.table({**base, "Dx1": ["C3411", None], "Dx2": [None, None], "Dx3": ["Z5111", None]}),
        path,
    )
    frame = read_input(path, DX_ALIASES).frame
    assert frame["diagnosis_codes"][0] == "C3411,Z5111" and pd.isna(frame["diagnosis_codes"][1])


def test_money_columns_take_dollar_signs_and_thousands_separators(tmp_path):
    rows = ['"$1,185.00"', "$24", "1185.5", "-$3.50", "$-3.50", '"1,18.5"', '"1.185,00"', "USD 3"]
    body = "".join(
        f"C{i},1,P{i},medicare,2026-01-05,J9035,38,{v}\n" for i, v in enumerate(rows, start=1)
    )
    path = write(tmp_path, "m.csv", f"{HEADER},charge_usd\n{body}")
    checked = validate_inputs([read_input(path)])
    assert checked.lines.set_index("claim_id")["charge_usd"].to_dict() == {
        "C1": 1185.0,
        "C2": 24.0,
        "C3": 1185.5,
    }
    codes = checked.rejects.set_index("source_row")["reason_code"].to_dict()
    assert codes == {4: "V004", 5: "V003", 6: "V003", 7: "V003", 8: "V003"}  # 4: negative


def test_values_map_and_date_formats_apply_before_validation(tmp_path):
    path = write(
        tmp_path,
        "v.csv",
        f"{HEADER}\n"
        "C1,1,P1,MEDICARE ADVANTAGE,3/7/26,J9035,38\n"
        "C2,1,P2,Blue Cross,12/31/99,J9035,38\n"
        "C3,1,P3,medicare,2/30/26,J9035,38\n"
        "C4,1,P4,Self Pay,3/7/26,J9035,38\n",
    )
    values = {
        "payer_type": {"medicare advantage": "medicare_advantage", "blue cross": "commercial"}
    }
    checked = validate_inputs([read_input(path)], values, ["%m/%d/%y"])
    lines = checked.lines.set_index("claim_id")
    assert lines["payer_type"].astype(str).to_dict() == {
        "C1": "medicare_advantage",
        "C2": "commercial",
    }
    assert lines["service_date"].dt.strftime("%Y-%m-%d").to_dict() == {
        "C1": "2026-03-07",
        "C2": "1999-12-31",
    }
    rejects = checked.rejects.set_index("source_row")
    assert rejects.loc[3, "reason_code"] == "V003" and "%m/%d/%y" in rejects.loc[3, "message"]
    assert (rejects.loc[4, "column"], rejects.loc[4, "reason_code"]) == ("payer_type", "V004")
    # the default still rejects two-digit years (ambiguous)
    default = validate_inputs([read_input(path)], values)
    assert set(default.rejects["column"]) == {"service_date", "payer_type"}
    assert len(default.lines) == 0
