"""Compare a run with a baseline (a previous run's output directory) and apply suppressions.

Each finding gets a `status`: `new` (not in the baseline; every finding is new when there is no
baseline), `persisting` (its finding_id is in the baseline) or `suppressed` (an unexpired entry
of the suppression file accepts it: it stays in the findings, counted apart, and does not fail
the run). Baseline findings absent now are `resolved` and go to resolved.csv.

The baseline and the suppression file are inputs like any other and are checked as data
before use (pandera schemas): the baseline's `findings.parquet` must hold the columns the
comparison needs (`BASELINE_REQUIRED`; the others are optional, so runs written by earlier
versions still work) with the right types, its `summary.json` must be strict JSON of the shape
this tool writes, and the suppression CSV must have each of its columns once and a valid value
in every cell. Anything else is a BaselineError (exit 2) naming the file and what is wrong: the
column, or the row and column.
"""

from __future__ import annotations

import io
import json
import os
import reprlib
import stat
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pdr
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandera.errors import SchemaError, SchemaErrors

from claims_audit.audit import AuditResult
from claims_audit.columns import TEXT
from claims_audit.config import file_kind
from claims_audit.errors import BaselineError, one_line
from claims_audit.rules.engine import FINDING_COLUMNS, impact_split

STATUSES = ("new", "persisting", "suppressed")
SUPPRESSION_COLUMNS = ("finding_id", "reason", "expires")
HISTORY_LIMIT = 24  # runs kept for the trend chart, oldest dropped first
SEVERITY_NAMES = ("error", "warning", "info")
MAX_SUMMARY_BYTES = 64 << 20  # a summary.json is kilobytes; refuse absurd files unread
_SHOWN = 60  # characters of a bad value quoted in a message

# -- checking values (vectorised per column; element-wise only for the few history entries) ----


_REPR = reprlib.Repr()  # Python 3.11: limits are attributes
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist = 2, 4, 4
_REPR.maxstring = _REPR.maxother = _SHOWN


def _printable(text: str) -> str:
    """A library's error text for the one-line message: control characters escaped (a damaged
    file's bytes can reach it, and it is printed on a terminal), cut when long."""
    text = one_line(text)
    return text if len(text) <= 3 * _SHOWN else text[: 3 * _SHOWN - 1] + "…"


def _cut(value) -> str:
    """A bad value for a message: short, shallow (it may be nested arbitrarily deep)."""
    if isinstance(value, np.generic):
        value = value.item()
    return _REPR.repr(value)


