"""`--engine dask` finds exactly what the pandas engine finds: byte-identical findings files."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claims_audit.audit import run_audit
from claims_audit.config import load_config
from claims_audit.errors import PipelineError
from claims_audit.generate import generate_claims
from claims_audit.report.outputs import write_outputs
from claims_audit.rules import REGISTRY
from tests.conftest import SAMPLE
from tests.reliability.conftest import make_corpus

pytest.importorskip("distributed")
from claims_audit.run.dask import run_audit_dask  # noqa: E402

COMPARED = ("findings.csv", "findings.parquet", "rejects.csv")


def assert_same_outputs(pandas_result, dask_result, tmp_path: Path) -> None:
    for name, result in (("pandas", pandas_result), ("dask", dask_result)):
        write_outputs(result, tmp_path / name, ("csv", "parquet"))
    for f in COMPARED:
        assert (tmp_path / "pandas" / f).read_bytes() == (tmp_path / "dask" / f).read_bytes(), f
    p, d = pandas_result.summary, dask_result.summary
    for key in (
        "totals",
        "inputs",
        "findings_by_rule",
        "coverage_by_rule",
        "not_evaluated_by_rule",
        "void_lines",
        "rates",
        "lines_outside_reference_period",
        "reference_period_notices",
        "impact",
    ):
        assert p[key] == d[key], key
    for entry in d["inputs"]:
        assert entry["rows_read"] == entry["rows_audited"] + entry["rows_rejected"]


def test_dask_matches_pandas_on_sample_data(tmp_path, starter_bundle, dask_client):
    claims = SAMPLE / "claims.csv"
    if not claims.exists():
        pytest.skip("sample_data/claims.csv is not there yet")
    toml = SAMPLE / "audit.toml"
    config = load_config(toml if toml.exists() else None, rule_codes=set(REGISTRY))
    history = [str(SAMPLE / "history.csv")] if (SAMPLE / "history.csv").exists() else None
    expected = run_audit([str(claims)], starter_bundle, config, history=history)
    # small partitions: several (about 5) even for a small file
    got = run_audit_dask(
        [str(claims)],
        starter_bundle,
        config,
        history=history,
        client=dask_client,
        partition_rows=100,
    )
    assert got.summary["timings_seconds"]["partitions"] >= 4
    assert_same_outputs(expected, got, tmp_path)


def test_dask_matches_pandas_on_generated_csv(
    tmp_path, starter_bundle, default_config, dask_client
):
    path = tmp_path / "claims.csv"
    generate_claims(starter_bundle, 20_000, path, seed=21)
    expected = run_audit([str(path)], starter_bundle, default_config)
    got = run_audit_dask(
        [str(path)],
        starter_bundle,
        default_config,
        client=dask_client,
        partition_rows=5_000,
    )
    assert len(expected.findings) > 500
    assert_same_outputs(expected, got, tmp_path)


def test_dask_matches_pandas_on_200k_generated(
    tmp_path, starter_bundle, default_config, dask_client
):
    path = tmp_path / "claims.parquet"
    generate_claims(starter_bundle, 200_000, path, seed=22, chunk_rows=60_000)
    expected = run_audit([str(path)], starter_bundle, default_config)
    got = run_audit_dask(
        [str(path)], starter_bundle, default_config, client=dask_client, partition_rows=50_000
    )
    assert_same_outputs(expected, got, tmp_path)


def test_dask_claims_with_several_patients_and_bad_rows(
    tmp_path, starter_bundle, default_config, dask_client
):
    """A claim_id carrying two patients, duplicate claim lines across patients, and rejected
    rows: drug groups and V005 still see the whole claim, and every row is accounted for."""
    source = tmp_path / "source.csv"
    generate_claims(starter_bundle, 3_000, source, seed=23)
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    claims = frame["claim_id"].drop_duplicates().to_numpy()
    patients = frame["patient_id"].drop_duplicates().to_numpy()
    # lines 2.. of some claims belong to another patient
    for i, claim in enumerate(claims[:40]):
        rows = frame.index[(frame["claim_id"] == claim) & (frame["line_number"] != "1")]
        frame.loc[rows, "patient_id"] = patients[-(i + 1)]
    # a repeated (claim_id, line_number) under another patient: V005 for the later row
    dups = frame[frame["claim_id"].isin(claims[50:70])].copy()
    dups["patient_id"] = patients[100]
    bad = frame.iloc[:5].copy()
    bad["service_date"] = "2025-13-45"  # V003
    bad["claim_id"] = bad["claim_id"] + "X"
    frame = pd.concat([frame, dups, bad], ignore_index=True)
    path = tmp_path / "claims.csv"
    frame.to_csv(path, index=False)
    second = tmp_path / "more.csv"
    frame.iloc[:300].to_csv(second, index=False)  # the same lines again, in a second file
    inputs = [str(path), str(second)]
    expected = run_audit(inputs, starter_bundle, default_config)
    got = run_audit_dask(
        inputs,
        starter_bundle,
        default_config,
        client=dask_client,
        piece_rows=500,
        partition_rows=200,
    )
    assert (expected.rejects["reason_code"] == "V005").sum() > 300
    assert (expected.rejects["reason_code"] == "V003").any()
    assert_same_outputs(expected, got, tmp_path)


def test_dask_missing_raises_pipeline_error(monkeypatch, starter_bundle, default_config):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(PipelineError, match="dask"):
        run_audit_dask(["x.csv"], starter_bundle, default_config)


# hostile inputs (tests/data/bad): ingest rejects, masking and per-file typing, as the pandas
# engine does them
BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
SECRET = make_corpus.SECRET  # a patient id of the corpus that no written reject may show
HOSTILE = (
    "control_chars.csv",  # V006 per control character, a patient id with one masked
    "phi_shifted_row.csv",  # a patient id in payer_type: masked by value, not column
    "unknown_time_zone.parquet",  # V004 per row, not exit 2
    "tz_service_date.parquet",  # zoned timestamps: the calendar date where recorded
    "big_integers.parquet",  # int64 beyond 2^53: V004 for the row
    "long_and_nul_values.parquet",  # NUL and overlong Parquet text: V006
    "invalid_utf8_mixed.csv",  # UTF-8 with a stray cp1252 byte: the file's encoding, V006
    "unclosed_quote.csv",  # the rest of the file is one record, whatever the pieces
)


def _expected_reject_keys(files: list[Path]) -> set[str]:
    cases = pd.read_csv(BAD / "expected.csv", dtype=str, keep_default_na=False)
    keys = set()
    for path in files:
        (case,) = cases.loc[cases["file"] == path.name, "rejects"]
        keys |= {f"{path.name}:{key}" for key in case.split()}
    return keys


def _replacement_in_other_row_group(path: Path) -> None:
    """all_text.parquet, one row per row group: payer_id of row 2 invalid UTF-8 (`\\xff`), that
    of row 3 a literal U+FFFD. `read_input` replaces the invalid bytes, so in this file a
    U+FFFD marks undecodable bytes: both rows are V006 (pieces: row 3's too)."""
    table = pq.read_table(BAD / "all_text.parquet")
    raw = pa.array([b"MCR-JH", b"MCR\xffJH", "MCR\ufffdJH".encode()], pa.binary())
    column = table.schema.get_field_index("payer_id")
    table = table.set_column(column, "payer_id", raw.view(pa.string()))
    pq.write_table(table, path, row_group_size=1)


def _mixed_encoding_apart(path: Path) -> None:
    """invalid_utf8_mixed.csv with the UTF-8 row and the stray cp1252 byte (row 4) in different
    2-row pieces: that byte is V006 as in the whole file (UTF-8, mixed), though its piece alone
    would read as cp1252."""
    header, utf8, cp1252, ascii_row = (BAD / "invalid_utf8_mixed.csv").read_bytes().split(b"\n")[:4]
    other = ascii_row.replace(b"CLMB0003", b"CLMB0004").replace(b"MRN700003", b"MRN700004")
    path.write_bytes(b"\n".join([header, utf8, ascii_row, other, cp1252, b""]))


def test_dask_matches_pandas_on_hostile_inputs(
    tmp_path, starter_bundle, default_config, dask_client
):
    """One batch of bad-corpus files, the CSV ones cut into 2-row pieces, a Parquet file
    rewritten with one row per row group (one piece each) and one with invalid UTF-8 and a
    U+FFFD in different row groups: the same rejects (rows, columns, codes, values, messages,
    PHI masks), findings and summary counts as the pandas engine."""
    files = [BAD / name for name in HOSTILE]
    split = tmp_path / "in" / "unknown_time_zone_rows.parquet"
    split.parent.mkdir()
    pq.write_table(pq.read_table(BAD / "unknown_time_zone.parquet"), split, row_group_size=1)
    assert pq.ParquetFile(split).metadata.num_row_groups == 3
    replaced = tmp_path / "in" / "replacement.parquet"
    _replacement_in_other_row_group(replaced)
    mixed = tmp_path / "in" / "mixed_apart.csv"
    _mixed_encoding_apart(mixed)
    inputs = [str(p) for p in files] + [str(split), str(replaced), str(mixed)]
    expected = run_audit(inputs, starter_bundle, default_config)
    got = run_audit_dask(inputs, starter_bundle, default_config, client=dask_client, piece_rows=2)
    pd.testing.assert_frame_equal(got.rejects, expected.rejects)
    assert_same_outputs(expected, got, tmp_path)

    rejects = got.rejects
    keys = set(
        rejects["source_file"].map(lambda f: Path(f).name)
        + ":"
        + rejects["source_row"].astype(str)
        + ":"
        + rejects["column"]
        + ":"
        + rejects["reason_code"]
    )
    # each file's rejects of tests/data/bad/expected.csv; and V005 for the claim lines the
    # corpus files share (CLMB0001 line 1...): in one batch, a later file's copy is a duplicate
    own = {k for k in keys if not k.endswith(":V005")}
    copy = {
        k.replace("unknown_time_zone_rows", "unknown_time_zone")
        for k in own
        if "replacement" not in k and "mixed_apart" not in k
    }
    assert copy == _expected_reject_keys(files)
    assert {k for k in keys if k.endswith(":V005")} >= {"phi_shifted_row.csv:1:line_number:V005"}
    assert {k for k in own if "mixed_apart" in k} == {"mixed_apart.csv:4:payer_id:V006"}
    assert {k for k in own if "replacement" in k} == {
        "replacement.parquet:2:payer_id:V006",
        "replacement.parquet:3:payer_id:V006",
    }
    assert {k for k in own if "unknown_time_zone_rows" in k} == {
        "unknown_time_zone_rows.parquet:1:service_date:V004",
        "unknown_time_zone_rows.parquet:2:service_date:V002",
        "unknown_time_zone_rows.parquet:3:service_date:V004",
    }
    # rows and messages count from the file's first row, not the piece's
    assert all(
        m.startswith(f"{f} row {r}")
        for f, r, m in zip(
            rejects["source_file"], rejects["source_row"], rejects["message"], strict=True
        )
    )
    # the shifted patient id (payer_type) and the control-character one are PHI by value
    shifted = rejects[rejects["source_file"].str.endswith("phi_shifted_row.csv")]
    assert shifted.set_index("column").loc["payer_type", "phi"]
    secret = rejects["value"].str.contains(SECRET)
    assert secret.sum() >= 2 and rejects.loc[secret, "phi"].all()
    written = (tmp_path / "dask" / "rejects.csv").read_text()
    assert SECRET not in written
    by_file = {Path(e["path"]).name: e for e in got.summary["inputs"]}
    tz = by_file["tz_service_date.parquet"]
    assert tz["rows_read"] == tz["rows_audited"] + tz["rows_rejected"] == 30
    assert by_file["control_chars.csv"]["rows_rejected"] == 6
    assert by_file["unknown_time_zone_rows.parquet"]["rows_rejected"] == 3
    assert by_file["mixed_apart.csv"]["encoding"] == "utf-8"


def test_dask_scratch_directory_given_is_left_as_found(
    tmp_path, starter_bundle, default_config, dask_client
):
    """`scratch=DIR`: the run makes its own directory in it and removes it, leaving what was
    there; with a scheduler and no scratch area the run refuses before connecting."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "theirs.txt").write_text("keep")
    claims = [str(SAMPLE / "claims.csv")]
    with run_audit_dask(
        claims, starter_bundle, default_config, client=dask_client, scratch=scratch
    ) as got:
        assert got.summary["totals"]["rows_read"] > 0
        # the findings wait there until written; the lines are gone once audited
        (own,) = [p for p in scratch.iterdir() if p.name != "theirs.txt"]
        assert sorted(p.name for p in own.iterdir()) == ["findings-000000.arrow", "probe"]
        assert len(got.findings) > 50
    assert [p.name for p in scratch.iterdir()] == ["theirs.txt"]
    with pytest.raises(PipelineError, match="--scratch"):
        run_audit_dask(claims, starter_bundle, default_config, scheduler="tcp://127.0.0.1:9")
