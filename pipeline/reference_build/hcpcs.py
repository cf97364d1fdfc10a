"""The HCPCS Level II alpha-numeric file (zip, as CMS publishes it) -> `hcpcs` and `modifiers`.

The fixed-width `.txt` member is read with the field positions stated in the record layout member
(`HCPCyyyy_recordlayout.txt`), so a moved field is followed, and a renamed one stops the build.
RECID 3 starts a procedure code, 7 a modifier; 4 and 8 continue their long descriptor. Lines
shorter or longer than 320 bytes (the 546-byte G9871 line, the blank last record) are sliced alike.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from claims_audit.errors import ReferenceBuildError
from claims_audit.parsing import parse_dates
from claims_audit.reference_build.dosage import (
    descriptor_dosage,
    descriptor_threshold,
    parse_dosage,
)
from claims_audit.reference_build.sources import Source, describe

PRODUCT = "HCPCS Level II alpha-numeric file"

# record layout field title -> our name
LAYOUT_FIELDS = {
    "Healthcare Common Procedure Coding System Code": "code",
    "HCPCS Modifier Code": "modifier",
    "HCPCS Sequence Number": "seq",
    "HCPCS Record Identification Code": "recid",
    "HCPCS Long Description": "long_description",
    "HCPCS Short Description": "short_description",
    "HCPCS Code Added Date": "add_date",
    "HCPCS Action Effective Date": "effective_date",
    "HCPCS Termination Date": "termination_date",
}
RECID_PROCEDURE, RECID_PROCEDURE_MORE, RECID_MODIFIER, RECID_MODIFIER_MORE = "3", "4", "7", "8"


@dataclass
class HcpcsFile:
    """What the zip holds, parsed: procedure codes, modifiers and the CMS NOC code list."""

    source: Source
    procedures: pd.DataFrame
    modifiers: pd.DataFrame
    noc_codes: frozenset[str] | None  # None when the zip has no NOC list member


def _member(names: list[str], pattern: str, path: Path, what: str, required: bool = True):
    found = [n for n in names if re.search(pattern, n.rsplit("/", 1)[-1], flags=re.IGNORECASE)]
    if len(found) > 1:
        raise ReferenceBuildError(f"{path}: more than one {what} member: {', '.join(found)}")
    if not found and required:
        raise ReferenceBuildError(
            f"{path}: no {what} member in the zip (members: {', '.join(names)})"
        )
    return found[0] if found else None


def layout_positions(layout: str, path: Path) -> dict[str, tuple[int, int]]:
    """0-based [start, end) slice of each field in LAYOUT_FIELDS, read from the record layout text.

    A field is its numbered title line (`  27.  HCPCS Code Added Date`) followed by a line holding
    length, begin and end positions (`8    269    276    NUM`).
    """
    found: dict[str, tuple[int, int]] = {}
    pattern = re.compile(
        r"^\s*\d+\.\s+(?P<title>.+?)\s*(?:CHAR|NUM|GRP)?\s*\n\s*(?P<len>\d+)\s+(?P<beg>\d+)\s+(?P<end>\d+)",
        flags=re.MULTILINE,
    )
    for m in pattern.finditer(layout):
        title = re.sub(r"\s+", " ", m["title"])
        if title in LAYOUT_FIELDS and LAYOUT_FIELDS[title] not in found:
            found[LAYOUT_FIELDS[title]] = (int(m["beg"]) - 1, int(m["end"]))
    missing = [t for t, n in LAYOUT_FIELDS.items() if n not in found]
    if missing:
        raise ReferenceBuildError(
            f"{path}: the record layout does not describe field(s) {', '.join(map(repr, missing))}"
        )
    return found


def _records(text: str, positions: dict[str, tuple[int, int]], path: Path) -> pd.DataFrame:
    lines = pd.Series(re.split(r"\r?\n", text), dtype="string")
    lines = lines[lines.str.strip() != ""]  # the blank last record, a trailing newline
    df = pd.DataFrame({name: lines.str.slice(a, b) for name, (a, b) in positions.items()})
    df["line"] = lines.index + 1
    df["recid"] = df["recid"].str.strip()
    bad = ~df["recid"].isin(
        [RECID_PROCEDURE, RECID_PROCEDURE_MORE, RECID_MODIFIER, RECID_MODIFIER_MORE]
    )
    if bad.any():
        first = df[bad].iloc[0]
        raise ReferenceBuildError(
            f"{path}: line {first['line']}: record identification {first['recid']!r} is not "
            f"3, 4, 7 or 8 ({int(bad.sum())} such line(s)); has the record layout changed?"
        )
    df["long_description"] = df["long_description"].str.rstrip()
    return df


def _join_descriptions(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """One row per code (RECID 3/7) with its long descriptor continued over RECID 4/8 records."""
    df = df.sort_values(["code", "seq"], kind="mergesort")
    starts = df["recid"].isin([RECID_PROCEDURE, RECID_MODIFIER])
    # a code's first record, and only that one, is RECID 3/7; its continuations follow
    misplaced = starts != ~df["code"].duplicated()
    if misplaced.any():
        line = df.loc[misplaced, "line"].iloc[0]
        raise ReferenceBuildError(
            f"{path}: line {line}: a code must have exactly one first record (RECID 3 or 7), "
            f"followed by its continuation records (RECID 4 or 8)"
        )
    pieces = df["long_description"].where(starts, " " + df["long_description"]).astype(object)
    long = pieces.groupby(df["code"], sort=False).sum().astype("string").str.strip()
    out = df[starts].set_index("code")
    out["long_description"] = long
    return out.reset_index()


def _dates(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = df[column].str.strip().replace("", pd.NA)
    value = parse_dates(text)
    bad = text.notna() & value.isna()
    if bad.any():
        first = df[bad].iloc[0]
        raise ReferenceBuildError(
            f"{path}: line {first['line']}: {column} {first[column]!r} is not a YYYYMMDD date"
        )
    return value


def _noc_codes(data: bytes, path: Path, member: str) -> frozenset[str]:
    try:
        rows = list(
            load_workbook(io.BytesIO(data), read_only=True)
            .worksheets[0]
            .iter_rows(values_only=True)
        )
    except Exception as exc:  # openpyxl raises many kinds on a broken workbook
        raise ReferenceBuildError(
            f"{path}: member {member}: not a readable workbook ({exc})"
        ) from None
    header = next(
        (i for i, r in enumerate(rows) if any(str(c).strip().upper() == "HCPCS" for c in r if c)),
        None,
    )
    if header is None:
        raise ReferenceBuildError(f"{path}: member {member}: no 'HCPCS' column header found")
    col = next(j for j, c in enumerate(rows[header]) if c and str(c).strip().upper() == "HCPCS")
    codes = pd.Series([r[col] for r in rows[header + 1 :] if len(r) > col], dtype="string")
    codes = codes.str.strip().str.upper()
    return frozenset(codes[codes.str.fullmatch(r"[A-Z0-9]{5}").fillna(False)])


def read_hcpcs_zip(path: Path) -> HcpcsFile:
    """Parse the HCPCS zip. Raises ReferenceBuildError when it is not a readable CMS HCPCS zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            data_name = _member(
                names, r"^hcpc\d{4}(?!.*layout).*\.txt$", path, "fixed-width HCPCS data (.txt)"
            )
            layout_name = _member(names, r"recordlayout.*\.txt$", path, "record layout")
            noc_name = _member(names, r"^noc.*\.xlsx$", path, "NOC code list", required=False)
            data = zf.read(data_name).decode("cp1252")
            layout = zf.read(layout_name).decode("cp1252")
            noc = zf.read(noc_name) if noc_name else None
    except FileNotFoundError:
        raise ReferenceBuildError(f"{path}: file not found") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError) as exc:
        raise ReferenceBuildError(f"{path}: not a readable HCPCS zip file ({exc})") from None

    source = describe(path, PRODUCT, names=tuple(names))
    positions = layout_positions(layout, path / layout_name)
    records = _join_descriptions(_records(data, positions, path / data_name), path / data_name)
    for column in ("add_date", "effective_date", "termination_date"):
        records[column] = _dates(records, column, path / data_name)
    records["short_description"] = records["short_description"].str.strip().replace("", pd.NA)
    is_modifier = records["recid"] == RECID_MODIFIER
    procedures = records[~is_modifier].rename(columns={"code": "hcpcs_code"})
    modifiers = records[is_modifier].assign(modifier=records["modifier"].str.strip())
    modifiers = modifiers.rename(columns={"long_description": "description"})
    return HcpcsFile(
        source=source,
        procedures=procedures[
            [
                "hcpcs_code",
                "short_description",
                "long_description",
                "add_date",
                "effective_date",
                "termination_date",
            ]
        ].reset_index(drop=True),
        modifiers=modifiers[
            ["modifier", "description", "add_date", "termination_date"]
        ].reset_index(drop=True),
        noc_codes=_noc_codes(noc, path, noc_name) if noc is not None else None,
    )


