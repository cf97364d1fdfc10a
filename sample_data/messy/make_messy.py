"""Write `export.csv`: the sample extract (`../claims.csv`) as a practice-management system
exports it, the worked example of auditing a real export through the config alone (`audit.toml`).

What the export does differently (each undone by `audit.toml`, none by hand):

* cp1252 text (a rendering provider name column, ignored, holds `Müller`, `Zoë`: not UTF-8),
  CRLF line ends;
* its own header names (`Claim #`, `DOS`, `Proc Code` ...) -> `[columns]`;
* the diagnosis list in four columns `Dx1`..`Dx4` and the modifiers in `Mod1`, `Mod2`, empty
  ones left empty -> several `[columns]` entries for `diagnosis_codes` and `modifiers`;
* amounts as `$1,185.00` -> accepted by the money columns as they are;
* dates as `M/D/YY` (`3/7/26`) -> `[policy] date_formats = ["%m/%d/%y"]`;
* payer types as names (`Medicare Advantage`, `Commercial Insurance`) -> `[values.payer_type]`.

Deterministic: run it again and `export.csv` is byte-identical.

    .venv/bin/python sample_data/messy/make_messy.py
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "claims.csv"

HEADERS = {  # canonical column -> the export's header (the others keep their names)
    "claim_id": "Claim #",
    "line_number": "Line",
    "patient_id": "MRN",
    "payer_type": "Payer",
    "payer_id": "Payer ID",
    "provider_id": "Rendering NPI",
    "claim_frequency": "Freq",
    "claim_type": "Claim Type",
    "place_of_service": "POS",
    "service_date": "DOS",
    "submission_date": "Billed Date",
    "hcpcs_code": "Proc Code",
    "billed_units": "Units",
    "charge_usd": "Charge",
    "ndc": "NDC",
    "ndc_unit_qualifier": "NDC Qual",
    "ndc_quantity": "NDC Qty",
    "administered_amount": "Dose",
    "administered_unit": "Dose Unit",
    "wasted_amount": "Wasted",
    "prior_auth_number": "Auth #",
    "payer_sequence": "Payer Seq",
    "other_payer_paid_usd": "Other Payer Paid",
}
PAYER_NAMES = {
    "medicare": "Medicare",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "commercial": "Commercial Insurance",
    "other": "Self Pay / Other",
}
DX_COLUMNS = ["Dx1", "Dx2", "Dx3", "Dx4"]
MOD_COLUMNS = ["Mod1", "Mod2"]
PROVIDER_NAMES = ["Dr. Zoë Müller", "Dr. José Peña", "Dr. Ana Ståhl"]


def short_date(iso: str) -> str:
    """`2026-03-07` -> `3/7/26`."""
    if not iso:
        return ""
    year, month, day = iso.split("-")
    return f"{int(month)}/{int(day)}/{year[2:]}"


def money(text: str) -> str:
    """`1185.00` -> `$1,185.00`."""
    return f"${float(text):,.2f}" if text else ""


def spread(text: str, width: int) -> list[str]:
    """A list separated by spaces or pipes over `width` cells, empty ones last."""
    parts = text.replace("|", " ").split()
    if len(parts) > width:
        raise ValueError(f"{text!r} has more than {width} entries")
    return parts + [""] * (width - len(parts))


def export_rows() -> list[list[str]]:
    with SOURCE.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = [HEADERS[c] for c in HEADERS] + DX_COLUMNS + MOD_COLUMNS + ["Rendering Provider"]
    out = [header]
    for i, row in enumerate(rows):
        row = dict(row)
        row["payer_type"] = PAYER_NAMES[row["payer_type"]]
        for name in ("service_date", "submission_date"):
            row[name] = short_date(row[name])
        for name in ("charge_usd", "other_payer_paid_usd"):
            row[name] = money(row[name])
        cells = [row[c] for c in HEADERS]
        cells += spread(row["diagnosis_codes"], len(DX_COLUMNS))
        cells += spread(row["modifiers"], len(MOD_COLUMNS))
        cells.append(PROVIDER_NAMES[i % len(PROVIDER_NAMES)])
        out.append(cells)
    return out


def main() -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(export_rows())
    (HERE / "export.csv").write_bytes(text.getvalue().encode("cp1252"))


if __name__ == "__main__":
    main()
