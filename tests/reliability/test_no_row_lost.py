"""Property: whatever is done to a valid extract (cells, bytes, rows corrupted at random), every
row read is audited or rejected, exactly once, and anything unreadable is a one-line InputError
(exit 2) naming the file; never a traceback."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.ingest import read_input
from pipeline.validate import validate_inputs
from tests.reliability.conftest import assert_every_row_accounted, make_corpus

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
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


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
