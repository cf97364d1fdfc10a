"""The canonical claim-line input (SPEC section 3), each field defined once.

`ClaimLines` is the typed frame that leaves validation: types, nullability (required fields are
not nullable), ranges and allowed sets. Field metadata marks PHI and parse kinds; `FIELDS`,
`REQUIRED` and friends are derived from the model so nothing is listed twice.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

PAYER_TYPES = ["medicare", "medicare_advantage", "medicaid", "commercial", "other"]
CLAIM_TYPES = ["professional", "institutional"]
PAYER_SEQUENCES = ["primary", "secondary", "tertiary"]
NDC_QUALIFIERS = ["UN", "ML", "GR", "F2", "ME"]
ADMINISTERED_UNITS = ["mg", "mcg", "g", "units", "mL"]


def _meta(kind: str, *, phi: bool = False, default: str | None = None, case: str | None = None):
    """Metadata for validation: parse `kind`, PHI flag, default for empty cells, case folding."""
    return {"kind": kind, "phi": phi, "default": default, "case": case}


class ClaimLines(pa.DataFrameModel):
    """One validated drug or procedure line of a claim."""

    claim_id: Series[str] = pa.Field(metadata=_meta("text"))
    line_number: Series[int] = pa.Field(ge=1, metadata=_meta("int"))
    patient_id: Series[str] = pa.Field(metadata=_meta("text", phi=True))
    payer_type: Series[str] = pa.Field(isin=PAYER_TYPES, metadata=_meta("text", case="lower"))
    payer_id: Series[str] = pa.Field(nullable=True, metadata=_meta("text"))
    claim_type: Series[str] = pa.Field(
        isin=CLAIM_TYPES, metadata=_meta("text", default="professional", case="lower")
    )
    place_of_service: Series[str] = pa.Field(
        nullable=True, str_matches=r"^\d{2}$", metadata=_meta("text")
    )
    service_date: Series[pd.Timestamp] = pa.Field(metadata=_meta("date"))
    submission_date: Series[pd.Timestamp] = pa.Field(nullable=True, metadata=_meta("date"))
    hcpcs_code: Series[str] = pa.Field(metadata=_meta("text", case="upper"))
    modifiers: Series[str] = pa.Field(nullable=True, metadata=_meta("codes"))
    billed_units: Series[float] = pa.Field(gt=0, metadata=_meta("decimal"))
    charge_usd: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("decimal"))
    ndc: Series[str] = pa.Field(nullable=True, metadata=_meta("text"))
    ndc_unit_qualifier: Series[str] = pa.Field(
        nullable=True, isin=NDC_QUALIFIERS, metadata=_meta("text", case="upper")
    )
    ndc_quantity: Series[float] = pa.Field(nullable=True, gt=0, metadata=_meta("decimal"))
    administered_amount: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("decimal"))
    administered_unit: Series[str] = pa.Field(
        nullable=True, isin=ADMINISTERED_UNITS, metadata=_meta("unit")
    )
    wasted_amount: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("decimal"))
    diagnosis_codes: Series[str] = pa.Field(nullable=True, metadata=_meta("codes"))
    prior_auth_number: Series[str] = pa.Field(nullable=True, metadata=_meta("text"))
    payer_sequence: Series[str] = pa.Field(
        isin=PAYER_SEQUENCES, metadata=_meta("text", default="primary", case="lower")
    )
    other_payer_paid_usd: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("decimal"))

    class Config:
        coerce = True
        strict = "filter"


SCHEMA = ClaimLines.to_schema()
FIELDS: list[str] = list(SCHEMA.columns)
FIELD_META: dict[str, dict] = {name: col.metadata or {} for name, col in SCHEMA.columns.items()}
# a field with a default may be absent from the file; the others that are not nullable must be there
REQUIRED: list[str] = [
    name
    for name, col in SCHEMA.columns.items()
    if not col.nullable and FIELD_META[name].get("default") is None
]
PHI_FIELDS: set[str] = {name for name, meta in FIELD_META.items() if meta.get("phi")}
