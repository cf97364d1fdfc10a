"""The rule engine: run every enabled rule over the enriched lines and build the findings table.

A rule judges the lines of its scope: HCPCS Level II lines (`in_scope`), and CPT lines too
(`cpt_in_scope`) for a rule registered with `scope="hcpcs+cpt"`; other lines (CPT codes, void
claims) are counted in the summary, never findings. Of the judged lines, the engine counts per
rule how many it evaluated, how many it does not concern (`not_applicable`) and how many it
could not evaluate, by reason (`not_evaluated`). A finding's id is a stable hash of
(claim_id, line_number, rule_code); its `carc`/`rarc` come from the registry's remittance table
unless the rule gives them per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import ARROW_TEXT, TEXT, arrow_text, as_text, is_categorical
from claims_audit.rules import effective_rules
from claims_audit.rules.common import (
    RuleContext,
    fmt_date,
    fmt_num,
    number_text,
    packed_order,
)
from claims_audit.rules.registry import MISSING_INPUT, Flags, Remittance

FINDING_COLUMNS = [
    "finding_id",
    "claim_id",
    "line_number",
    "rule_code",
    "rule_name",
    "severity",
    "category",
    "carc",
    "rarc",
    "message",
    "hcpcs_code",
    "observed",
    "expected",
    "units_delta",
    "impact_usd",
    "citation",
]
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class RuleRun:
    """Sorted findings and, per rule code, the coverage of the judged lines:
    `{"evaluated": n, "not_applicable": n, "not_evaluated": {reason: n}}`."""

    findings: pd.DataFrame
    coverage: dict[str, dict] = field(default_factory=dict)

    @property
    def not_evaluated(self) -> dict[str, int]:
        """Lines not evaluated per rule, all reasons together."""
        return not_evaluated_totals(self.coverage)


def not_evaluated_totals(coverage: dict[str, dict]) -> dict[str, int]:
    return {code: sum(c["not_evaluated"].values()) for code, c in coverage.items()}


def merge_coverage(parts: Iterable[dict[str, dict]]) -> dict[str, dict]:
    """The coverage of several batches added up, rules in code order, reasons sorted."""
    merged: dict[str, dict] = {}
    for part in parts:
        for code, c in part.items():
            into = merged.setdefault(
                code, {"evaluated": 0, "not_applicable": 0, "not_evaluated": {}}
            )
            into["evaluated"] += c["evaluated"]
            into["not_applicable"] += c["not_applicable"]
            for reason, n in c["not_evaluated"].items():
                into["not_evaluated"][reason] = into["not_evaluated"].get(reason, 0) + n
    return {
        code: {**c, "not_evaluated": dict(sorted(c["not_evaluated"].items()))}
        for code, c in sorted(merged.items())
    }


# byte -> its two lowercase hex digits, in memory order (a uint16 read as two ASCII bytes)
_HEX_PAIRS = np.frombuffer(b"".join(f"{b:02x}".encode() for b in range(256)), dtype="<u2").copy()


def hex_text(hashed: np.ndarray) -> pa.Array:
    """64-bit hashes as 16 lowercase hex digits each (Arrow text, most significant first):
    two digits per byte from a 256-entry table, the text buffer built without Python strings."""
    n = len(hashed)
    data = _HEX_PAIRS[hashed.astype(">u8").view(np.uint8)]  # 8 bytes a hash, big-endian
    offsets = np.arange(0, 16 * (n + 1), 16, dtype=np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(ARROW_TEXT, n, buffers)


def finding_ids(claim_id: pd.Series, line_number: pd.Series, rule_code: pd.Series) -> pd.Series:
    """Stable 16-hex-digit id from (claim_id, line_number, rule_code), vectorised: the pandas
    hash of the three. A categorical `rule_code` is hashed once per code; claim ids, nearly all
    distinct, are hashed as they are (a hash of the categories taken by code is the same hash,
    NA apart: with NA they are factorised, as pandas does by default)."""
    claims = claim_id.astype(object)
    missing = arrow_text(claim_id).null_count > 0  # from the Arrow validity bits: no object scan
    key = pd.DataFrame(
        {
            "claim_id": claims.to_numpy(),
            "line_number": np.asarray(line_number, dtype="int64"),
            "rule_code": rule_code.array if is_categorical(rule_code) else rule_code.astype(object),
        }
    )
    hashed = pd.util.hash_pandas_object(
        key, index=False, hash_key="claims-audit-v01", categorize=missing
    )
    return pd.Series(hex_text(hashed.to_numpy()), index=claim_id.index, dtype=TEXT)


def _bool(values) -> np.ndarray:
    """A mask as a plain numpy bool array (NA counts as False)."""
    if isinstance(values, pd.Series) and values.dtype == np.bool_:
        return values.to_numpy()
    if isinstance(values, pd.Series):
        return (
            values.fillna(False).to_numpy(dtype=bool)
            if values.hasnans
            else values.to_numpy(dtype=bool)
        )
    return np.asarray(values, dtype=bool)


class FlaggedRows:
    """The flagged rows of the lines, read column by column as text (categoricals and objects
    converted on first access only): what a rule's message and value callables receive."""

    def __init__(self, lines: pd.DataFrame, positions: np.ndarray, decoded: dict | None = None):
        self._lines, self.positions = lines, positions
        self.index = lines.index[positions]
        self._cache: dict[str, pd.Series] = {}
        # per categories object: it (kept alive, so that its id is not reused) and its values
        # as Arrow text (None: not text), shared by the rules of one run
        self._decoded = {} if decoded is None else decoded

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._cache:
            col = self._lines[name]
            values = self._decoded_rows(col)
            if values is None:
                values = pd.Series(col.array.take(self.positions), index=self.index, name=name)
                if is_categorical(values) or values.dtype == object:
                    values = as_text(values)
            self._cache[name] = values
        return self._cache[name]

    def _decoded_rows(self, col: pd.Series) -> pd.Series | None:
        """The rows' entries of a categorical as TEXT (what `as_text` gives), its categories
        decoded once per run; None when `col` is not a categorical of text."""
        categories = self._text_categories(col.cat.categories) if is_categorical(col) else None
        if categories is None:
            return None
        codes = col.array.codes[self.positions]
        taken = categories.take(pa.array(codes, mask=codes < 0))
        return pd.Series(taken, index=self.index, dtype=TEXT, name=col.name)

    def _text_categories(self, categories: pd.Index) -> pa.Array | None:
        """Categories as Arrow text when they are text (as `as_text` decodes them)."""
        key = id(categories)
        if key not in self._decoded:
            text = None
            if pd.api.types.is_object_dtype(categories):
                cats = pd.Series(categories)
                if pd.api.types.infer_dtype(cats, skipna=True) == "string":
                    text = arrow_text(cats)
            self._decoded[key] = (categories, text)
        return self._decoded[key][1]

    def pick(self, values: pd.Series) -> pd.Series:
        """The flagged rows' entries of a full-length Series computed by the rule (a
        categorical of text as TEXT)."""
        decoded = self._decoded_rows(values)
        if decoded is not None:
            return decoded
        return pd.Series(values.array.take(self.positions), index=self.index, name=values.name)

    def __len__(self) -> int:
        return len(self.positions)


