"""The rule registry: one table mapping a stable code to a small documented rule function.

A rule is registered with `@rule(...)`; its docstring holds the four explanation sections
("What it checks:", "Why it matters:", "Example:", "Fix:") that `claims-audit rules explain`
prints, and the citation is the fifth ("Source"). A rule returns `Flags`: which lines it flags,
which it could evaluate, and the observed/expected values the engine turns into findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

SECTIONS = ("What it checks", "Why it matters", "Example", "Fix")
CATEGORIES = ("code", "units", "ndc", "modifier", "diagnosis", "frequency", "payer", "amount")


@dataclass
class Flags:
    """A rule's verdict over the enriched lines (all Series aligned to the lines' index).

    `evaluated` marks lines whose inputs were present (None: every in-scope line);
    `message` builds the plain-English text for the flagged rows only.
    """

    mask: pd.Series
    message: Callable[[pd.DataFrame], pd.Series]
    evaluated: pd.Series | None = None
    observed: pd.Series | None = None
    expected: pd.Series | None = None
    units_delta: pd.Series | None = None
    impact_usd: pd.Series | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: str
    severity: str
    citation: str
    func: Callable
    explanation: dict[str, str] = field(default_factory=dict)

    def explain(self) -> str:
        lines = [f"{self.code} {self.name} ({self.category}, {self.severity})", ""]
        for section in SECTIONS:
            lines += [f"{section}:", f"  {self.explanation[section]}", ""]
        lines += ["Source:", f"  {self.citation}"]
        return "\n".join(lines)


REGISTRY: dict[str, Rule] = {}


def parse_explanation(doc: str | None) -> dict[str, str]:
    """Split a rule docstring into its sections; each section is one paragraph of text."""
    text = " ".join((doc or "").split())
    pattern = "(" + "|".join(re.escape(s) for s in SECTIONS) + "):"
    parts = re.split(pattern, text)
    found = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return {s: found[s] for s in SECTIONS if found.get(s)}


def rule(code: str, name: str, category: str, severity: str, citation: str):
    """Register a rule function under a stable code (never reused)."""

    def register(func: Callable) -> Callable:
        if code in REGISTRY:
            raise ValueError(f"rule code {code} registered twice")
        if category not in CATEGORIES:
            raise ValueError(f"rule {code}: unknown category {category}")
        REGISTRY[code] = Rule(
            code, name, category, severity, citation, func, parse_explanation(func.__doc__)
        )
        return func

    return register
