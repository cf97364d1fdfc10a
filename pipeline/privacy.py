"""Masking of PHI (patient identifiers) for everything a person may read: reports, rejects, logs.

A reject value is PHI when it sits in a PHI column (patient_id) or when it equals a patient id
of the batch, whichever column it landed in (a row shifted by one field puts the patient id in
`payer_type`): `phi_rejects` marks both, `mask_id` masks, `masked_rejects` is the rejects table
as every output writes it.
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


RECORD_WITHHELD = "(record withheld: may hold PHI; --show-phi shows it)"


def masked_rejects(rejects: pd.DataFrame, show_phi: bool) -> pd.DataFrame:
    """Rejects as written: PHI values masked unless the user opted in with --show-phi.

    A whole-record reject (V006, no column) carries the raw record text, patient id included,
    so its text is withheld too.
    """
    if show_phi:
        return rejects.drop(columns=PHI_FLAG, errors="ignore")
    # the validator's flag also marks a patient id of the batch landed in another column
    phi = rejects[PHI_FLAG] if PHI_FLAG in rejects else rejects["column"].isin(PHI_FIELDS)
    value = rejects["value"].astype("string")
    whole_record = rejects["column"].fillna("").astype(str).eq("") & value.fillna("").ne("")
    out = rejects.drop(columns=PHI_FLAG, errors="ignore")
    out["value"] = value.where(~phi, mask_id(value)).where(~whole_record, RECORD_WITHHELD)
    return out
