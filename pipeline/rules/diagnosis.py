"""Diagnosis rules: a diagnosis is present, is a valid billable ICD-10-CM code, and supports
the drug where curated indications exist."""

from __future__ import annotations

import os
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.columns import TEXT, joined_per_label, per_combination
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
    start = pd.Timestamp(ICD10CM_RELEASE["valid_from"])
    end = pd.Timestamp(ICD10CM_RELEASE["valid_to"])
    return ((dates >= start) & (dates <= end)).fillna(False).astype(bool)


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
def _billable_value_set() -> pa.Array:
    return pa.array(sorted(billable_icd10_codes()), pa.string())


def billable(codes: pd.Series) -> pd.Series:
    """True where a code (no dot) is a valid billable ICD-10-CM code."""
    found = pc.is_in(pa.array(codes.astype(TEXT)), value_set=_billable_value_set())
    return pd.Series(found.to_numpy(zero_copy_only=False), index=codes.index)


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
        message=lambda r: r["hcpcs_code"] + " line has no diagnosis code",
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

    def invalid(combos: pd.DataFrame) -> pd.Series:
        long = diagnoses_long(combos)
        bad = long[~billable(long)]
        return joined_per_label(bad, combos.index, " ")

    applicable = lines["diagnosis_codes"].notna()
    evaluated = applicable & in_icd10cm_release(lines["service_date"])
    codes = lines.loc[evaluated, ["diagnosis_codes"]]  # one column: not the whole line
    listed = per_combination(codes, ["diagnosis_codes"], invalid).reindex(lines.index)
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
    indications = drug_policy(lines, ctx.bundle, "indications")
    applicable = lines["diagnosis_codes"].notna()
    evaluable = indications.notna() & applicable

    def unsupported(combos: pd.DataFrame) -> pd.Series:
        long = diagnoses_long(combos)
        prefixes = split_codes(combos["indications"]).stack().reset_index(level=1, drop=True)
        pairs = pd.merge(
            long.rename("dx"), prefixes.rename("prefix"), left_index=True, right_index=True
        )
        hit = np.char.startswith(
            pairs["dx"].to_numpy(dtype=str), pairs["prefix"].to_numpy(dtype=str)
        )
        supported = pd.Series(hit, index=pairs.index).groupby(level=0).any()
        return ~supported.reindex(combos.index, fill_value=False)

    frame = lines.loc[evaluable, ["diagnosis_codes"]].assign(indications=indications[evaluable])
    verdict = per_combination(frame, ["diagnosis_codes", "indications"], unsupported)
    mask = verdict.reindex(lines.index, fill_value=False).astype(bool)
    return Flags(
        mask=mask,
        applicable=applicable,
        evaluated=evaluable,
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
