"""Helpers the test packages share (not fixtures)."""

from __future__ import annotations

import pandas as pd


def finding_keys(frame: pd.DataFrame) -> set[tuple[str, int, str]]:
    """The (claim_id, line_number, rule_code) of each finding (or planted-defect label)."""
    return set(
        zip(
            frame["claim_id"].astype(str),
            frame["line_number"].astype(int),
            frame["rule_code"].astype(str),
            strict=True,
        )
    )


# the summary.json sections that must not depend on how the audit was cut up or run (executor,
# workers, partitions, batches): everything but timings, paths and the plan
SUMMARY_KEYS = (
    "inputs",
    "totals",
    "findings_by_rule",
    "findings_by_severity",
    "coverage_by_rule",
    "not_evaluated_by_rule",
    "void_lines",
    "lines_outside_reference_period",
    "reference_period_notices",
    "impact",
)
