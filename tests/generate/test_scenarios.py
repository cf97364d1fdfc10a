"""Each scenario of the one generator plants exactly the rule in its name; the generator is
deterministic and vectorised; `sample_data/` is what its writer produces."""

from __future__ import annotations

import ast
import shutil

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

from claims_audit.audit import run_audit
from claims_audit.config import load_config
from claims_audit.generate import (
    PLANTABLE,
    SCENARIOS,
    STRUCTURAL,
    build_catalog,
    generate_claims,
    labels_path_for,
)
from claims_audit.generate.blocks import make_block
from claims_audit.generate.catalog import _unknown_codes
from claims_audit.generate.driver import to_tables
from claims_audit.generate.sample import write_sample
from claims_audit.rules import REGISTRY
from tests.conftest import ROOT, SAMPLE
from tests.helpers import finding_keys

EVERY = STRUCTURAL + SCENARIOS
PATIENTS = 250  # about 2,000 lines a block


@pytest.fixture(scope="module")
def sample_config():
    """The sample's configuration: commercial prior auth makes P001 plantable."""
    return load_config(SAMPLE / "audit.toml", rule_codes=set(REGISTRY))


@pytest.fixture(scope="module")
def catalog(starter_bundle, sample_config):
    return build_catalog(starter_bundle, config=sample_config)


def test_every_rule_has_a_scenario_named_for_it():
    assert set(PLANTABLE) == set(REGISTRY)
    for rule, plant in EVERY:
        assert plant.__name__.startswith(f"plant_{rule.lower()}_"), plant.__name__


@pytest.mark.parametrize("rule, plant", EVERY, ids=[plant.__name__ for _, plant in EVERY])
def test_scenario_plants_exactly_its_rule(
    rule, plant, catalog, starter_bundle, sample_config, tmp_path
):
    block = make_block(catalog, np.random.default_rng(7), PATIENTS, {rule: 0.05}, only={plant})
    table, labels = to_tables(block, 0, 0)
    path = tmp_path / "claims.csv"
    pacsv.write_csv(table, path)
    audit = run_audit([path], starter_bundle, sample_config)
    assert audit.rejects.empty
    planted = finding_keys(labels.to_pandas())
    assert {code for _, _, code in planted} == {rule}
    assert len(planted) >= 3
    assert finding_keys(audit.findings) == planted


def test_unknown_codes_are_drawn_from_outside_the_bundle():
    """With a bundle that holds J9028 and J2278 (real codes), C001 never draws them."""
    unknown = set(_unknown_codes({"J9028", "J2278", "J0897"}))
    assert len(unknown) == 10_000 - 3
    assert not {"J9028", "J2278", "J0897"} & unknown
    assert {"J0000", "J9999"} <= unknown


def test_c001_lines_carry_codes_absent_from_the_bundle(catalog, starter_bundle):
    from claims_audit.generate.scenarios import plant_c001_unknown_code

    block = make_block(
        catalog, np.random.default_rng(3), PATIENTS, {"C001": 0.05}, only={plant_c001_unknown_code}
    )
    codes = block.lines["hcpcs_code"].to_numpy()[block.labels["row"].to_numpy()]
    assert len(codes) >= 3
    assert not set(codes) & set(starter_bundle["hcpcs"]["hcpcs_code"])


def test_generator_is_deterministic_with_a_config(tmp_path, starter_bundle, sample_config):
    paths = [tmp_path / f"{name}.parquet" for name in "ab"]
    for path in paths:
        generate_claims(starter_bundle, 4000, path, seed=21, chunk_rows=1500, config=sample_config)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert labels_path_for(paths[0]).read_bytes() == labels_path_for(paths[1]).read_bytes()


def test_generator_has_no_per_row_python():
    """No row-wise pandas calls in the generator: `apply`, `iterrows`, `itertuples`, a lambda
    handed to `map` (the numpy arrays do the work)."""
    banned = []
    for path in sorted((ROOT / "pipeline" / "generate").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                lam = any(isinstance(a, ast.Lambda) for a in node.args)
                if name in ("apply", "iterrows", "itertuples") or (name == "map" and lam):
                    banned.append(f"{path.name}:{node.lineno} {name}")
    assert banned == []


def test_generator_at_200k_lines(tmp_path, starter_bundle):
    """One 200,000-line chunk: exact rows, unique line keys, every rule planted near its rate."""
    out = tmp_path / "big.parquet"
    result = generate_claims(starter_bundle, 200_000, out, seed=3, chunk_rows=200_000)
    assert (result.rows, result.chunks) == (200_000, 1)
    frame = pd.read_parquet(out, columns=["claim_id", "line_number"])
    assert len(frame) == 200_000 and not frame.duplicated().any()
    planted = result.planted
    claims = result.claims
    for rule in set(PLANTABLE) - {"P001"}:  # P001 needs a prior-auth policy the default lacks
        assert 0.5 * 0.004 * claims < planted[rule] < 4 * 0.004 * claims, (rule, planted[rule])


def test_sample_data_is_what_its_writer_writes(tmp_path, starter_bundle):
    shutil.copy(SAMPLE / "audit.toml", tmp_path / "audit.toml")
    counts = write_sample(tmp_path, starter_bundle)
    for name in ("claims.csv", "claims.parquet", "history.csv", "expected_findings.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    assert set(counts) == set(REGISTRY) and min(counts.values()) >= 2
    assert 300 <= len(pd.read_csv(tmp_path / "claims.csv")) <= 500
