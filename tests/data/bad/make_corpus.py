"""Generate the bad-input corpus and its table of expected outcomes (`expected.csv`).

Run from the repository root (deterministic: the same files every time):

    .venv/bin/python tests/data/bad/make_corpus.py

Every case is one input file and what `claims-audit run FILE --fail-on never` must do with it:
`audit` (exit 0; `rows_read == rows_audited + rows_rejected`; exactly the listed rejects, as
`row:column:code`, an empty column for a whole-record V006) or `exit2` (one line on stderr that
holds `message` and the file name). `findings` lists `claim_id:rule_code` pairs that must be in
findings.csv, `no_findings` rule codes that must not be there (e.g. no C001 once codes are
normalised). The `note` column says what the case is about and, where the SPEC is silent, what
the pipeline chose. `batch/` holds a multi-file batch for the input-order determinism test.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from claims_audit.schemas.claims import FIELDS

HERE = Path(__file__).resolve().parent
HEADER = list(FIELDS)  # the canonical columns, in order
# Prolia 60 mg, Medicare office, JZ, NDC crosswalked to J0897: a clean drug line.
GOOD = dict(
    claim_id="CLMB0001",
    line_number="1",
    patient_id="MRN700001",
    payer_type="medicare",
    payer_id="MCR-JH",
    provider_id="",
    claim_frequency="",
    claim_type="professional",
    place_of_service="11",
    service_date="2026-02-03",
    submission_date="2026-02-10",
    hcpcs_code="J0897",
    modifiers="JZ",
    billed_units="60",
    charge_usd="2208.00",
    ndc="55513-0710-01",
    ndc_unit_qualifier="UN",
    ndc_quantity="1",
    administered_amount="60",
    administered_unit="mg",
    wasted_amount="",
    diagnosis_codes="M81.0",
    prior_auth_number="",
    payer_sequence="primary",
    other_payer_paid_usd="",
)
EXPECTED_COLUMNS = [
    "file",
    "outcome",
    "rows_read",
    "rows_audited",
    "rows_rejected",
    "rejects",
    "message",
    "encoding",
    "findings",
    "no_findings",
    "note",
]
SECRET = "PHISECRET9999"  # a patient id that must never reach rejects.csv, stderr or summary


def line(n: int, **changes: str) -> dict[str, str]:
    """A good row for claim n (line 1), with some fields changed."""
    row = dict(GOOD, claim_id=f"CLMB{n:04d}", patient_id=f"MRN7{n:05d}")
    row.update(changes)
    return row


def to_csv(
    rows: list[dict] | list[list[str]],
    header: list[str] = HEADER,
    delimiter: str = ",",
    eol: str = "\n",
    encoding: str = "utf-8",
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return out.getvalue().encode(encoding)


def good_rows(count: int, start: int = 1) -> list[dict]:
    return [line(start + i) for i in range(count)]


CASES: list[dict] = []


def case(file: str, data: bytes | pa.Table | None, outcome: str, **expected) -> None:
    expected.setdefault("encoding", "utf-8" if outcome == "audit" else "")
    CASES.append({"file": file, "data": data, "outcome": outcome, **expected})


def audit(file, data, read, rejects="", **kw):
    """An audit case: `rejects` as `row:column:code ...`; counts follow from it."""
    rejected = len({r.split(":")[0] for r in rejects.split()})
    case(
        file,
        data,
        "audit",
        rows_read=read,
        rows_audited=read - rejected,
        rows_rejected=rejected,
        rejects=rejects,
        **kw,
    )


def build_csv_cases() -> None:
    header_line = ",".join(HEADER)
    case("empty.csv", b"", "exit2", message="file is empty", note="0 bytes: no header row")
    case(
        "blank_first_line.csv",
        b"\n" + to_csv(good_rows(1)),
        "exit2",
        message="first line is empty",
        note="the header must be the first line",
    )
    audit("header_only.csv", (header_line + "\n").encode(), 0, note="no data rows: a clean run")
    audit(
        "header_only_no_newline.csv",
        header_line.encode(),
        0,
        note="header without a line end: still a header",
    )
    missing = [h for h in HEADER if h != "billed_units"]
    case(
        "missing_required_column.csv",
        to_csv(good_rows(2), header=missing),
        "exit2",
        message="required column billed_units is missing",
        note="V001 is fatal for the file: exit 2 names the column and the file",
    )
    case(
        "no_header.csv",
        to_csv(good_rows(2), header=list(line(99, patient_id=SECRET).values())),
        "exit2",
        message="is the header row missing",
        note="a data row taken for a header; the message lists recognised columns only "
        "(never the header text: it would be patient data)",
    )
    extra = ["Unnamed: 0", *HEADER, "notes", ""]
    audit(
        "extra_columns.csv",
        to_csv(
            [{**r, "Unnamed: 0": str(i), "notes": "x,y"} for i, r in enumerate(good_rows(3))],
            header=extra,
        ),
        3,
        note="extra columns (and one with an empty name) are ignored",
    )
    dup_header = [*HEADER, "claim_id", "HCPCS_CODE"]
    dup_rows = [[*line(i).values(), f"OTHER{i}", "J9999"] for i in (1, 2, 3)]
    audit(
        "duplicated_columns.csv",
        to_csv(dup_rows, header=dup_header),
        3,
        no_findings="C003 N003",
        note="a column named twice (or twice after case folding): the first one wins; the "
        "later copies are ignored like any extra column",
    )
    audit(
        "bom.csv",
        b"\xef\xbb\xbf" + to_csv(good_rows(2)),
        2,
        note="UTF-8 byte-order mark before the header",
    )
    audit(
        "semicolon.csv",
        to_csv(good_rows(2), delimiter=";"),
        2,
        note="delimiter sniffed from the header line: , ; tab |",
    )
    audit("tab_delimited.txt", to_csv(good_rows(2), delimiter="\t"), 2, note="tab-delimited")
    audit("pipe.csv", to_csv(good_rows(2), delimiter="|"), 2, note="pipe-delimited")
    audit(
        "crlf.csv",
        to_csv(good_rows(2), eol="\r\n"),
        2,
        note="Windows line ends",
    )
    audit(
        "cp1252.csv",
        to_csv(
            [line(1, payer_id="Caf\u00e9 Sant\u00e9"), line(2, prior_auth_number="PA\u20ac1")],
            encoding="cp1252",
        ),
        2,
        encoding="cp1252",
        note="not UTF-8, valid cp1252: decoded as cp1252, recorded in summary.json",
    )
    mixed = to_csv([line(1, payer_id="Caf\u00e9"), line(2, payer_id="CafXX"), line(3)])
    mixed = mixed.replace(b"CafXX", b"Caf\xe9")
    audit(
        "invalid_utf8_mixed.csv",
        mixed,
        3,
        rejects="2:payer_id:V006",
        note="valid UTF-8 text plus a stray cp1252 byte: the file stays UTF-8 (decoding it all "
        "as cp1252 would garble the good rows) and the row with invalid bytes is V006",
    )
    undecodable = to_csv(
        [line(1, payer_id="Caf\u00e9"), line(2, payer_id="XX"), line(3)], encoding="cp1252"
    ).replace(b"XX", b"X\x81\x9dX")
    audit(
        "undecodable_both.csv",
        undecodable,
        3,
        rejects="2:payer_id:V006",
        encoding="cp1252",
        note="bytes invalid in UTF-8 and undefined in cp1252 (0x81, 0x9D): that row is V006, "
        "the rest is read as cp1252",
    )
    audit(
        "nul_bytes.csv",
        to_csv([line(1), line(2, payer_id="MCR\x00JH"), line(3, patient_id="MRN\x00" + SECRET)]),
        3,
        rejects="2:payer_id:V006 3:patient_id:V006",
        note="a NUL byte in a value is corruption: V006 (the value is shown as \\x00, masked "
        "when it is a patient id)",
    )
    case(
        "utf16.csv",
        to_csv(good_rows(1)).decode().encode("utf-16"),
        "exit2",
        message="UTF-16",
        note="UTF-16/32 text (byte-order mark) is not a supported encoding",
    )
    audit(
        "quoted_newlines_delimiters.csv",
        to_csv(
            [
                line(1, diagnosis_codes="M81.0\nZ79.83", payer_id='MCR "JH", north'),
                line(2, payer_id="a;b|c\td"),
                line(3, diagnosis_codes="M81.0,\r\nZ79.83"),
            ]
        ),
        3,
        note="quoted values holding line breaks, delimiters and doubled quotes are one value; "
        "source_row counts records, not physical lines",
    )
    ragged = to_csv(good_rows(4)).decode().splitlines(keepends=True)
    ragged[2] = ragged[2].rstrip("\n") + ",extra\n"  # record 2: 24 fields
    ragged[3] = ",".join(ragged[3].split(",")[:10]) + "\n"  # record 3: 10 fields
    audit(
        "ragged_rows.csv",
        "".join(ragged).encode(),
        4,
        rejects="2::V006 3::V006",
        note="records with too many or too few fields are V006; the reject holds the field "
        "count, never the record text (PHI)",
    )
    trailing = to_csv(good_rows(2)).decode().splitlines(keepends=True)
    trailing = [trailing[0]] + [t.rstrip("\n") + ",\n" for t in trailing[1:]]
    audit(
        "trailing_delimiter.csv",
        "".join(trailing).encode(),
        2,
        rejects="1::V006 2::V006",
        note="a trailing delimiter on the data rows but not on the header is one field too "
        "many: every row is V006 (visible in the summary, caught by --max-reject-rate)",
    )
    unclosed = to_csv(good_rows(4)).decode().splitlines(keepends=True)
    unclosed[2] = unclosed[2].replace("MCR-JH", '"MCR-JH', 1)
    audit(
        "unclosed_quote.csv",
        "".join(unclosed).encode(),
        2,
        rejects="2::V006",
        note="an opening quote never closed swallows the rest of the file into one record: "
        "one V006 whose message says how many lines it spans (a record longer than the "
        "16 MiB read block is exit 2 instead)",
    )
    audit(
        "blank_lines.csv",
        to_csv(good_rows(3)).replace(b"\nCLMB0002", b"\n\n\nCLMB0002") + b"\n\n",
        3,
        note="blank lines are not records: skipped, not counted",
    )
    audit(
        "only_delimiters.csv",
        to_csv([line(1), [""] * len(HEADER)]),
        2,
        rejects="2:billed_units:V002 2:claim_id:V002 2:hcpcs_code:V002 2:line_number:V002 "
        "2:patient_id:V002 2:payer_type:V002 2:service_date:V002",
        note="a row of empty fields: every required value is V002",
    )
    audit(
        "very_long_field.csv",
        to_csv([line(1), line(2, prior_auth_number="A" * 70_000), line(3)]),
        3,
        rejects="2:prior_auth_number:V006",
        note="a value over --max-field-bytes (64 KiB) is V006 (its text is not copied)",
    )
    audit(
        "huge_code_list.csv",
        to_csv(
            [line(1), line(2, diagnosis_codes="M81.0," * 10_000), line(3, modifiers="JZ " * 30)]
        ),
        3,
        rejects="2:diagnosis_codes:V004 3:modifiers:V004",
        note="a list of more than 25 codes is V004 (a 60 KB list is not split into 10,000 "
        "columns: no memory or time blow-up)",
    )
    audit(
        "thousands_currency.csv",
        to_csv(
            [
                line(1, charge_usd="$1,234.50"),
                line(2, charge_usd="1,234.50"),
                line(3, billed_units="1,000"),
                line(4, charge_usd="USD 20"),
                line(5, charge_usd=" 2208.00 "),
                line(6, charge_usd="(25.00)"),
            ]
        ),
        6,
        rejects="3:billed_units:V003 4:charge_usd:V003 6:charge_usd:V003",
        note="money columns take a $ and comma thousands separators (issue 13): $1,234.50 and "
        "1,234.50 are 1234.5; other numbers are plain decimals (1,000 units is V003), and a "
        "currency word or an accounting negative is V003 (1.234,50 too: no locale guessed)",
    )
    audit(
        "dates_accepted.csv",
        to_csv(
            [
                line(1, service_date="2026-02-03", submission_date="2026-02-10"),
                line(2, service_date="02/03/2026", submission_date="02/10/2026"),
                line(3, service_date="2/3/2026", submission_date="2/10/2026"),
                line(4, service_date="20260203", submission_date="20260210"),
                line(5, service_date=" 2026-02-03 ", submission_date=""),
            ]
        ),
        5,
        note="the SPEC's date formats: YYYY-MM-DD, MM/DD/YYYY (M/D/YYYY too), YYYYMMDD",
    )
    bad_dates = [
        "2026/02/03",
        "03.02.2026",
        "Feb 3 2026",
        "2026-2-3",
        "2026-02-30",
        "13/03/2026",
        "46056",
        "2026-02-03T00:00:00",
        "9999-12-31",
        "03/02/26",
    ]
    audit(
        "dates_rejected.csv",
        to_csv([line(i + 1, service_date=d) for i, d in enumerate(bad_dates)]),
        len(bad_dates),
        rejects=" ".join(
            f"{i + 1}:service_date:{'V004' if d == '9999-12-31' else 'V003'}"
            for i, d in enumerate(bad_dates)
        ),
        note="other formats, impossible dates, Excel serials and timestamps are V003; a date "
        "after 2100 (9999-12-31) is V004, out of range",
    )
    audit(
        "excel_mangled_ndc.csv",
        to_csv(
            [
                line(1, ndc="5.5513E+10"),
                line(2, ndc="5551307101"),
                line(3, ndc="9213002003"),
                line(4, ndc="55513071001"),
            ]
        ),
        4,
        findings="CLMB0001:N002 CLMB0002:N002 CLMB0003:N002",
        note="NDCs mangled by Excel (scientific notation, leading zeros lost) are audited and "
        "reported as N002 findings, not rejected; 11 digits without hyphens are fine",
    )
    audit(
        "lowercase_spaces.csv",
        to_csv(
            [
                line(1, hcpcs_code=" j0897 ", payer_type=" Medicare ", modifiers=" jz "),
                line(2, administered_unit=" MG ", ndc=" 55513-0710-01 ", claim_type="PROFESSIONAL"),
                line(3, diagnosis_codes=" m81.0 ", ndc_unit_qualifier="un", claim_id=" CLMB0003 "),
            ]
        ),
        3,
        no_findings="C001 M006 M002 D002",
        note="lower-case codes, units and payer types, and stray spaces are normalised",
    )
    audit(
        "numbers_odd.csv",
        to_csv(
            [
                line(1, billed_units="1e400"),
                line(2, line_number="1.5"),
                line(3, line_number="99999999999999999999"),
                line(4, billed_units="-3"),
                line(5, billed_units="0"),
                line(6, billed_units=" +60 "),
                line(7, billed_units="6e1"),
                line(8, billed_units="NaN"),
                line(9, charge_usd="#N/A"),
                line(10, charge_usd="NULL", prior_auth_number="N/A"),
            ]
        ),
        10,
        rejects="1:billed_units:V003 2:line_number:V003 3:line_number:V004 "
        "4:billed_units:V004 5:billed_units:V004 8:billed_units:V002 9:charge_usd:V003",
        note="infinite numbers and fractional line numbers are V003; line numbers beyond 2^53 "
        "and units <= 0 are V004; `+60` and `6e1` are numbers. Missing-value markers (NULL, "
        "NA, N/A, None, NaN) are empty values; spreadsheet errors (#N/A) are not",
    )
    audit(
        "required_empty.csv",
        to_csv([line(1, patient_id=""), line(2, hcpcs_code="  "), line(3, payer_type="")]),
        3,
        rejects="1:patient_id:V002 2:hcpcs_code:V002 3:payer_type:V002",
        note="required values empty (or only spaces) are V002",
    )
    audit(
        "duplicate_lines.csv",
        to_csv([line(1), line(2), line(1, billed_units="61")]),
        3,
        rejects="3:line_number:V005",
        note="a later row repeating (claim_id, line_number) is V005",
    )
    audit(
        "formula_injection.csv",
        to_csv(
            [
                line(1, claim_id='=HYPERLINK("http://x")', hcpcs_code="=1+1"),
                line(2, claim_id="+CLM2", hcpcs_code="@SUM(A1)"),
                line(3, claim_id="-CLM3", billed_units="=2"),
            ]
        ),
        3,
        rejects="3:billed_units:V003",
        note="text starting with = + - @ tab CR is prefixed with ' in every CSV cell",
    )
    audit(
        "phi_in_bad_rows.csv",
        to_csv(
            [
                line(1, patient_id=SECRET),
                [*line(2, patient_id=SECRET).values(), "extra"],
                line(3, patient_id=SECRET, service_date="yesterday"),
                line(4, patient_id=SECRET + "\x00"),
            ]
        ),
        4,
        rejects="2::V006 3:service_date:V003 4:patient_id:V006",
        note="the patient id must not appear in rejects.csv, stderr or summary.json unless "
        "--show-phi",
    )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr(zipfile.ZipInfo("claims.csv", (2026, 1, 1, 0, 0, 0)), to_csv(good_rows(1)))
    case(
        "workbook.csv",
        zipped.getvalue(),
        "exit2",
        message="zip archive",
        note="a zip (or an .xlsx) named .csv",
    )
    case(
        "claims.csv.gz",
        gzip.compress(to_csv(good_rows(1)), mtime=0),
        "exit2",
        message="gzip",
        note="compressed input: decompress first",
    )
    case(
        "binary_garbage.csv",
        bytes(range(256)) * 4,
        "exit2",
        message="NUL",
        note="binary data",
    )
    audit(
        "numbers_range.csv",
        to_csv(
            [
                line(1, billed_units="1e308"),
                line(2, billed_units="1e-320"),
                line(3, charge_usd="2e9"),
                line(4, ndc_quantity="0.0000001"),
                line(5, administered_amount="1000000001", billed_units="1000000000"),
                line(6, wasted_amount="1e-7", other_payer_paid_usd="-1e300"),
                line(7, charge_usd="1000000000", ndc_quantity="0.000001"),
                line(8, line_number="9007199254740993"),
            ]
        ),
        8,
        rejects="1:billed_units:V004 2:billed_units:V004 3:charge_usd:V004 4:ndc_quantity:V004 "
        "5:administered_amount:V004 6:other_payer_paid_usd:V004 6:wasted_amount:V004 "
        "8:line_number:V004",
        note="numbers are finite and in range: units and amounts at most 1e9, no positive value "
        "below 1e-6 (it reads as 0 in messages), whole numbers below 2^53; else V004",
    )
    audit(
        "dates_range.csv",
        to_csv(
            [
                line(1, service_date="1678-01-01"),
                line(2, service_date="1899-12-31", submission_date="2101-01-01"),
                line(3, service_date="01/01/1850"),
                line(4, service_date="21010101"),
                line(5, service_date="1900-01-01", submission_date="2100-12-31"),
                line(6, service_date="9999-02-30"),
            ]
        ),
        6,
        rejects="1:service_date:V004 2:service_date:V004 2:submission_date:V004 "
        "3:service_date:V004 4:service_date:V004 6:service_date:V004",
        note="dates before 1900 or after 2100 are V004 (out of range, not unparseable): no "
        "date arithmetic downstream (P002 filing limits) can overflow",
    )
    arabic = str.maketrans(
        "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    )
    audit(
        "unicode_digits.csv",
        to_csv(
            [
                line(1, hcpcs_code="96413".translate(arabic), ndc="", modifiers=""),
                line(2, place_of_service="11".translate(arabic)),
                line(3, ndc="55513-0710-01".translate(arabic)),
                line(4, billed_units="60".translate(arabic)),
                line(5, service_date="2026-02-03".translate(arabic)),
                line(6, line_number="1".translate(arabic)),
                line(7, ndc_quantity="\uff11"),
            ]
        ),
        7,
        rejects="2:place_of_service:V004 4:billed_units:V003 5:service_date:V003 "
        "6:line_number:V003 7:ndc_quantity:V003",
        findings="CLMB0001:C001 CLMB0003:N002",
        note="digits are ASCII [0-9] only: a code in Arabic-Indic digits is no CPT code (C001), "
        "a place of service in them is V004, an NDC in them is malformed (N002), numbers and "
        "dates in them (or in full-width digits) are V003",
    )
    audit(
        "control_chars.csv",
        to_csv(
            [
                line(1, payer_id="MCR\x07JH"),
                line(2, claim_id="CLMB\x1b0002"),
                line(3, diagnosis_codes="M81.0\x0cZ79.83"),
                line(4, patient_id="MRN\x01" + SECRET),
                line(5, prior_auth_number="PA\x7f1", payer_id="X\u0085Y"),
                line(6, hcpcs_code="J0897\uffff"),
                line(7, diagnosis_codes="M81.0\tZ79.83"),
            ]
        ),
        7,
        rejects="1:payer_id:V006 2:claim_id:V006 3:diagnosis_codes:V006 4:patient_id:V006 "
        "5:payer_id:V006 5:prior_auth_number:V006 6:hcpcs_code:V006",
        note="control characters (C0 but tab, LF, CR; DEL; C1; U+FFFE/U+FFFF) in a value are "
        "V006 like a NUL byte: they are corruption, and XLSX cannot hold them; the reject shows "
        "them escaped (\\x07). Tab and line breaks are separators",
    )
    audit(
        "lone_cr.csv",
        to_csv(good_rows(3), eol="\r"),
        3,
        note="old Mac line ends (a lone CR): read like LF",
    )
    shifted = list(line(2, patient_id=SECRET).values())
    shifted = [shifted[0], "", *shifted[1:-1]]  # one empty field too many early, one fewer late
    audit(
        "phi_shifted_row.csv",
        to_csv([line(1, patient_id=SECRET), shifted]),
        2,
        rejects="2:administered_unit:V004 2:billed_units:V003 2:line_number:V002 "
        "2:ndc_quantity:V003 2:ndc_unit_qualifier:V004 2:other_payer_paid_usd:V003 "
        "2:payer_type:V004 2:place_of_service:V004 2:service_date:V003 2:wasted_amount:V003",
        note="a row shifted by one field puts the patient id in payer_type: a reject value equal "
        "to a patient id of the batch is masked whatever its column, unless --show-phi",
    )


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def corrupt_dictionary(table: pa.Table) -> bytes:
    """The table as uncompressed dictionary-encoded Parquet with the length prefix of the
    first payer_id dictionary value overwritten: the dictionary page cannot be decoded."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="none", use_dictionary=True)
    data = bytearray(sink.getvalue().to_pybytes())
    at = data.index(b"\x06\x00\x00\x00MCR-JH")
    data[at + 3] = 0x7F
    return bytes(data)


