"""Fuzz: corrupted CSV and Parquet extracts through the whole pipeline (issue 12 item 6).

Each example builds a damaged file from the sample (tests/fuzz/corrupt.py), reads and validates
it, audits it and writes every output format. The tool may refuse the file with its own
PipelineError (exit 2, one line); anything else is a crash (exit 3) and fails the property.
When it runs, every row read is accounted for exactly once: rows_read == audited + rejected.

`make test` runs a few dozen derandomised examples (the `ci` profile); `make fuzz` runs
FUZZ_EXAMPLES (default 10,000) with random seeds, split over FUZZ_SHARDS parallel copies.
Every failure found becomes an `@example` below, with the traceback's summary in a comment.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given

from claims_audit.audit import run_audit
from claims_audit.config import load_config
from claims_audit.errors import PipelineError
from claims_audit.ingest import read_input
from claims_audit.reference import load_bundle
from claims_audit.report.outputs import write_outputs
from claims_audit.rules import REGISTRY
from claims_audit.validate import validate_inputs
from tests.conftest import FUZZ_SHARDS, SAMPLE, examples
from tests.fuzz.corrupt import build, cases, write_case
from tests.reliability.conftest import assert_every_row_accounted

FORMATS = ("csv", "parquet", "html", "xlsx")
OPTIONS = {"dictionary": True, "row_group_size": 7, "page_version": "1.0", "compression": "snappy"}

pytestmark = pytest.mark.fuzz
# FUZZ_IGNORE_KNOWN=1: the classes of the recorded failures below (control characters in a
# message) do not fail the property, so a fuzz run can search past them for new ones
IGNORE_KNOWN = os.environ.get("FUZZ_IGNORE_KNOWN") == "1"


class Setting(tuple):
    """(bundle, config), shown briefly in hypothesis' report of a failing example."""

    def __repr__(self) -> str:
        return "Setting(starter bundle, sample_data/audit.toml)"


@pytest.fixture(scope="module")
def setting():
    return Setting((load_bundle(), load_config(SAMPLE / "audit.toml", rule_codes=set(REGISTRY))))


def _refused(exc: PipelineError) -> None:
    """The tool's own refusal: what the CLI prints as its one line (exit 2)."""
    message = str(exc)
    assert message and "\n" not in message, f"not a one-line message: {message!r}"
    # printed on a terminal: raw control characters from a damaged file must not reach it
    control = sorted({ch for ch in message if ord(ch) < 32 or ord(ch) == 127})
    if not IGNORE_KNOWN:
        assert not control, f"control characters {control!r} in the message: {message!r}"


def check_case(case: dict, bundle, config) -> str:
    """Run one case; returns "refused" or "audited" (asserting the accounting)."""
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        path = write_case(case, work)
        try:
            raw = read_input(path, config.columns)
            checked = validate_inputs([raw])
        except PipelineError as exc:
            _refused(exc)
            return "refused"
        assert_every_row_accounted(raw, checked, path)
        try:
            result = run_audit([path], bundle, config)
        except PipelineError as exc:
            _refused(exc)
            return "refused"
        totals = result.summary["totals"]
        assert totals["rows_read"] == totals["rows_audited"] + totals["rows_rejected"]
        assert totals["rows_read"] == raw.rows_read
        out = work / "out"
        try:
            write_outputs(result, out, FORMATS)
        except PipelineError as exc:
            _refused(exc)
            assert not out.exists(), "a refused write left a partial output"
            return "refused"
        summary = json.loads(
            (out / "summary.json").read_text(encoding="utf-8"),
            parse_constant=lambda name: pytest.fail(f"summary.json holds {name}"),
        )
        assert summary["totals"] == totals
        for name in ("findings.csv", "findings.parquet", "report.html", "findings.xlsx"):
            assert (out / name).is_file(), name
        return "audited"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_corrupt_cases_build_deterministically():
    case = {
        "kind": "parquet",
        "rows": (3, 5),
        "edits": (("cell", 1, 9, "1678-01-01"), ("swap", 0, 2)),
        "damage": (("flip", 999, 3),),
        "retype": ((9, "timestamp_bad_tz"),),
        "options": OPTIONS,
    }
    assert build(case) == build(case)
    assert build({**case, "damage": ()})[:4] == b"PAR1"


def test_the_untouched_sample_slice_audits(setting):
    case = {"kind": "csv", "rows": (0, 40), "edits": (), "damage": ()}
    assert check_case(case, *setting) == "audited"
    parquet = {"kind": "parquet", "rows": (0, 40), "edits": (), "damage": (), "retype": ()}
    assert check_case({**parquet, "options": OPTIONS}, *setting) == "audited"


def _csv(*edits, rows=(0, 12), damage=()) -> dict:
    return {"kind": "csv", "rows": rows, "edits": edits, "damage": damage}


def _parquet(*retype, edits=(), rows=(0, 12), damage=(), **options) -> dict:
    return {
        "kind": "parquet",
        "rows": rows,
        "edits": edits,
        "damage": damage,
        "retype": retype,
        "options": {**OPTIONS, **options},
    }


# sample columns by position: 0 claim_id, 2 patient_id, 3 payer_type, 8 place_of_service,
# 9 service_date, 10 submission_date, 11 hcpcs_code, 12 modifiers, 13 billed_units
@pytest.mark.parametrize("shard", range(FUZZ_SHARDS))  # `make fuzz`: one copy per core
@examples(ci=12, shards=FUZZ_SHARDS)
@given(case=cases())
# the classes of issue 12 item 3 and issue 17, kept as regression examples
@example(case=_parquet((9, "timestamp_bad_tz")))  # unknown time zone
@example(case=_parquet((9, "timestamp_tz"), (10, "timestamp_ns")))  # aware / extreme stamps
@example(case=_parquet((13, "int64"), (14, "float64")))  # beyond 2^53, inf, subnormal
@example(case=_parquet((12, "list"), (15, "struct")))  # nested types
@example(case=_parquet(damage=(("flip", 1500, 2), ("flip", 2100, 5)), dictionary=True))
@example(case=_csv(("cell", 0, 9, "1678-01-01"), ("cell", 1, 9, "9999-12-31")))  # far dates
@example(case=_csv(("cell", 0, 0, "\x01\x02\x1b[31m"), ("cell", 1, 11, "a\x00b")))  # control
@example(case=_csv(("cell", 0, 11, "٩٦٤١٣"), ("cell", 1, 8, "١١"), ("cell", 2, 13, "1e308")))
@example(case=_csv(("swap", 2, 3)))  # shifted fields: the patient id in payer_type
# FOUND by the fuzzer (ingest's message, helper E, or the CLI printer, helper D): a damaged
# thrift header; InputError "claims.parquet: cannot be read as Parquet (Couldn't deserialize
# thrift: don't know what type: \x0e)": Arrow's text carries a raw control character (SO) from
# the file to the terminal. Found twice: a flipped bit, then (make fuzz) an inserted byte.
@example(case=_parquet(damage=(("flip", 61, 1),)))
@example(
    case=_parquet(
        (0, "int64"),
        rows=(0, 1),
        damage=(("insert", 1074, b"\x01"),),
        dictionary=False,
        row_group_size=1,
    )
)
@example(case=_csv(("cell", 3, 12, "line\rbreak"), ("header", 5, "CLAIM_ID")))  # lone CR, dup
def test_corrupted_extract_is_audited_or_refused_never_a_crash(setting, shard, case):
    check_case(case, *setting)
