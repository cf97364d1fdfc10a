"""Derive the next extract of the demo from sample_data/claims.csv: a few defects fixed, a few
new ones, everything else byte-identical. Also writes suppress.csv (one accepted finding, one
expired acceptance). Deterministic: run it again and the files are the same.

    .venv/bin/python sample_data/changed/make_changed.py

`make report-demo` audits claims.csv, then this extract with the first run as --baseline.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from claims_audit.rules.engine import finding_ids

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "claims.csv"

# (claim_id, line_number): {column: (value in the sample, value in the changed extract)}
FIXES = {
    # M002 resolved: Prolia for Medicare now carries JZ
    ("CLM000017", "2"): {"modifiers": ("", "JZ")},
    # C001 resolved: octreotide billed under its real code, with the single-dose vial's NDC and JZ
    ("CLM000019", "2"): {
        "hcpcs_code": ("J2297", "J2354"),
        "modifiers": ("", "JZ"),
        "ndc": ("", "63323-0376-01"),
        "ndc_unit_qualifier": ("", "UN"),
        "ndc_quantity": ("", "1"),
    },
    # D001 resolved: the ceftriaxone line gets the claim's diagnosis
    ("CLM000014", "2"): {"diagnosis_codes": ("", "J18.9")},
    # P001 resolved: the prior authorization number is reported
    ("CLM000043", "2"): {"prior_auth_number": ("", "PA-2026-0134")},
    # U001 resolved: Avastin 375 mg billed as 38 units, not the whole 400 mg vial
    ("CLM000030", "2"): {"billed_units": ("40", "38"), "charge_usd": ("3940.00", "3743.00")},
}
DEFECTS = {
    # M002 new: JZ dropped from a Medicare Prolia line
    ("CLM000082", "2"): {"modifiers": ("JZ", "")},
    # U004/U003/N005/A001 new: Avastin 1200 mg keyed as 1200 units on an office claim
    ("CLM000011", "3"): {"billed_units": ("120", "1200")},
    # D001 new: diagnosis left off an octreotide line
    ("CLM000133", "2"): {"diagnosis_codes": ("E34.00 C7A.019", "")},
    # P002 new: a Medicare claim submitted more than one calendar year after the service
    ("CLM000160", "2"): {"submission_date": ("2026-03-28", "2027-04-20")},
}
# (claim_id, line_number, rule_code, reason, expires)
SUPPRESSIONS = [
    ("CLM000032", 2, "A001", "contract price below ASP agreed with the payer", "2099-12-31"),
    ("CLM000056", 2, "U005", "fractional units accepted during the 2025 pilot", "2025-12-31"),
]


def changed_rows(rows: list[dict]) -> list[dict]:
    """The sample's rows with FIXES and DEFECTS applied; each change checks its old value."""
    changes = {**FIXES, **DEFECTS}
    seen = set()
    for row in rows:
        key = (row["claim_id"], row["line_number"])
        for column, (old, new) in changes.get(key, {}).items():
            if row[column] != old:
                raise SystemExit(f"{SOURCE}: {key} {column} is {row[column]!r}, expected {old!r}")
            row[column] = new
            seen.add(key)
    missing = sorted(set(changes) - seen)
    if missing:
        raise SystemExit(f"{SOURCE}: lines not found: {missing}")
    return rows


def suppression_rows() -> pd.DataFrame:
    frame = pd.DataFrame(
        SUPPRESSIONS, columns=["claim_id", "line_number", "rule_code", "reason", "expires"]
    )
    frame.insert(
        0, "finding_id", finding_ids(frame["claim_id"], frame["line_number"], frame["rule_code"])
    )
    return frame[["finding_id", "reason", "expires", "claim_id", "line_number", "rule_code"]]


def write_changed(out_dir: Path = HERE) -> tuple[Path, Path]:
    """Write claims.csv and suppress.csv into `out_dir`; return their paths."""
    with SOURCE.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    claims, suppress = out_dir / "claims.csv", out_dir / "suppress.csv"
    with claims.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(changed_rows(rows))
    suppression_rows().to_csv(suppress, index=False, lineterminator="\n")
    return claims, suppress


if __name__ == "__main__":
    written = write_changed()
    print("wrote " + " and ".join(str(p) for p in written))
