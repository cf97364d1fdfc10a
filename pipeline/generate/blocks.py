"""Blocks of whole patients, and chunks of exactly N lines made of them (plus fillers)."""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np
import pandas as pd

from claims_audit.generate.catalog import COMBO_TYPE, CPT_VISIT, PROVIDERS_PROF, Catalog
from claims_audit.generate.scenarios import SCENARIOS, STRUCTURAL
from claims_audit.generate.world import (
    Block,
    World,
    append_copies,
    assemble,
    build_lines,
    claim_facts,
    clean_groups,
    empty_labels,
    finish_lines,
    first_per_key,
    make_patients,
    make_visits,
)

REPLACEMENT_RATE = 0.003  # claims repeated by a replacement claim (7), as a fraction of claims
VOID_RATE = 0.002  # claims repeated by a void claim (8)


def _replacements_and_voids(w: World) -> None:
    """Copies of clean administration lines on claims of their own: replacement claims (7:
    never a duplicate) and voids (8: counted, not audited)."""
    g = w.g
    ok = ~g["has_waste"] & (2 * g["billed"] <= g["cap"]) & (g["claim"] < w.n_regular)
    cand = w.rng.permutation(np.flatnonzero(ok & ~w.taken[g["claim"]]))
    cand = cand[first_per_key(g["claim"][cand])]
    # at least two of each in a block (a small sample shows them too)
    n_rep = max(int(round(REPLACEMENT_RATE * w.n_regular)), 2)
    n_void = max(int(round(VOID_RATE * w.n_regular)), 2)
    w.taken[g["claim"][cand[: n_rep + n_void]]] = True
    append_copies(w, np.sort(cand[:n_rep]), "7")
    append_copies(w, np.sort(cand[n_rep : n_rep + n_void]), "8")


def make_block(
    cat: Catalog,
    rng: np.random.Generator,
    n_patients: int,
    rate: dict[str, float],
    only: Collection[Callable[[World], None]] | None = None,
) -> Block:
    """Patients, claims, drug groups and lines, with defects planted at `rate` per claim (by
    every scenario, or by those in `only`)."""
    w = World(cat, rng, rate)
    make_patients(w, n_patients)
    make_visits(w)
    chosen = [plant for _, plant in STRUCTURAL + SCENARIOS if only is None or plant in only]
    for plant in (p for _, p in STRUCTURAL if p in chosen):  # they add claims: first
        plant(w)
    claim_facts(w)
    clean_groups(w)
    build_lines(w)
    for plant in (p for _, p in SCENARIOS if p in chosen):
        plant(w)
    _replacements_and_voids(w)
    finish_lines(w)
    return assemble(w)


def _trim(block: Block, max_rows: int) -> Block:
    """Keep whole patients, as many as fit in `max_rows` lines."""
    per_patient = np.bincount(block.lines["_patient"].to_numpy(), minlength=block.n_patients)
    keep_patient = np.cumsum(per_patient) <= max_rows
    keep = keep_patient[block.lines["_patient"].to_numpy()]
    new_pos = np.cumsum(keep) - 1
    labels = block.labels[keep[block.labels["row"].to_numpy()]]
    labels = labels.assign(row=new_pos[labels["row"].to_numpy()])
    lines = block.lines[keep].reset_index(drop=True)
    return Block(
        lines, labels.reset_index(drop=True), int(keep_patient.sum()), lines["_claim"].nunique()
    )


def _filler(rng: np.random.Generator, n: int, s_day: int, e_day: int) -> Block:
    """`n` one-line office-visit claims (CPT, out of scope) to reach an exact row count."""
    day = rng.integers(s_day, e_day + 1, n)
    none, nan = np.full(n, None, dtype=object), np.full(n, np.nan)
    lines = {"_claim": np.arange(n), "_patient": np.arange(n), "line_number": np.ones(n, "int64")}
    lines |= {
        "provider_id": PROVIDERS_PROF[rng.integers(0, len(PROVIDERS_PROF), n)],
        "claim_frequency": np.full(n, "1", dtype=object),
        "combo": rng.integers(0, len(COMBO_TYPE), n),
        "inst": np.zeros(n, dtype=bool),
        "service_day": day,
        "submit_day": day + rng.integers(1, 60, n),
        "secondary": np.zeros(n, dtype=bool),
        "hcpcs_code": CPT_VISIT[rng.integers(0, len(CPT_VISIT), n)],
        "modifiers": none,
        "billed_units": np.ones(n),
        "charge_usd": np.round(90 + 120 * rng.random(n), 2),
    }
    for name in ("ndc", "ndc_unit_qualifier", "administered_unit", "prior_auth_number"):
        lines[name] = none
    for name in ("ndc_quantity", "administered_amount", "wasted_amount", "other_payer_paid_usd"):
        lines[name] = nan
    lines["diagnosis_codes"] = np.full(n, "I10", dtype=object)
    lines["plain_ndc"] = np.zeros(n, dtype=bool)
    return Block(pd.DataFrame(lines), empty_labels(), n, n)


def _concat(blocks: list[Block]) -> Block:
    lines, labels, rows, patients, claims = [], [], 0, 0, 0
    for b in blocks:
        claim_ids = pd.factorize(b.lines["_claim"])[0]  # lines are ordered by claim
        lines.append(
            b.lines.assign(_claim=claim_ids + claims, _patient=b.lines["_patient"] + patients)
        )
        labels.append(b.labels.assign(row=b.labels["row"] + rows))
        rows += len(b.lines)
        patients += b.n_patients
        claims += int(claim_ids.max()) + 1 if len(claim_ids) else 0
    return Block(
        pd.concat(lines, ignore_index=True), pd.concat(labels, ignore_index=True), patients, claims
    )


def make_chunk(
    cat: Catalog,
    rng: np.random.Generator,
    rows: int,
    rate: dict[str, float],
    lines_per_patient: float = 8.0,
) -> Block:
    """Exactly `rows` claim lines of whole patients (plus office-visit fillers)."""
    blocks: list[Block] = []
    left = rows
    while left > 40:
        n_patients = max(int(left / lines_per_patient * 1.1) + 5, 5)
        block = _trim(make_block(cat, rng, n_patients, rate), left)
        if not len(block.lines):
            break
        blocks.append(block)
        left -= len(block.lines)
    if left > 0:
        blocks.append(_filler(rng, left, *cat.window))
    return _concat(blocks)
