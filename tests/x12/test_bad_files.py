"""Bad 837 files (issue 16 item 3): exit 2 naming the segment when nothing can be read,
otherwise the bad claims' lines become V006 rejects and nothing is lost."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.errors import InputError
from claims_audit.ingest import read_input

DATA = Path(__file__).resolve().parents[1] / "data" / "x12"
PROFESSIONAL = (DATA / "professional.837").read_text()
INSTITUTIONAL = (DATA / "institutional.837").read_text()


def recount(text: str) -> str:
    """`text` with each SE01 set to its transaction set's segment count (after an edit)."""
    segments = text.split("~\n")
    start = 0
    for i, seg in enumerate(segments):
        if seg.startswith("ST*"):
            start = i
        elif seg.startswith("SE*"):
            parts = seg.split("*")
            segments[i] = "*".join([parts[0], str(i - start + 1), *parts[2:]])
    return "~\n".join(segments)


def write(tmp_path: Path, text: str, name: str = "bad.837") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (PROFESSIONAL.replace("*00501*", "*501*", 1), "segment 1: not an X12 interchange header"),
        (PROFESSIONAL.replace("SE*76*", "SE*75*"), "SE at segment 78 says 75 segments"),
        (
            PROFESSIONAL.replace("005010X222A1", "004010X098A1"),
            "transaction set at segment 3: unknown version 004010X098A1",
        ),
        (
            PROFESSIONAL[: PROFESSIONAL.index("HL*3*")],
            "interchange at segment 1 has no IEA (truncated?) (the file holds 45 segments)",
        ),
        (PROFESSIONAL.replace("IEA*1*000000101", "IEA*1*000000999"), "IEA at segment 80"),
        (PROFESSIONAL.replace("GE*1*101", "GE*2*101"), "GE at segment 79"),
    ],
    ids=["broken-isa", "se-count", "unknown-version", "truncated", "iea-control", "ge-count"],
)
def test_nothing_readable_is_an_input_error_naming_the_segment(tmp_path, text, where):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_input(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert where in str(caught.value)


def test_cli_exit_2_with_one_line(tmp_path):
    path = write(tmp_path, PROFESSIONAL.replace("SE*76*", "SE*75*"))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "segment 78" in lines[0]


def _second_set_broken() -> str:
    """An interchange of the 837P fixture followed by the 837I fixture whose SE01 is wrong."""
    return PROFESSIONAL + INSTITUTIONAL.replace("SE*43*", "SE*40*")


def test_a_bad_transaction_set_rejects_its_lines_only(tmp_path):
    raw = read_input(write(tmp_path, _second_set_broken()))
    assert raw.rows_read == 10
    assert sorted(raw.frame["claim_id"].unique()) == ["PC1001", "PC1002", "PC1003", "PC1004"]
    offset = len(PROFESSIONAL.split("~\n")) - 1
    assert raw.rejects["source_row"].tolist() == [o + offset for o in (29, 34, 37, 43)]
    assert set(raw.rejects["reason_code"]) == {"V006"}
    assert raw.rejects["message"].str.contains(f"SE at segment {45 + offset} says 40").all()
    assert len(raw.frame) + len(raw.rejects) == raw.rows_read


def test_claim_without_subscriber_loop_is_rejected(tmp_path):
    text = recount(PROFESSIONAL.replace("SBR*P*18*******MB~\n", "", 1))
    raw = read_input(write(tmp_path, text))
    rejected = raw.rejects.set_index("source_row")["message"]
    assert rejected.index.tolist() == [24, 29, 32, 42]  # the LX segments of PC1001, PC1002
    assert rejected.str.contains("claim at segment 20: no subscriber loop").sum() == 3
    assert rejected.str.contains("claim at segment 38: no subscriber loop").sum() == 1
    assert sorted(raw.frame["claim_id"].unique()) == ["PC1003", "PC1004"]


def test_line_without_service_segment_and_claim_without_lines(tmp_path):
    text = PROFESSIONAL.replace("SV1*HC:96413*300*UN*1***1~\n", "")
    text = text.replace("LX*1~\nSV1*HC:J0897*450*UN*60***1~\nREF*G1*PA777002~\n", "")
    raw = read_input(write(tmp_path, recount(text)))
    messages = dict(zip(raw.rejects["source_row"], raw.rejects["message"], strict=True))
    assert messages[30].endswith("segment 30: service line has no SV1 segment")
    assert messages[38].endswith("segment 38: claim has no service line (LX)")  # PC1002's CLM
    # 5 service lines and the claim without one, which counts as a row so that it is not lost
    assert raw.rows_read == 6 == len(raw.frame) + len(raw.rejects)


def test_run_reconciles_rows_of_a_partly_bad_file(tmp_path):
    path = write(tmp_path, _second_set_broken())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    counts = json.loads((out / "summary.json").read_text())["inputs"][0]
    # 10 lines: 4 of the broken set refused, PC1004's 0 units rejected by validation
    assert (counts["rows_read"], counts["rows_audited"], counts["rows_rejected"]) == (10, 5, 5)
    rejects = (out / "rejects.csv").read_text()
    assert len(re.findall(r",V006,", rejects)) == 4 and len(re.findall(r",V004,", rejects)) == 1
