"""Where the data shipped with claims-audit lives: the starter bundle and the curated tables.

Both are the repository folder `reference/`, which `pyproject.toml` installs as the data package
`claims_audit.starter` (setuptools `package-dir`), so `importlib.resources` finds it the same
way in an editable install (the folder itself) and in a wheel
(`site-packages/claims_audit/starter/`). Every default path to them comes from
here; nothing else locates `reference/` from `__file__`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

STARTER_PACKAGE = "claims_audit.starter"  # the data package installed from reference/


def _package_dir(package: str) -> Path:
    """The directory of an installed package, as a real path (load_bundle reads and hashes the
    files there). Raises RuntimeError with what to do when it is missing or not a directory."""
    try:
        root = files(package)
    except ModuleNotFoundError:
        raise RuntimeError(
            f"{package} (the starter bundle, reference/ in the repository) is not installed: "
            f"reinstall claims-audit (`pip install -e .` in a checkout)"
        ) from None
    if not isinstance(root, Path) or not root.is_dir():
        raise RuntimeError(f"{package} is not installed as a directory ({root}): install the wheel")
    return root


def starter_bundle() -> Path:
    """The starter reference bundle's directory (its tables and `manifest.json`)."""
    return _package_dir(STARTER_PACKAGE)


def curated_dir() -> Path:
    """The directory of the hand-curated tables `reference build` reads by default
    (`cpt_modifiers.csv`, `container.csv`, `drug_policy.csv`): the starter bundle's."""
    return _package_dir(STARTER_PACKAGE)
