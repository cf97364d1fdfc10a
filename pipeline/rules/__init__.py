"""The rule catalog. Importing this package registers every rule (one module per category)."""

from claims_audit.rules import (  # noqa: F401  (imported for registration)
    amounts,
    codes,
    diagnosis,
    frequency,
    modifiers,
    ndc,
    payer,
    units,
)
from claims_audit.rules.registry import REGISTRY, REMITTANCE, Flags, Remittance, Rule, rule

__all__ = ["REGISTRY", "REMITTANCE", "Flags", "Remittance", "Rule", "rule", "effective_rules"]


def effective_rules(config) -> list[Rule]:
    """Rules in code order with the config's severity overrides; disabled ones are left out."""
    from dataclasses import replace

    out = []
    for code in sorted(REGISTRY):
        if code in config.disable:
            continue
        base = REGISTRY[code]
        out.append(replace(base, severity=config.severity.get(code, base.severity)))
    return out
