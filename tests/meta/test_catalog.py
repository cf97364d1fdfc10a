"""The rule catalog is complete and consistent: docs, fixtures, README and CLI agree."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.rules import REGISTRY
from pipeline.rules.registry import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "rules" / "fixtures"
SPEC_CODES = {
    "C001",
    "C002",
    "C003",
    "U001",
    "U002",
    "U003",
    "U004",
    "U005",
    "N001",
    "N002",
    "N003",
    "N004",
    "N005",
    "M001",
    "M002",
    "M003",
    "M004",
    "M005",
    "M006",
    "M007",
    "D001",
    "D002",
    "D003",
    "F001",
    "F002",
    "P001",
    "P002",
    "P003",
    "A001",
}


def test_registry_holds_exactly_the_spec_rules():
    assert set(REGISTRY) == SPEC_CODES


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_is_documented(code):
    r = REGISTRY[code]
    assert set(r.explanation) == set(SECTIONS), f"{code} lacks a section"
    assert all(len(text) > 20 for text in r.explanation.values())
    assert r.citation and len(r.citation) > 10
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", r.name)
    assert r.severity in ("error", "warning")


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_has_fixture_with_fire_and_clean_lines(code):
    path = FIXTURES / f"{code}.csv"
    assert path.exists(), f"missing fixture {path.name}"
    expect = pd.read_csv(path, dtype=str)["expect"]
    assert (expect == "fire").sum() >= 1
    assert (expect == "clean").sum() >= 1
    assert set(expect) <= {"fire", "clean"}


def test_rule_names_unique():
    names = [r.name for r in REGISTRY.values()]
    assert len(names) == len(set(names))


def test_readme_rule_table_matches_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w\d{3}) \| ([a-z0-9-]+) \| (\w+) \| (\w+) \|", readme, re.M)
    assert {code: (name, cat, sev) for code, name, cat, sev in rows} == {
        r.code: (r.name, r.category, r.severity) for r in REGISTRY.values()
    }


def test_cli_rules_lists_every_rule_and_explains_each():
    runner = CliRunner()
    listing = runner.invoke(main, ["rules"])
    assert listing.exit_code == 0
    for code, r in REGISTRY.items():
        assert re.search(
            rf"^{code}\s+{r.name}\s+{r.category}\s+{r.severity}\s+yes$", listing.output, re.M
        )
        text = runner.invoke(main, ["rules", "explain", code.lower()]).output
        for section in (*SECTIONS, "Source"):
            assert f"{section}:" in text
