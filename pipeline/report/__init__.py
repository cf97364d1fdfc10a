"""Report: the audit's outputs (findings, rejects, summary.json, report.html), atomically."""
