"""Helpers for the reliability tests: the corpus generator as a module, and a check that every
row read is accounted for exactly once (audited or rejected)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from claims_audit.ingest import RawInput
from claims_audit.validate import Validated
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "bad"


def load_corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_corpus = load_corpus_module()


def assert_every_row_accounted(raw: RawInput, checked: Validated, path: Path) -> None:
    """rows_read == audited + rejected, and the data rows 1..rows_read are each either an
    audited line or a rejected row, never both, never neither."""
    audited = checked.lines["source_row"].tolist()
    rejects = checked.rejects
    assert rejects["source_row"].notna().all()
    assert (rejects["source_file"] == str(path)).all()
    rejected = set(rejects["source_row"].astype(int))
    assert len(set(audited)) == len(audited)
    assert set(audited).isdisjoint(rejected)
    assert set(audited) | rejected == set(range(1, raw.rows_read + 1))
    assert raw.rows_read == len(audited) + checked.rows_rejected.get(str(path), 0)
