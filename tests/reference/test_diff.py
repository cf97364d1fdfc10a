"""`diff_bundles`: the changes between two bundles, here the built bundle and an edited copy."""

from __future__ import annotations

import pandas as pd
import pytest

from claims_audit.reference import load_bundle
from claims_audit.reference_build import diff_bundles
from tests.reference.conftest import needs_raw

pytestmark = needs_raw


@pytest.fixture(scope="module")
def old_and_new(built, next_quarter):
    return load_bundle(built[0]), load_bundle(next_quarter)


def test_diff_lists_each_change(old_and_new):
    changes = diff_bundles(*old_and_new)
    rows = [tuple(None if pd.isna(v) else v for v in r) for r in changes.itertuples(index=False)]
    assert rows == [
        ("billing_unit_changed", "J9035", "10 mg", "5 mg"),
        ("code_added", "J9996", None, "New"),
        ("code_removed", "J2997", "Alteplase recombinant", None),
        ("code_terminated", "J2354", None, "2026-06-30"),
        ("mue_mai_changed", "J2354 practitioner", "3", "2"),
        ("mue_value_changed", "J2354 practitioner", "60", "80"),
        ("ndc_added", "00078-0811-99 J2353", None, "Sandostatin Lar Depot"),
        ("ndc_removed", "55513-0710-01 J0897", "Prolia", None),
        ("payment_limit_changed", "J2997", "93.832", "95"),
    ]
    assert list(changes.columns) == ["change_type", "key", "old", "new"]


def test_diff_same_bundle_is_empty(old_and_new):
    old, _ = old_and_new
    changes = diff_bundles(old, old)
    assert changes.empty
    assert list(changes.columns) == ["change_type", "key", "old", "new"]
