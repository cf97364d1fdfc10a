"""`claims-audit sample generate`: synthetic claims whose audit finds exactly their labels."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.audit import run_audit
from pipeline.cli import main
from pipeline.generate import generate_claims, labels_path_for
from tests.helpers import finding_keys

ROWS = 20_000
CORE = ("C001", "C002", "U001", "U002", "U003", "U004", "N002", "N003", "M001", "M002", "M004")


@pytest.fixture(scope="module")
def generated(tmp_path_factory, starter_bundle):
    out = tmp_path_factory.mktemp("generated") / "claims.parquet"
    return generate_claims(starter_bundle, ROWS, out, seed=11, defect_rate=0.006)


@pytest.fixture(scope="module")
def audited(generated, starter_bundle, default_config):
    return run_audit([str(generated.path)], starter_bundle, default_config)


def test_generate_writes_exact_rows_and_labels(generated):
    frame = pd.read_parquet(generated.path)
    labels = pd.read_parquet(generated.labels_path)
    assert len(frame) == ROWS == generated.rows
    assert generated.labels_path == labels_path_for(generated.path)
    assert list(labels.columns) == ["claim_id", "line_number", "rule_code"]
    assert not frame.duplicated(["claim_id", "line_number"]).any()
    lines = set(zip(frame["claim_id"], frame["line_number"].astype(int), strict=True))
    assert {(c, n) for c, n, _ in finding_keys(labels)} <= lines
    assert frame["patient_id"].nunique() == generated.patients
    assert frame["claim_id"].nunique() == generated.claims


def test_generated_findings_equal_planted_labels(generated, audited):
    """Every planted defect is found, and nothing else fires anywhere (all 29 rules)."""
    assert audited.rejects.empty, audited.rejects.head().to_dict("records")
    labels = pd.read_parquet(generated.labels_path)
    found, planted = finding_keys(audited.findings), finding_keys(labels)
    unexpected = sorted(found - planted)[:10]
    missing = sorted(planted - found)[:10]
    assert found == planted, f"unexpected findings {unexpected}; planted but not found {missing}"


def test_generated_plants_every_core_rule(generated):
    planted = generated.planted
    assert [code for code in CORE if planted.get(code, 0) == 0] == []
    assert sum(planted.values()) > 0.02 * ROWS


def test_generated_summary_reconciles(audited):
    totals = audited.summary["totals"]
    assert totals["rows_read"] == ROWS == totals["rows_audited"] + totals["rows_rejected"]
    assert totals["lines_not_audited_out_of_scope"] > 0  # CPT administration lines


def test_generated_facts_come_from_the_bundle(generated, starter_bundle):
    """Clean drug lines carry codes of the bundle and NDCs that crosswalk to them."""
    frame = pd.read_parquet(generated.path)
    labels = pd.read_parquet(generated.labels_path)
    flagged = set(zip(labels["claim_id"], labels["line_number"].astype(int), strict=True))
    keys = pd.Series(list(zip(frame["claim_id"], frame["line_number"].astype(int), strict=True)))
    clean = frame[~keys.isin(flagged).to_numpy()]
    drugs = clean[~clean["hcpcs_code"].str.fullmatch(r"\d{5}")]
    assert drugs["hcpcs_code"].isin(starter_bundle["hcpcs"]["hcpcs_code"]).all()
    with_ndc = drugs.dropna(subset=["ndc"])
    ndc11 = with_ndc["ndc"].str.replace("-", "", regex=False)
    ndc11 = ndc11.str[:5] + "-" + ndc11.str[5:9] + "-" + ndc11.str[9:]
    xwalk = starter_bundle["ndc_crosswalk"]
    pairs = set(zip(xwalk["ndc11"], xwalk["hcpcs_code"], strict=True))
    assert all(p in pairs for p in zip(ndc11, with_ndc["hcpcs_code"], strict=True))
    assert len(with_ndc) > 0.5 * len(drugs)


def test_generate_same_seed_same_bytes(tmp_path, starter_bundle):
    paths = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / f"{name}.csv"
        generate_claims(starter_bundle, 3000, out, seed=seed, chunk_rows=1000)
        paths.append(out)
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c
    la, lb = (labels_path_for(p).read_bytes() for p in paths[:2])
    assert la == lb


def test_generate_chunks_keep_ids_unique_and_findings_exact(
    tmp_path, starter_bundle, default_config
):
    out = tmp_path / "chunked.csv"
    result = generate_claims(starter_bundle, 12_345, out, seed=5, chunk_rows=5_000)
    assert result.chunks == 3
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(frame) == 12_345
    assert not frame.duplicated(["claim_id", "line_number"]).any()
    audit = run_audit([str(out)], starter_bundle, default_config)
    assert finding_keys(audit.findings) == finding_keys(pd.read_parquet(result.labels_path))


def test_generate_csv_and_parquet_hold_the_same_lines(tmp_path, starter_bundle):
    generate_claims(starter_bundle, 2000, tmp_path / "x.csv", seed=9)
    generate_claims(starter_bundle, 2000, tmp_path / "x.parquet", seed=9)
    csv = pd.read_csv(tmp_path / "x.csv", dtype=str, keep_default_na=False)
    parquet = pd.read_parquet(tmp_path / "x.parquet").fillna("")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)


def test_cli_sample_generate(tmp_path):
    out = tmp_path / "claims.parquet"
    result = CliRunner().invoke(
        main, ["sample", "generate", "--rows", "800", "--out", str(out), "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 800 lines" in result.output
    assert len(pd.read_parquet(out)) == 800
    assert labels_path_for(out).exists()


def test_cli_sample_generate_rejects_bad_rows(tmp_path):
    result = CliRunner().invoke(
        main, ["sample", "generate", "--rows", "0", "--out", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2
