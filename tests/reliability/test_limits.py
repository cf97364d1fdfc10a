"""Limits for schedulers and for hostile input: --max-reject-rate (exit 1, outputs written) and
the field size guard (--max-field-bytes; a record past pyarrow's read block is exit 2 naming
the row)."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from claims_audit import ingest
from claims_audit.cli.main import main
from claims_audit.errors import InputError
from claims_audit.ingest import read_input
from claims_audit.validate import validate_inputs
from tests.reliability.conftest import CORPUS, assert_every_row_accounted, make_corpus

RAGGED = CORPUS / "ragged_rows.csv"  # 2 of 4 rows rejected


def run(*args):
    return CliRunner().invoke(main, ["run", *args])


@pytest.mark.parametrize(
    "rate, code, exceeded", [("0.25", 1, True), ("0.5", 0, False), ("1", 0, False)]
)
def test_max_reject_rate(rate, code, exceeded, tmp_path):
    out = tmp_path / "out"
    result = run(str(RAGGED), "--out", str(out), "--fail-on", "never", "--max-reject-rate", rate)
    assert result.exit_code == code, result.output
    summary = json.loads((out / "summary.json").read_text())  # outputs written either way
    assert summary["reject_rate"] == {"rate": 0.5, "max": float(rate), "exceeded": exceeded}
    if exceeded:
        (line,) = result.stderr.strip().splitlines()
        assert "reject rate 50.00% (2 of 4 rows) exceeds --max-reject-rate 0.25" in line
    else:
        assert result.stderr == ""


def test_max_reject_rate_out_of_range_is_exit_2(tmp_path):
    result = run(str(RAGGED), "--out", str(tmp_path / "o"), "--max-reject-rate", "1.5")
    assert result.exit_code == 2
    assert "--max-reject-rate" in result.stderr


def test_max_reject_rate_on_clean_and_empty_input(tmp_path):
    result = run(
        str(CORPUS / "header_only.csv"), "--out", str(tmp_path / "o"), "--max-reject-rate", "0"
    )
    assert result.exit_code == 0, result.output


def test_max_field_bytes_option(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(
        make_corpus.to_csv([make_corpus.line(1, payer_id="P" * 3000), make_corpus.line(2)])
    )
    default = run(str(path), "--out", str(tmp_path / "a"), "--fail-on", "never")
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["totals"]["rows_rejected"] == 0
    strict = run(
        str(path), "--out", str(tmp_path / "b"), "--fail-on", "never", "--max-field-bytes", "2048"
    )
    assert strict.exit_code == 0 and default.exit_code == 0
    rejects = (tmp_path / "b" / "rejects.csv").read_text()
    assert "V006" in rejects and "3,000 bytes, over the 2,048-byte limit" in rejects
    assert "PPPP" not in rejects  # the oversized value itself is not copied


def test_record_longer_than_the_read_block_is_exit_2_naming_the_row(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BLOCK_SIZE", 1 << 16)
    rows = [make_corpus.line(i) for i in range(1, 2000)]
    text = make_corpus.to_csv(rows).decode()
    lines = text.splitlines(keepends=True)
    lines[5] = lines[5].replace("MCR-JH", '"MCR-JH', 1)  # data row 5: a quote never closed
    path = tmp_path / "unclosed.csv"
    path.write_text("".join(lines))
    with pytest.raises(InputError) as err:
        read_input(path, max_field_bytes=4096)
    message = str(err.value)
    assert str(path) in message and "row 5" in message and "\n" not in message
    assert "unclosed quote" in message


def test_long_field_within_the_block_is_v006_and_accounted(tmp_path):
    rows = [make_corpus.line(i) for i in range(1, 6)]
    rows[2]["diagnosis_codes"] = "M81.0 " * 20_000  # 120 KB, over the 64 KiB default
    path = tmp_path / "long.csv"
    path.write_bytes(make_corpus.to_csv(rows))
    raw = read_input(path)
    checked = validate_inputs([raw])
    assert_every_row_accounted(raw, checked, path)
    assert checked.rejects[["source_row", "column", "reason_code"]].values.tolist() == [
        [3, "diagnosis_codes", "V006"]
    ]


def test_huge_code_list_is_v004_quickly(tmp_path):
    rows = [make_corpus.line(i) for i in range(1, 200)]
    rows[7]["diagnosis_codes"] = "M81.0 " * 10_000  # 60 KB, under the field size limit
    path = tmp_path / "codes.csv"
    path.write_bytes(make_corpus.to_csv(rows))
    started = time.perf_counter()
    raw = read_input(path)
    checked = validate_inputs([raw])
    assert time.perf_counter() - started < 10
    assert_every_row_accounted(raw, checked, path)
    assert checked.rejects[["source_row", "column", "reason_code"]].values.tolist() == [
        [8, "diagnosis_codes", "V004"]
    ]