def is_text(series: pd.Series) -> bool:
    """True when every value is a string (or missing): object, Arrow or categorical text."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = pd.Series(series.cat.categories)
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")


def _is_integer(series: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _not_infinite(series: pd.Series) -> pd.Series | bool:
    return ~np.isinf(series.astype("float64")) if _is_number(series) else True


def _positive(series: pd.Series) -> pd.Series | bool:
    """Line numbers are 1 or more (and fit an int64, whatever the file's integer type)."""
    if not _is_integer(series):
        return True
    return (series >= 1) & (series <= np.iinfo("int64").max)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_counts(value) -> bool:
    """A JSON object of counts, e.g. `by_severity`: string keys, whole numbers >= 0."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_count(v) for k, v in value.items()
    )


def _is_amount(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _is_timestamp(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


TEXT_CHECK = pdr.Check(is_text, error="expected text")
INTEGER_CHECK = pdr.Check(_is_integer, error="expected whole numbers")
NUMBER_CHECK = pdr.Check(_is_number, error="expected numbers")
FINITE_CHECK = pdr.Check(_not_infinite, error="not a finite number")

NUMBER_COLUMNS = ("units_delta", "impact_usd")
# what the comparison reads: ids and sort keys (status, resolved.csv), the trend point's counts
BASELINE_REQUIRED = ("finding_id", "claim_id", "line_number", "rule_code", "severity", "impact_usd")
_KEYS = ("finding_id", "claim_id", "line_number", "rule_code")


def _finding_column(name: str) -> pdr.Column:
    if name == "line_number":
        checks = [INTEGER_CHECK, pdr.Check(_positive, error="a line number is 1 or more")]
    elif name in NUMBER_COLUMNS:
        checks = [NUMBER_CHECK, FINITE_CHECK]
    else:
        checks = [TEXT_CHECK]
    return pdr.Column(
        None, checks, nullable=name not in _KEYS, required=name in BASELINE_REQUIRED, name=name
    )


FINDINGS_SCHEMA = pdr.DataFrameSchema(
    {name: _finding_column(name) for name in FINDING_COLUMNS}, name="baseline findings"
)

HISTORY_KEYS = (
    "started_at",
    "findings",
    "by_severity",
    "by_rule",
    "missed_revenue_usd",
    "overpayment_risk_usd",
)
_HISTORY_CHECKS = {
    "started_at": (_is_timestamp, "an ISO date-time"),
    "findings": (_is_count, "a whole number >= 0"),
    "by_severity": (_is_counts, "an object of counts (whole numbers >= 0)"),
    "by_rule": (_is_counts, "an object of counts (whole numbers >= 0)"),
    "missed_revenue_usd": (_is_amount, "a finite number"),
    "overpayment_risk_usd": (_is_amount, "a finite number"),
}
# one row per run of the baseline's history (the entries kept for the trend)
HISTORY_SCHEMA = pdr.DataFrameSchema(
    {
        key: pdr.Column(
            None,
            pdr.Check(test, element_wise=True, error=f"expected {what}"),
            nullable=key != "by_severity",
        )
        for key, (test, what) in _HISTORY_CHECKS.items()
    },
    name="baseline history",
)


def _suppression_dates(values: pd.Series) -> pd.Series:
    """True where the text is a real calendar date YYYY-MM-DD, years 1900..9999 (ASCII digits;
    `2026-02-30` is refused, not rolled over to March)."""
    text = pa.array(values.astype("string"), type=pa.string(), from_pandas=True)
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text)
    year = pc.year(parsed)
    sane = pc.and_(pc.greater_equal(year, 1900), pc.less_equal(year, 9999))
    ok = pc.and_(same, sane).fill_null(False)
    return pd.Series(ok.to_numpy(zero_copy_only=False), index=values.index)


_NOT_EMPTY = pdr.Check.str_length(min_value=1, error="is empty")
SUPPRESSION_SCHEMA = pdr.DataFrameSchema(
    {
        "finding_id": pdr.Column(str, _NOT_EMPTY),
        "reason": pdr.Column(str, _NOT_EMPTY),
        "expires": pdr.Column(
            str,
            [
                _NOT_EMPTY,
                pdr.Check.str_matches(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", error="not YYYY-MM-DD"),
                pdr.Check(_suppression_dates, error="not a date"),
            ],
        ),
    },
    name="suppression file",
)


def _first_failure(exc: SchemaErrors, columns: list[str]) -> pd.Series:
    """The failure to report: a whole-column one first, else the first row in file order."""
    cases = exc.failure_cases.copy()
    order = {name: i for i, name in enumerate(columns)}
    cases["_row"] = pd.to_numeric(cases["index"], errors="coerce").fillna(-1)
    cases["_col"] = cases["column"].map(order).fillna(len(order))
    return cases.sort_values(["_row", "_col"], kind="stable").iloc[0]


def _regular_file(path: Path, what: str) -> os.stat_result | None:
    """stat `path` (None when absent); a directory, FIFO or device is refused before any open,
    so it can neither block nor be read as something else."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BaselineError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise BaselineError(f"{what} {path}: not a regular file ({file_kind(info.st_mode)})")
    return info


# -- the baseline's findings -----------------------------------------------------------------


def _findings_failure(path: Path, exc: SchemaErrors, frame: pd.DataFrame) -> BaselineError:
    cases = exc.failure_cases
    missing = cases.loc[cases["check"] == "column_in_dataframe", "failure_case"].astype(str)
    if len(missing):
        return BaselineError(
            f"baseline {path}: not a findings file (missing column {', '.join(missing)})"
        )
    first = _first_failure(exc, list(FINDING_COLUMNS))
    column, check = first["column"], str(first["check"])
    if pd.isna(first["index"]):  # a whole-column check: the column's type
        return BaselineError(
            f"baseline {path}: column {column}: {check}, got {frame[column].dtype}"
        )
    row = int(first["index"]) + 1
    value = "empty" if check == "not_nullable" else f"{_cut(first['failure_case'])}: {check}"
    return BaselineError(f"baseline {path}: column {column}, row {row}: {value}")


def _read_findings_table(path: Path) -> pd.DataFrame:
    try:
        names = pq.read_schema(path).names
        twice = sorted({n for n in names if n in FINDING_COLUMNS and names.count(n) > 1})
        if twice:
            raise BaselineError(f"baseline {path}: column {twice[0]} appears more than once")
        wanted = [n for n in names if n in FINDING_COLUMNS]  # other columns are never read
        return pq.read_table(path, columns=wanted).to_pandas()
    except BaselineError:
        raise
    except Exception as exc:  # pyarrow raises several types for a damaged file
        reason = _printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise BaselineError(f"baseline {path}: cannot be read as Parquet ({reason})") from None


def read_baseline_findings(baseline_dir: Path) -> pd.DataFrame:
    """The findings of a previous run (its findings.parquet), checked against FINDINGS_SCHEMA
    and typed like this run's findings; BaselineError when unusable."""
    baseline_dir = Path(baseline_dir)
    if not baseline_dir.is_dir():
        raise BaselineError(f"baseline {baseline_dir}: not a directory (a previous run's --out)")
    path = baseline_dir / "findings.parquet"
    if _regular_file(path, "baseline") is None:
        raise BaselineError(
            f"baseline {baseline_dir}: no findings.parquet (run the baseline with parquet output)"
        )
    frame = _read_findings_table(path)
    try:
        FINDINGS_SCHEMA.validate(frame, lazy=True)
    except SchemaErrors as exc:
        raise _findings_failure(path, exc, frame) from None
    types = {c: TEXT for c in frame.columns if c not in ("line_number", *NUMBER_COLUMNS)}
    types.update({c: "float64" for c in NUMBER_COLUMNS if c in frame.columns})
    return frame.astype({**types, "line_number": "int64"})


# -- the baseline's summary.json -------------------------------------------------------------


def _json_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _history_entries(path: Path, history) -> list[dict]:
    """The baseline's own history entries kept for the trend, checked (HISTORY_SCHEMA) and
    reduced to the keys this tool writes."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise BaselineError(f"baseline {path}: baseline.history: expected an array")
    first = max(0, len(history) - (HISTORY_LIMIT - 1))  # older entries are dropped unread
    kept = history[first:]
    for number, entry in enumerate(kept, start=first + 1):
        if not isinstance(entry, dict):
            raise BaselineError(
                f"baseline {path}: baseline.history entry {number}: expected an object, "
                f"got {_cut(entry)}"
            )
    rows = pd.DataFrame(
        [[entry.get(k) for k in HISTORY_KEYS] for entry in kept],
        columns=list(HISTORY_KEYS),
        dtype=object,
    )
    try:
        HISTORY_SCHEMA.validate(rows, lazy=True)
    except SchemaErrors as exc:
        bad = _first_failure(exc, list(HISTORY_KEYS))
        number = first + int(bad["index"]) + 1
        what = (
            "missing"
            if bad["check"] == "not_nullable"
            else f"{_cut(bad['failure_case'])}: {bad['check']}"
        )
        raise BaselineError(
            f"baseline {path}: baseline.history entry {number}: {bad['column']} {what}"
        ) from None
    return [{k: e[k] for k in HISTORY_KEYS if e.get(k) is not None} for e in kept]


def read_baseline_summary(baseline_dir: Path) -> dict:
    """What the trend needs of the baseline's summary.json, checked: `started_at` (an ISO
    date-time or None) and `history` (its own earlier runs). Empty when it has no summary."""
    path = Path(baseline_dir) / "summary.json"
    info = _regular_file(path, "baseline")
    if info is None:
        return {}
    if info.st_size > MAX_SUMMARY_BYTES:
        raise BaselineError(f"baseline {path}: larger than {MAX_SUMMARY_BYTES >> 20} MiB")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_json_constant)
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot be read ({exc.strerror})") from None
    except RecursionError:
        raise BaselineError(f"baseline {path}: not a summary.json (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN, too many digits
        reason = _printable((str(exc).splitlines() or [type(exc).__name__])[0])
        raise BaselineError(f"baseline {path}: not valid JSON ({reason})") from None
    if not isinstance(data, dict):
        raise BaselineError(f"baseline {path}: not a summary.json (expected a JSON object)")
    started = data.get("started_at")
    if started is not None and not _is_timestamp(started):
        raise BaselineError(
            f"baseline {path}: started_at: expected an ISO date-time string, got {_cut(started)}"
        )
    previous = data.get("baseline")
    if previous is not None and not isinstance(previous, dict):
        raise BaselineError(f"baseline {path}: baseline: expected an object, got {_cut(previous)}")
    history = _history_entries(path, (previous or {}).get("history"))
    return {"started_at": started, "history": history}


# -- the suppression file --------------------------------------------------------------------


def _suppression_header(path: Path, header: list[str]) -> list[int]:
    """Positions of the three columns in the header (matched case-insensitively, trimmed)."""
    names = [str(c).strip().lower() for c in header]
    positions = []
    for column in SUPPRESSION_COLUMNS:
        where = [i for i, name in enumerate(names) if name == column]
        if len(where) > 1:
            places = " and ".join(str(i + 1) for i in where)
            raise BaselineError(
                f"suppression file {path}: column {column} appears more than once "
                f"(columns {places})"
            )
        positions.append(where[0] if where else -1)
    missing = [c for c, at in zip(SUPPRESSION_COLUMNS, positions, strict=True) if at < 0]
    if missing:
        raise BaselineError(
            f"suppression file {path}: missing column {', '.join(missing)} "
            f"(needs {', '.join(SUPPRESSION_COLUMNS)})"
        )
    return positions


def _read_suppression_cells(path: Path) -> pd.DataFrame:
    with path.open("rb") as fh:  # the CSV parser would cut a value at a NUL byte, silently
        data = fh.read()
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise BaselineError(f"suppression file {path}: line {line} holds a NUL byte")
    try:
        cells = pd.read_csv(
            io.BytesIO(data), header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise BaselineError(f"suppression file {path}: empty (needs a header row)") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        reason = _printable((str(exc).splitlines() or [type(exc).__name__])[0])
        raise BaselineError(f"suppression file {path}: cannot be read as CSV ({reason})") from None
    positions = _suppression_header(path, cells.iloc[0].tolist())
    frame = cells.iloc[1:, positions].reset_index(drop=True)
    frame.columns = list(SUPPRESSION_COLUMNS)
    return frame.apply(lambda c: c.str.strip())


def read_suppressions(path: Path) -> pd.DataFrame:
    """The suppression file: finding_id, reason, expires (YYYY-MM-DD), one row per finding.

    Headers match case-insensitively; extra columns are ignored, but each of the three must
    appear once. Every cell is checked (SUPPRESSION_SCHEMA); the first bad one is a
    BaselineError naming the row (1 = the first row after the header) and the column. When a
    finding_id is listed twice, the entry that expires last wins.
    """
    path = Path(path)
    if _regular_file(path, "suppression file") is None:
        raise BaselineError(f"suppression file {path}: not found")
    frame = _read_suppression_cells(path)
    try:
        SUPPRESSION_SCHEMA.validate(frame, lazy=True)
    except SchemaErrors as exc:
        bad = _first_failure(exc, list(SUPPRESSION_COLUMNS))
        row, column = int(bad["index"]) + 1, bad["column"]
        cases = exc.failure_cases
        cell = cases[(cases["index"] == bad["index"]) & (cases["column"] == column)]
        if cell["check"].astype(str).isin(["is empty", "not_nullable"]).any():
            raise BaselineError(f"suppression file {path} row {row}: {column} is empty") from None
        raise BaselineError(
            f"suppression file {path} row {row}: {column} {_cut(bad['failure_case'])} "
            "is not a date (YYYY-MM-DD)"
        ) from None
    except SchemaError as exc:  # pragma: no cover - lazy validation reports SchemaErrors
        raise BaselineError(f"suppression file {path}: {exc}".splitlines()[0]) from None
    frame["row"] = range(1, len(frame) + 1)
    expires = pc.strptime(pa.array(frame["expires"], type=pa.string()), format="%Y-%m-%d", unit="s")
    frame["expires"] = pc.cast(expires, pa.date32()).to_pandas()
    frame = frame.sort_values(["finding_id", "expires", "row"], kind="stable")
    return frame.drop_duplicates("finding_id", keep="last").sort_values("row", kind="stable")


# -- the comparison --------------------------------------------------------------------------


def run_snapshot(findings: pd.DataFrame, started_at: str | None) -> dict:
    """One run's point on the trend: counts by severity and rule, $ totals."""
    impact = findings["impact_usd"].astype("float64")
    severity = findings["severity"].astype(str).value_counts()
    rules = findings["rule_code"].astype(str).value_counts()
    return {
        "started_at": started_at,
        "findings": len(findings),
        "by_severity": {s: int(severity.get(s, 0)) for s in SEVERITY_NAMES},
        "by_rule": {str(code): int(n) for code, n in sorted(rules.items())},
        **impact_split(impact),
    }