def _constant(value: str | None, n: int) -> pa.Array:
    """`n` times one text (null for None) as Arrow text."""
    if value is None:
        return pa.nulls(n, ARROW_TEXT)
    return pa.repeat(pa.scalar(value, ARROW_TEXT), n)


def _text(spec, rows: FlaggedRows) -> pa.Array:
    """A Flags text field for the flagged rows as Arrow text (a constant without pandas; text
    of the rows, what most messages are, as it is)."""
    if spec is None or isinstance(spec, str):
        return _constant(spec, len(rows))
    if isinstance(spec, pd.Series) and spec.dtype == np.float64:  # numbers: formatted as such
        return number_text(spec.to_numpy()[rows.positions])
    values = _given(spec, rows)
    if isinstance(values, pd.Series) and values.dtype == TEXT and values.index.equals(rows.index):
        return arrow_text(values)
    return arrow_text(_as_kind(values, rows, "text"))


def _numbers(spec, rows: FlaggedRows) -> np.ndarray:
    """A Flags number field for the flagged rows as float64 (NaN where none)."""
    if spec is None:
        return np.full(len(rows), np.nan)
    if isinstance(spec, pd.Series) and spec.dtype == np.float64:
        return spec.to_numpy()[rows.positions]
    return _values(spec, rows, "float64").to_numpy(dtype="float64")


