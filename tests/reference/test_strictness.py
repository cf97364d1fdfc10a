"""The builder stops with one line naming the file and what is wrong, and leaves out_dir as it was.

Modified copies of the CMS files are written to tmp_path only, never into the project.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from claims_audit.errors import ReferenceBuildError
from claims_audit.reference_build import build_bundle
from tests.reference.conftest import RAW_FILES, needs_raw, write_curated

pytestmark = needs_raw


def _build(tmp_path: Path, curated: Path | None = None, **override) -> dict:
    files = RAW_FILES | override
    curated = curated or write_curated(tmp_path / "curated")
    return build_bundle(**files, out_dir=tmp_path / "out", curated_dir=curated)


def _without_column(source: Path, target: Path, header_cell: str) -> Path:
    """Copy a CMS CSV with one column (found by its header cell, any case) removed from the header
    row and every row below it."""
    records = list(csv.reader(io.StringIO(source.read_bytes().decode("cp1252"))))
    header = next(i for i, r in enumerate(records) if header_cell in [c.lower() for c in r])
    col = [c.lower() for c in records[header]].index(header_cell)
    for record in records[header:]:
        del record[col]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    target.write_bytes(buffer.getvalue().encode("cp1252"))
    return target


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_build_mue_file_as_asp_pricing_names_file(tmp_path):
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, asp_pricing=RAW_FILES["mue_practitioner"])
    message = _one_line(exc)
    assert message.startswith(str(RAW_FILES["mue_practitioner"]))
    assert (
        "no header row with columns 'hcpcs code', 'hcpcs code dosage', 'payment limit'" in message
    )


def test_build_swapped_mue_files_names_setting(tmp_path):
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, mue_outpatient=RAW_FILES["mue_practitioner"])
    message = _one_line(exc)
    assert RAW_FILES["mue_practitioner"].name in message
    assert "'outpatient hospital services mue values'" in message


def test_build_corrupt_zip_is_error(tmp_path):
    garbage = tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip"
    garbage.write_bytes(b"PK\x03\x04 this is not really a zip" * 20)
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, hcpcs_zip=garbage)
    assert _one_line(exc) == f"{garbage}: not a readable HCPCS zip file (File is not a zip file)"


def test_build_zip_without_hcpcs_data_member(tmp_path):
    other = tmp_path / "hcpcs-2026.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, hcpcs_zip=other)
    assert "no fixed-width HCPCS data (.txt) member" in _one_line(exc)


def test_build_asp_pricing_without_payment_limit_column_names_column(tmp_path):
    broken = _without_column(
        RAW_FILES["asp_pricing"], tmp_path / RAW_FILES["asp_pricing"].name, "payment limit"
    )
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, asp_pricing=broken)
    message = _one_line(exc)
    assert message.startswith(str(broken))
    assert message.endswith("lacks column(s) 'payment limit'")


def test_build_crosswalk_without_billunits_column_names_column(tmp_path):
    broken = _without_column(
        RAW_FILES["asp_crosswalk"], tmp_path / RAW_FILES["asp_crosswalk"].name, "billunits"
    )
    with pytest.raises(ReferenceBuildError, match=r"lacks column\(s\) 'billunits'$"):
        _build(tmp_path, asp_crosswalk=broken)


def test_build_mue_bad_adjudication_indicator_names_row(tmp_path):
    text = RAW_FILES["mue_practitioner"].read_bytes().decode("cp1252")
    text = text.replace("J2354,60,3 Date of Service Edit: Clinical", "J2354,60,Clinical", 1)
    broken = tmp_path / RAW_FILES["mue_practitioner"].name
    broken.write_bytes(text.encode("cp1252"))
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, mue_practitioner=broken)
    assert "data row 12998: mai 'Clinical' is not 1, 2 or 3" in _one_line(exc)


def test_build_missing_file_is_error(tmp_path):
    with pytest.raises(ReferenceBuildError, match=r"nowhere\.csv: file not found"):
        _build(tmp_path, asp_crosswalk=tmp_path / "nowhere.csv")


def test_build_invalid_curated_table_names_file(tmp_path):
    curated = write_curated(
        tmp_path / "curated",
        container="ndc11,hcpcs_code,product,container,source\n,J0897,Prolia,single,label\n",
    )
    with pytest.raises(ReferenceBuildError) as exc:
        _build(tmp_path, curated=curated)
    message = _one_line(exc)
    assert str(curated / "container.csv") in message and "'container'" in message


def test_build_missing_curated_table_is_error(tmp_path):
    curated = write_curated(tmp_path / "curated")
    (curated / "drug_policy.csv").unlink()
    with pytest.raises(ReferenceBuildError, match=r"curated table 'drug_policy' not found"):
        _build(tmp_path, curated=curated)


def test_build_failure_leaves_existing_out_dir_unchanged(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"kind": "cms", "built_at": "earlier"}', encoding="utf-8")
    (out / "hcpcs.parquet").write_bytes(b"previous bundle")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ReferenceBuildError):
        _build(tmp_path, asp_pricing=RAW_FILES["mue_practitioner"])
    # fails late, after every CMS file was read: a broken curated table
    curated = write_curated(tmp_path / "bad-curated", drug_policy="hcpcs_code\nnot-a-code\n")
    with pytest.raises(ReferenceBuildError):
        _build(tmp_path, curated=curated)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-curated", "curated", "out"]


def test_build_failure_creates_no_out_dir(tmp_path):
    with pytest.raises(ReferenceBuildError):
        _build(tmp_path, asp_crosswalk=RAW_FILES["asp_pricing"])
    assert not (tmp_path / "out").exists()


def test_build_refuses_to_replace_directory_that_is_not_a_bundle(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ReferenceBuildError, match="is not a reference bundle; refusing to replace"):
        _build(tmp_path)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_build_replaces_an_earlier_bundle_but_never_a_file_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    _build(tmp_path)
    first = sorted(p.name for p in out.iterdir())
    _build(tmp_path)  # an earlier bundle alone is replaced
    assert sorted(p.name for p in out.iterdir()) == first
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ReferenceBuildError, match=r"holds files the bundle did not write \(notes"):
        _build(tmp_path)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_build_refuses_out_dir_holding_curated_inputs(tmp_path):
    curated = write_curated(tmp_path / "out")
    (curated / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReferenceBuildError, match="inside the output directory"):
        _build(tmp_path, curated=curated)