def baseline_history(baseline_summary: dict, baseline_findings: pd.DataFrame) -> list[dict]:
    """The runs before this one, oldest first: the baseline's own history plus the baseline.
    `baseline_summary` is what read_baseline_summary returns."""
    earlier = baseline_summary.get("history") or []
    point = run_snapshot(baseline_findings, baseline_summary.get("started_at"))
    return [*earlier, point][-HISTORY_LIMIT:]


def resolved_findings(baseline: pd.DataFrame, current_ids: pd.Series) -> pd.DataFrame:
    """Baseline findings whose finding_id is absent now, in findings order, status `resolved`."""
    gone = baseline[~baseline["finding_id"].isin(current_ids)]
    columns = [c for c in FINDING_COLUMNS if c in gone.columns]
    gone = gone[columns].sort_values(["claim_id", "line_number", "rule_code"], kind="stable")
    gone = gone.reset_index(drop=True)
    gone["status"] = pd.Series("resolved", index=gone.index, dtype=TEXT)
    return gone


def suppression_status(
    findings: pd.DataFrame, suppressions: pd.DataFrame, today: date
) -> tuple[pd.Series, dict]:
    """Which findings an unexpired suppression accepts, and counts of the file's entries."""
    expired = suppressions["expires"] < today
    active = suppressions[~expired]
    suppressed = findings["finding_id"].isin(active["finding_id"])
    counts = {
        "suppressed": int(suppressed.sum()),
        "expired_suppressions": int(expired.sum()),
        "unmatched_suppressions": int((~active["finding_id"].isin(findings["finding_id"])).sum()),
    }
    return suppressed, counts


