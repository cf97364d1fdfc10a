"""Diagnosis rules: a diagnosis is present, is a valid billable ICD-10-CM code, and supports
the drug where curated indications exist."""

from __future__ import annotations

import os
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from claims_audit.columns import (
    TEXT,
    as_category,
    combination_rows,
    distinct_combinations,
    is_categorical,
    joined_per_label,
)
from claims_audit.parsing import split_codes
from claims_audit.rules.common import (
    NO_POLICY,
    OUTSIDE_REFERENCE_PERIOD,
    RuleContext,
    drug_policy,
    join_text,
)
from claims_audit.rules.registry import Flags, rule

# The ICD-10-CM release the installed simple-icd-10-cm library ships, and the dates D002 judges:
# simple-icd-10-cm 1.5.0 ("the default ICD-10-CM release of the library is now the April 2026
# release", release notes in its METADATA) loads `data/icd10c-tabular-April-1-2026.xml`
# (`<version>2026</version>`) and `data/code-list-April-2026.txt`: the CDC's FY2026 ICD-10-CM
# tables as updated April 1, 2026. Fiscal year 2026 runs 2025-10-01 to 2026-09-30 (SPEC 5: the
# release's fiscal year must contain the date of service). See `check_icd10cm_release`.
ICD10CM_RELEASE: dict[str, str] = {
    "release": "FY2026 (April 1, 2026 update; simple-icd-10-cm 1.5.0)",
    "valid_from": "2025-10-01",
    "valid_to": "2026-09-30",
}
ICD10CM_DATA_FILE = "icd10c-tabular-April-1-2026.xml"  # what the release above was read from


def diagnoses_long(lines: pd.DataFrame) -> pd.Series:
    """One row per (line, diagnosis code), indexed by the line's index."""
    long = split_codes(lines["diagnosis_codes"]).stack().reset_index(level=1, drop=True)
    return long[long.notna()].astype(TEXT)


def check_icd10cm_release() -> str:
    """The tabular file the installed library loads; raises if it is not the one
    `ICD10CM_RELEASE` describes (a library upgrade must update the release and its dates)."""
    import importlib.util

    spec = importlib.util.find_spec("simple_icd_10_cm")
    data = Path(spec.origin).parent / "data"
    if not (data / ICD10CM_DATA_FILE).exists():
        found = sorted(p.name for p in data.glob("*.xml"))
        raise RuntimeError(f"simple-icd-10-cm ships {found}, not {ICD10CM_DATA_FILE}")
    return ICD10CM_DATA_FILE


def in_icd10cm_release(dates: pd.Series) -> pd.Series:
    """True where the date of service falls inside the fiscal year of `ICD10CM_RELEASE`."""
    start = np.datetime64(ICD10CM_RELEASE["valid_from"], "ns")
    end = np.datetime64(ICD10CM_RELEASE["valid_to"], "ns")
    days = dates.to_numpy(dtype="datetime64[ns]")  # NaT compares False
    return pd.Series((days >= start) & (days <= end), index=dates.index)


def _cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "claims-audit" / f"icd10cm-billable-{version('simple-icd-10-cm')}.txt"


@cache
def billable_icd10_codes() -> frozenset[str]:
    """Every billable (leaf) ICD-10-CM code, without dots, from the simple-icd-10-cm tables.

    Loading the library parses its full tabular XML (seconds); the derived code set is cached
    on disk per library version, so later runs read a small text file instead.
    """
    path = _cache_file()
    try:
        return frozenset(path.read_text(encoding="ascii").split())
    except OSError:
        pass
    import simple_icd_10_cm as icd  # slow import: only when the cache is cold

    codes = sorted(c for c in icd.get_all_codes(False) if icd.is_leaf(c))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text("\n".join(codes), encoding="ascii")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the next run the slow path
    return frozenset(codes)


@cache
def _billable_index() -> pd.Index:
    """The billable codes as an Index: its hash table is built on the first lookup only."""
    return pd.Index(sorted(billable_icd10_codes()), dtype=object)


