"""Package data, not code: the starter reference bundle and the hand-curated tables.

This folder installs as the package `claims_audit.starter` (pyproject.toml `package-dir`), so that
`claims_audit.resources` finds it through `importlib.resources` in a checkout and in a wheel alike.
"""
