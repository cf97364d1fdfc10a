"""Shared test helpers: paths, the starter bundle, and running the audit on a fixture file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.reference import load_bundle
from pipeline.rules import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED_RAW = ROOT.parent / "shared" / "reference-raw"


@pytest.fixture(scope="session")
def starter_bundle():
    return load_bundle()


@pytest.fixture(scope="session")
def default_config():
    return load_config(None, rule_codes=set(REGISTRY))
