"""One fixture per rule: `fixtures/<CODE>.csv` holds lines that must fire (`expect=fire`) and
lines that must not (`expect=clean`), side by side. `<CODE>.toml` is the config and
`<CODE>.history.csv` prior claims. Optional columns, checked where the cell is not empty:

* `expect_value`: the finding's `expected` value;
* `expect_impact`: the finding's `impact_usd` (a number; the rate of the line's setting);
* `expect_message`: text the finding's message must contain;
* `expect_carc`: the finding's `carc`;
* `expect_coverage`: how the rule covered the line: `evaluated`, `not_applicable`,
  `not_evaluated:<reason>` or `out_of_scope` (a line the rule's scope does not judge: a CPT
  line for a HCPCS rule, a void claim);
* `needs`: reference facts the case rests on, `table.column=value` separated by `;` (e.g.
  `mue.mai=1`). A case whose fact the starter bundle lacks fails, naming the fact: the
  fixture would otherwise test nothing.

Each fixture runs through the whole pipeline (ingest, validate, enrich, rules) against the
starter reference bundle; only the rule under test is asserted. Coverage is read from the rule's
own verdict (its `Flags`) on the enriched lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from claims_audit.audit import load_history, run_audit, validate_files
from claims_audit.config import load_config
from claims_audit.enrich import enrich
from claims_audit.rules import REGISTRY
from claims_audit.rules.common import MISSING_INPUT, RuleContext
from claims_audit.rules.engine import judged_lines

FIXTURES = Path(__file__).parent / "fixtures"
KEY = ["claim_id", "line_number"]


def _missing_facts(needs: str, bundle) -> list[str]:
    missing = []
    for fact in filter(None, (n.strip() for n in needs.split(";"))):
        table_column, value = fact.split("=", 1)
        table, column = table_column.split(".", 1)
        values = bundle[table][column].astype(str).str.removesuffix(".0")
        if not (values == value).any():
            missing.append(fact)
    return missing


def fixture_cases(code: str, bundle=None) -> pd.DataFrame:
    """The fixture's cases; with a bundle, fail when it lacks a fact a case `needs`."""
    cases = pd.read_csv(FIXTURES / f"{code}.csv", dtype=str, keep_default_na=False)
    if bundle is None or "needs" not in cases:
        return cases
    missing = cases["needs"].map(lambda n: _missing_facts(n, bundle))
    lacking = [
        f"{claim} line {line}: {', '.join(facts)}"
        for (claim, line), facts in zip(cases[KEY].itertuples(index=False), missing, strict=True)
        if facts
    ]
    if lacking:
        pytest.fail(f"{code}: the starter bundle lacks facts the fixture needs: {lacking}")
    return cases


def codes_with(column: str) -> list[str]:
    """The rule codes whose fixture has `column` with at least one value (at collection)."""
    return [
        code
        for code in sorted(REGISTRY)
        if column in (cases := fixture_cases(code)) and (cases[column] != "").any()
    ]


def _config(code: str):
    toml = FIXTURES / f"{code}.toml"
    return load_config(toml if toml.exists() else None, rule_codes=set(REGISTRY))


def _history(code: str) -> list[str] | None:
    history = FIXTURES / f"{code}.history.csv"
    return [str(history)] if history.exists() else None


def audit_fixture(code: str, bundle):
    return run_audit([str(FIXTURES / f"{code}.csv")], bundle, _config(code), history=_history(code))


def _findings(code: str, bundle, cases: pd.DataFrame) -> pd.DataFrame:
    """The rule's findings on the fixture's (kept) cases, line_number as text."""
    result = audit_fixture(code, bundle)
    assert result.rejects.empty, result.rejects.to_dict("records")
    found = result.findings[result.findings["rule_code"] == code].astype({"line_number": str})
    return found.merge(cases[KEY], on=KEY)


