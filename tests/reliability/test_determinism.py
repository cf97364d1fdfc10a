"""Determinism: the same batch gives byte-identical findings and rejects whatever the order in
which its files are named (files are audited in path order)."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from claims_audit.cli.main import main
from tests.reliability.conftest import CORPUS

BATCH = CORPUS / "batch"
FILES = [BATCH / "a_claims.csv", BATCH / "b_claims.csv", BATCH / "c_claims.parquet"]


def run(inputs, out):
    result = CliRunner().invoke(
        main, ["run", *map(str, inputs), "--out", str(out), "--fail-on", "never"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_input_order_does_not_change_outputs(tmp_path):
    orders = [FILES, FILES[::-1], [FILES[1], FILES[2], FILES[0]], [BATCH], [BATCH / "*_claims.*"]]
    outs = [run(order, tmp_path / f"run{i}") for i, order in enumerate(orders)]
    for name in ("findings.csv", "findings.parquet", "rejects.csv"):
        first = (outs[0] / name).read_bytes()
        assert all((o / name).read_bytes() == first for o in outs[1:]), name
    summaries = [json.loads((o / "summary.json").read_text()) for o in outs]
    assert all(s["inputs"] == summaries[0]["inputs"] for s in summaries)


def test_batch_duplicates_follow_path_order(tmp_path):
    out = run(FILES[::-1], tmp_path / "out")
    rejects = pd.read_csv(out / "rejects.csv", dtype=str)
    dups = rejects[rejects["reason_code"] == "V005"]
    got = sorted(
        zip(
            dups["source_file"].map(lambda p: p.rsplit("/", 1)[-1]), dups["source_row"], strict=True
        )
    )
    # (CLMB0003, 1) is in a and b: b's is later; (CLMB0001, 1) is in a and c: c's is later
    assert got == [("b_claims.csv", "1"), ("c_claims.parquet", "3")]
    summary = json.loads((out / "summary.json").read_text())
    for entry in summary["inputs"]:
        assert entry["rows_read"] == entry["rows_audited"] + entry["rows_rejected"] == 3
    findings = pd.read_csv(out / "findings.csv", dtype=str)
    assert {"C001", "N002"} <= set(findings["rule_code"])


def test_two_runs_byte_identical(tmp_path):
    a = run(FILES, tmp_path / "a")
    b = run(FILES, tmp_path / "b")
    for name in ("findings.csv", "findings.parquet", "rejects.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
