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
CLAIM_FREQUENCIES = ["1", "7", "8"]  # 837 CLM05-3 / UB-04 bill type: original, replacement, void
NDC_QUALIFIERS = ["UN", "ML", "GR", "F2", "ME"]
ADMINISTERED_UNITS = ["mg", "mcg", "g", "units", "mL"]
ARROW_STRING = {"storage": "pyarrow"}
# every number of a line (units, amounts, quantities): finite, at most MAX_NUMBER, and no
# positive value below MIN_POSITIVE (it would read as 0 in messages); else V004
MAX_NUMBER = 1e9
MIN_POSITIVE = 1e-6


def _meta(
    kind: str,
    *,
    phi: bool = False,
    default: str | None = None,
    case: str | None = None,
    identifier: bool = False,
):
    """Metadata for validation: parse `kind`, PHI flag, default for empty cells, case folding.

    `identifier` marks high-cardinality text kept as Arrow strings; every other text column is
    read as a categorical (dictionary-encoded), so its values are parsed once per distinct value.
    """
    return {"kind": kind, "phi": phi, "default": default, "case": case, "identifier": identifier}


class ClaimLines(pa.DataFrameModel):
    """One validated drug or procedure line of a claim."""

    claim_id: Series[pd.StringDtype] = pa.Field(
        dtype_kwargs=ARROW_STRING, metadata=_meta("text", identifier=True)
    )
    line_number: Series[pd.Int64Dtype] = pa.Field(ge=1, metadata=_meta("int"))
    patient_id: Series[pd.StringDtype] = pa.Field(
        dtype_kwargs=ARROW_STRING, metadata=_meta("text", phi=True, identifier=True)
    )
    payer_type: Series[pd.CategoricalDtype] = pa.Field(
        isin=PAYER_TYPES, metadata=_meta("text", case="lower")
    )
    payer_id: Series[pd.CategoricalDtype] = pa.Field(nullable=True, metadata=_meta("text"))
    provider_id: Series[pd.CategoricalDtype] = pa.Field(nullable=True, metadata=_meta("text"))
    claim_frequency: Series[pd.CategoricalDtype] = pa.Field(
        isin=CLAIM_FREQUENCIES, metadata=_meta("text", default="1")
    )
    claim_type: Series[pd.CategoricalDtype] = pa.Field(
        isin=CLAIM_TYPES, metadata=_meta("text", default="professional", case="lower")
    )
    place_of_service: Series[pd.CategoricalDtype] = pa.Field(
        nullable=True, str_matches=r"^[0-9]{2}$", metadata=_meta("text")
    )
    service_date: Series[pd.Timestamp] = pa.Field(metadata=_meta("date"))
    submission_date: Series[pd.Timestamp] = pa.Field(nullable=True, metadata=_meta("date"))
    hcpcs_code: Series[pd.CategoricalDtype] = pa.Field(metadata=_meta("text", case="upper"))
    modifiers: Series[pd.CategoricalDtype] = pa.Field(nullable=True, metadata=_meta("codes"))
    billed_units: Series[float] = pa.Field(gt=0, metadata=_meta("decimal"))
    charge_usd: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("money"))
    ndc: Series[pd.CategoricalDtype] = pa.Field(nullable=True, metadata=_meta("text"))
    ndc_unit_qualifier: Series[pd.CategoricalDtype] = pa.Field(
        nullable=True, isin=NDC_QUALIFIERS, metadata=_meta("text", case="upper")
    )
    ndc_quantity: Series[float] = pa.Field(nullable=True, gt=0, metadata=_meta("decimal"))
    administered_amount: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("decimal"))
    administered_unit: Series[pd.CategoricalDtype] = pa.Field(
        nullable=True, isin=ADMINISTERED_UNITS, metadata=_meta("unit")
    )
    wasted_amount: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("decimal"))
    diagnosis_codes: Series[pd.CategoricalDtype] = pa.Field(nullable=True, metadata=_meta("codes"))
    prior_auth_number: Series[pd.StringDtype] = pa.Field(
        nullable=True, dtype_kwargs=ARROW_STRING, metadata=_meta("text", identifier=True)
    )
    payer_sequence: Series[pd.CategoricalDtype] = pa.Field(
        isin=PAYER_SEQUENCES, metadata=_meta("text", default="primary", case="lower")
    )
    other_payer_paid_usd: Series[float] = pa.Field(nullable=True, ge=0, metadata=_meta("money"))

    class Config:
        # validation types every column itself (`claims_audit.validate.type_columns`, once per
        # distinct value); the schema then checks types and values only: coercing again would
        # double its cost (issue 14)
        coerce = False
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
IDENTIFIERS: set[str] = {name for name, meta in FIELD_META.items() if meta.get("identifier")}
