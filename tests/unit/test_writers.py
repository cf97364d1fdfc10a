import os

import pandas as pd
import pytest

from pipeline.engine import finding_ids
from pipeline.errors import OutputError
from pipeline.report.writers import StagedOutput, write_csv


def test_staged_output_replaces_previous_result_whole(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.csv").write_text("old")
    with StagedOutput(target) as out:
        out.path("new.csv").write_text("new")
        assert not (target / "new.csv").exists()  # nothing visible before commit
    assert sorted(p.name for p in target.iterdir()) == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging leftovers


def test_staged_output_failure_keeps_previous_result(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "findings.csv").write_text("previous")
    with pytest.raises(RuntimeError), StagedOutput(target) as out:
        out.path("findings.csv").write_text("partial")
        raise RuntimeError("crash mid-write")
    assert (target / "findings.csv").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


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


def test_finding_ids_stable_and_distinct():
    ids = finding_ids(
        pd.Series(["C1", "C1", "C2"]), pd.Series([1, 2, 1]), pd.Series(["U001", "U001", "U001"])
    )
    again = finding_ids(pd.Series(["C1"]), pd.Series([1]), pd.Series(["U001"]))
    assert ids[0] == again[0]
    assert len(set(ids)) == 3
    assert all(len(i) == 16 for i in ids)
