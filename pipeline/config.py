"""Audit configuration (`audit.toml`, SPEC section 7): load with tomllib, check every key and type.

Defaults are the SPEC's: rounding `up`, fail_on `error`; Medicare requires JW and JZ and has no
`filing_limit_days` (P002 then applies the Medicare rule: one calendar year after the date of
service); Medicaid requires the NDC.

The file is checked as data before anything uses it: it must be a readable regular file of at
most `MAX_CONFIG_BYTES`, every section a table, every value of its schema type (no deeper than
the schema: a table or array where a scalar belongs is refused, and so is a document nested too
deeply for the TOML parser), numbers in range (`filing_limit_days` 1..3650). Anything else raises
ConfigError naming the key, e.g. `payer.medicare.filing_limit_days` (exit 2).

Reading a real export through the config alone (README "Configuration"):

    [columns]                 # source header = canonical column (case-insensitive)
    "Claim #" = "claim_id"
    Dx1 = "diagnosis_codes"   # several headers may map to diagnosis_codes or modifiers:
    Dx2 = "diagnosis_codes"   # their values are joined in header order, empty ones skipped
    [values.payer_type]       # source value = canonical value, per column (case-insensitive)
    "Medicare Advantage" = "medicare_advantage"
    [policy]
    date_formats = ["%m/%d/%y"]   # tried after the built-in formats, in order
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from claims_audit.columns import per_value
from claims_audit.errors import ConfigError
from claims_audit.parsing import ROUNDING_POLICIES
from claims_audit.schemas.claims import FIELD_META, FIELDS, PAYER_TYPES

SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "never")
SECTIONS = ("policy", "payer", "payer_id", "rules", "columns", "values")
FILING_LIMIT_DAYS = (1, 3650)  # a filing limit in days: at least one day, at most ten years
MAX_CONFIG_BYTES = 1 << 20  # an audit.toml is a few hundred bytes; refuse anything absurd
_NAME_CHARS = 60  # a key or value quoted in an error message is cut to this many characters


@dataclass
class PayerSettings:
    """Settings for one payer type or payer_id; None means "not set here"."""

    filing_limit_days: int | None = None
    require_ndc: bool | None = None
    require_jw: bool | None = None
    require_jz: bool | None = None
    require_prior_auth: list[str] | None = None


PAYER_KEYS: dict[str, type] = {
    "filing_limit_days": int,
    "require_ndc": bool,
    "require_jw": bool,
    "require_jz": bool,
    "require_prior_auth": list,
}

DEFAULT_PAYERS: dict[str, PayerSettings] = {
    # no filing_limit_days: P002 applies the Medicare calendar-year rule
    "medicare": PayerSettings(require_jw=True, require_jz=True),
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
    # [values]: canonical column -> {source value, trimmed and lower-cased: canonical value}
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)  # [policy] date_formats, in order
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
            with pd.option_context("future.no_silent_downcasting", True):  # typed explicitly
                value = value.where(override.isna(), override).infer_objects()
        return value


# -- checking values -------------------------------------------------------------------------


def _cut(text: str) -> str:
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"


def quoted(name: str) -> str:
    """A key as TOML writes it quoted (`"BCBS-TX"`), escapes included, cut when very long."""
    text = json.dumps(_cut(str(name)), ensure_ascii=False)  # escapes C0 controls, quotes
    return re.sub(r"[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


def _key(prefix: str, name: str) -> str:
    """`prefix.name`, the name quoted when it is not a bare TOML key."""
    bare = re.fullmatch(r"[A-Za-z0-9_-]+", name) is not None
    part = name if bare else quoted(name)
    return f"{prefix}.{part}" if prefix else part


def _describe(value) -> str:
    """A value for an error message: tables and arrays by kind only (they may be nested
    arbitrarily deep), scalars by their repr, cut when long."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return _cut(repr(value))


def _fail(key: str, what: str):
    raise ConfigError(f"config key {key}: {what}")


def _table(key: str, value, what: str = "a table") -> dict:
    if not isinstance(value, dict):
        _fail(key, f"expected {what}, got {_describe(value)}")
    return value


def _check_type(key: str, value, expected: type) -> None:
    if expected is list:
        if not isinstance(value, list):
            _fail(key, f"expected an array of strings, got {_describe(value)}")
        other = next((v for v in value if not isinstance(v, str)), None)
        if other is not None:
            _fail(key, f"expected an array of strings, got an array holding {_describe(other)}")
        if not all(v.strip() for v in value):
            _fail(key, "expected an array of strings, got an empty string")
        return
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        name = "an integer" if expected is int else ("true or false" if expected is bool else "")
        _fail(key, f"expected {name or expected.__name__}, got {_describe(value)}")