def build_parquet_cases() -> None:
    rows = good_rows(3)
    text = pa.table({h: [r[h] or None for r in rows] for h in HEADER})
    audit("all_text.parquet", text, 3, encoding="parquet", note="every column a string")
    whole = parquet_bytes(text)
    case(
        "truncated.parquet",
        whole[: len(whole) // 2],
        "exit2",
        message="cannot be read as Parquet",
        note="cut in half: no footer",
    )
    case("zero_bytes.parquet", b"", "exit2", message="cannot be read as Parquet", note="empty")
    case(
        "csv_named.parquet",
        to_csv(good_rows(1)),
        "exit2",
        message="cannot be read as Parquet",
        note="a CSV file named .parquet: the suffix says Parquet, the content is not",
    )
    audit(
        "parquet_named.csv",
        text,
        3,
        encoding="parquet",
        note="a Parquet file named .csv: read by its magic bytes",
    )
    audit(
        "zero_rows.parquet",
        text.slice(0, 0),
        0,
        encoding="parquet",
        note="a schema and no rows",
    )
    case(
        "missing_column.parquet",
        text.drop_columns(["service_date"]),
        "exit2",
        message="required column service_date is missing",
        note="V001 in Parquet",
    )
    wrong = text.set_column(
        HEADER.index("service_date"),
        "service_date",
        pa.array([20260203, 20261399, None], pa.int64()),
    ).set_column(HEADER.index("billed_units"), "billed_units", pa.array(["60", "sixty", "60.0"]))
    wrong = wrong.set_column(HEADER.index("line_number"), "line_number", pa.array(["1", "1", "x"]))
    audit(
        "wrong_types.parquet",
        wrong,
        3,
        rejects="2:billed_units:V003 2:service_date:V003 3:line_number:V003 3:service_date:V002",
        encoding="parquet",
        note="line_number and billed_units as strings are parsed like CSV text; an integer "
        "service_date is read as YYYYMMDD text (20261399 is V003)",
    )
    typed = text.set_column(
        HEADER.index("line_number"), "line_number", pa.array([1, 1, 1], pa.int64())
    )
    typed = typed.set_column(
        HEADER.index("billed_units"), "billed_units", pa.array([60.0, 60.5, 60.0])
    )
    typed = typed.set_column(
        HEADER.index("service_date"),
        "service_date",
        pa.array([1770076800, 1770120000, 32503680000], pa.timestamp("s", tz="UTC")),
    )
    typed = typed.set_column(
        HEADER.index("submission_date"),
        "submission_date",
        pa.array([20494, 20494, 20494], pa.date32()),
    )
    typed = typed.set_column(
        HEADER.index("place_of_service"), "place_of_service", pa.array([11, 11, 11], pa.int32())
    )
    audit(
        "typed_columns.parquet",
        typed,
        3,
        rejects="3:service_date:V004",
        encoding="parquet",
        note="typed Parquet: ints, floats, tz-aware timestamps (calendar date kept, time "
        "dropped), date32, each read as its exact text; an int place_of_service is its text; "
        "a date in year 3000 is V004 (after 2100)",
    )
    nested = text.set_column(
        HEADER.index("diagnosis_codes"),
        "diagnosis_codes",
        pa.array([["M81.0"], ["M81.0", "Z79.83"], []], pa.list_(pa.string())),
    )
    case(
        "nested_column.parquet",
        nested,
        "exit2",
        message="column diagnosis_codes has type list",
        note="a list/struct column cannot be read as text: exit 2 naming the column",
    )
    struct = text.set_column(
        HEADER.index("patient_id"),
        "patient_id",
        pa.array([{"id": "MRN1"}, {"id": "MRN2"}, None], pa.struct([("id", pa.string())])),
    )
    case(
        "struct_column.parquet",
        struct,
        "exit2",
        message="column patient_id has type struct",
        note="a struct column for a canonical field is not that field: exit 2 naming the file "
        "and the column (as for list columns)",
    )
    stamps = [1767261600 + 86400 * i for i in range(30)]  # 2026-01-01 10:00 UTC, daily
    zoned = text_table([line(i + 1) for i in range(30)])
    zoned = zoned.set_column(
        HEADER.index("service_date"),
        "service_date",
        pa.array(stamps, pa.timestamp("s", tz="America/New_York")),
    )
    audit(
        "tz_service_date.parquet",
        zoned,
        30,
        encoding="parquet",
        note="a zoned timestamp service_date is its calendar date where it was recorded, "
        "alone or in a batch with CSV files (each file is typed on its own)",
    )
    mars = text.set_column(
        HEADER.index("service_date"),
        "service_date",
        pa.array([1770076800, None, 1770076800], pa.timestamp("s", tz="Mars/Olympus")),
    )
    audit(
        "unknown_time_zone.parquet",
        mars,
        3,
        rejects="1:service_date:V004 2:service_date:V002 3:service_date:V004",
        encoding="parquet",
        note="a time zone the time zone database does not know: the calendar date of its "
        "timestamps is unknown, V004 per row (an empty one is V002)",
    )
    big = text.set_column(
        HEADER.index("line_number"),
        "line_number",
        pa.array([1, 2**53 + 1, 2**62], pa.int64()),
    ).set_column(
        HEADER.index("billed_units"), "billed_units", pa.array([60, 60, 2**60], pa.int64())
    )
    audit(
        "big_integers.parquet",
        big,
        3,
        rejects="2:line_number:V004 3:billed_units:V004 3:line_number:V004",
        encoding="parquet",
        note="integers beyond 2^53 (not exact as float64) reject their row (V004), not the file",
    )
    floats = text.set_column(
        HEADER.index("billed_units"),
        "billed_units",
        pa.array([float("inf"), float("nan"), 1e-320]),
    ).set_column(HEADER.index("charge_usd"), "charge_usd", pa.array([1.5, -0.0, 1e308]))
    audit(
        "float_specials.parquet",
        floats,
        3,
        rejects="1:billed_units:V003 2:billed_units:V002 3:billed_units:V004 3:charge_usd:V004",
        encoding="parquet",
        note="typed floats are read as their exact text, like CSV: infinity is V003, NaN is "
        "empty (V002 when required), subnormal and huge values are V004",
    )
    case(
        "corrupt_dictionary.parquet",
        corrupt_dictionary(text_table(good_rows(20))),
        "exit2",
        message="cannot be read",
        note="a dictionary page that cannot be decoded: exit 2 naming the file (a file that "
        "reads never raises)",
    )
    dup = pa.table([*text.columns, pa.array(["X1", "X2", "X3"])], names=[*HEADER, "claim_id"])
    audit(
        "duplicated_columns.parquet",
        dup,
        3,
        encoding="parquet",
        note="a column named twice: the first wins",
    )
    long = text.set_column(
        HEADER.index("payer_id"), "payer_id", pa.array(["MCR-JH", "J" * 70_000, "MCR\x00JH"])
    )
    audit(
        "long_and_nul_values.parquet",
        long,
        3,
        rejects="2:payer_id:V006 3:payer_id:V006",
        encoding="parquet",
        note="the field size limit and the NUL check apply to Parquet text too",
    )


def build_batch() -> dict[str, bytes]:
    """Three files of one batch that share a claim line (V005 follows the sorted file order)."""
    a = to_csv([line(1), line(2, hcpcs_code="J2297"), line(3, ndc="5551307100")])
    b = to_csv([line(3, ndc="5551307100"), line(4, modifiers=""), line(5)], delimiter=";")
    c = text_table([line(6, billed_units="61"), line(7, diagnosis_codes=""), line(1)])
    return {"a_claims.csv": a, "b_claims.csv": b, "c_claims.parquet": parquet_bytes(c)}


def text_table(rows: list[dict]) -> pa.Table:
    return pa.table({h: [r[h] or None for r in rows] for h in HEADER})


def render(data) -> bytes:
    return parquet_bytes(data) if isinstance(data, pa.Table) else data


def main() -> None:
    build_csv_cases()
    build_parquet_cases()
    for item in CASES:
        (HERE / item["file"]).write_bytes(render(item["data"]))
    batch = HERE / "batch"
    batch.mkdir(exist_ok=True)
    for name, data in build_batch().items():
        (batch / name).write_bytes(data)
    with (HERE / "expected.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, EXPECTED_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for item in CASES:
            writer.writerow({k: item.get(k, "") for k in EXPECTED_COLUMNS})
    print(f"{len(CASES)} cases in {HERE}")


if __name__ == "__main__":
    main()
