"""The rejects table: its columns, and the records of rows that cannot be read at all (V006)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REJECT_COLUMNS = ["source_file", "source_row", "column", "value", "reason_code", "message"]


def unreadable_rows(path: Path, rows: np.ndarray, messages) -> pd.DataFrame:
    """V006 rejects of whole records (`rows`, 1-based) that cannot be read, one message each:
    no column, no value (the record's text is not repeated)."""
    return pd.DataFrame(
        {
            "source_file": str(path),
            "source_row": np.asarray(rows, dtype=np.int64),
            "column": "",
            "value": "",
            "reason_code": "V006",
            "message": np.asarray(messages, dtype=object),
        },
        columns=REJECT_COLUMNS,
    )
