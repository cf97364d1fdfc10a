"""summary.json (SPEC section 6): line counts, reference-period notices, rates and totals of a
run, built from the merged findings, the coverage and the counts of every partition."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit import __version__
from claims_audit.config import Config
from claims_audit.ingest import RawInput
from claims_audit.reference import Bundle
from claims_audit.rules import diagnosis, effective_rules
from claims_audit.rules.engine import impact_split, not_evaluated_totals
from claims_audit.validate import Validated

# the summary says so when more than this share of the in-scope lines fall outside a source's
# effective period (SPEC section 6)
PERIOD_NOTICE_SHARE = 0.01
# the bundle tables whose rates price `impact_usd` (SPEC section 5, "Dollar impact")
RATE_TABLES = {"asp": "payment_limits", "opps": "opps"}


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _source_name(source: dict) -> str:
    return str(source.get("file") or source.get("table") or "?")


def _dated_sources(manifest: dict) -> dict[str, tuple[str, str]]:
    """The bundle's sources that have an effective period: name -> (start, end)."""
    out = {}
    for source in manifest.get("sources", []):
        period = source.get("effective_period") or {}
        if period.get("start") and period.get("end"):
            out[_source_name(source)] = (period["start"], period["end"])
    return out


def _outside_periods(lines: pd.DataFrame, manifest: dict) -> dict[str, int]:
    """In-scope lines whose service date falls outside each source's effective period."""
    dates = lines["service_date"][lines["in_scope"].to_numpy(dtype=bool)]
    return {
        name: int(((dates < pd.Timestamp(start)) | (dates > pd.Timestamp(end))).sum())
        for name, (start, end) in _dated_sources(manifest).items()
    }


@dataclass
class LineCounts:
    """What the summary counts of the audited lines; the counts of batches add up."""

    audited: dict[str, int] = field(default_factory=dict)  # lines per source file
    in_scope: int = 0  # HCPCS lines of claims that are not void
    out_of_scope: int = 0  # CPT lines (only U003 judges them), void claims aside
    void: int = 0  # lines of void claims (claim_frequency 8): counted, not audited
    outside: dict[str, int] = field(default_factory=dict)  # see `_outside_periods`

    @classmethod
    def of(cls, lines: pd.DataFrame, manifest: dict) -> LineCounts:
        in_scope = lines["in_scope"].to_numpy(dtype=bool)
        void = (
            lines["is_void"].to_numpy(dtype=bool)
            if "is_void" in lines
            else np.zeros(len(lines), dtype=bool)
        )
        audited = lines.groupby("source_file", observed=True).size()
        return cls(
            {str(k): int(v) for k, v in audited.items()},
            int(in_scope.sum()),
            int((~in_scope & ~void).sum()),
            int(void.sum()),
            _outside_periods(lines, manifest),
        )

    def __add__(self, other: LineCounts) -> LineCounts:
        def added(a: dict, b: dict) -> dict:
            return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}

        return LineCounts(
            added(self.audited, other.audited),
            self.in_scope + other.in_scope,
            self.out_of_scope + other.out_of_scope,
            self.void + other.void,
            added(self.outside, other.outside),
        )


def _quarter(source: dict) -> str | None:
    """`2026Q1` from a manifest source's quarter or the start of its effective period."""
    if source.get("quarter"):
        return str(source["quarter"])
    start = (source.get("effective_period") or {}).get("start")
    if not start:
        return None
    year, month = int(start[:4]), int(start[5:7])
    return f"{year}Q{(month - 1) // 3 + 1}"


def _rates(manifest: dict) -> dict:
    """Which files and quarters the dollar impacts are priced from: the ASP payment limits
    (professional lines) and the OPPS Addendum B rates (institutional lines; None if absent)."""
    out = {}
    for name, table in RATE_TABLES.items():
        source = next((s for s in manifest.get("sources", []) if s.get("table") == table), None)
        out[name] = (
            None
            if source is None
            else {
                "table": table,
                "file": source.get("file"),
                "product": source.get("product"),
                "quarter": _quarter(source),
                "effective_period": source.get("effective_period"),
            }
        )
    return out


def _icd10cm_release() -> dict | None:
    release = getattr(diagnosis, "ICD10CM_RELEASE", None)
    return {str(k): str(v) for k, v in release.items()} if release else None


def period_notices(
    counts: LineCounts, manifest: dict, coverage: dict, icd10cm: dict | None
) -> list[str]:
    """One line per source with more than PERIOD_NOTICE_SHARE of the in-scope lines outside
    its effective period, naming the source and its quarter; and one for the ICD-10-CM
    release when D002 left that share of its lines not evaluated for it."""
    products: dict[str, list[str]] = {}
    for source in manifest.get("sources", []):
        products.setdefault(_source_name(source), []).append(str(source.get("product") or ""))
    notices = []
    total = counts.in_scope
    for source in manifest.get("sources", []):
        name = _source_name(source)
        n = counts.outside.get(name, 0)
        if name not in products or not total or n <= PERIOD_NOTICE_SHARE * total:
            continue
        product = min(products.pop(name), key=len) or name  # a file read for several tables
        start, end = _dated_sources(manifest)[name]
        notices.append(
            f"{product} {_quarter(source)} ({name}): {n:,} of {total:,} in-scope lines "
            f"({n / total:.1%}) have a service date outside {start} to {end}"
        )
    d002 = coverage.get("D002")
    if icd10cm and d002:
        n = d002["not_evaluated"].get("outside_reference_period", 0)
        judged = d002["evaluated"] + d002["not_applicable"] + sum(d002["not_evaluated"].values())
        if judged and n > PERIOD_NOTICE_SHARE * judged:
            notices.append(
                f"ICD-10-CM {icd10cm.get('release')} ({icd10cm.get('valid_from')} to "
                f"{icd10cm.get('valid_to')}): {n:,} of {judged:,} in-scope lines "
                f"({n / judged:.1%}) have a service date outside it; D002 did not judge them"
            )
    return notices