def hcpcs_table(
    hcpcs: HcpcsFile, pricing: pd.DataFrame, pricing_source: Source
) -> tuple[pd.DataFrame, dict]:
    """The `hcpcs` table: procedure codes with their NOC flag and billing unit, plus counts.

    Billing unit: the ASP file's dosage column is CMS's machine-readable statement of it, so a
    code listed there takes it from there (parsed, or left NA when it is not an amount, e.g.
    `PER DOSE`); only a code absent from the ASP file falls back to the dosage segment of its
    long descriptor (`..., per 10 mg`, `..., 3 million units`). `billing_unit_text` keeps the
    text that was read.

    A descriptor that states a threshold instead of an amount per unit (J1560 `..., over 10 cc`:
    one unit at any volume above 10 cc) wins over the ASP text (`10 CC` for J1560): the billing
    unit is left empty, so the unit rules, which divide a dose by the billing-unit amount, report
    such lines as not evaluated (no billing unit) instead of expecting one unit per 10 mL, and
    `billing_unit_text` holds the descriptor's phrase (`over 10 cc`) to say why.

    `is_noc`: membership in CMS's own NOC code list (the `NOC codes_<MON><YYYY>.xlsx` member of
    the zip, 166 codes in January 2026). Descriptor words are a poor proxy: "not otherwise
    specified" also marks named-drug codes such as J0131 (acetaminophen, NOS, 10 mg) that CMS does
    not list, and several listed codes say "miscellaneous" or "unlisted" instead. Only when the
    zip has no NOC list do the words "not otherwise classified", "unclassified" or "NOC" decide,
    and the manifest's stats say so.

    Stats: `hcpcs_billing_unit_unparsed` counts the drug codes (listed in the ASP file, or J
    codes) left without a billing unit because no text could be read as one amount;
    `..._unparsed_codes` lists them. `hcpcs_billing_unit_not_per_amount(_codes)` counts (lists)
    the drug codes left without one on purpose (a threshold descriptor).
    """
    codes = hcpcs.procedures.copy()
    asp = pricing.set_index("hcpcs_code")["dosage_text"]
    asp_text = codes["hcpcs_code"].map(asp).astype("string")
    in_asp = asp_text.notna()
    phrase = descriptor_dosage(codes["long_description"])
    threshold = descriptor_threshold(codes["long_description"])
    not_per_amount = threshold.notna()
    text = asp_text.where(in_asp, phrase).where(~not_per_amount, threshold)
    unit = parse_dosage(text.where(~not_per_amount))
    codes["billing_unit_amount"] = unit["billing_unit_amount"]
    codes["billing_unit"] = unit["billing_unit"]
    codes["billing_unit_text"] = text
    if hcpcs.noc_codes is not None:
        codes["is_noc"] = codes["hcpcs_code"].isin(hcpcs.noc_codes)
        noc_from = "cms_noc_list"
    else:
        codes["is_noc"] = (
            codes["long_description"]
            .str.contains(r"not otherwise classified|unclassified|\bnoc\b", case=False, regex=True)
            .fillna(False)
            .astype(bool)
        )
        noc_from = "descriptor"
    codes["source"] = hcpcs.source.label
    codes.loc[in_asp, "source"] = f"{hcpcs.source.label}; billing unit: {pricing_source.label}"
    parsed = codes["billing_unit"].notna()
    drug = in_asp | codes["hcpcs_code"].str.startswith("J")
    unparsed = drug & ~parsed & ~not_per_amount
    stats = {
        "hcpcs_codes_with_asp_dosage": int(in_asp.sum()),
        "hcpcs_billing_unit_from_asp": int((parsed & in_asp).sum()),
        "hcpcs_billing_unit_from_descriptor": int((parsed & ~in_asp).sum()),
        "hcpcs_billing_unit_unparsed": int(unparsed.sum()),
        "hcpcs_billing_unit_unparsed_asp": int((in_asp & unparsed).sum()),
        "hcpcs_billing_unit_unparsed_codes": sorted(codes.loc[unparsed, "hcpcs_code"]),
        "hcpcs_billing_unit_not_per_amount": int((drug & not_per_amount).sum()),
        "hcpcs_billing_unit_not_per_amount_codes": sorted(
            codes.loc[drug & not_per_amount, "hcpcs_code"]
        ),
        "hcpcs_noc_codes": int(codes["is_noc"].sum()),
        "hcpcs_noc_from": noc_from,
    }
    return codes, stats


def modifiers_table(hcpcs: HcpcsFile, cpt_modifiers: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """HCPCS Level II modifiers (RECID 7) plus the curated CPT modifiers (25, 59, ...).

    Where both list a modifier (XE, RT, ... are Level II), the CMS file wins.
    """
    cms = hcpcs.modifiers.assign(source=hcpcs.source.label)
    superseded = cpt_modifiers["modifier"].isin(cms["modifier"])
    curated = cpt_modifiers.loc[~superseded, list(cms.columns)].astype(cms.dtypes.to_dict())
    table = pd.concat([cms, curated], ignore_index=True)
    stats = {
        "modifiers_from_hcpcs": len(cms),
        "modifiers_from_curated": int((~superseded).sum()),
        "modifiers_curated_superseded_by_hcpcs": sorted(cpt_modifiers.loc[superseded, "modifier"]),
    }
    return table, stats
