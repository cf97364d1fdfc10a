"""The rule registry: one table mapping a stable code to a small documented rule function.

A rule is registered with `@rule(...)`; its docstring holds the four explanation sections
("What it checks:", "Why it matters:", "Example:", "Fix:") that `claims-audit rules explain`
prints, and the citation is the fifth ("Source"). A rule returns `Flags`: which lines it flags,
which lines it concerns (`applicable`), which of those it could evaluate (and why not), and the
observed/expected values the engine turns into findings.

`REMITTANCE` holds, per rule, the claim adjustment reason code (CARC) and remark code (RARC) a
payer most often uses for that denial, with the source that says so (SPEC section 5); a rule
for which nothing is published has an explicit empty entry that says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

SECTIONS = ("What it checks", "Why it matters", "Example", "Fix")
CATEGORIES = ("code", "units", "ndc", "modifier", "diagnosis", "frequency", "payer", "amount")
# which lines the engine judges: HCPCS Level II lines (`in_scope`), or those and the CPT lines
# (`cpt_in_scope`: the MUE rule only, SPEC section 5 "Scope")
SCOPES = ("hcpcs", "hcpcs+cpt")
# the "not evaluated" reason of a line when a rule gives none
MISSING_INPUT = "missing_input"


@dataclass
class Flags:
    """A rule's verdict over the enriched lines (all Series aligned to the lines' index).

    `applicable` marks the lines the rule concerns (None: every judged line); the others are
    counted `not_applicable`. `evaluated` marks the applicable lines whose inputs were present
    (None: all of them); the others are counted `not_evaluated` under `reason` (a constant such
    as "no_dose", or a per-line text Series; None or NA: "missing_input"). `message` builds the
    plain-English text for the flagged rows only; `observed`, `expected`, `units_delta` and
    `impact_usd` are full-length Series or, like `message`, callables of the flagged rows
    (values needed on those only). `carc` and `rarc` override the registry's
    remittance codes (a constant or a per-line Series; NA keeps the registry's).
    """

    mask: pd.Series
    message: Callable[[pd.DataFrame], pd.Series]
    evaluated: pd.Series | None = None
    observed: pd.Series | Callable | None = None
    expected: pd.Series | Callable | None = None
    units_delta: pd.Series | Callable | None = None
    impact_usd: pd.Series | Callable | None = None
    applicable: pd.Series | None = None
    reason: str | pd.Series | None = None
    carc: str | pd.Series | None = None
    rarc: str | pd.Series | None = None


# -- remittance codes ---------------------------------------------------------------------------

# sources of the remittance mappings
SRC_X12 = "X12 Claim Adjustment Reason Code (CARC) and Remittance Advice Remark Code (RARC) lists"
SRC_MUE = (
    "Noridian JF Part B reason code guidance 'MUE - Number of Days or Units of Service Exceeds "
    "Acceptable Maximum' (CO-96, N362); hospital outpatient MUE denials: CARC B5 with N362 "
    "(MMP Inc., 'Increasing Medicare MUE Denials', 2011)"
)
SRC_RUC = (
    "First Coast Service Options (Medicare Part B), 'Tips to prevent RUC CO 16' (claims returned "
    "unprocessable: CO-16 with the RARC of the missing or invalid item); " + SRC_X12
)
SRC_NDC = (
    "NDC missing or invalid: CARC 16 with RARC M119 (MAC reason-code guidance as listed in SPEC "
    "section 5); " + SRC_X12
)
SRC_SPEC = "MAC reason-code guidance as listed in SPEC section 5; " + SRC_X12
SRC_MED_NEC = (
    "Noridian JF Part B reason code guidance 'Medical Necessity/No Payable Diagnosis' (CO-50; "
    "with RARC N115 when the policy is an LCD, not the drug's label as here)"
)

# short texts of the codes used (X12 lists; shortened)
CARC_TEXT = {
    "4": "procedure code inconsistent with the modifier used, or a required modifier missing",
    "16": "claim/service lacks information or has submission/billing error(s)",
    "18": "exact duplicate claim/service",
    "22": "this care may be covered by another payer per coordination of benefits",
    "29": "the time limit for filing has expired",
    "50": "non-covered: not deemed a medical necessity by the payer",
    "96": "non-covered charge(s)",
    "146": "diagnosis was invalid for the date(s) of service reported",
    "151": "information submitted does not support this many/frequency of services",
    "181": "procedure code was invalid on the date of service",
    "182": "procedure modifier was invalid on the date of service",
    "197": "precertification/authorization/notification absent",
    "B5": "coverage/program guidelines were not met or were exceeded",
}
RARC_TEXT = {
    "M51": "missing/incomplete/invalid procedure code(s)",
    "M53": "missing/incomplete/invalid days or units of service",
    "M76": "missing/incomplete/invalid diagnosis or condition",
    "M119": "missing/incomplete/invalid/deactivated/withdrawn National Drug Code (NDC)",
    "N362": "the number of days or units of service exceeds our acceptable maximum",
}


@dataclass(frozen=True)
class Remittance:
    """The codes a payer most often puts on the remittance for a rule's denial.

    `carc_by_claim_type` gives another CARC for some claim types (MUE: B5 on institutional
    claims). An empty `carc` means no published mapping is known; `note` then says why.
    """

    carc: str = ""
    rarc: str = ""
    source: str = ""
    carc_by_claim_type: tuple[tuple[str, str], ...] = ()
    note: str = ""

    def describe(self) -> str:
        """One paragraph for `rules explain`: the codes, their meaning and the source."""
        if not self.carc:
            return f"none published ({self.note})"
        parts = [f"CARC {self.carc} ({CARC_TEXT.get(self.carc, '?')})"]
        parts += [
            f"CARC {carc} on {claim_type} claims ({CARC_TEXT.get(carc, '?')})"
            for claim_type, carc in self.carc_by_claim_type
        ]
        if self.rarc:
            parts.append(f"RARC {self.rarc} ({RARC_TEXT.get(self.rarc, '?')})")
        return "; ".join(parts) + f". Source: {self.source}."


_REVIEW = (
    "found on record review of the dose or waste documentation, which the payer does not see on "
    "the claim; no claim edit with a published code"
)
REMITTANCE: dict[str, Remittance] = {
    "C001": Remittance("16", "M51", SRC_RUC),
    "C002": Remittance("181", "", SRC_SPEC),
    "C003": Remittance("16", "M119", SRC_NDC),
    "U001": Remittance(note=_REVIEW),
    "U002": Remittance(note="not a denial: units billed below the dose are paid as billed"),
    "U003": Remittance("96", "N362", SRC_MUE, (("institutional", "B5"),)),
    "U004": Remittance(note=_REVIEW),
    "U005": Remittance("16", "M53", SRC_RUC),
    "N001": Remittance("16", "M119", SRC_NDC),
    "N002": Remittance("16", "M119", SRC_NDC),
    "N003": Remittance("16", "M119", SRC_NDC),
    "N004": Remittance(
        note="a warning, not a denial: the ASP crosswalk lists only NDCs with ASP data; a payer "
        "that rejects the NDC against its own file uses CARC 16 with RARC M119"
    ),
    "N005": Remittance(note="a consistency warning; no payer edit with a published code"),
    "M001": Remittance("4", "", SRC_SPEC),
    "M002": Remittance("4", "", SRC_SPEC),
    "M003": Remittance("4", "", SRC_SPEC),
    "M004": Remittance(note=_REVIEW),
    "M005": Remittance("4", "", SRC_SPEC),
    "M006": Remittance("182", "", SRC_X12),
    "M007": Remittance(note=_REVIEW),
    "D001": Remittance("16", "M76", SRC_RUC),
    "D002": Remittance("146", "", SRC_SPEC),
    "D003": Remittance("50", "", SRC_MED_NEC),
    "F001": Remittance("18", "", SRC_SPEC),
    "F002": Remittance("151", "", SRC_X12),
    "P001": Remittance("197", "", SRC_SPEC),
    "P002": Remittance("29", "", SRC_SPEC),
    "P003": Remittance("22", "", SRC_SPEC),
    "A001": Remittance(note="not a denial: the charge below the payment limit is paid as billed"),
}


# -- the registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: str
    severity: str
    citation: str
    func: Callable
    explanation: dict[str, str] = field(default_factory=dict)
    scope: str = "hcpcs"

    @property
    def remittance(self) -> Remittance:
        """The rule's remittance codes (an empty entry when the table has none)."""
        return REMITTANCE.get(self.code, Remittance(note="no entry in the remittance table"))

    def explain(self) -> str:
        lines = [f"{self.code} {self.name} ({self.category}, {self.severity})", ""]
        for section in SECTIONS:
            lines += [f"{section}:", f"  {self.explanation[section]}", ""]
        lines += ["Remittance codes:", f"  {self.remittance.describe()}", ""]
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


def rule(code: str, name: str, category: str, severity: str, citation: str, scope: str = "hcpcs"):
    """Register a rule function under a stable code (never reused). `scope="hcpcs+cpt"` makes
    the engine judge CPT lines too (`cpt_in_scope`); by default only HCPCS lines (`in_scope`)."""

    def register(func: Callable) -> Callable:
        if code in REGISTRY:
            raise ValueError(f"rule code {code} registered twice")
        if category not in CATEGORIES:
            raise ValueError(f"rule {code}: unknown category {category}")
        if scope not in SCOPES:
            raise ValueError(f"rule {code}: unknown scope {scope}")
        REGISTRY[code] = Rule(
            code, name, category, severity, citation, func, parse_explanation(func.__doc__), scope
        )
        return func

    return register
