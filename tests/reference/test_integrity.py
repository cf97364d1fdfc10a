"""A bundle is used only as its manifest describes it: every table's row count and sha256 (of the
file as stored) are checked before use, and every number must be finite and in range. Each broken
bundle is a BundleError naming the table, and exit 2 with one line from the CLI.

Broken bundles are copies of the starter bundle (`reference/`) written to tmp_path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from claims_audit.errors import BundleError
from claims_audit.reference import DEFAULT_REFERENCE_DIR, load_bundle, read_table_file, table_entry
from claims_audit.schemas.reference import TABLE_SCHEMAS
from tests.reference.conftest import rehash_manifest

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "claims-audit"
CLAIMS = ROOT / "sample_data" / "claims.csv"


def _copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_REFERENCE_DIR, bundle, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return bundle


def _cut_to_header(bundle: Path, name: str) -> None:
    path = bundle / f"{name}.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))


def _write_manifest(bundle: Path, manifest: object) -> None:
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _message(bundle: Path) -> str:
    with pytest.raises(BundleError) as exc:
        load_bundle(bundle)
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_starter_manifest_matches_every_table_file():
    manifest = _manifest(DEFAULT_REFERENCE_DIR)
    assert manifest["format"] == "claims-audit-reference/2"
    assert set(manifest["tables"]) == set(TABLE_SCHEMAS)
    for name, entry in manifest["tables"].items():
        path = DEFAULT_REFERENCE_DIR / f"{name}.csv"
        assert entry == table_entry(path, len(read_table_file(DEFAULT_REFERENCE_DIR, name)))
    assert len(load_bundle()["hcpcs"]) == manifest["tables"]["hcpcs"]["rows"]


def test_hcpcs_cut_to_header_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    _cut_to_header(bundle, "hcpcs")
    rows = _manifest(bundle)["tables"]["hcpcs"]["rows"]
    assert _message(bundle) == (
        f"reference table 'hcpcs' ({bundle / 'hcpcs.csv'}): 0 rows where manifest.json counts "
        f"{rows}; the table was cut or changed after the bundle was built"
    )


def test_mue_cut_to_header_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    _cut_to_header(bundle, "mue")
    assert _message(bundle).startswith("reference table 'mue' (")


def test_one_changed_byte_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    path = bundle / "payment_limits.csv"
    text = path.read_text(encoding="utf-8")
    assert "J9035,73.632," in text
    path.write_text(text.replace("J9035,73.632,", "J9035,73.633,"), encoding="utf-8")
    message = _message(bundle)
    assert message.startswith(f"reference table 'payment_limits' ({path}): sha256 ")
    assert "is not the" in message and "of manifest.json" in message


def test_infinite_payment_limit_is_bundle_error_even_with_matching_manifest(tmp_path):
    bundle = _copy(tmp_path)
    path = bundle / "payment_limits.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("J9035,73.632,", "J9035,inf,"), encoding="utf-8"
    )
    rehash_manifest(bundle)  # the manifest agrees: only the schema can refuse it
    message = _message(bundle)
    assert message.startswith(f"reference table 'payment_limits' ({bundle / 'payment_limits'})")
    assert "column 'payment_limit_usd'" in message and "value inf" in message


@pytest.mark.parametrize(
    ("table", "old", "new", "column"),
    [
        ("opps", "J0897,K,9272,29.38,", "J0897,K,9272,-inf,", "payment_rate_usd"),
        ("hcpcs", ",10,mg,10 MG,", ",1e12,mg,10 MG,", "billing_unit_amount"),
        ("ndc_crosswalk", ",60,60,cms_asp", ",60,1e-9,cms_asp", "billing_units_per_package"),
        ("mue", "J9035,practitioner,230,", "J9035,practitioner,2000000000,", "mue_value"),
    ],
)
def test_numbers_out_of_range_are_bundle_errors(tmp_path, table, old, new, column):
    bundle = _copy(tmp_path)
    path = bundle / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    rehash_manifest(bundle)
    message = _message(bundle)
    assert message.startswith(f"reference table '{table}'") and repr(column) in message


def test_parquet_table_cut_is_bundle_error(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    manifest = _manifest(DEFAULT_REFERENCE_DIR)
    for name in TABLE_SCHEMAS:
        path = bundle / f"{name}.parquet"
        read_table_file(DEFAULT_REFERENCE_DIR, name).to_parquet(path, index=False)
        manifest["tables"][name] = table_entry(path, len(pd.read_parquet(path)))
    _write_manifest(bundle, manifest)
    assert len(load_bundle(bundle)["mue"]) == manifest["tables"]["mue"]["rows"]
    mue = pd.read_parquet(bundle / "mue.parquet")
    mue.head(0).to_parquet(bundle / "mue.parquet", index=False)
    assert _message(bundle).startswith(
        f"reference table 'mue' ({bundle / 'mue.parquet'}): 0 rows where manifest.json counts "
    )


def test_unreadable_table_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    manifest = _manifest(bundle)
    (bundle / "hcpcs.csv").unlink()
    (bundle / "hcpcs.parquet").write_bytes(b"PAR1 not really parquet")
    manifest["tables"]["hcpcs"] = table_entry(bundle / "hcpcs.parquet", 26)
    _write_manifest(bundle, manifest)
    assert _message(bundle) == (
        f"reference table 'hcpcs' ({bundle / 'hcpcs.parquet'}): cannot read it as .parquet"
    )


def test_table_missing_from_manifest_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    manifest = _manifest(bundle)
    del manifest["tables"]["opps"]  # an optional table, but its file is there
    _write_manifest(bundle, manifest)
    assert _message(bundle) == (
        f"reference table 'opps': {bundle / 'opps.csv'} is not listed in manifest.json (no row "
        f"count or sha256 to check it against)"
    )


def test_table_file_missing_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    (bundle / "drug_policy.csv").unlink()  # optional, but the manifest lists it
    assert _message(bundle) == (
        f"reference table 'drug_policy': {bundle / 'drug_policy.csv'} is missing or not a "
        f"regular file"
    )


def test_optional_table_absent_from_file_and_manifest_is_empty(tmp_path):
    bundle = _copy(tmp_path)
    (bundle / "opps.csv").unlink()
    manifest = _manifest(bundle)
    del manifest["tables"]["opps"]
    _write_manifest(bundle, manifest)
    assert load_bundle(bundle)["opps"].empty


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ([], "the manifest must be a JSON object, not list"),
        ({"tables": 5}, "'tables' must be an object listing each table's file, rows and sha256"),
        ({"tables": {"hcpcs": 26}}, "tables.hcpcs must be an object with file, rows and sha256 "
         "(a bundle written by an older claims-audit: rebuild it with `claims-audit reference "
         "build`)"),
        ({"tables": {"hcpcs": {"file": "../x.csv", "rows": 1, "sha256": "0" * 64}}},
         "tables.hcpcs.file must be hcpcs.parquet or hcpcs.csv"),
        ({"tables": {"hcpcs": {"file": "hcpcs.csv", "rows": "26", "sha256": "0" * 64}}},
         "tables.hcpcs.rows must be a whole number of rows"),
        ({"tables": {"hcpcs": {"file": "hcpcs.csv", "rows": 26, "sha256": "xyz"}}},
         "tables.hcpcs.sha256 must be 64 lower-case hex digits"),
        ({"tables": {"claims": {}}}, "'tables' lists an unknown table 'claims'"),
        ({"tables": {}, "sources": [{"effective_period": {"start": 20260101}}]},
         "sources[0].effective_period.start must be a YYYY-MM-DD date or null"),
        ({"tables": {}, "sources": {}}, "'sources' must be a list of objects"),
    ],
)  # fmt: skip
def test_manifest_of_wrong_shape_is_bundle_error(tmp_path, manifest, problem):
    bundle = _copy(tmp_path)
    _write_manifest(bundle, manifest)
    assert _message(bundle) == f"reference bundle {bundle / 'manifest.json'}: {problem}"


def test_manifest_nested_too_deeply_or_a_directory_is_bundle_error(tmp_path):
    bundle = _copy(tmp_path)
    (bundle / "manifest.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert "invalid JSON (nested too deeply)" in _message(bundle)
    (bundle / "manifest.json").unlink()
    (bundle / "manifest.json").mkdir()
    assert _message(bundle) == f"reference bundle {bundle / 'manifest.json'}: not a regular file"


def _run_cli(bundle: Path, out: Path) -> subprocess.CompletedProcess:
    command = [str(CLI), "run", str(CLAIMS), "--reference", str(bundle), "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)


def _inf_rate(bundle: Path) -> None:
    path = bundle / "payment_limits.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("J9035,73.632,", "J9035,inf,"), encoding="utf-8"
    )
    rehash_manifest(bundle)


def _changed_byte(bundle: Path) -> None:
    path = bundle / "ndc_crosswalk.csv"
    path.write_bytes(path.read_bytes().replace(b"Amgen", b"Amgem", 1))


@pytest.mark.skipif(not CLI.is_file() or not CLAIMS.is_file(), reason="no CLI or sample data")
@pytest.mark.parametrize(
    ("breakage", "table"),
    [
        (lambda b: _cut_to_header(b, "hcpcs"), "hcpcs"),
        (lambda b: _cut_to_header(b, "mue"), "mue"),
        (_changed_byte, "ndc_crosswalk"),
        (_inf_rate, "payment_limits"),
    ],
    ids=["hcpcs-cut", "mue-cut", "changed-byte", "inf-rate"],
)
def test_cli_broken_bundle_exits_2_with_one_line_naming_table(tmp_path, breakage, table):
    bundle = _copy(tmp_path)
    breakage(bundle)
    out = tmp_path / "out"
    result = _run_cli(bundle, out)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"reference table '{table}'" in lines[0]
    assert not out.exists()
