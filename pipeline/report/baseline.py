"""Compare a run with a baseline (a previous run's output directory) and apply suppressions.

Each finding gets a `status`: `new` (not in the baseline; every finding is new when there is no
baseline), `persisting` (its finding_id is in the baseline) or `suppressed` (an unexpired entry
of the suppression file accepts it: it stays in the findings, counted apart, and does not fail
the run). Baseline findings absent now are `resolved` and go to resolved.csv.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipeline.audit import AuditResult
from pipeline.columns import TEXT
from pipeline.engine import FINDING_COLUMNS
from pipeline.errors import InputError

STATUSES = ("new", "persisting", "suppressed")
SUPPRESSION_COLUMNS = ("finding_id", "reason", "expires")
HISTORY_LIMIT = 24  # runs kept for the trend chart, oldest dropped first


def read_baseline_findings(baseline_dir: Path) -> pd.DataFrame:
    """The findings of a previous run (its findings.parquet); InputError when unusable."""
    baseline_dir = Path(baseline_dir)
    if not baseline_dir.is_dir():
        raise InputError(f"baseline {baseline_dir}: not a directory (a previous run's --out)")
    path = baseline_dir / "findings.parquet"
    if not path.is_file():
        raise InputError(
            f"baseline {baseline_dir}: no findings.parquet (run the baseline with parquet output)"
        )
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises several types for a damaged file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"baseline {path}: cannot be read as Parquet ({reason})") from None
    missing = [c for c in ("finding_id", "claim_id", "line_number", "rule_code") if c not in frame]
    if missing:
        raise InputError(f"baseline {path}: not a findings file (missing {', '.join(missing)})")
    return frame


def read_baseline_summary(baseline_dir: Path) -> dict:
    """The baseline's summary.json when it has one (for the trend), else an empty dict."""
    path = Path(baseline_dir) / "summary.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"baseline {path}: not a readable summary.json ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"baseline {path}: not a summary.json (expected a JSON object)")
    return data


def read_suppressions(path: Path) -> pd.DataFrame:
    """The suppression file: finding_id, reason, expires (YYYY-MM-DD), one row per finding.

    Headers match case-insensitively; extra columns are ignored. When a finding_id is listed
    twice, the entry that expires last wins.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"suppression file {path}: not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0]
        raise InputError(f"suppression file {path}: cannot be read as CSV ({reason})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"suppression file {path}: empty (needs a header row)") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in SUPPRESSION_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"suppression file {path}: missing column {', '.join(missing)} "
            f"(needs {', '.join(SUPPRESSION_COLUMNS)})"
        )
    frame = frame[list(SUPPRESSION_COLUMNS)].apply(lambda c: c.str.strip())
    frame["row"] = range(1, len(frame) + 1)
    for column in SUPPRESSION_COLUMNS:
        empty = frame[frame[column] == ""]
        if len(empty):
            row = int(empty["row"].iloc[0])
            raise InputError(f"suppression file {path} row {row}: {column} is empty")
    expires = pd.to_datetime(frame["expires"], format="%Y-%m-%d", errors="coerce")
    if expires.isna().any():
        bad = frame[expires.isna()].iloc[0]
        raise InputError(
            f"suppression file {path} row {int(bad['row'])}: expires {bad['expires']!r} "
            "is not a date (YYYY-MM-DD)"
        )
    frame["expires"] = expires.dt.date
    frame = frame.sort_values(["finding_id", "expires", "row"], kind="stable")
    return frame.drop_duplicates("finding_id", keep="last").sort_values("row", kind="stable")


def run_snapshot(findings: pd.DataFrame, started_at: str | None) -> dict:
    """One run's point on the trend: counts by severity and rule, $ totals."""
    impact = findings["impact_usd"].astype("float64")
    severity = findings["severity"].astype(str).value_counts()
    rules = findings["rule_code"].astype(str).value_counts()
    return {
        "started_at": started_at,
        "findings": len(findings),
        "by_severity": {s: int(severity.get(s, 0)) for s in ("error", "warning", "info")},
        "by_rule": {str(code): int(n) for code, n in sorted(rules.items())},
        "missed_revenue_usd": round(float(impact[impact > 0].sum()), 2),
        "overpayment_risk_usd": round(float(-impact[impact < 0].sum()), 2),
    }


def baseline_history(baseline_summary: dict, baseline_findings: pd.DataFrame) -> list[dict]:
    """The runs before this one, oldest first: the baseline's own history plus the baseline."""
    earlier = (baseline_summary.get("baseline") or {}).get("history") or []
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


def compare_with_baseline(
    result: AuditResult,
    baseline_dir: Path | None,
    suppress_file: Path | None,
    today: date | None = None,
) -> None:
    """Add `status` to result.findings, set `result.resolved` and summary["baseline"].

    `today` decides which suppressions have expired (an entry is valid through its date).
    """
    today = today or date.today()
    findings = result.findings
    baseline_ids = pd.Series([], dtype=TEXT)
    resolved = None
    history: list[dict] = []
    if baseline_dir is not None:
        baseline = read_baseline_findings(baseline_dir)
        history = baseline_history(read_baseline_summary(baseline_dir), baseline)
        baseline_ids = baseline["finding_id"]
        resolved = resolved_findings(baseline, findings["finding_id"])
    suppressions = read_suppressions(suppress_file) if suppress_file is not None else None

    persisting = findings["finding_id"].isin(baseline_ids)
    status = pd.Series("new", index=findings.index, dtype=TEXT).mask(persisting, "persisting")
    counts = {"suppressed": 0, "expired_suppressions": 0, "unmatched_suppressions": 0}
    if suppressions is not None:
        suppressed, counts = suppression_status(findings, suppressions, today)
        status = status.mask(suppressed, "suppressed")
    result.findings = findings.assign(status=status.astype(TEXT))
    result.resolved = resolved
    result.summary["baseline"] = {
        "path": str(baseline_dir) if baseline_dir is not None else None,
        "suppress_file": str(suppress_file) if suppress_file is not None else None,
        "as_of": today.isoformat(),
        "new": int((status == "new").sum()),
        "persisting": int((status == "persisting").sum()),
        "resolved": len(resolved) if resolved is not None else 0,
        **counts,
        "history": history,
    }
