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
    ("CLM0000000051", "1"): {"modifiers": ("", "JZ")},
    # P001 resolved: the prior authorization number is reported (commercial Avastin)
    ("CLM0000000082", "2"): {"prior_auth_number": ("", "PA-2026-0134")},
    # U001 resolved: dalteparin 3,750 IU billed as 2 units of 2,500 IU, not 3
    ("CLM0000000112", "1"): {"billed_units": ("3", "2")},
    # D002 resolved: the truncated category Z51 is gone from the Prolia line's diagnoses
    ("CLM0000000052", "1"): {"diagnosis_codes": ("M8000XP|Z51", "M8000XP")},
    # P003 resolved: the secondary claim reports what the primary payer paid
    ("CLM0000000053", "1"): {"other_payer_paid_usd": ("", "1103.48")},
}
DEFECTS = {
    # M002 new: JZ dropped from a Medicare alteplase line
    ("CLM0000000042", "1"): {"modifiers": ("JZ", "")},
    # U004/A001 new: Avastin 82.5 mg (9 units of 10 mg) keyed as 90 units on an office claim
    ("CLM0000000022", "1"): {"billed_units": ("9", "90")},
    # D001 new: diagnosis left off an octreotide line
    ("CLM0000000038", "1"): {"diagnosis_codes": ("E220", "")},
    # P002 new: a Medicare claim submitted more than one calendar year after the service
    ("CLM0000000086", "1"): {"submission_date": ("2026-03-26", "2027-04-20")},
}
# (claim_id, line_number, rule_code, reason, expires)
SUPPRESSIONS = [
    ("CLM0000000003", 1, "A001", "contract price below ASP agreed with the payer", "2099-12-31"),
    ("CLM0000000012", 1, "U005", "fractional units accepted during the 2025 pilot", "2025-12-31"),
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
