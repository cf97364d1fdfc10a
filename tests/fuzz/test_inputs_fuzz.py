"""Fuzz: the other inputs a run reads (audit.toml, the baseline's findings.parquet and
summary.json, the suppression CSV) are data too: any bytes give a result or the tool's own
one-line error (ConfigError / BaselineError, exit 2), never another exception."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from claims_audit.config import SECTIONS, Config, load_config, parse_config
from claims_audit.errors import BaselineError, ConfigError
from claims_audit.report.baseline import (
    BASELINE_REQUIRED,
    read_baseline_findings,
    read_baseline_summary,
    read_suppressions,
)
from tests.conftest import SAMPLE
from tests.fuzz.corrupt import DAMAGE, RETYPE, _damage, _retyped

pytestmark = pytest.mark.fuzz

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["up", "error", "A001", "hcpcs_code", "J0897"])
)
KEYS = st.sampled_from(
    [
        *SECTIONS,
        "medicare",
        "medicaid",
        "commercial",
        "filing_limit_days",
        "require_jw",
        "require_jz",
        "require_ndc",
        "require_prior_auth",
        "rounding",
        "fail_on",
        "disable",
        "severity",
        "U002",
        "BCBS-TX",
    ]
) | st.text(max_size=6)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
)


def _one_line(exc: Exception) -> None:
    message = str(exc)
    assert message and len(message.splitlines()) == 1, repr(message)
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in message), repr(message)


@given(doc=st.dictionaries(KEYS, VALUES, max_size=4))
@example(doc={"payer": {"medicare": {"filing_limit_days": True}}})
@example(doc={"policy": 5})
@example(doc={"\x7f": None})  # found: DEL (and C1 controls) reached the message unescaped
def test_any_parsed_document_is_a_config_or_a_config_error(doc):
    try:
        config = parse_config(doc, rule_codes={"A001", "U002"})
    except ConfigError as exc:
        _one_line(exc)
        assert str(exc).startswith("config key ")
        return
    assert isinstance(config, Config)
    json.dumps(config.as_dict(), allow_nan=False)  # it reaches summary.json


AUDIT_TOML = (SAMPLE / "audit.toml").read_bytes()


@given(damage=st.lists(DAMAGE, max_size=4), extra=st.binary(max_size=64))
@example(damage=[], extra=b"\nx = " + b"[" * 3000)
def test_any_config_bytes_are_a_config_or_a_config_error(tmp_path_factory, damage, extra):
    path = tmp_path_factory.mktemp("config") / "audit.toml"
    path.write_bytes(_damage(AUDIT_TOML + extra, damage))
    try:
        load_config(path, rule_codes={"A001", "U002"})
    except ConfigError as exc:
        _one_line(exc)


GOOD_SUMMARY = {
    "started_at": "2026-03-01T02:00:00+00:00",
    "baseline": {
        "history": [
            {
                "started_at": "2026-02-01T02:00:00+00:00",
                "findings": 3,
                "by_severity": {"error": 2, "warning": 1, "info": 0},
                "by_rule": {"U001": 3},
                "missed_revenue_usd": 1.5,
                "overpayment_risk_usd": 0.0,
            }
        ]
    },
}


@given(
    summary=st.one_of(
        JSON_VALUES,
        st.dictionaries(st.sampled_from(["started_at", "baseline"]), JSON_VALUES),
        st.builds(lambda h: {"baseline": {"history": h}}, st.lists(JSON_VALUES, max_size=3)),
        st.builds(
            lambda e: {"baseline": {"history": [e]}},
            st.dictionaries(
                st.sampled_from(["started_at", "by_severity", "by_rule", "findings"]), JSON_VALUES
            ),
        ),
    ),
    damage=st.lists(DAMAGE, max_size=2),
)
def test_any_baseline_summary_is_usable_or_a_baseline_error(tmp_path_factory, summary, damage):
    directory = tmp_path_factory.mktemp("baseline")
    text = json.dumps(summary if summary is not None else GOOD_SUMMARY).encode()
    (directory / "summary.json").write_bytes(_damage(text, damage))
    try:
        out = read_baseline_summary(directory)
    except BaselineError as exc:
        _one_line(exc)
        return
    json.dumps(out, allow_nan=False)  # what is kept reaches this run's summary.json
    assert set(out) <= {"started_at", "history"}


SUPPRESSIONS = b"finding_id,reason,expires\nabc,accepted,2026-12-31\ndef,pilot,2099-01-01\n"


@given(
    damage=st.lists(DAMAGE, max_size=4),
    cell=st.text(max_size=10),
    where=st.integers(0, 5),
)
@example(damage=[], cell="\x00", where=2)
def test_any_suppression_file_is_read_or_a_baseline_error(tmp_path_factory, damage, cell, where):
    rows = SUPPRESSIONS.decode().split("\n")
    fields = rows[1].split(",")
    fields[where % 3] = cell
    rows[1] = ",".join(fields)
    path = tmp_path_factory.mktemp("suppress") / "s.csv"
    path.write_bytes(_damage("\n".join(rows).encode("utf-8", "surrogatepass"), damage))
    try:
        frame = read_suppressions(path)
    except BaselineError as exc:
        _one_line(exc)
        return
    assert list(frame.columns) == ["finding_id", "reason", "expires", "row"]
    assert (frame["finding_id"].str.len() > 0).all()


FINDINGS = pd.DataFrame(
    {
        "finding_id": ["00000000000000a1", "00000000000000b2", "00000000000000c3"],
        "claim_id": ["CLM1", "CLM2", "CLM3"],
        "line_number": [1, 2, 3],
        "rule_code": ["U001", "M002", "C001"],
        "severity": ["error", "warning", "info"],
        "impact_usd": [12.5, -3.0, float("nan")],
        "message": ["a", "b", "c"],
    }
)


@given(
    retype=st.lists(RETYPE, max_size=2),
    drop=st.sets(st.sampled_from(BASELINE_REQUIRED), max_size=1),
    damage=st.lists(DAMAGE, max_size=2),
)
def test_any_baseline_findings_are_usable_or_a_baseline_error(
    tmp_path_factory, retype, drop, damage
):
    table = pa.Table.from_pandas(FINDINGS.drop(columns=list(drop)), preserve_index=False)
    for position, kind in retype:
        i = position % table.num_columns
        table = table.set_column(
            i, table.field(i).name, _retyped(table.column(i).combine_chunks(), kind)
        )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    directory = tmp_path_factory.mktemp("baseline")
    (directory / "findings.parquet").write_bytes(_damage(sink.getvalue(), damage))
    try:
        frame = read_baseline_findings(directory)
    except BaselineError as exc:
        _one_line(exc)
        return
    assert frame["line_number"].dtype == "int64"
    assert not drop
