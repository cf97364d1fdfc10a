"""Alternative execution engines for the same pipeline functions (`--engine dask`)."""