def billable(codes: pd.Series) -> pd.Series:
    """True where a code (no dot) is a valid billable ICD-10-CM code."""
    found = _billable_index().get_indexer(codes.astype(object)) >= 0
    return pd.Series(found, index=codes.index)


@rule(
    "D001",
    "diagnosis-missing",
    "diagnosis",
    "error",
    "CMS-1500 item 21 / UB-04 FL 67: ICD-10-CM diagnosis required on every claim line",
)
def diagnosis_missing(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: the line has no diagnosis code.
    Why it matters: every drug line needs a diagnosis that shows medical necessity; without one
    the line is returned unprocessable.
    Example: J9035 billed with an empty diagnosis_codes field.
    Fix: report the ICD-10-CM code(s) documented for the administration.
    """
    return Flags(
        mask=lines["diagnosis_codes"].isna(),
        expected="ICD-10-CM code",
        message=lambda r: join_text(r["hcpcs_code"], " line has no diagnosis code"),
    )


@rule(
    "D002",
    "diagnosis-invalid",
    "diagnosis",
    "error",
    "CDC/CMS ICD-10-CM code set, FY2026 April 1, 2026 update (via the simple-icd-10-cm 1.5.0 "
    "library): billable codes only",
)
def diagnosis_invalid(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: a diagnosis code that is not a valid, billable ICD-10-CM code (a category
    header such as E11, or a code that does not exist) in the release the audit uses (FY2026,
    April 1, 2026 update; `ICD10CM_RELEASE`, recorded in the summary). ICD-10-CM changes every
    October 1 (and some years April 1): a code is billable only on dates inside the release that
    lists it, so the rule judges only lines whose date of service falls inside that release's
    fiscal year (2025-10-01 to 2026-09-30); others are not evaluated
    (outside_reference_period), never a finding. The code set is the fiscal year's as of its
    April 1 update, used for the whole fiscal year (SPEC section 5): a code the update added is
    accepted from October 1 (a missed finding at worst). Lines without a diagnosis are D001's.
    Why it matters: claims with invalid or non-billable (truncated) diagnosis codes are rejected
    (the Medicare editors check the code against the release in effect on the date of service).
    Example: `E11` is a category; a billable code needs more characters (E11.9). M54.5 was
    billable until 2021-09-30: a 2021 line with it is outside the release, not a finding.
    Fix: code to the highest specificity documented (a leaf code of the ICD-10-CM tabular list).
    """

    ids, lists, long = diagnosis_lists(lines, ctx)
    invalid = joined_per_label(long[~billable(long)], lists.index, " ")
    listed = combination_rows(invalid.astype(object), ids, lines.index)  # read where evaluated
    applicable = lines["diagnosis_codes"].notna()
    evaluated = applicable & in_icd10cm_release(lines["service_date"])
    return Flags(
        mask=listed.notna() & evaluated,
        applicable=applicable,
        evaluated=evaluated,
        reason=OUTSIDE_REFERENCE_PERIOD,
        observed=listed,
        message=lambda r: join_text(
            "diagnosis ",
            r.pick(listed).astype(TEXT),
            " is not a valid billable ICD-10-CM code (release ",
            ICD10CM_RELEASE["release"].split(" (")[0],
            ")",
        ),
    )


def distinct_lists(values: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """`distinct_combinations` of one column: each row's list id and one row per id (text).
    For a categorical of text, the ids are its codes (NA first) and the rows its categories, unused
    ones included: no hashing of the rows."""
    if not is_categorical(values) or not pd.api.types.is_object_dtype(values.cat.categories):
        return distinct_combinations(values.to_frame(), [values.name])
    text = pd.Series(values.cat.categories).astype("string")
    lists = pd.concat([pd.Series([pd.NA], dtype="string"), text], ignore_index=True)
    return values.array.codes.astype(np.int64) + 1, lists.to_frame(values.name)


def diagnosis_lists(lines: pd.DataFrame, ctx: RuleContext) -> tuple:
    """Each line's diagnosis-list id, the distinct lists (one row per id) and their codes
    (`diagnoses_long` of the lists, indexed by list id): split once for D002 and D003."""

    def split() -> tuple:
        if lines.empty:
            return np.zeros(0, dtype=np.int64), lines[["diagnosis_codes"]], pd.Series(dtype=TEXT)
        ids, lists = distinct_lists(lines["diagnosis_codes"])
        return ids, lists, diagnoses_long(lists)

    return ctx.shared(lines, ("diagnosis_lists",), split)


def any_prefix_matches(
    lists: np.ndarray, kinds: np.ndarray, codes: pd.Series, prefixes: pd.Series
) -> np.ndarray:
    """Per pair k of (diagnosis list `lists[k]`, indications `kinds[k]`): one of the list's
    codes (`codes`, indexed by list id) starts with one of the prefixes (`prefixes`, indexed
    by the indications' id first)."""
    pairs = pd.DataFrame({"pair": np.arange(len(lists)), "list": lists, "kind": kinds})
    with_codes = pairs.merge(
        pd.DataFrame({"list": codes.index.to_numpy(), "dx": codes.to_numpy(dtype=str)})
    )
    prefix = pd.DataFrame(
        {
            "kind": prefixes.index.get_level_values(0).to_numpy(),
            "prefix": prefixes.to_numpy(dtype=str),
        }
    )
    both = with_codes.merge(prefix)
    hit = np.char.startswith(both["dx"].to_numpy(dtype=str), both["prefix"].to_numpy(dtype=str))
    return np.bincount(both["pair"].to_numpy()[hit], minlength=len(lists)) > 0


@rule(
    "D003",
    "diagnosis-not-supported",
    "diagnosis",
    "warning",
    "Curated indications table (reference/drug_policy.csv), each row citing the FDA label",
)
def diagnosis_not_supported(lines: pd.DataFrame, ctx: RuleContext) -> Flags:
    """What it checks: curated indications (ICD-10-CM prefixes) exist for the code (or its NDC)
    and none of the line's diagnoses starts with one of them. Without a curated row, or
    without any diagnosis (D001), the rule does not fire.
    Why it matters: a drug given for an unlabelled indication is a medical-necessity denial
    risk; payers' coverage policies list the supporting diagnoses.
    Example: Prolia (J0897, NDC 55513-0710-01) with only diagnosis I10 (hypertension).
    Fix: check the record for the indication treated and report its diagnosis code; if the use
    is off-label, attach the payer's required documentation.
    """
    indications = as_category(drug_policy(lines, ctx, "indications"))
    applicable = lines["diagnosis_codes"].notna()
    evaluable = (indications.notna() & applicable).to_numpy(dtype=bool)
    at = np.flatnonzero(evaluable)
    ids, _, long = diagnosis_lists(lines, ctx)
    kinds = len(indications.cat.categories)
    pair, keys = pd.factorize(ids[at] * kinds + indications.array.codes[at])
    prefixes = split_codes(pd.Series(indications.cat.categories.astype("string")))
    unsupported = ~any_prefix_matches(keys // kinds, keys % kinds, long, prefixes.stack())
    mask = np.zeros(len(lines), dtype=bool)
    mask[at] = unsupported[pair]
    return Flags(
        mask=pd.Series(mask, index=lines.index),
        applicable=applicable,
        evaluated=pd.Series(evaluable, index=lines.index),
        reason=NO_POLICY,
        observed=lines["diagnosis_codes"],
        expected=lambda r: r.pick(indications).astype(TEXT),
        message=lambda r: join_text(
            "no diagnosis of ",
            r["diagnosis_codes"],
            " matches the indications of ",
            r["hcpcs_code"],
            " (",
            r.pick(indications).astype(TEXT),
            ")",
        ),
    )
