"""The plan's ingest side: a piece read with near-unique text left plain and identifiers
encoded gives the lines, rejects and Arrow files that reading it as `read_parquet` does gives;
the hash of short values (a byte position at a time) is the hash of long ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from claims_audit.ingest import MAX_FIELD_BYTES, canonical_table, read_parquet, read_parquet_piece
from claims_audit.run import plan

ROWS = 6_000


def _lines(charges: list[str]) -> pa.Table:
    """A Parquet-shaped extract: claims of 3 lines, 1,500 patients, padded and empty ids,
    a value with a control character (a V006 reject)."""
    n = len(charges)
    claims = [f"C{i // 3:06d}" for i in range(n)]
    claims[7] = f" {claims[7]} "  # trimmed: the same claim as its neighbours
    patients = [f"P{(i // 3) % 1500:05d}" for i in range(n)]
    patients[10] = ""  # empty: no patient
    hcpcs = [f"J{9000 + i % 40}" for i in range(n)]
    hcpcs[20] = "J90\x07"
    return pa.table(
        {
            "claim_id": claims,
            "line_number": [str(i % 3 + 1) for i in range(n)],
            "patient_id": patients,
            "payer_type": ["medicare"] * n,
            "service_date": ["2026-01-05"] * n,
            "hcpcs_code": hcpcs,
            "billed_units": ["1"] * n,
            "charge_usd": charges,
        }
    )


def _write(table: pa.Table, path: Path) -> Path:
    """Row groups of 2,000 lines; charges without a dictionary (plain pages)."""
    keep = [c for c in table.column_names if c != "charge_usd"]
    pq.write_table(table, path, row_group_size=2_000, use_dictionary=keep)
    return path


def _canonical(table: pa.Table, plain: list[str], repaired: bool) -> tuple:
    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return canonical_table([table], rows, Path("x"), MAX_FIELD_BYTES, repaired, plain)


def test_near_unique_plain_text_is_read_plain_with_the_same_lines(tmp_path):
    charges = [f" {i * 7 % 10007}.{i % 100:02d}" for i in range(ROWS)]
    path = _write(_lines(charges), tmp_path / "wide.parquet")
    table, repaired, plain = read_parquet_piece(path, {}, [0, 1])
    assert plain == ["charge_usd"]
    assert pa.types.is_string(table["charge_usd"].type)
    assert pa.types.is_dictionary(table["patient_id"].type)  # identifiers encoded too
    ours, rejects, ids = _canonical(table, plain, repaired)
    theirs, their_rejects, their_ids = _canonical(read_parquet(path, {}, [0, 1])[0], [], False)
    pd.testing.assert_frame_equal(rejects, their_rejects)
    assert len(rejects) == 1 and rejects["column"].tolist() == ["hcpcs_code"]
    assert ids.equals(their_ids)
    for name in theirs.column_names:
        mine, old = ours[name], theirs[name]
        if name in ("claim_id", "patient_id", "charge_usd"):  # the values per line
            assert mine.cast(pa.string()).equals(old.cast(pa.string())), name
        else:
            assert mine.equals(old), name
    assert ours["charge_usd"][0].as_py() == "0.00"  # trimmed
    assert ours["patient_id"][10].as_py() is None and ours["claim_id"][7].as_py() == "C000002"


def test_a_wrong_guess_is_read_again_as_dictionaries(tmp_path):
    """Plain pages of few distinct (long) values: not near-unique, so the piece is read as
    `read_parquet` reads it (the dictionary, in its order, is what the partitions get)."""
    charges = [f"{i % 30:04d}.00 charge padded to a long value" for i in range(ROWS)]
    path = _write(_lines(charges), tmp_path / "few.parquet")
    table, repaired, plain = read_parquet_piece(path, {}, [0, 1])
    assert plain == [] and not repaired
    assert pa.types.is_dictionary(table["charge_usd"].type)
    assert table.equals(read_parquet(path, {}, [0, 1])[0])


def test_scattered_near_unique_text_is_listed_decoded(tmp_path):
    charges = [f"{i * 7 % 10007}.{i % 100:02d}" for i in range(ROWS)]
    path = _write(_lines(charges), tmp_path / "wide.parquet")
    piece = plan.plan_pieces([path], {}, 4_000)[0]
    info = plan.scatter_piece(piece, 3, str(tmp_path / "p.arrow"), {})
    reader = pa.ipc.open_file(str(tmp_path / "p.arrow"))
    assert json.loads(reader.schema.metadata[b"decoded"]) == ["charge_usd"]
    assert pa.types.is_string(reader.schema.field("patient_id").type)  # decoded again
    assert reader.num_record_batches == 3 and sum(info.sizes) == 4_000 - 1  # one reject


def test_text_hash_of_short_values_is_the_running_sum_hash():
    """`_short_sums` (values of up to 32 bytes, a byte position at a time) gives what the
    running sums of `_long_sums` give, for every length, multi-byte characters too."""
    values = pa.array(["", "a", "é", "PT00000001", "x" * 31, "y" * 32, "€" * 11, "z" * 33])
    raw, bounds = plan._text_bytes(values.cast(pa.large_string()))
    for i in range(len(values)):
        width = int(bounds[i + 1] - bounds[i])
        short = plan._short_sums(raw, bounds[i : i + 1], width)
        long = plan._long_sums(values.slice(i, 1).cast(pa.large_string()))
        assert short.tolist() == long.tolist(), values[i]
    hashed = plan.text_hash(values)
    assert len(set(hashed.tolist())) == len(values) and 0 not in hashed


def test_pairs_come_in_first_line_order_whatever_the_dictionary_order():
    """A dictionary read from Parquet may list claims in any order: the pairs are those, in
    the order, of the same claims encoded by their first lines."""
    claims = pa.array(["C3", "C1", "C3", "C2", None, "C1"])
    patient = plan.text_hash(pa.array(["P1", "P2", "P1", "P3", "P4", "P5"]))
    shuffled = pa.DictionaryArray.from_arrays(
        pa.array([0, 2, 0, 3, None, 2], pa.int32()), pa.array(["C3", "unused", "C1", "C2"])
    )
    expected = plan._claim_patient_pairs(pa.chunked_array([claims]), patient)
    got = plan._claim_patient_pairs(pa.chunked_array([shuffled]), patient)
    assert got.tolist() == expected.tolist()
    claim_hash = plan.text_hash(claims)
    # C3 (one patient), C2; then C1's two patients in line order
    assert got[:, 0].tolist() == claim_hash[[0, 3, 1, 5]].tolist()
    assert got[:, 1].tolist() == patient[[0, 3, 1, 5]].tolist()
    assert plan._by_first_line(np.array([2, 0, 2, -1, 1])).tolist() == [2, 0, 1]
    assert plan._by_first_line(np.array([0, 1, 0, 2])).tolist() == [0, 1, 2]
    assert len(plan._by_first_line(np.array([-1, -1]))) == 0