def line_coverage(code: str, bundle) -> pd.DataFrame:
    """Per fixture line, how the rule covered it (see `expect_coverage`)."""
    config = _config(code)
    _, checked = validate_files([str(FIXTURES / f"{code}.csv")], config)
    lines = enrich(checked.lines, bundle, config.rounding)
    ctx = RuleContext(config, bundle, load_history(_history(code), config, bundle))
    rule = REGISTRY[code]
    flags = rule.func(lines, ctx)
    n = len(lines)

    def as_bool(values) -> np.ndarray:
        if values is None:
            return np.ones(n, dtype=bool)
        return pd.Series(values, index=lines.index).fillna(False).to_numpy(dtype=bool)

    judged = judged_lines(lines, rule.scope)
    applicable = as_bool(flags.applicable)
    evaluated = as_bool(flags.evaluated)
    reason = flags.reason
    if reason is None or isinstance(reason, str):
        reason = pd.Series(reason or MISSING_INPUT, index=lines.index)
    reason = pd.Series(reason, index=lines.index).astype("object").fillna(MISSING_INPUT)
    label = np.select(
        [~judged, ~applicable, ~evaluated],
        ["out_of_scope", "not_applicable", "not_evaluated:" + reason.astype(str).to_numpy()],
        "evaluated",
    )
    return pd.DataFrame(
        {
            "claim_id": lines["claim_id"].astype(str).to_numpy(),
            "line_number": lines["line_number"].astype(str).to_numpy(),
            "coverage": label,
        }
    )


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_fires_exactly_on_marked_lines(code, starter_bundle):
    cases = fixture_cases(code, starter_bundle)
    found = _findings(code, starter_bundle, cases)
    got = set(zip(found["claim_id"], found["line_number"], strict=True))
    fire = cases[cases["expect"] == "fire"]
    want = set(zip(fire["claim_id"], fire["line_number"], strict=True))
    assert got == want


def _checked(code: str, column: str, bundle) -> pd.DataFrame:
    """The cases stating `column`, each beside the rule's finding on its line (every one has)."""
    cases = fixture_cases(code, bundle)
    if column not in cases or not (cases[column] != "").any():
        pytest.skip(f"{code} fixture states no {column}")
    cases = cases[cases[column] != ""]
    merged = cases.merge(_findings(code, bundle, cases), on=KEY)
    assert len(merged) == len(cases)
    return merged


@pytest.mark.parametrize("code", codes_with("expect_value"))
def test_rule_expected_values(code, starter_bundle):
    merged = _checked(code, "expect_value", starter_bundle)
    assert merged["expected"].tolist() == merged["expect_value"].tolist()


@pytest.mark.parametrize("code", codes_with("expect_impact"))
def test_rule_impact(code, starter_bundle):
    merged = _checked(code, "expect_impact", starter_bundle)
    got = merged["impact_usd"].astype("float64").to_numpy()
    want = merged["expect_impact"].astype("float64").to_numpy()
    assert np.allclose(got, want, atol=0.005, equal_nan=True), list(zip(got, want, strict=True))


@pytest.mark.parametrize("code", codes_with("expect_message"))
def test_rule_message(code, starter_bundle):
    merged = _checked(code, "expect_message", starter_bundle)
    for message, part in zip(merged["message"], merged["expect_message"], strict=True):
        assert part in message


@pytest.mark.parametrize("code", codes_with("expect_carc"))
def test_rule_carc(code, starter_bundle):
    merged = _checked(code, "expect_carc", starter_bundle)
    assert merged["carc"].tolist() == merged["expect_carc"].tolist()


@pytest.mark.parametrize("code", codes_with("expect_coverage"))
def test_rule_coverage(code, starter_bundle):
    cases = fixture_cases(code, starter_bundle)
    cases = cases[cases["expect_coverage"] != ""]
    merged = cases.merge(line_coverage(code, starter_bundle), on=KEY, how="left")
    assert merged["coverage"].tolist() == merged["expect_coverage"].tolist(), merged[
        [*KEY, "coverage", "expect_coverage"]
    ].to_dict("records")
