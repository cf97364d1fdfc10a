"""Property: whatever is done to a valid extract (cells, bytes, rows corrupted at random), every
row read is audited or rejected, exactly once, and anything unreadable is a one-line InputError
(exit 2) naming the file; never a traceback."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from claims_audit.cli.main import main
from claims_audit.errors import InputError
from claims_audit.ingest import read_input
from claims_audit.validate import validate_inputs
from tests.conftest import HYPOTHESIS_PROFILE, SLOW_DATA, examples
from tests.reliability.conftest import assert_every_row_accounted, make_corpus

SETTINGS = examples(50)  # the fuzz profile's own count in `make fuzz`
HEADER = make_corpus.HEADER
BASE = [
    list(make_corpus.line(1).values()),
    list(make_corpus.line(2, hcpcs_code="96372", billed_units="1", ndc="").values()),
    list(make_corpus.line(3, service_date="02/03/2026", modifiers="jz").values()),
    list(make_corpus.line(4, payer_type="medicaid", diagnosis_codes="M81.0, Z79.83").values()),
    list(make_corpus.line(5, charge_usd="", ndc="0781-3422-92").values()),
    list(make_corpus.line(1, line_number="2", claim_type="institutional").values()),
]
NASTY = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ019 .,;|\t\"'-=+@$") + ["\n", "\r", "\x00", "é", "€", "\ufffd", "\u00a0"]
    ),
    max_size=12,
)


def serialise(rows: list[list[str]], quoting: bool, delimiter: str = ",") -> bytes:
    if not quoting:
        text = "\n".join(delimiter.join(r) for r in [HEADER, *rows]) + "\n"
        return text.encode("utf-8")
    out = io.StringIO()  # CRLF: then the writer quotes any value holding a bare CR as well
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


@st.composite
def cell_edits(draw):
    rows = [list(r) for r in BASE]
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(HEADER) - 1))
        rows[i][j] = draw(NASTY | st.sampled_from(["", " ", "NULL", "-1", "1e400", "99/99/2026"]))
    return rows


@st.composite
def row_edits(draw):
    rows = [list(r) for r in BASE]
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["delete", "duplicate", "drop_field", "add_field", "empty"]))
        i = draw(st.integers(0, len(rows) - 1))
        if op == "delete" and len(rows) > 1:
            rows.pop(i)
        elif op == "duplicate":
            rows.insert(i, list(rows[i]))
        elif op == "drop_field" and rows[i]:
            rows[i].pop(draw(st.integers(0, len(rows[i]) - 1)))
        elif op == "add_field":
            rows[i].insert(draw(st.integers(0, len(rows[i]))), draw(NASTY))
        elif op == "empty":
            rows[i] = [""] * len(rows[i])
    return rows


@st.composite
def byte_edits(draw, data: bytes):
    data = bytearray(data)
    header_end = data.index(b"\n") + 1
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(header_end, max(header_end, len(data) - 1)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


def check(data: bytes, suffix: str = ".csv", expected_rows: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"extract{suffix}"
        path.write_bytes(data)
        try:
            raw = read_input(path)
        except InputError as exc:
            message = str(exc)
            assert "\n" not in message and str(path) in message
            return
        checked = validate_inputs([raw])
        assert_every_row_accounted(raw, checked, path)
        if expected_rows is not None:
            assert raw.rows_read == expected_rows


@SETTINGS
@given(rows=cell_edits(), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_corrupted_cells_quoted_every_row_accounted(rows, delimiter):
    # quoted properly, every written row is one record: none may go missing
    check(serialise(rows, quoting=True, delimiter=delimiter), expected_rows=len(rows))


@SETTINGS
@given(rows=cell_edits())
def test_corrupted_cells_unquoted_every_row_accounted(rows):
    check(serialise(rows, quoting=False))


@SETTINGS
@given(rows=row_edits())
def test_corrupted_rows_every_row_accounted(rows):
    data = serialise(rows, quoting=True)
    expected = sum(1 for r in rows if r)  # an empty list is a blank line: not a record
    check(data, expected_rows=expected)


@SETTINGS
@given(data=st.data(), encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_corrupted_bytes_every_row_accounted(data, encoding):
    base = serialise(BASE, quoting=True).decode("utf-8").replace("MCR-JH", "MCR-JHé")
    check(data.draw(byte_edits(base.encode(encoding))))


PARQUET = make_corpus.parquet_bytes(
    pa.table({h: [r[i] or None for r in BASE] for i, h in enumerate(HEADER)})
)


@SETTINGS
@given(data=st.data())
def test_corrupted_parquet_is_read_or_exit_2(data):
    corrupted = bytearray(PARQUET)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(4, len(corrupted) - 1))
        corrupted[at] = data.draw(st.integers(0, 255))
    check(bytes(corrupted), suffix=".parquet")


def test_parquet_base_is_valid():
    assert pq.read_table(pa.BufferReader(PARQUET)).num_rows == len(BASE)


@examples(12)
@given(rows=cell_edits(), more=row_edits())
def test_cli_run_reconciles_per_file_on_corrupted_batches(rows, more):
    """The whole pipeline through the CLI: a two-file batch of corrupted extracts."""
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.csv", Path(tmp) / "b.csv"
        a.write_bytes(serialise(rows, quoting=True))
        b.write_bytes(serialise(more, quoting=False))
        out = Path(tmp) / "out"
        result = CliRunner().invoke(
            main, ["run", str(a), str(b), "--out", str(out), "--format", "csv,parquet"]
        )
        assert result.exit_code in (0, 1, 2), repr(result.exception)
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert len(result.output.strip().splitlines()) == 1
            return
        summary = json.loads((out / "summary.json").read_text())
        assert [f["path"] for f in summary["inputs"]] == [str(a), str(b)]
        for entry in summary["inputs"]:
            assert entry["rows_read"] == entry["rows_audited"] + entry["rows_rejected"]
        assert summary["inputs"][0]["rows_read"] == len(rows)


# -- a file's verdict does not depend on the other files of the batch (issue 17 item 1) --------

ZONES = ["UTC", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"]


def renamed(rows: list[list[str]], tag: str) -> list[list[str]]:
    """The rows with claim and patient ids of their own (no line shared across files)."""
    i_claim, i_patient = HEADER.index("claim_id"), HEADER.index("patient_id")
    out = []
    for row in rows:
        row = list(row)
        if len(row) == len(HEADER):
            row[i_claim] = tag + row[i_claim]
            row[i_patient] = tag + row[i_patient]
        out.append(row)
    return out


def typed_table(rows: list[list[str]], zone: str | None) -> pa.Table:
    """The rows as Parquet with typed columns where the text allows it: line_number int64,
    billed_units float64, service_date a (zoned) timestamp, place_of_service int32."""
    table = pa.table({h: [r[i] or None for r in rows] for i, h in enumerate(HEADER)})
    for name, kind in (
        ("line_number", pa.int64()),
        ("billed_units", pa.float64()),
        ("place_of_service", pa.int32()),
    ):
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # text that is no number stays text
            table = table.set_column(HEADER.index(name), name, table[name].cast(kind))
    try:
        stamps = pa.compute.strptime(table["service_date"], "%Y-%m-%d", "s")
        stamps = stamps.cast(pa.timestamp("s", tz=zone)) if zone else stamps
        table = table.set_column(HEADER.index("service_date"), "service_date", stamps)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    return table


def write_file(folder: Path, name: str, rows: list[list[str]], form: str, zone: str | None):
    if form == "csv":
        path = folder / f"{name}.csv"
        path.write_bytes(serialise(rows, quoting=True))
    else:
        path = folder / f"{name}.parquet"
        table = (
            pa.table({h: [r[i] or None for r in rows] for i, h in enumerate(HEADER)})
            if form == "parquet_text"
            else typed_table(rows, zone)
        )
        pq.write_table(table, path)
    return path


FORMS = st.sampled_from(["csv", "parquet_text", "parquet_typed"])
ROWS = st.lists(st.sampled_from(range(len(BASE))), min_size=1, max_size=6, unique=True)


@st.composite
def target_rows(draw):
    rows = [list(BASE[i]) for i in draw(ROWS)]
    i_date = HEADER.index("service_date")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(HEADER) - 1))
        rows[i][j] = draw(
            st.sampled_from(["", "1e308", "1e-320", "-1", "x", "1850-01-01", "2026-02-30"])
        )
    if draw(st.booleans()):  # a date the typed form carries as a timestamp with a zone
        rows[0][i_date] = "2026-01-01"
    return rows


@settings(  # two audits per example: at most 300 under `make fuzz`
    max_examples=15 if HYPOTHESIS_PROFILE == "ci" else 300,
    suppress_health_check=[*SLOW_DATA, HealthCheck.function_scoped_fixture],
)
@given(
    rows=target_rows(),
    form=FORMS,
    zone=st.sampled_from([None, *ZONES]),
    others=st.lists(
        st.tuples(ROWS, FORMS, st.sampled_from([None, *ZONES])), min_size=1, max_size=2
    ),
)
@example(  # issue 17: a zoned Parquet service_date with a CSV was all V003
    rows=[list(BASE[0]), list(BASE[1])],
    form="parquet_typed",
    zone="UTC",
    others=[([2], "csv", None)],
)
@example(
    rows=[list(BASE[3])], form="csv", zone=None, others=[([0, 4], "parquet_typed", "Asia/Tokyo")]
)
def test_a_files_rejects_and_findings_do_not_depend_on_the_batch(
    rows, form, zone, others, starter_bundle, default_config
):
    from claims_audit.audit import run_audit

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target = write_file(folder, "target", renamed(rows, "T"), form, zone)
        batch = [target]
        for k, (picked, other_form, other_zone) in enumerate(others):
            other_rows = renamed([list(BASE[i]) for i in picked], f"O{k}")
            batch.append(write_file(folder, f"other{k}", other_rows, other_form, other_zone))
        alone = run_audit([str(target)], starter_bundle, default_config)
        together = run_audit([str(p) for p in batch], starter_bundle, default_config)

    def rejects_of(result):
        r = result.rejects[result.rejects["source_file"] == str(target)]
        return r.drop(columns="phi", errors="ignore").reset_index(drop=True).astype(str)

    def findings_of(result):
        f = result.findings[result.findings["claim_id"].astype(str).str.startswith("T")]
        f = f.drop(columns=["finding_id"], errors="ignore").reset_index(drop=True)
        return f.astype(str)

    pd.testing.assert_frame_equal(rejects_of(alone), rejects_of(together))
    pd.testing.assert_frame_equal(findings_of(alone), findings_of(together))
