"""`reference build | show | diff` through click's CliRunner, on the real CMS files."""

from __future__ import annotations

import functools
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli import reference as cli_reference
from claims_audit.errors import BundleError, ReferenceBuildError
from claims_audit.reference import DEFAULT_REFERENCE_DIR
from claims_audit.reference_build import build_bundle
from tests.reference.conftest import RAW_FILES, needs_raw

pytestmark = needs_raw

FLAGS = {
    "hcpcs_zip": "--hcpcs",
    "asp_pricing": "--asp-pricing",
    "asp_crosswalk": "--asp-crosswalk",
    "mue_practitioner": "--mue-practitioner",
    "mue_outpatient": "--mue-outpatient",
    "opps": "--opps",
}


def _args(out, **override):
    files = RAW_FILES | override
    args = ["build"]
    for name, flag in FLAGS.items():
        args += [flag, str(files[name])]
    return [*args, "--out", str(out)]


@pytest.fixture
def runner(monkeypatch, curated_dir):
    """The CLI builds with the test's curated directory instead of reference/."""
    monkeypatch.setattr(
        cli_reference, "build_bundle", functools.partial(build_bundle, curated_dir=curated_dir)
    )
    return CliRunner()


def test_cli_build_same_tables_as_library(runner, built, tmp_path):
    out = tmp_path / "cli-bundle"
    result = runner.invoke(cli_reference.reference, _args(out))
    assert result.exit_code == 0, result.output
    assert "ndc_crosswalk       7124" in result.output
    assert "hcpcs_billing_unit_unparsed: 100" in result.output
    for name, table in built[2].items():  # deterministic: a second build gives the same rows
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), table)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"] == built[1]["sources"]


def test_cli_build_wrong_file_raises_build_error(runner, tmp_path):
    out = tmp_path / "bundle"
    result = runner.invoke(
        cli_reference.reference, _args(out, asp_pricing=RAW_FILES["mue_outpatient"])
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, ReferenceBuildError)
    assert RAW_FILES["mue_outpatient"].name in str(result.exception)
    assert not out.exists()


def test_cli_build_missing_flag_is_usage_error(runner, tmp_path):
    args = [a for a in _args(tmp_path / "b") if a != "--opps"]
    args.remove(str(RAW_FILES["opps"]))
    args = args[:1] + args[3:]  # drop --hcpcs ZIP
    result = runner.invoke(cli_reference.reference, args)
    assert result.exit_code == 2
    assert "Missing option '--hcpcs'" in result.output


def test_cli_build_without_opps_writes_empty_opps_table(runner, tmp_path):
    args = _args(tmp_path / "b")
    i = args.index("--opps")
    result = runner.invoke(cli_reference.reference, args[:i] + args[i + 2 :])
    assert result.exit_code == 0, result.output
    opps = pd.read_parquet(tmp_path / "b" / "opps.parquet")
    assert opps.empty
    assert list(opps.columns) == [
        "hcpcs_code",
        "status_indicator",
        "apc",
        "payment_rate_usd",
        "source",
    ]


def test_cli_show_prints_provenance(built):
    out, manifest, _ = built
    result = CliRunner().invoke(cli_reference.reference, ["show", "--reference", str(out)])
    assert result.exit_code == 0, result.output
    assert "kind cms, format claims-audit-reference/2" in result.output
    assert f"by claims-audit {manifest['tool_version']}" in result.output
    assert manifest["built_at"] in result.output
    line = next(x for x in result.output.splitlines() if "MCR_MUE_Practitioner" in x)
    assert "2026-04-01..2026-06-30" in line and "15095" in line
    sha = next(s["sha256"] for s in manifest["sources"] if s["table"] == "mue")
    assert sha[:12] in line and sha not in line


def test_cli_show_missing_manifest_raises_bundle_error(tmp_path):
    result = CliRunner().invoke(cli_reference.reference, ["show", "--reference", str(tmp_path)])
    assert isinstance(result.exception, BundleError)
    assert "manifest.json is missing" in str(result.exception)


@pytest.mark.skipif(
    not (DEFAULT_REFERENCE_DIR / "manifest.json").is_file(), reason="no starter bundle yet"
)
def test_cli_show_starter_bundle():
    result = CliRunner().invoke(cli_reference.reference, ["show"])
    assert result.exit_code == 0, result.output
    assert "kind starter" in result.output


def test_cli_diff_prints_and_writes_csv(built, next_quarter, tmp_path):
    csv_path = tmp_path / "changes.csv"
    args = ["diff", str(built[0]), str(next_quarter), "--out", str(csv_path)]
    result = CliRunner().invoke(cli_reference.reference, args)
    assert result.exit_code == 0, result.output
    assert "mue_value_changed: 1" in result.output
    assert "payment_limit_changed: 1" in result.output
    line = next(x.split() for x in result.output.splitlines() if "billing_unit_changed " in x)
    assert line == ["billing_unit_changed", "J9035", "10", "mg", "5", "mg"]
    written = pd.read_csv(csv_path, dtype=str)
    assert list(written.columns) == ["change_type", "key", "old", "new"]
    assert len(written) == 9
    assert written.iloc[0].tolist() == ["billing_unit_changed", "J9035", "10 mg", "5 mg"]


def test_cli_diff_same_bundle_prints_no_changes(built, tmp_path):
    args = ["diff", str(built[0]), str(built[0])]
    result = CliRunner().invoke(cli_reference.reference, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no changes"


def test_cli_show_starter_style_manifest(tmp_path):
    manifest = {
        "format": "claims-audit-reference/2",
        "kind": "starter",
        "tool_version": "0.1.0",
        "built_at": "2026-01-15T00:00:00+00:00",
        "sources": [
            {
                "table": "hcpcs",
                "file": "hcpcs.csv",
                "product": "curated extract",
                "effective_period": {"start": None, "end": None},
                "sha256": "ab" * 32,
                "rows": 12,
            }
        ],
        "tables": {"hcpcs": {"file": "hcpcs.csv", "rows": 12, "sha256": "cd" * 32}},
        "stats": {},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = CliRunner().invoke(cli_reference.reference, ["show", "--reference", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "kind starter" in result.output
    row = next(x.split() for x in result.output.splitlines() if "hcpcs.csv" in x)
    assert row == ["hcpcs", "hcpcs.csv", "curated", "extract", "-", "12", "ab" * 6]
    table = next(x.split() for x in result.output.splitlines() if x.strip().startswith("hcpcs  "))
    assert table == ["hcpcs", "12", "cd" * 6]
