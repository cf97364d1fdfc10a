"""Executors of the audit: the local one and `--engine dask` (run.dask)."""
