"""`--engine dask` finds exactly what the pandas engine finds: byte-identical findings files."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.audit import run_audit
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.generate import generate_claims
from pipeline.report.outputs import write_outputs
from pipeline.rules import REGISTRY
from tests.conftest import SAMPLE

pytest.importorskip("distributed")
from pipeline.engines.dask_engine import run_audit_dask  # noqa: E402

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
    # tiny pieces and buckets: many partitions even for a small file
    got = run_audit_dask(
        [str(claims)],
        starter_bundle,
        config,
        history=history,
        client=dask_client,
        piece_rows=40,
        partition_rows=25,
    )
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
        piece_rows=3_000,
        partition_rows=2_500,
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
