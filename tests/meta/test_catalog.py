"""The rule catalog is complete and consistent: docs, fixtures, README and CLI agree."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.rules import REGISTRY
from claims_audit.rules.registry import CARC_TEXT, RARC_TEXT, REMITTANCE, SCOPES, SECTIONS

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


# the mappings SPEC section 5 and DOMAIN.md ("Remittance codes") name: rule -> (CARC, RARC)
SPEC_REMITTANCE = {
    "U003": ("96", "N362"),
    "F001": ("18", ""),
    "P002": ("29", ""),
    "C002": ("181", ""),
    "D002": ("146", ""),
    "P001": ("197", ""),
    "N001": ("16", "M119"),
    "N002": ("16", "M119"),
    "C003": ("16", "M119"),
    "P003": ("22", ""),
    "M001": ("4", ""),
    "M002": ("4", ""),
    "M003": ("4", ""),
}


def test_every_rule_has_a_remittance_entry():
    assert set(REMITTANCE) == set(REGISTRY)


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_remittance_entry_names_its_source_or_why_it_is_empty(code):
    entry = REMITTANCE[code]
    if entry.carc:
        assert entry.carc in CARC_TEXT and len(entry.source) > 20
        assert not entry.rarc or entry.rarc in RARC_TEXT
        assert all(carc in CARC_TEXT for _, carc in entry.carc_by_claim_type)
        assert not entry.note
    else:
        assert not entry.rarc and not entry.carc_by_claim_type
        assert len(entry.note) > 20, f"{code}: an empty mapping must say why"


def test_remittance_codes_are_the_spec_ones():
    got = {code: (REMITTANCE[code].carc, REMITTANCE[code].rarc) for code in SPEC_REMITTANCE}
    assert got == SPEC_REMITTANCE
    assert dict(REMITTANCE["U003"].carc_by_claim_type) == {"institutional": "B5"}
    assert "Noridian" in REMITTANCE["U003"].source


def test_rule_scopes():
    assert {r.scope for r in REGISTRY.values()} <= set(SCOPES)
    assert {code for code, r in REGISTRY.items() if r.scope != "hcpcs"} <= {"U003"}


def test_rules_explain_shows_remittance_codes():
    runner = CliRunner()
    mue = runner.invoke(main, ["rules", "explain", "U003"]).output
    assert "Remittance codes:" in mue
    assert "CARC 96 (non-covered charge(s))" in mue
    assert "CARC B5 on institutional claims" in mue
    assert "RARC N362 (the number of days or units of service exceeds" in mue
    assert "Noridian" in mue
    ndc = runner.invoke(main, ["rules", "explain", "N001"]).output
    assert "CARC 16 (claim/service lacks information" in ndc and "RARC M119" in ndc
    charge = runner.invoke(main, ["rules", "explain", "A001"]).output
    assert "Remittance codes:\n  none published (not a denial" in charge


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
        for section in (*SECTIONS, "Remittance codes", "Source"):
            assert f"{section}:" in text