def _payer_settings(prefix: str, table) -> PayerSettings:
    table = _table(prefix, table)
    settings = PayerSettings()
    for key, value in table.items():
        where = _key(prefix, key)
        if key not in PAYER_KEYS:
            _fail(where, f"unknown key (one of {', '.join(PAYER_KEYS)})")
        _check_type(where, value, PAYER_KEYS[key])
        low, high = FILING_LIMIT_DAYS
        if key == "filing_limit_days" and not low <= value <= high:
            _fail(where, f"must be between {low} and {high} days, got {value}")
        if key == "require_prior_auth":
            value = [v.strip().upper() for v in value]
        setattr(settings, key, value)
    return settings


def _choice(key: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        _fail(key, f"expected one of {', '.join(choices)}, got {_describe(value)}")
    return value


def _parse_policy(config: Config, policy: dict) -> None:
    for key, value in policy.items():
        if key == "rounding":
            config.rounding = _choice("policy.rounding", value, ROUNDING_POLICIES)
        elif key == "fail_on":
            config.fail_on = _choice("policy.fail_on", value, FAIL_ON)
        elif key == "date_formats":
            _check_type("policy.date_formats", value, list)
            config.date_formats = [_date_format(v) for v in value]
        else:
            _fail(_key("policy", key), "unknown key (one of rounding, fail_on, date_formats)")


_PROBE_DATE = date(2026, 3, 7)  # day and month differ, so a format that swaps them is seen
_DATE_DIRECTIVES = re.compile(r"%[dmyYbB%]")


def _date_format(fmt: str) -> str:
    """A `[policy] date_formats` entry: a strptime format of day, month and year only
    (`%d %m %y %Y %b %B`, any literal text) that reads back the date it writes."""
    where = "policy.date_formats"
    rest = _DATE_DIRECTIVES.sub("", fmt)
    if "%" in rest:
        _fail(where, f"{quoted(fmt)}: only %d %m %y %Y %b %B are allowed")
    if "%d" not in fmt or not ("%m" in fmt or "%b" in fmt or "%B" in fmt):
        _fail(where, f"{quoted(fmt)}: a date format needs a day (%d) and a month (%m, %b, %B)")
    if "%y" not in fmt and "%Y" not in fmt:
        _fail(where, f"{quoted(fmt)}: a date format needs a year (%y or %Y)")
    try:
        ok = datetime.strptime(_PROBE_DATE.strftime(fmt), fmt).date() == _PROBE_DATE
    except (ValueError, re.error):  # re.error: a directive given twice
        ok = False
    if not ok:
        _fail(where, f"{quoted(fmt)}: does not read back the dates it writes")
    return fmt


def _parse_payers(config: Config, payers: dict, by_id: dict) -> None:
    for name, table in payers.items():
        where = _key("payer", name)
        if name not in PAYER_TYPES:
            _fail(where, f"unknown payer type (one of {', '.join(PAYER_TYPES)})")
        override = _payer_settings(where, table)
        base = config.payer.setdefault(name, PayerSettings())
        for key, value in asdict(override).items():
            if value is not None:
                setattr(base, key, value)
    for payer_id, table in by_id.items():
        config.payer_id[str(payer_id)] = _payer_settings(f"payer_id.{quoted(payer_id)}", table)


def _parse_rules(config: Config, rules: dict, rule_codes: set[str] | None) -> None:
    for key, value in rules.items():
        if key == "disable":
            _check_type("rules.disable", value, list)
            config.disable = sorted({v.strip().upper() for v in value})
            for code in config.disable:
                if rule_codes is not None and code not in rule_codes:
                    _fail("rules.disable", f"unknown rule code {quoted(code)}")
        elif key == "severity":
            for code, sev in _table("rules.severity", value).items():
                where = _key("rules.severity", code)
                if rule_codes is not None and code.upper() not in rule_codes:
                    _fail(where, "unknown rule code")
                config.severity[code.upper()] = _choice(where, sev, SEVERITIES)
        else:
            _fail(_key("rules", key), "unknown key (one of disable, severity)")


def _parse_columns(config: Config, columns: dict) -> None:
    for alias, target in columns.items():
        where = f"columns.{quoted(alias)}"
        if not alias.strip():
            _fail(where, "empty header name")
        if not isinstance(target, str) or target not in FIELDS:
            _fail(where, f"{_describe(target)} is not a canonical column")
        config.columns[alias] = target


def _parse_values(config: Config, values: dict) -> None:
    """`[values.<column>]` tables: source value = canonical value, matched trimmed and
    case-insensitively; two source values that differ only in case are an error."""
    for column, table in values.items():
        where = _key("values", column)
        if column not in FIELDS:
            _fail(where, "not a canonical column")
        if FIELD_META[column].get("identifier"):
            _fail(where, "an identifier column: its values cannot be mapped")
        mapping: dict[str, str] = {}
        for source, target in _table(where, table).items():
            key = _key(where, source)
            folded = source.strip().lower()
            if not folded:
                _fail(key, "empty source value")
            if not isinstance(target, str) or not target.strip():
                _fail(key, f"expected a non-empty string, got {_describe(target)}")
            if folded in mapping:
                _fail(key, "given twice (source values are matched case-insensitively)")
            mapping[folded] = target.strip()
        config.values[column] = mapping


def parse_config(
    data: dict, source: str | None = None, rule_codes: set[str] | None = None
) -> Config:
    """Build a Config from a parsed TOML document, rejecting unknown keys, wrong types and
    out-of-range numbers with a ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"config {source or '(data)'}: expected a document of tables")
    config = Config(source=source)
    for key in data:
        if key not in SECTIONS:
            _fail(_key("", key), f"unknown section (one of {', '.join(SECTIONS)})")
    sections = {name: _table(name, data.get(name, {})) for name in SECTIONS}
    _parse_policy(config, sections["policy"])
    _parse_payers(config, sections["payer"], sections["payer_id"])
    _parse_rules(config, sections["rules"], rule_codes)
    _parse_columns(config, sections["columns"])
    _parse_values(config, sections["values"])
    return config


# -- reading the file ------------------------------------------------------------------------

_FILE_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, for a message: "a directory", "a FIFO" ..."""
    return next((name for test, name in _FILE_KINDS.items() if test(mode)), "not a file")


def read_config_text(path: Path) -> str:
    """The text of a config file, checked to be a readable regular file (stat before opening,
    so a FIFO or a device never blocks the run) of at most MAX_CONFIG_BYTES."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"config {path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"config {path}: not a regular file ({file_kind(info.st_mode)})")
    try:
        # O_NONBLOCK: should the path become a FIFO after the stat, opening it does not hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fh.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"config {path}: not a regular file ({file_kind(mode)})")
        try:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"config {path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config {path}: larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {path}: not UTF-8 text (byte {exc.start})") from None


_HEADER = re.compile(r"\s*\[\[?\s*([^\]\[#=]+?)\s*\]")
_ASSIGN = re.compile(r"\s*([^=\[\]{}#]+?)\s*=")
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
_LONG_DIGITS = re.compile(r"[0-9_]{4000,}")
_DEEP = 32  # brackets open at once beyond which a value counts as too deeply nested


def _line_keys(text: str) -> list[tuple[str | None, int]]:
    """Per line of a TOML text: the key whose value the line belongs to (`table.key`) and the
    brackets open on it at most. A line-based estimate, only used to name the key in the
    message when the TOML parser itself gives up (tomllib recurses per nesting level)."""
    table, key, depth, out = "", None, 0, []
    for line in text.splitlines():
        code = _STRINGS.sub('""', line).split("#", 1)[0]
        if depth == 0:
            header, assign = _HEADER.match(code), _ASSIGN.match(code)
            if header and not assign:
                table, key = header.group(1).strip(), None
                out.append((table, 0))
                continue
            if assign:
                name = assign.group(1).strip()
                key = f"{table}.{name}" if table else name
                code = code[assign.end() :]
        opened = depth + code.count("[") + code.count("{")
        out.append((key, opened))
        depth = max(0, opened - code.count("]") - code.count("}"))
    return out


def deeply_nested_key(text: str) -> str | None:
    """The key whose value nests deepest, when it nests deeper than anything sane."""
    lines = _line_keys(text)
    key, depth = max(lines, key=lambda kd: kd[1], default=(None, 0))
    return key if depth >= _DEEP else None


def long_number_key(text: str) -> str | None:
    """The key of the first number too long for Python's int parsing (over 4300 digits)."""
    lines = text.splitlines()
    hit = next((i for i, line in enumerate(lines) if _LONG_DIGITS.search(line)), None)
    return None if hit is None else _line_keys(text)[hit][0]


def load_config(path: Path | str | None, rule_codes: set[str] | None = None) -> Config:
    """Read and check `audit.toml`; None gives the SPEC defaults."""
    if path is None:
        return Config()
    path = Path(path)
    text = read_config_text(path)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        key = deeply_nested_key(text)
        where = f"config key {key}" if key else f"config {path}"
        raise ConfigError(f"{where}: value nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"config {path}: not valid TOML ({reason})") from None
    except ValueError:  # an integer beyond Python's digit limit for int()
        key = long_number_key(text)
        where = f"config key {key}" if key else f"config {path}"
        raise ConfigError(f"{where}: number too long") from None
    return parse_config(data, source=str(path), rule_codes=rule_codes)
