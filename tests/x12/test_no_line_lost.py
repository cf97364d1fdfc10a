"""Damaged 837 files: either an InputError (nothing readable) or every service line read is in
the frame or the rejects (rows_read == lines kept + distinct rejected rows)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims_audit.errors import InputError
from claims_audit.ingest import read_input

DATA = Path(__file__).resolve().parents[1] / "data" / "x12"
SOURCE = (DATA / "professional.837").read_bytes() + (DATA / "institutional.837").read_bytes()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=len(SOURCE)),
    start=st.integers(min_value=0, max_value=len(SOURCE)),
    length=st.integers(min_value=0, max_value=40),
    junk=st.binary(max_size=6),
)
def test_damaged_file_loses_no_line(tmp_path, cut, start, length, junk):
    damaged = SOURCE[:start] + junk + SOURCE[start + length :]
    path = tmp_path / "damaged.837"
    path.write_bytes(damaged[: max(cut, 200)])
    try:
        raw = read_input(path)
    except InputError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    rejected = raw.rejects["source_row"].nunique()
    assert raw.rows_read == len(raw.frame) + rejected
    assert set(raw.frame["source_row"]).isdisjoint(raw.rejects["source_row"])
