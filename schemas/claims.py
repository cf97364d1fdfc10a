"""The canonical claim-line input (SPEC section 3), each field defined once.

`SCHEMA` (`ClaimLines`) is the typed frame that leaves validation: types, nullability (required
fields are not nullable), ranges and allowed sets. Field metadata marks PHI and parse kinds;
`FIELDS`, `REQUIRED` and friends are derived from the schema so nothing is listed twice.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

PAYER_TYPES = ["medicare", "medicare_advantage", "medicaid", "commercial", "other"]
CLAIM_TYPES = ["professional", "institutional"]
PAYER_SEQUENCES = ["primary", "secondary", "tertiary"]
CLAIM_FREQUENCIES = ["1", "7", "8"]  # 837 CLM05-3 / UB-04 bill type: original, replacement, void
NDC_QUALIFIERS = ["UN", "ML", "GR", "F2", "ME"]
ADMINISTERED_UNITS = ["mg", "mcg", "g", "units", "mL"]
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


def _column(dtype, meta: dict, *checks: pa.Check, nullable: bool = False) -> pa.Column:
    """One field of the claim line: its type, value checks, nullability and metadata."""
    return pa.Column(dtype, checks=list(checks) or None, nullable=nullable, metadata=meta)


_ID_TEXT = pd.StringDtype("pyarrow")  # high-cardinality text kept as Arrow strings
_CODES = pd.CategoricalDtype()  # every other text column: dictionary-encoded
_DATE = "datetime64[ns]"

# One validated drug or procedure line of a claim. A `DataFrameSchema`, not a pandera
# `DataFrameModel`: building a model imports every dataframe library pandera supports (dask
# takes about half a second), and a run needs none of them (issue 14).
SCHEMA = pa.DataFrameSchema(
    {
        "claim_id": _column(_ID_TEXT, _meta("text", identifier=True)),
        "line_number": _column("Int64", _meta("int"), pa.Check.ge(1)),
        "patient_id": _column(_ID_TEXT, _meta("text", phi=True, identifier=True)),
        "payer_type": _column(_CODES, _meta("text", case="lower"), pa.Check.isin(PAYER_TYPES)),
        "payer_id": _column(_CODES, _meta("text"), nullable=True),
        "provider_id": _column(_CODES, _meta("text"), nullable=True),
        "claim_frequency": _column(
            _CODES, _meta("text", default="1"), pa.Check.isin(CLAIM_FREQUENCIES)
        ),
        "claim_type": _column(
            _CODES,
            _meta("text", default="professional", case="lower"),
            pa.Check.isin(CLAIM_TYPES),
        ),
        "place_of_service": _column(
            _CODES, _meta("text"), pa.Check.str_matches(r"^[0-9]{2}$"), nullable=True
        ),
        "service_date": _column(_DATE, _meta("date")),
        "submission_date": _column(_DATE, _meta("date"), nullable=True),
        "hcpcs_code": _column(_CODES, _meta("text", case="upper")),
        "modifiers": _column(_CODES, _meta("codes"), nullable=True),
        "billed_units": _column(float, _meta("decimal"), pa.Check.gt(0)),
        "charge_usd": _column(float, _meta("money"), pa.Check.ge(0), nullable=True),
        "ndc": _column(_CODES, _meta("text"), nullable=True),
        "ndc_unit_qualifier": _column(
            _CODES, _meta("text", case="upper"), pa.Check.isin(NDC_QUALIFIERS), nullable=True
        ),
        "ndc_quantity": _column(float, _meta("decimal"), pa.Check.gt(0), nullable=True),
        "administered_amount": _column(float, _meta("decimal"), pa.Check.ge(0), nullable=True),
        "administered_unit": _column(
            _CODES, _meta("unit"), pa.Check.isin(ADMINISTERED_UNITS), nullable=True
        ),
        "wasted_amount": _column(float, _meta("decimal"), pa.Check.ge(0), nullable=True),
        "diagnosis_codes": _column(_CODES, _meta("codes"), nullable=True),
        "prior_auth_number": _column(_ID_TEXT, _meta("text", identifier=True), nullable=True),
        "payer_sequence": _column(
            _CODES,
            _meta("text", default="primary", case="lower"),
            pa.Check.isin(PAYER_SEQUENCES),
        ),
        "other_payer_paid_usd": _column(float, _meta("money"), pa.Check.ge(0), nullable=True),
    },
    # validation types every column itself (`claims_audit.validate.type_columns`, once per
    # distinct value); the schema then checks types and values only: coercing again would
    # double its cost (issue 14)
    coerce=False,
    strict="filter",
    name="ClaimLines",
    description="One validated drug or procedure line of a claim.",
)
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
