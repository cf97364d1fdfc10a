"""The audit's public names, one import away: `run_audit` (the local executor,
`run/local.py`), the result, the per-partition `audit_batch` (`run/plan.py`) and the summary
(`summary.py`). The audit is the partitioned plan of `run/plan.py`, run on this machine by
`run/local.py` or on a cluster by `run/dask.py`; `report/outputs.write_outputs` writes its
result atomically. The CLI is a thin layer over these.
"""

from __future__ import annotations

from claims_audit.run.common import (
    AuditResult,
    Stages,
    load_history,
    read_inputs,
    validate_files,
)
from claims_audit.run.local import run_audit
from claims_audit.run.plan import REPORT_LINE_COLUMNS, BatchResult, audit_batch, patient_batches
from claims_audit.summary import LineCounts, build_summary, peak_rss_mb, period_notices

__all__ = [
    "REPORT_LINE_COLUMNS",
    "AuditResult",
    "BatchResult",
    "LineCounts",
    "Stages",
    "audit_batch",
    "build_summary",
    "load_history",
    "patient_batches",
    "peak_rss_mb",
    "period_notices",
    "read_inputs",
    "run_audit",
    "validate_files",
]
