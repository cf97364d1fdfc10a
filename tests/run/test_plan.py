"""The partitioned plan: findings, rejects and summary are byte-identical whatever the number
of worker processes, partitions and pieces; claims that carry several patients stay whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claims_audit.config import load_config
from claims_audit.errors import OutputError
from claims_audit.generate import generate_claims
from claims_audit.report.views import findings_with_payer
from claims_audit.report.writers import (
    write_csv,
    write_csv_frames,
    write_parquet,
    write_parquet_frames,
)
from claims_audit.rules.common import repeated
from claims_audit.run import merge, plan
from claims_audit.run.local import run_audit
from claims_audit.storage import Scratch
from tests.conftest import SAMPLE
from tests.helpers import SUMMARY_KEYS

CLAIMS = SAMPLE / "claims.csv"


def _bytes(result, tmp_path, name: str) -> dict[str, bytes]:
    """The findings and rejects files: the findings written a range at a time as the outputs
    are, the same bytes as written from the whole table."""
    out = tmp_path / name
    out.mkdir()
    write_csv_frames(result.finding_frames(), out / "findings.csv")
    write_parquet_frames(result.finding_frames(), out / "findings.parquet")
    whole = tmp_path / f"{name}-whole"
    whole.mkdir()
    write_csv(result.findings, whole / "findings.csv")
    write_parquet(result.findings, whole / "findings.parquet")
    for f in ("findings.csv", "findings.parquet"):
        assert (out / f).read_bytes() == (whole / f).read_bytes(), f
    write_csv(result.rejects, out / "rejects.csv")
    return {f.name: f.read_bytes() for f in sorted(out.iterdir())}


def _same(a, b, tmp_path, label: str) -> None:
    assert _bytes(a, tmp_path, f"a-{label}") == _bytes(b, tmp_path, f"b-{label}")
    for key in SUMMARY_KEYS:
        assert a.summary[key] == b.summary[key], key
    # the report lines come in partition order: the same lines, and the same payer per finding
    keys = ["claim_id", "line_number"]
    pd.testing.assert_frame_equal(
        a.lines.sort_values(keys, kind="stable", ignore_index=True),
        b.lines.sort_values(keys, kind="stable", ignore_index=True),
        check_categorical=False,
    )
    pd.testing.assert_frame_equal(
        findings_with_payer(a.findings, a.lines), findings_with_payer(b.findings, b.lines)
    )


@pytest.fixture(scope="module")
def sample_config():
    return load_config(SAMPLE / "audit.toml")


@pytest.mark.parametrize(
    "workers, partition_lines", [(1, 40), (2, 60), pytest.param(2, 7, marks=pytest.mark.slow)]
)
def test_sample_does_not_depend_on_workers_or_partitions(
    starter_bundle, sample_config, tmp_path, workers, partition_lines
):
    inputs = [CLAIMS, SAMPLE / "bad_rows.csv"]
    history = [SAMPLE / "history.csv"]
    whole = run_audit(inputs, starter_bundle, sample_config, history, workers=1)
    split = run_audit(
        inputs,
        starter_bundle,
        sample_config,
        history,
        workers=workers,
        partition_lines=partition_lines,
    )
    assert whole.summary["plan"]["partitions"] == 1
    assert split.summary["plan"]["partitions"] > 1
    assert len(whole.findings) == len(pd.read_csv(SAMPLE / "expected_findings.csv")) > 50
    assert len(whole.rejects) > 10
    _same(whole, split, tmp_path, "sample")


@pytest.fixture(scope="module")
def generated(starter_bundle, tmp_path_factory):
    """A generated extract as Parquet of several row groups (pieces of 4,000 lines)."""
    path = tmp_path_factory.mktemp("generated") / "g.parquet"
    generate_claims(starter_bundle, 12_000, path, seed=3)
    table = pq.read_table(path)
    pq.write_table(table, path, row_group_size=2_000)
    return path


def test_generated_file_does_not_depend_on_workers_pieces_or_partitions(
    starter_bundle, generated, tmp_path, monkeypatch
):
    config = load_config(None)
    one = run_audit([generated], starter_bundle, config, workers=1)
    assert one.summary["inputs"][0]["encoding"] == "parquet"
    assert len(one._store.ranges) == 1
    # findings merged in ranges of about 100 from runs of batches of 16 (the workers, forked,
    # see the same): the same bytes as one range
    monkeypatch.setattr(merge, "RUN_BATCH_ROWS", 16)
    monkeypatch.setattr(merge, "RANGE_ROWS", 100)
    for workers, partition_lines in ((1, 3_000), (2, 2_500)):
        many = run_audit(
            [generated],
            starter_bundle,
            config,
            workers=workers,
            partition_lines=partition_lines,
            piece_lines=4_000,
        )
        assert many.summary["plan"]["partitions"] >= 4
        assert many.summary["plan"]["pieces"] == 3  # row groups read by separate tasks
        assert many.summary["inputs"] == one.summary["inputs"]  # sha256, rows, encoding
        assert len(many._store.ranges) > 3
        _same(one, many, tmp_path, f"g{workers}")
    assert len(one.findings) > 300


def test_claims_with_several_patients_stay_together(starter_bundle, sample_config, tmp_path):
    """A claim whose lines carry different patient ids (a data error) is audited whole: moved
    into one partition, its V005 duplicate line and drug groups are those of one partition."""
    lines = pd.read_csv(CLAIMS, dtype=str, keep_default_na=False)
    claims = lines["claim_id"].drop_duplicates().to_numpy()[:30]
    for k, claim in enumerate(claims):  # each claim's last line to another patient
        at = np.flatnonzero(lines["claim_id"].to_numpy() == claim)[-1]
        lines.loc[at, "patient_id"] = f"PX{k:04d}"
    repeat = lines.iloc[[0]].copy()  # a V005 duplicate of the first line
    repeat["patient_id"] = "PZ9999"
    path = tmp_path / "linked.csv"
    pd.concat([lines, repeat], ignore_index=True).to_csv(path, index=False)
    whole = run_audit([path], starter_bundle, sample_config, workers=1)
    split = run_audit([path], starter_bundle, sample_config, workers=1, partition_lines=15)
    assert "V005" in set(whole.rejects["reason_code"])
    _same(whole, split, tmp_path, "linked")


def test_linked_moves_send_each_group_to_its_smallest_partition():
    def info(pairs):
        pairs = np.array(pairs, dtype=np.uint64).reshape(-1, 2)
        return plan.PieceInfo(0, None, False, pairs, np.zeros(4, np.int64), "", 0.0)

    # claim 100 carries patients 5 (partition 1) and 6 (2); claim 101 links 6 and 3 (3)
    moves = plan.linked_moves([info([[100, 5], [100, 6]]), info([[101, 6], [101, 3], [7, 7]])], 4)
    assert sorted(moves.into) == [1]
    assert sorted(moves.into[1].tolist()) == [3, 5, 6]
    assert {p: v.tolist() for p, v in moves.out.items()} == {2: [6], 3: [3]}


def test_text_hash_is_per_value_and_na_is_zero():
    values = pd.Series(["P1", None, "P2", "P1"], dtype="string[pyarrow]")
    hashed = plan.text_hash(pa.array(values.array))
    assert hashed[0] == hashed[3] != hashed[2]
    assert hashed[1] == 0
    assert plan.text_hash(pa.array(["P2"]))[0] == hashed[2]


def test_local_scratch_is_exit_2_when_it_cannot_be_made(tmp_path):
    """The local executor's scratch area (storage.Scratch): a directory it cannot make is the
    user's one-line error, not a crash."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(OutputError, match="scratch directory .*file/below: cannot write"):
        Scratch(blocker / "below", prefix="claims-audit-run-")
    assert blocker.read_text(encoding="utf-8") == "not a directory"


def test_text_hash_is_the_same_for_plain_dictionary_and_chunked_text():
    values = pa.array(["P1", None, "P2", "P1", "x" * 3000])
    hashed = plan.text_hash(values)
    assert hashed[0] == hashed[3] and len(set(hashed.tolist())) == 4 and hashed[1] == 0
    assert (plan.text_hash(values.dictionary_encode()) == hashed).all()
    assert (plan.text_hash(pa.chunked_array([values[:2], values[2:]])) == hashed).all()
    assert (plan.text_hash(values.slice(2)) == hashed[2:]).all()


def test_repeated_flags_every_occurrence_of_a_hash_seen_twice():
    values = np.array([7, 3, 7, 9, 3, 3, 1], dtype=np.uint64)  # the plan's claim hashes
    assert repeated(values).tolist() == [True, True, True, False, True, True, False]
    assert repeated(np.zeros(0, dtype=np.uint64)).tolist() == []
