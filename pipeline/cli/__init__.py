"""The `claims-audit` command line: `main` (run, validate, rules), `reference` and `sample`."""
