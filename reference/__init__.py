"""Package data, not code: the starter reference bundle and the hand-curated tables.

This folder installs as the package `pipeline.starter` (pyproject.toml `package-dir`), so that
`pipeline.resources` finds it through `importlib.resources` in a checkout and in a wheel alike.
"""