def _given(spec, rows: FlaggedRows):
    """What a Flags field gives the flagged rows: a callable of the rows, or the rows' entries
    of a full-length Series."""
    return spec(rows) if callable(spec) else rows.pick(spec)


def _values(spec, rows: FlaggedRows, kind: str) -> pd.Series:
    """A Flags field (a callable of the rows, or a full-length Series) for the flagged rows."""
    return _as_kind(_given(spec, rows), rows, kind)


def _as_kind(values, rows: FlaggedRows, kind: str) -> pd.Series:
    """The flagged rows' values as float64 or text (numbers and dates are formatted here, on
    the few flagged rows only)."""
    if kind == "float64":
        return pd.Series(values, index=rows.index).astype("float64")
    values = pd.Series(values, index=rows.index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return fmt_num(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        return fmt_date(values)
    return as_text(values)


def judged_lines(lines: pd.DataFrame, scope: str) -> np.ndarray:
    """The lines a rule of `scope` judges: HCPCS lines (`in_scope`), plus CPT lines
    (`cpt_in_scope`, when enrich provides it) for `hcpcs+cpt`."""
    judged = _bool(lines["in_scope"])
    if scope == "hcpcs+cpt" and "cpt_in_scope" in lines:
        judged = judged | _bool(lines["cpt_in_scope"])
    return judged


def _reasons(reason, positions: np.ndarray) -> dict[str, int]:
    """Lines not evaluated by reason: a constant, or the per-line reasons at `positions`
    (NA or empty: `missing_input`)."""
    if not len(positions):
        return {}
    if reason is None or isinstance(reason, str):
        return {reason or MISSING_INPUT: len(positions)}
    reason = pd.Series(reason)
    if isinstance(reason.dtype, pd.CategoricalDtype):  # counted on the integer codes
        counts = np.bincount(reason.array.codes[positions] + 1)
        keys = [None, *reason.cat.categories[: len(counts) - 1]]
        counts = pd.Series(counts, index=pd.Index(keys, dtype=object))
    else:
        counts = pd.Series(reason.array.take(positions)).value_counts(dropna=False)
    out: dict[str, int] = {}
    for key, n in counts[counts > 0].items():
        name = MISSING_INPUT if pd.isna(key) or str(key) == "" else str(key)
        out[name] = out.get(name, 0) + int(n)
    return dict(sorted(out.items()))


def coverage_of(flags: Flags, judged: np.ndarray) -> dict:
    """One rule's coverage of the judged lines: evaluated, not applicable, not evaluated by
    reason (the three add up to the judged lines)."""
    applicable = judged if flags.applicable is None else judged & _bool(flags.applicable)
    evaluated = applicable if flags.evaluated is None else applicable & _bool(flags.evaluated)
    missing = np.flatnonzero(applicable & ~evaluated)
    return {  # applicable lines are judged lines: the rest of the judged are not applicable
        "evaluated": int(np.count_nonzero(evaluated)),
        "not_applicable": int(np.count_nonzero(judged) - np.count_nonzero(applicable)),
        "not_evaluated": _reasons(flags.reason, missing),
    }


def _remittance(spec, default: Remittance, which: str, rows: FlaggedRows) -> pa.Array:
    """The flagged rows' CARC or RARC: the rule's per-line value where it gives one, else the
    registry's (with its claim-type exceptions for the CARC)."""
    code = getattr(default, which) or None
    by_claim_type = default.carc_by_claim_type if which == "carc" else ()
    if spec is None and not by_claim_type:
        return _constant(code, len(rows))
    base = pd.Series(code, index=rows.index, dtype=TEXT)
    if by_claim_type:
        claim_type = rows["claim_type"]
        for kind, carc in by_claim_type:
            base = base.mask((claim_type == kind).fillna(False), carc)
    if spec is not None:
        given = _values(spec, rows, "text")
        base = given.where((given.notna() & (given != "")).fillna(False), base)
    return arrow_text(base)


# the findings' columns that hold one value per rule (from the registry), and those a rule
# gives per flagged line (`Flags`), with their kind
RULE_COLUMNS = {  # finding column: Rule attribute
    "rule_code": "code",
    "rule_name": "name",
    "severity": "severity",
    "category": "category",
    "citation": "citation",
}
LINE_TEXT = ("carc", "rarc", "message", "observed", "expected")
LINE_NUMBERS = {"units_delta": 3, "impact_usd": 2}  # rounded to these decimals


@dataclass
class _Flagged:
    """One rule's findings before they are merged: its position in the rule list, the flagged
    line positions, and its per-line values (Arrow text, or float64 arrays)."""

    rule: int
    positions: np.ndarray
    text: dict[str, pa.Array]
    numbers: dict[str, np.ndarray]


def _flagged(
    k: int, r, flags: Flags, lines: pd.DataFrame, positions: np.ndarray, decoded: dict
) -> _Flagged:
    """The values a rule gives its flagged lines, built for those lines only."""
    rows = FlaggedRows(lines, positions, decoded)
    text = {
        "carc": _remittance(flags.carc, r.remittance, "carc", rows),
        "rarc": _remittance(flags.rarc, r.remittance, "rarc", rows),
        "message": _text(flags.message, rows),
        "observed": _text(flags.observed, rows),
        "expected": _text(flags.expected, rows),
    }
    numbers = {name: _numbers(getattr(flags, name), rows) for name in LINE_NUMBERS}
    return _Flagged(k, positions, text, numbers)


def run_rules(lines: pd.DataFrame, ctx: RuleContext) -> RuleRun:
    """Evaluate every enabled rule; return sorted findings and per-rule coverage counts."""
    rules = effective_rules(ctx.config)
    parts, coverage, judged_by_scope, decoded = [], {}, {}, {}
    with ctx.sharing(lines, ctx.history):  # what several rules derive alike, once
        for k, r in enumerate(rules):
            if r.scope not in judged_by_scope:
                judged_by_scope[r.scope] = judged_lines(lines, r.scope)
            judged = judged_by_scope[r.scope]
            flags = r.func(lines, ctx)
            coverage[r.code] = coverage_of(flags, judged)
            positions = np.flatnonzero(_bool(flags.mask) & judged)
            if len(positions):
                parts.append(_flagged(k, r, flags, lines, positions, decoded))
    return RuleRun(build_findings(lines, rules, parts, decoded), coverage)


def _text_column(values: pa.Array | pa.ChunkedArray, order: np.ndarray) -> pd.Series:
    """Arrow text taken in `order`, as one contiguous TEXT column."""
    taken = values.take(pa.array(order, type=pa.int64()))
    if isinstance(taken, pa.ChunkedArray):
        taken = taken.combine_chunks()
    return pd.Series(taken, dtype=TEXT)


def _claim_codes(lines: pd.DataFrame, positions: np.ndarray) -> np.ndarray | None:
    """The flagged rows' claim codes (`claim_key`, the claim ids factorised by enrich: equal
    ids, equal codes), or None without them."""
    keys = lines.get("claim_key")
    if keys is None or not is_categorical(keys):
        return None
    return keys.array.codes[positions]


def _in_claim_order(claim: pa.Array, codes: np.ndarray) -> bool:
    """The claim ids, sorted by their codes, are sorted as text too: a new code is a greater
    id, the same code the same id (ids in sorted order, as a partition's usually are)."""
    if claim.null_count or len(claim) < 2:
        return not claim.null_count
    head, tail = claim.slice(0, len(claim) - 1), claim.slice(1)
    new = np.diff(codes) != 0
    after = pc.less(head, tail).to_numpy(zero_copy_only=False)
    same = pc.equal(head, tail).to_numpy(zero_copy_only=False)
    return bool(np.array_equal(after, new) and np.array_equal(same, ~new))


def finding_order(lines: pd.DataFrame, positions: np.ndarray, rule: np.ndarray) -> tuple:
    """The findings' order (by claim id as text, line number, rule index; stable) and their
    claim ids and line numbers in that order. Claims are ranked by their integer codes when
    the ids sorted by code are sorted as text (checked), else by an Arrow rank of the text."""
    claim = arrow_text(pd.Series(lines["claim_id"].array.take(positions)))
    line_number = lines["line_number"].to_numpy(dtype="int64")[positions]
    codes = _claim_codes(lines, positions)
    if codes is not None:
        order = packed_order(codes, line_number, rule)
        claim_sorted = claim.take(pa.array(order, type=pa.int64()))
        if _in_claim_order(claim_sorted, codes[order]):
            return order, claim_sorted, line_number[order]
    rank = pc.rank(claim, sort_keys="ascending", tiebreaker="dense").to_numpy()
    order = packed_order(rank, line_number, rule)
    return order, claim.take(pa.array(order, type=pa.int64())), line_number[order]


def build_findings(
    lines: pd.DataFrame, rules: list, parts: list[_Flagged], decoded: dict | None = None
) -> pd.DataFrame:
    """The findings table of the flagged lines of every rule, sorted once by claim, line and
    rule. The rule's own columns are taken from one small table per rule by the rule's index
    (a categorical decoded by Arrow), the line's from the lines by position (`decoded`: the
    text categories `FlaggedRows` decoded)."""
    if not parts:
        return empty_findings()
    positions = np.concatenate([p.positions for p in parts])
    rule = np.concatenate([np.full(len(p.positions), p.rule, dtype=np.int64) for p in parts])
    order, claim, line_number = finding_order(lines, positions, rule)
    out = {"claim_id": pd.Series(claim, dtype=TEXT), "line_number": line_number}
    rule = rule[order]
    for c, attribute in RULE_COLUMNS.items():
        constants = pa.array([getattr(r, attribute) for r in rules], ARROW_TEXT)  # per rule
        out[c] = _text_column(constants, rule)
    for c in LINE_TEXT:
        out[c] = _text_column(pa.chunked_array([p.text[c] for p in parts], ARROW_TEXT), order)
    hcpcs = FlaggedRows(lines, positions[order], decoded)["hcpcs_code"]
    out["hcpcs_code"] = pd.Series(as_text(hcpcs).array)
    for c, decimals in LINE_NUMBERS.items():
        out[c] = np.concatenate([p.numbers[c] for p in parts])[order].round(decimals)
    codes = pd.Categorical.from_codes(rule, categories=[r.code for r in rules])
    out["finding_id"] = finding_ids(out["claim_id"], line_number, pd.Series(codes))
    return pd.DataFrame({c: out[c] for c in FINDING_COLUMNS})


def impact_split(impact: pd.Series | np.ndarray) -> dict[str, float]:
    """Signed impacts as the two totals the reports show, in cents, never `-0.0` (NA left
    out); numpy sums, so a group's slice of an array costs no pandas objects."""
    if isinstance(impact, pd.Series):
        values = impact.to_numpy(dtype="float64", na_value=np.nan)
    else:
        values = np.asarray(impact, dtype="float64")
    return {
        "missed_revenue_usd": round(float(values[values > 0].sum()), 2) + 0.0,
        "overpayment_risk_usd": round(float(-values[values < 0].sum()), 2) + 0.0,
    }


def empty_findings() -> pd.DataFrame:
    findings = pd.DataFrame({c: pd.Series(dtype=TEXT) for c in FINDING_COLUMNS})
    findings["line_number"] = findings["line_number"].astype("int64")
    for c in ("units_delta", "impact_usd"):
        findings[c] = findings[c].astype("float64")
    return findings


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings in report order: by claim, line and rule (one finding per rule and line)."""
    ordered = findings.sort_values(["claim_id", "line_number", "rule_code"], kind="stable")
    return ordered.reset_index(drop=True)


def merge_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The findings of several batches as one table, in report order."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_findings()
    if len(frames) == 1:
        return frames[0]  # run_rules already sorted it
    return sort_findings(pd.concat(frames, ignore_index=True)[FINDING_COLUMNS])
