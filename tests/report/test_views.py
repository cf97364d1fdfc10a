"""The payer beside each finding: an integer-key search that gives what a pandas merge of the
findings with their lines gives (first line of a repeated key, `unknown` where none)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from claims_audit.columns import TEXT
from claims_audit.report.views import findings_with_payer

CLAIMS = st.sampled_from(["C1", "C2", "C10", "é", "😀", None])
PAYERS = st.sampled_from(["medicare", "commercial", "medicaid", None])


def _merged(findings: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """The oracle: a left merge on (claim, line) of the first line of each key."""
    keys = ["claim_id", "line_number"]
    payer = lines[[*keys, "payer_type"]].astype({"claim_id": TEXT, "payer_type": TEXT})
    joined = (
        findings[keys]
        .astype({"claim_id": TEXT})
        .merge(payer.drop_duplicates(keys), on=keys, how="left", validate="many_to_one")
    )
    return joined["payer_type"].fillna("unknown")


@pytest.mark.fuzz
@given(
    lines=st.lists(st.tuples(CLAIMS, st.integers(1, 3), PAYERS), min_size=1, max_size=30),
    findings=st.lists(st.tuples(CLAIMS, st.integers(1, 4)), min_size=1, max_size=30),
    shift=st.integers(0, 5),
)
def test_payer_of_each_finding_is_that_of_the_first_line_with_its_keys(lines, findings, shift):
    lines = pd.DataFrame(lines, columns=["claim_id", "line_number", "payer_type"])
    lines = lines.astype({"claim_id": TEXT, "payer_type": "category"})
    found = pd.DataFrame(findings, columns=["claim_id", "line_number"]).astype({"claim_id": TEXT})
    found.index = found.index * 2 + shift  # not a range index: nothing aligns by it
    got = findings_with_payer(found, lines)
    assert got.index.equals(found.index)
    assert got["payer_type"].tolist() == _merged(found, lines).tolist()
    assert got.drop(columns="payer_type").equals(found)
