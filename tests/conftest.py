"""Shared test helpers: paths, the starter bundle, and running the audit on a fixture file.

Hypothesis profiles (`HYPOTHESIS_PROFILE`, default `ci`):

* `ci` (`make test`, CI): derandomised, so a run is the same run every time and CI is never red
  at random; a modest number of examples; no deadline (the machine is shared).
* `fuzz` (`make fuzz`): random seeds, `FUZZ_EXAMPLES` examples per property (default 10,000;
  the pipeline property splits them over `FUZZ_SHARDS` copies run in parallel);
  every failure it finds is to be added to its test as an explicit `@example` (explicit examples
  run in `make test`; the fuzz profile skips them so a known failure does not stop the search).

Every hypothesis test carries the `fuzz` marker, so `pytest -m fuzz` runs all the properties.
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from claims_audit.config import load_config
from claims_audit.reference import load_bundle
from claims_audit.rules import REGISTRY

SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=SLOW_DATA,
)
settings.register_profile(
    "fuzz",
    # the explicit @examples are `make test`'s: here, a known failure must not stop the search
    phases=[Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    derandomize=False,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "10000")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[*SLOW_DATA, HealthCheck.filter_too_much],
)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(HYPOTHESIS_PROFILE)


# `make fuzz` runs an expensive property as FUZZ_SHARDS copies (one per core, pytest-xdist), each
# with its share of the examples and its own random seed; `make test` runs one copy
FUZZ_SHARDS = max(1, int(os.environ.get("FUZZ_SHARDS", "1"))) if HYPOTHESIS_PROFILE != "ci" else 1


def examples(ci: int, shards: int = 1) -> settings:
    """Settings for an expensive property: `ci` examples under the ci profile (fast enough
    for `make test`), the profile's own number otherwise (`make fuzz`), split over `shards`
    parametrised copies of the test."""
    if HYPOTHESIS_PROFILE == "ci":
        return settings(max_examples=ci)
    return settings(max_examples=-(-settings.default.max_examples // shards))


def pytest_configure(config) -> None:
    """Everything the tool writes to the temp directory during the tests (crash files, staging,
    caches) goes to one directory of this run, removed at its end: the machine's /tmp stays clean
    and no test sees another run's crash files. Subprocesses inherit it through TMPDIR."""
    # multiprocessing's own temp directory stays where it was: it removes it at exit, after
    # pytest_unconfigure has removed ours
    multiprocessing.util.get_temp_dir()
    config._claims_audit_tmp = tempfile.mkdtemp(prefix="claims-audit-tests-")
    os.environ["TMPDIR"] = config._claims_audit_tmp
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_unconfigure(config) -> None:
    where = getattr(config, "_claims_audit_tmp", None)
    if where:
        shutil.rmtree(where, ignore_errors=True)


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.fuzz)


ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED_RAW = ROOT.parent / "shared" / "reference-raw"


@pytest.fixture(scope="session")
def starter_bundle():
    return load_bundle()


@pytest.fixture(scope="session")
def default_config():
    return load_config(None, rule_codes=set(REGISTRY))
