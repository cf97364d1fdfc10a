"""Audit configuration (`audit.toml`, SPEC section 7): load with tomllib, check every key and type.

Defaults are the SPEC's: rounding `up`, fail_on `error`, Medicare filing limit 365 days and JZ
required, Medicaid NDC required. A bad config raises ConfigError naming the key (exit 2).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.columns import per_value
from pipeline.errors import ConfigError
from pipeline.parsing import ROUNDING_POLICIES
from schemas.claims import FIELDS, PAYER_TYPES

SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "never")


@dataclass
class PayerSettings:
    """Settings for one payer type or payer_id; None means "not set here"."""

    filing_limit_days: int | None = None
    require_ndc: bool | None = None
    require_jz: bool | None = None
    require_prior_auth: list[str] | None = None


PAYER_KEYS: dict[str, type] = {
    "filing_limit_days": int,
    "require_ndc": bool,
    "require_jz": bool,
    "require_prior_auth": list,
}

DEFAULT_PAYERS: dict[str, PayerSettings] = {
    "medicare": PayerSettings(filing_limit_days=365, require_jz=True),
    "medicaid": PayerSettings(require_ndc=True),
}


@dataclass
class Config:
    rounding: str = "up"
    fail_on: str = "error"
    payer: dict[str, PayerSettings] = field(
        default_factory=lambda: {k: PayerSettings(**asdict(v)) for k, v in DEFAULT_PAYERS.items()}
    )
    payer_id: dict[str, PayerSettings] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("source")
        return data

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def payer_setting(self, lines: pd.DataFrame, key: str) -> pd.Series:
        """Per-line value of a payer setting: the payer_id table overrides the payer_type one."""
        by_type = {name: getattr(s, key) for name, s in self.payer.items()}
        by_type = {k: v for k, v in by_type.items() if v is not None}
        by_id = {pid: getattr(s, key) for pid, s in self.payer_id.items()}
        by_id = {k: v for k, v in by_id.items() if v is not None}
        value = per_value(lines["payer_type"], lambda t: t.astype("object").map(by_type))
        if by_id and "payer_id" in lines:
            override = per_value(lines["payer_id"], lambda p: p.astype("object").map(by_id))
            value = value.where(override.isna(), override)
        return value


def _check_type(key: str, value, expected: type) -> None:
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not ok:
        name = "list of strings" if expected is list else expected.__name__
        raise ConfigError(f"config key {key}: expected {name}, got {value!r}")


def _payer_settings(prefix: str, table) -> PayerSettings:
    if not isinstance(table, dict):
        raise ConfigError(f"config key {prefix}: expected a table")
    settings = PayerSettings()
    for key, value in table.items():
        if key not in PAYER_KEYS:
            raise ConfigError(f"config key {prefix}.{key}: unknown key")
        _check_type(f"{prefix}.{key}", value, PAYER_KEYS[key])
        if key == "filing_limit_days" and value < 0:
            raise ConfigError(f"config key {prefix}.{key}: must be >= 0")
        if key == "require_prior_auth":
            value = [v.strip().upper() for v in value]
        setattr(settings, key, value)
    return settings


def _choice(key: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"config key {key}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def parse_config(
    data: dict, source: str | None = None, rule_codes: set[str] | None = None
) -> Config:
    """Build a Config from a parsed TOML document, rejecting unknown keys and wrong types."""
    config = Config(source=source)
    sections = {"policy", "payer", "payer_id", "rules", "columns"}
    for key in data:
        if key not in sections:
            raise ConfigError(f"config key {key}: unknown section")
    policy = data.get("policy", {})
    for key, value in policy.items():
        if key == "rounding":
            config.rounding = _choice("policy.rounding", value, ROUNDING_POLICIES)
        elif key == "fail_on":
            config.fail_on = _choice("policy.fail_on", value, FAIL_ON)
        else:
            raise ConfigError(f"config key policy.{key}: unknown key")
    for name, table in data.get("payer", {}).items():
        if name not in PAYER_TYPES:
            raise ConfigError(
                f"config key payer.{name}: unknown payer type (one of {', '.join(PAYER_TYPES)})"
            )
        override = _payer_settings(f"payer.{name}", table)
        base = config.payer.setdefault(name, PayerSettings())
        for key, value in asdict(override).items():
            if value is not None:
                setattr(base, key, value)
    for payer_id, table in data.get("payer_id", {}).items():
        config.payer_id[str(payer_id)] = _payer_settings(f'payer_id."{payer_id}"', table)
    rules = data.get("rules", {})
    for key, value in rules.items():
        if key == "disable":
            _check_type("rules.disable", value, list)
            config.disable = sorted({v.strip().upper() for v in value})
            for code in config.disable:
                if rule_codes is not None and code not in rule_codes:
                    raise ConfigError(f"config key rules.disable: unknown rule code {code!r}")
        elif key == "severity":
            if not isinstance(value, dict):
                raise ConfigError("config key rules.severity: expected a table")
            for code, sev in value.items():
                if rule_codes is not None and code.upper() not in rule_codes:
                    raise ConfigError(f"config key rules.severity.{code}: unknown rule code")
                config.severity[code.upper()] = _choice(f"rules.severity.{code}", sev, SEVERITIES)
        else:
            raise ConfigError(f"config key rules.{key}: unknown key")
    for alias, target in data.get("columns", {}).items():
        if not isinstance(target, str) or target not in FIELDS:
            raise ConfigError(f'config key columns."{alias}": {target!r} is not a canonical column')
        config.columns[alias] = target
    return config


def load_config(path: Path | str | None, rule_codes: set[str] | None = None) -> Config:
    """Read and check `audit.toml`; None gives the SPEC defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config {path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc})") from None
    return parse_config(data, source=str(path), rule_codes=rule_codes)