def _impact_totals(findings: pd.DataFrame, by: str) -> dict:
    """`impact_split` per value of `by` (sorted; NA keys and impacts left out): the impacts of
    each group in their order, one stable sort and a slice per group (no groupby objects)."""
    impact = findings["impact_usd"].to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(impact) & findings[by].notna().to_numpy()
    if not known.any():
        return {}
    codes, keys = pd.factorize(findings[by][known], sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    impact = impact[known][order]
    return {
        str(k): impact_split(impact[lo:hi])
        for k, lo, hi in zip(keys, bounds[:-1], bounds[1:], strict=True)
    }


def _file_entries(raws: list[RawInput], checked: Validated, audited: dict[str, int]) -> list:
    """Per input file: path, sha256, encoding and its rows read, audited and rejected."""
    return [
        {
            "path": str(raw.path),
            "sha256": raw.sha256,
            "encoding": raw.encoding,
            "rows_read": raw.rows_read,
            "rows_audited": int(audited.get(str(raw.path), 0)),
            "rows_rejected": int(checked.rows_rejected.get(str(raw.path), 0)),
        }
        for raw in raws
    ]


def _totals(files: list[dict], counts: LineCounts, findings: pd.DataFrame, lines: int) -> dict:
    return {
        "rows_read": sum(f["rows_read"] for f in files),
        "rows_audited": sum(f["rows_audited"] for f in files),
        "rows_rejected": sum(f["rows_rejected"] for f in files),
        "lines_in_scope": counts.in_scope,
        "lines_not_audited_out_of_scope": counts.out_of_scope,
        "findings": len(findings),
        "lines_with_findings": lines,
    }


def lines_with_findings(findings: pd.DataFrame) -> int:
    """Distinct (claim_id, line_number) of findings sorted by claim and line."""
    if findings.empty:
        return 0
    return distinct_lines(pa.array(findings["claim_id"].array), findings["line_number"].to_numpy())


def distinct_lines(claim: pa.Array, line: np.ndarray) -> int:
    """Distinct (claim, line) pairs of keys sorted by claim and line."""
    return int(first_of_lines(claim, line).sum())


def first_of_lines(claim: pa.Array, line: np.ndarray) -> np.ndarray:
    """Per row of keys sorted by claim and line, whether it is its line's first: where either
    key differs from the row before (no hashing of the ids)."""
    first = np.ones(len(claim), dtype=bool)
    if len(claim) > 1:
        first[1:] = ~(
            pc.equal(claim[1:], claim[:-1]).to_numpy(zero_copy_only=False) & (line[1:] == line[:-1])
        )
    return first


def _by_rule(rules, findings: pd.DataFrame) -> dict:
    by_rule = findings["rule_code"].value_counts()
    return {
        r.code: {
            "name": r.name,
            "severity": r.severity,
            "category": r.category,
            "count": int(by_rule.get(r.code, 0)),
        }
        for r in rules
    }


def build_summary(
    raws: list[RawInput],
    checked: Validated,
    counts: LineCounts,
    findings: pd.DataFrame,
    coverage: dict,
    config: Config,
    bundle: Bundle,
    timings: dict,
    started: datetime,
    lines: int | None = None,
) -> dict:
    """summary.json (SPEC section 6) from the run's inputs, line counts, findings (sorted by
    claim, line and rule) and coverage. `findings` may hold only `rule_code`, `severity`,
    `hcpcs_code` and `impact_usd` when `lines` gives the distinct lines with findings (else
    counted from its `claim_id` and `line_number`)."""
    files = _file_entries(raws, checked, counts.audited)
    rules = effective_rules(config)
    impact = findings["impact_usd"]
    icd10cm = _icd10cm_release()
    coverage = {  # every rule run, even one that judged no line
        r.code: coverage.get(r.code) or {"evaluated": 0, "not_applicable": 0, "not_evaluated": {}}
        for r in rules
    }
    severity = findings["severity"].value_counts()
    return {
        "tool": "claims-audit",
        "tool_version": __version__,
        "started_at": started.isoformat(timespec="seconds"),
        "config": {"source": config.source, "sha256": config.sha256, "settings": config.as_dict()},
        "reference": {"path": str(bundle.path), "manifest": bundle.manifest},
        "inputs": files,
        "totals": _totals(
            files, counts, findings, lines_with_findings(findings) if lines is None else lines
        ),
        "void_lines": counts.void,
        "rates": _rates(bundle.manifest),
        "icd10cm_release": icd10cm,
        "lines_outside_reference_period": {
            name: counts.outside.get(name, 0) for name in _dated_sources(bundle.manifest)
        },
        "reference_period_notices": period_notices(counts, bundle.manifest, coverage, icd10cm),
        "findings_by_severity": {s: int(severity.get(s, 0)) for s in ("error", "warning", "info")},
        "findings_by_rule": _by_rule(rules, findings),
        "disabled_rules": list(config.disable),
        "coverage_by_rule": coverage,
        "not_evaluated_by_rule": not_evaluated_totals(coverage),
        "impact": {
            **impact_split(impact),
            "by_rule": _impact_totals(findings, "rule_code"),
            "by_code": _impact_totals(findings, "hcpcs_code"),
            "by_severity": _impact_totals(findings, "severity"),
        },
        "timings_seconds": timings,
        "peak_rss_mb": peak_rss_mb(),
    }
