"""Masking of PHI (patient identifiers) for everything a person may read: reports, rejects, logs.

A reject value is PHI when it sits in a PHI column (patient_id) or when it equals a patient id
of the batch, whichever column it landed in (a row shifted by one field puts the patient id in
`payer_type`): `phi_rejects` marks both, `mask_id` masks.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.schemas.claims import PHI_FIELDS

PHI_FLAG = "phi"  # bool column of the rejects frame: the value must be masked


def mask_id(values: pd.Series, keep: int = 4) -> pd.Series:
    """`P***1234` style: first character, stars, last `keep` characters (all stars when short)."""
    text = values.astype("string")
    short = text.str.len() <= keep + 1
    masked = text.str[:1] + "***" + text.str[-keep:]
    return masked.where(~short, "***").where(text.notna(), pd.NA)


def phi_rejects(rejects: pd.DataFrame, patient_ids: list[pa.Array]) -> pd.Series:
    """Per reject, whether its value is PHI: a PHI column, or a value equal (after trimming) to
    one of `patient_ids` (the distinct ids of the batch's files). Vectorised (Arrow `is_in`)."""
    phi = rejects["column"].isin(PHI_FIELDS).to_numpy(dtype=bool)
    ids = [a for a in patient_ids if len(a)]
    if ids and len(rejects):
        known = pc.unique(pa.concat_arrays([a.cast(pa.string()) for a in ids]))
        values = pa.array(rejects["value"].astype("string").str.strip(), pa.string())
        phi |= pc.is_in(values, value_set=known).fill_null(False).to_numpy(zero_copy_only=False)
    return pd.Series(phi, index=rejects.index, dtype=bool)
