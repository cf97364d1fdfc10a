"""Writers: staged, atomic output directories that replace only what the tool wrote; strict JSON;
CSV/Parquet that take any text."""

import json
import os
import stat

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claims_audit.errors import OutputError
from claims_audit.report.safety import escape_text_columns
from claims_audit.report.writers import (
    MARKER,
    StagedOutput,
    check_replaceable,
    marker_names,
    remove_output_dir,
    write_csv,
    write_json,
    write_parquet,
    write_parquet_tables,
)
from claims_audit.rules.engine import finding_ids


def strict_json(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (RFC 8259)."""

    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def earlier_output(target, files=None):
    """An earlier claims-audit output in `target`, written the way the tool writes one."""
    with StagedOutput(target) as out:
        for name, text in (files or {"old.csv": "old"}).items():
            out.path(name).write_text(text)


def test_staged_output_replaces_previous_result_whole(tmp_path):
    target = tmp_path / "out"
    earlier_output(target)
    with StagedOutput(target) as out:
        out.path("new.csv").write_text("new")
        assert not (target / "new.csv").exists()  # nothing visible before commit
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.csv"]
    assert marker_names(target) == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging leftovers


def test_marker_is_strict_json_naming_tool_version_and_files(tmp_path):
    target = tmp_path / "out"
    earlier_output(target, {"b.csv": "b", "a.csv": "a"})
    data = strict_json((target / MARKER).read_text())
    assert data == {"tool": "claims-audit", "version": "0.1.0", "files": ["a.csv", "b.csv"]}


def test_staged_output_failure_keeps_previous_result(tmp_path):
    target = tmp_path / "out"
    earlier_output(target, {"findings.csv": "previous"})
    with pytest.raises(RuntimeError), StagedOutput(target) as out:
        out.path("findings.csv").write_text("partial")
        raise RuntimeError("crash mid-write")
    assert (target / "findings.csv").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_staged_output_failure_removes_the_parents_it_made(tmp_path):
    with pytest.raises(RuntimeError), StagedOutput(tmp_path / "a" / "b" / "out") as out:
        out.path("findings.csv").write_text("partial")
        raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_empty_directory_is_written_into(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    with StagedOutput(target) as out:
        out.path("x.csv").write_text("x")
    assert (target / "x.csv").read_text() == "x"


def test_unmarked_directory_is_refused_and_untouched(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a claims-audit output"):
        StagedOutput(target)
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_marked_directory_with_a_foreign_file_is_refused(tmp_path):
    target = tmp_path / "out"
    earlier_output(target)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"did not write \(notes.txt\)"):
        check_replaceable(target)


def test_a_listed_name_replaced_by_a_directory_is_foreign(tmp_path):
    target = tmp_path / "out"
    earlier_output(target)
    (target / "old.csv").unlink()
    (target / "old.csv").mkdir()
    (target / "old.csv" / "x").write_text("mine")
    with pytest.raises(OutputError, match="did not write"):
        check_replaceable(target)


def test_symlinked_target_is_refused(tmp_path):
    real = tmp_path / "real"
    earlier_output(real)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(OutputError, match="symbolic link"):
        StagedOutput(tmp_path / "link")


@pytest.mark.parametrize(
    "marker",
    [
        "not json",
        '{"tool": "other", "files": []}',
        '{"tool": "claims-audit", "files": ["../outside.txt"]}',
        '{"tool": "claims-audit", "files": ["sub/x"]}',
        '{"tool": "claims-audit", "files": [".."]}',
        '{"tool": "claims-audit", "files": "x"}',
        '["claims-audit"]',
    ],
)
def test_remove_output_dir_refuses_a_bad_marker(tmp_path, marker):
    victim = tmp_path / "outside.txt"
    victim.write_text("keep")
    target = tmp_path / "out"
    target.mkdir()
    (target / "x").write_text("keep")
    (target / MARKER).write_text(marker)
    assert marker_names(target) is None
    with pytest.raises(OutputError, match="not a claims-audit output"):
        remove_output_dir(target)
    assert victim.read_text() == "keep" and (target / "x").read_text() == "keep"


def test_remove_output_dir_deletes_only_listed_files(tmp_path):
    target = tmp_path / "out"
    earlier_output(target, {"a.csv": "a"})
    (target / "late.txt").write_text("added later by a person")
    assert remove_output_dir(target) is False  # rmdir fails: left in place
    assert [p.name for p in target.iterdir()] == ["late.txt"]
    assert (target / "late.txt").read_text() == "added later by a person"


def test_remove_output_dir_never_follows_a_listed_symlink(tmp_path):
    victim = tmp_path / "victim.csv"
    victim.write_text("keep")
    target = tmp_path / "out"
    earlier_output(target, {"a.csv": "a"})
    (target / "a.csv").unlink()
    (target / "a.csv").symlink_to(victim)
    assert remove_output_dir(target) is False
    assert victim.read_text() == "keep"


def test_remove_output_dir_refuses_unmarked_directory(tmp_path):
    (tmp_path / "x").write_text("keep")
    with pytest.raises(OutputError):
        remove_output_dir(tmp_path)
    assert (tmp_path / "x").read_text() == "keep"


def test_no_replace_takes_the_next_free_name(tmp_path):
    target = tmp_path / "20260101T000000"
    earlier_output(target, {"a.csv": "first"})
    with StagedOutput(target, replace=False) as out:
        out.path("a.csv").write_text("second")
    assert out.target == tmp_path / "20260101T000000-2"
    assert (target / "a.csv").read_text() == "first"
    assert (out.target / "a.csv").read_text() == "second"
    (tmp_path / "20260101T000000-3").write_text("a file, not a run")
    with StagedOutput(target, replace=False) as again:
        again.path("a.csv").write_text("third")
    assert again.target.name == "20260101T000000-4"


def test_modes_follow_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        target = tmp_path / "out"
        with StagedOutput(target) as out:
            write_csv(pd.DataFrame({"a": [1]}), out.path("a.csv"))
            write_parquet(pd.DataFrame({"a": [1]}), out.path("a.parquet"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_parent_is_output_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="cannot write"):
        StagedOutput(locked / "out")


def test_write_csv_is_byte_stable(tmp_path):
    frame = pd.DataFrame({"a": ["x", "=1"], "b": [1.5, None]})
    write_csv(frame, tmp_path / "1.csv")
    write_csv(frame, tmp_path / "2.csv")
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    assert (tmp_path / "1.csv").read_text() == "a,b\nx,1.5\n'=1,\n"


def test_write_csv_in_chunks_writes_the_bytes_pandas_writes(tmp_path, monkeypatch):
    # chunks of 4 rows, built on threads: a float only one chunk holds out of Arrow's range
    # (numpy's text there), categories with a missing value, a column of few distinct values
    rows = 4_103
    floats = np.arange(rows, dtype=float) / 8
    floats[[5, 9]] = [1e-7, np.nan]
    frame = pd.DataFrame(
        {
            "few": pd.array(["=x", "a,b", None, 'q"t'] * (rows // 4) + ["z"] * (rows % 4)),
            "kind": pd.Categorical((["u", None, "v,w"] * rows)[:rows]),
            "amount": floats,
            "count": np.arange(rows) * 1_000_003,
        }
    ).astype({"few": "string[pyarrow]"})
    monkeypatch.setattr("claims_audit.report.writers._CSV_CHUNK_ROWS", 4)
    write_csv(frame, tmp_path / "chunked.csv")
    expected = escape_text_columns(frame).to_csv(index=False, lineterminator="\n")
    assert (tmp_path / "chunked.csv").read_text(encoding="utf-8") == expected
    assert "1e-07" in expected and "'=x" in expected and '"v,w"' in expected


HOSTILE = ["nul\x00byte", "\x01=1+1", "bell\x07", "line\nbreak", "\ud800 lone surrogate", "é😀"]


def _findings_like(rows: int) -> pd.DataFrame:
    """Columns like the findings': long distinct text, few-valued text, integers, floats with
    NaN."""
    rng = np.random.default_rng(7)
    text = pd.StringDtype("pyarrow")
    return pd.DataFrame(
        {
            "message": pd.array(
                [f"claim {i}: {rng.integers(1e12)} units " * 40 for i in range(rows)], text
            ),
            "severity": pd.array(rng.choice(["error", "warning"], rows), dtype=text),
            "line_number": rng.integers(1, 6, rows),
            "impact_usd": np.where(rng.random(rows) < 0.3, np.nan, rng.random(rows) * 100),
        }
    )


@pytest.mark.parametrize("sizes", [[2500], [0, 7, 993, 1500], [1000, 1000, 500], [1, 2498, 0, 1]])
def test_parquet_chunks_write_the_bytes_of_the_whole_frame(tmp_path, sizes):
    frame = _findings_like(sum(sizes))
    whole = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    stats = ["severity", "line_number", "impact_usd"]  # the writer leaves message's out
    pq.write_table(
        whole,
        tmp_path / "a.parquet",
        compression="zstd",
        write_statistics=stats,
        row_group_size=1000,
    )
    bounds = np.cumsum([0, *sizes])
    chunks = (whole.slice(lo, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True))
    write_parquet_tables(chunks, tmp_path / "b.parquet", row_group_rows=1000)
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.num_row_groups == 3
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_parquet_of_no_rows_is_what_write_table_writes(tmp_path):
    frame = _findings_like(0)
    whole = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    stats = ["severity", "line_number", "impact_usd"]
    pq.write_table(whole, tmp_path / "a.parquet", compression="zstd", write_statistics=stats)
    write_parquet(frame, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert pq.read_table(tmp_path / "b.parquet").schema == whole.schema


def test_write_csv_and_parquet_take_any_text(tmp_path):
    frame = pd.DataFrame({"text": HOSTILE, "mixed": [1, "two", 3.5, None, True, "six"]})
    write_csv(frame, tmp_path / "a.csv")
    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    assert "nul\x00byte" in text and "'\x01=1+1" not in text  # a leading \x01 is not a formula
    assert "\\ud800 lone surrogate" in text and "é😀" in text
    clean = frame.assign(text=[t for t in HOSTILE if "\ud800" not in t] + ["x"])
    write_parquet(clean, tmp_path / "a.parquet")
    assert pd.read_parquet(tmp_path / "a.parquet")["mixed"].tolist() == [
        "1",
        "two",
        "3.5",
        None,
        "True",
        "six",
    ]


def test_write_json_is_strict_and_converts_numpy(tmp_path):
    data = {
        "n": np.int64(3),
        "x": np.float32(0.5),
        "ok": np.bool_(True),
        "when": pd.Timestamp("2026-01-02"),
        "arr": np.array([1, 2]),
        "missing": pd.NA,
    }
    write_json(data, tmp_path / "s.json")
    assert strict_json((tmp_path / "s.json").read_text()) == {
        "n": 3,
        "x": 0.5,
        "ok": True,
        "when": "2026-01-02T00:00:00",
        "arr": [1, 2],
        "missing": None,
    }


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float64("-inf")])
def test_write_json_refuses_nan_and_names_the_key(tmp_path, bad):
    with pytest.raises(ValueError, match=r"totals\.rate"):
        write_json({"totals": {"rate": bad}}, tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()


def test_finding_ids_stable_and_distinct():
    ids = finding_ids(
        pd.Series(["C1", "C1", "C2"]), pd.Series([1, 2, 1]), pd.Series(["U001", "U001", "U001"])
    )
    again = finding_ids(pd.Series(["C1"]), pd.Series([1]), pd.Series(["U001"]))
    assert ids[0] == again[0]
    assert len(set(ids)) == 3
    assert all(len(i) == 16 for i in ids)
