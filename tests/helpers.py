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
