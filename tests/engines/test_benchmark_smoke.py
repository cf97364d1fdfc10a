"""Benchmark smoke test: the DuckDB and naive-loop yardsticks find what the engine finds."""

from __future__ import annotations

import pandas as pd
import pytest

from claims_audit.audit import run_audit
from claims_audit.generate import generate_claims

pytest.importorskip("duckdb")
from benchmarks.duckdb_rules import CORE_RULES, duckdb_findings  # noqa: E402
from benchmarks.naive_loop import naive_findings  # noqa: E402
from tests.helpers import finding_keys  # noqa: E402


def _core(frame: pd.DataFrame) -> set[tuple[str, int, str]]:
    return finding_keys(frame[frame["rule_code"].isin(CORE_RULES)])


def test_duckdb_and_naive_loop_match_the_engine(tmp_path, starter_bundle, default_config):
    path = tmp_path / "claims.parquet"
    generate_claims(starter_bundle, 6_000, path, seed=31, defect_rate=0.01)
    engine = _core(run_audit([str(path)], starter_bundle, default_config).findings)
    assert len({code for _, _, code in engine}) >= 7
    assert _core(duckdb_findings(path, starter_bundle.path)) == engine
    assert _core(naive_findings(path, starter_bundle.path)) == engine
