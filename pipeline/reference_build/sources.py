"""Reading the CMS source files as downloaded: provenance (hash, effective period) and CSV layout.

CMS CSVs are cp1252 text with a title/disclaimer block above the real header row. The header is
found by its column names (matched case-insensitively, whitespace collapsed), never by line number,
so a file handed to the wrong flag fails with one line naming the file and the missing columns.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from claims_audit.errors import ReferenceBuildError
from claims_audit.ingest import file_sha256
from claims_audit.parsing import parse_decimal
from claims_audit.schemas.reference import HCPCS_PATTERN

HEADER_SEARCH_RECORDS = 60  # the header sits below at most a few banner records
NO_VALUE_MARKERS = ["N/A", "NA"]  # what CMS writes in a number column that has no value
MAX_LISTED_FIXES = 50  # per table, in the manifest; the count is always complete

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_MONTH_RE = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"


@dataclass(frozen=True)
class Column:
    """A column a CMS file must have: canonical name, label for messages, header regex."""

    name: str
    label: str
    pattern: str  # full match against the normalised (lower-case, single-spaced) header cell


@dataclass(frozen=True)
class Source:
    """One CMS (or curated) file: what it is, which period it covers, its hash."""

    path: Path
    product: str
    start: date | None
    end: date | None
    sha256: str

    @property
    def quarter(self) -> str | None:
        if self.start is None:
            return None
        return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"

    @property
    def label(self) -> str:
        """The `source` value of every row built from this file: name and quarter."""
        return f"{self.path.name} ({self.quarter})" if self.quarter else self.path.name

    def manifest_entry(self, table: str, rows: int) -> dict:
        return {
            "table": table,
            "file": self.path.name,
            "product": self.product,
            "effective_period": {
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
            },
            "sha256": self.sha256,
            "rows": int(rows),
        }


def _quarter_end(start: date) -> date:
    last_month = ((start.month - 1) // 3) * 3 + 3
    following = date(start.year + (last_month == 12), last_month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def period_from_banner(text: str) -> tuple[date, date] | None:
    """`Effective January 1, 2026 through March 31, 2026` (ASP files) -> (start, end)."""
    m = re.search(
        r"effective\s+([a-z]+\s+\d{1,2},\s*\d{4})\s+through\s+([a-z]+\s+\d{1,2},\s*\d{4})",
        text,
        flags=re.IGNORECASE,
    )
    if not m:
        return None
    try:
        start, end = (
            datetime.strptime(re.sub(r"\s+", " ", g.replace(",", ", ")), "%B %d, %Y").date()
            for g in m.groups()
        )
    except ValueError:
        return None
    return start, end


def period_from_name(name: str) -> tuple[date, date] | None:
    """Quarter a CMS file covers, from its name: `..._Eff_04-01-2026.csv`, `..._2026Q1_...`,
    `january-2026-...zip`, `HCPC2026_JAN_...`, `October 2025 Web Addendum B...`."""
    low = name.lower()
    start = None
    if m := re.search(r"eff[ _-]*(\d{2})-(\d{2})-(\d{4})", low):
        start = date(int(m[3]), int(m[1]), int(m[2]))
    elif m := re.search(r"(?<!\d)(\d{4})q([1-4])(?!\d)", low):
        start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
    elif m := re.search(rf"(?<![a-z]){_MONTH_RE}[ _-]*(\d{{4}})(?!\d)", low):
        start = date(int(m[2]), _MONTHS[m[1]], 1)
    elif m := re.search(rf"(?<!\d)(\d{{4}})[ _-]*{_MONTH_RE}(?![a-z])", low):
        start = date(int(m[1]), _MONTHS[m[2]], 1)
    return (start, _quarter_end(start)) if start else None


def describe(path: Path, product: str, banner: str = "", names: tuple[str, ...] = ()) -> Source:
    """Provenance of a file: effective period from its banner, else from its (member) names."""
    period = period_from_banner(banner)
    for name in (path.name, *names):
        if period:
            break
        period = period_from_name(name)
    if period is None:
        raise ReferenceBuildError(
            f"{path}: cannot tell which period this {product} covers (no 'Effective ... through "
            f"...' line and no date in the file name); keep the name CMS gave it"
        )
    return Source(path, product, period[0], period[1], file_sha256(path))


def _norm(cell: str) -> str:
    return re.sub(r"\s+", " ", cell).strip().lower()


def _find_header(records: list[list[str]], columns: list[Column]) -> tuple[int, list[int]]:
    """Index of the header record and the position of each wanted column in it."""
    best: tuple[int, int, list[int | None]] = (-1, 0, [])
    for i, record in enumerate(records):
        cells = [_norm(c) for c in record]
        where = [
            next((j for j, c in enumerate(cells) if re.fullmatch(col.pattern, c)), None)
            for col in columns
        ]
        hits = sum(w is not None for w in where)
        if hits == len(columns):
            return i, where  # type: ignore[return-value]
        if hits > best[1]:
            best = (i, hits, where)
    return -1, best[2] if best[1] >= max(2, (len(columns) + 1) // 2) else []


def read_cms_csv(path: Path, columns: list[Column], what: str) -> tuple[pd.DataFrame, str]:
    """Read a CMS CSV: locate the header row, return the wanted columns (renamed to their canonical
    names, values stripped, empty -> NA; padding columns and blank rows dropped) and the banner
    text above the header.

    Adds `_row`, the 1-based data row number (for messages and the manifest's list of fixes).
    """
    try:
        text = path.read_bytes().decode("cp1252")
    except OSError as exc:
        raise ReferenceBuildError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ReferenceBuildError(
            f"{path}: not a cp1252 text file (byte {exc.start}); is it the {what} CSV?"
        ) from None
    try:
        head = list(_first_records(text, HEADER_SEARCH_RECORDS))
    except csv.Error as exc:
        raise ReferenceBuildError(f"{path}: not a readable CSV ({exc})") from None
    index, where = _find_header(head, columns)
    wanted = ", ".join(repr(c.label) for c in columns)
    if index < 0:
        if where:
            missing = [c.label for c, w in zip(columns, where, strict=True) if w is None]
            raise ReferenceBuildError(
                f"{path}: the header row of this {what} file lacks column(s) "
                f"{', '.join(repr(m) for m in missing)}"
            )
        raise ReferenceBuildError(
            f"{path}: no header row with columns {wanted} found; is it the {what} CSV?"
        )
    try:
        raw = pd.read_csv(
            io.StringIO(text), skiprows=index, header=0, dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReferenceBuildError(f"{path}: malformed CSV below the header ({exc})") from None
    if [_norm(str(raw.columns[w])) for w in where] != [_norm(head[index][w]) for w in where]:
        raise ReferenceBuildError(f"{path}: the header row could not be read back; malformed CSV")
    df = raw.iloc[:, where].copy()
    df.columns = [c.name for c in columns]
    for name in df.columns:
        df[name] = df[name].str.strip().replace("", pd.NA)
    df.insert(0, "_row", range(1, len(df) + 1))
    df = df[df[[c.name for c in columns]].notna().any(axis=1)]  # blank padding rows
    banner = "\n".join(",".join(r) for r in head[:index])
    return df.reset_index(drop=True), banner


def _first_records(text: str, limit: int):
    for i, record in enumerate(csv.reader(io.StringIO(text))):
        if i >= limit:
            return
        yield record


class Fixes:
    """Explicit record of the source rows the builder dropped or corrected, for the manifest."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: str, source: Path, rows: pd.DataFrame, column: str, action: str) -> None:
        """Record every row of `rows` (which carry `_row` and `column`) with the same action."""
        if rows.empty:
            return
        self.counts[table] = self.counts.get(table, 0) + len(rows)
        listed = self.items.setdefault(table, [])
        room = MAX_LISTED_FIXES - len(listed)
        for row, value in zip(rows["_row"][:room], rows[column][:room], strict=True):
            listed.append(
                {
                    "file": source.name,
                    "row": int(row),
                    "column": column,
                    "value": None if pd.isna(value) else str(value),
                    "action": action,
                }
            )

    def as_dict(self) -> dict:
        return {"counts": dict(sorted(self.counts.items())), "rows": self.items}


def parse_number(
    df: pd.DataFrame, column: str, path: Path, label: str, required: bool = False
) -> pd.Series:
    """Numbers as published (`$3,179.530`, `100,000`) -> float; empty or `N/A` -> NaN.

    A non-empty value that is not a number is a layout change: ReferenceBuildError naming the row.
    """
    text = df[column].astype("string").str.replace(r"[$,\s]", "", regex=True)
    text = text.mask((text.str.upper().isin(NO_VALUE_MARKERS) | (text == "")).fillna(False))
    value = parse_decimal(text)
    bad = text.notna() & value.isna()
    if required:
        bad |= text.isna()
    if bad.any():
        first = df[bad].iloc[0]
        raise ReferenceBuildError(
            f"{path}: data row {first['_row']}: column {label!r} value {first[column]!r} "
            f"is not a number ({int(bad.sum())} such row(s))"
        )
    return value


def clean_codes(
    df: pd.DataFrame, column: str, table: str, source: Path, fixes: Fixes
) -> pd.DataFrame:
    """Upper-case, trimmed HCPCS codes. A stray non-alphanumeric byte (OPPS has `A4341` followed by
    0xFF) is removed and recorded; a value that is still not a code drops its row, recorded too."""
    code = df[column].astype("string").str.upper().str.strip()
    stripped = code.str.replace(r"[^A-Z0-9]", "", regex=True)
    corrected = ((stripped != code) & stripped.str.match(HCPCS_PATTERN)).fillna(False).astype(bool)
    fixes.add(table, source, df[corrected], column, "removed stray characters from the code")
    code = code.mask(corrected, stripped)
    valid = code.str.match(HCPCS_PATTERN).fillna(False).astype(bool)
    fixes.add(table, source, df[~valid], column, "dropped: not a HCPCS/CPT code")
    return df.assign(**{column: code})[valid]