@dataclass
class BaselineInputs:
    """The `--baseline` and `--suppress` inputs, read and checked (load them before the audit
    runs, so a bad one stops the run at once)."""

    baseline_dir: Path | None = None
    findings: pd.DataFrame | None = None  # the baseline's findings
    history: list[dict] = field(default_factory=list)  # the runs before this one
    suppress_file: Path | None = None
    suppressions: pd.DataFrame | None = None


def load_baseline_inputs(baseline_dir: Path | None, suppress_file: Path | None) -> BaselineInputs:
    """Read and check both inputs; BaselineError (exit 2) naming the file when one is bad."""
    inputs = BaselineInputs(baseline_dir=baseline_dir, suppress_file=suppress_file)
    if baseline_dir is not None:
        inputs.findings = read_baseline_findings(baseline_dir)
        inputs.history = baseline_history(read_baseline_summary(baseline_dir), inputs.findings)
    if suppress_file is not None:
        inputs.suppressions = read_suppressions(suppress_file)
    return inputs


def compare_with_baseline(
    result: AuditResult,
    baseline_dir: Path | None,
    suppress_file: Path | None,
    today: date | None = None,
    inputs: BaselineInputs | None = None,
) -> None:
    """Add `status` to result.findings, set `result.resolved` and summary["baseline"].

    `today` decides which suppressions have expired (an entry is valid through its date).
    `inputs` are the two files as `load_baseline_inputs` read them (read here when None).
    Both inputs are read and checked before anything of the result is changed.
    """
    today = today or date.today()
    inputs = inputs or load_baseline_inputs(baseline_dir, suppress_file)
    findings = result.findings
    baseline_ids = pd.Series([], dtype=TEXT)
    resolved = None
    if inputs.findings is not None:
        baseline_ids = inputs.findings["finding_id"]
        resolved = resolved_findings(inputs.findings, findings["finding_id"])

    persisting = findings["finding_id"].isin(baseline_ids)
    status = pd.Series("new", index=findings.index, dtype=TEXT).mask(persisting, "persisting")
    counts = {"suppressed": 0, "expired_suppressions": 0, "unmatched_suppressions": 0}
    if inputs.suppressions is not None:
        suppressed, counts = suppression_status(findings, inputs.suppressions, today)
        status = status.mask(suppressed, "suppressed")
    result.findings = findings.assign(status=status.astype(TEXT))
    result.resolved = resolved
    result.summary["baseline"] = {
        "path": str(inputs.baseline_dir) if inputs.baseline_dir is not None else None,
        "suppress_file": str(inputs.suppress_file) if inputs.suppress_file is not None else None,
        "as_of": today.isoformat(),
        "new": int((status == "new").sum()),
        "persisting": int((status == "persisting").sum()),
        "resolved": len(resolved) if resolved is not None else 0,
        **counts,
        "history": inputs.history,
    }
