"""X12 837 loops by position: which claim, service line and hierarchical level each segment is in.

An 837 is depth-first: a billing provider (HL 20) is followed by its subscribers (HL 22), each by
its patients (HL 23) and claims (CLM, loop 2300), each claim by its other subscribers (SBR, loop
2320/2330) and service lines (LX, loop 2400). So the loop of a segment is read from the last
HL / CLM / LX / SBR before it: running maxima of positions (`np.maximum.accumulate`), no loop
over segments. `Picker` then takes, for each claim or line, the value of the segment that
belongs to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from claims_audit.x12.envelope import Transactions
from claims_audit.x12.tokens import Segments, numbers

BILLING, SUBSCRIBER, PATIENT = 20, 22, 23  # HL03 hierarchical level codes


def last_of(mask: np.ndarray) -> np.ndarray:
    """For each segment, the position of the last segment at or before it where `mask` holds
    (-1 where none)."""
    return np.maximum.accumulate(np.where(mask, np.arange(len(mask)), -1))


@dataclass
class Loops:
    """Per segment: its transaction set, claim (CLM position), service line (LX position)."""

    tx_of: np.ndarray  # index into Transactions, -1 outside any ST..SE
    tx_start: np.ndarray  # position of the segment's ST (-1 outside)
    claim_of: np.ndarray  # position of the claim's CLM, -1 outside a claim
    line_of: np.ndarray  # position of the service line's LX, -1 outside a line
    other_subscriber: np.ndarray  # in loop 2320/2330 (after an SBR inside the claim)
    level: np.ndarray  # HL03 of the hierarchical level in force (0: none)
    last_level: dict[int, np.ndarray]  # HL03 code -> position of the last HL of that level

    @property
    def claim_level(self) -> np.ndarray:
        """Loop 2300/2310: in a claim, before its lines, not in another subscriber's loop."""
        return (self.claim_of >= 0) & (self.line_of < 0) & ~self.other_subscriber

    def above_claims(self, level: int) -> np.ndarray:
        """Segments of a hierarchical level's own loops (2010AA, 2000B/2010BA-BB, 2010CA)."""
        return (self.tx_of >= 0) & (self.claim_of < 0) & (self.level == level)


def loops(segs: Segments, txs: Transactions) -> Loops:
    """The loop of every segment of the file."""
    n = len(segs)
    pos = np.arange(n, dtype=np.int64)
    k = np.searchsorted(txs.start, pos, side="right") - 1
    inside = (k >= 0) & (pos < txs.end[np.maximum(k, 0)]) if len(txs.start) else k >= 0
    tx_of = np.where(inside, k, -1)
    tx_start = np.where(inside, txs.start[np.maximum(k, 0)] if len(txs.start) else -1, -1)
    is_hl = segs.mask("HL")
    hl = np.flatnonzero(is_hl)
    code = numbers(segs.elements(hl, 3)[2])
    level_at_hl = np.zeros(n, dtype=np.int16)
    level_at_hl[hl] = np.nan_to_num(code).astype(np.int16)
    last_hl = last_of(is_hl)
    level = np.where(last_hl >= 0, level_at_hl[np.maximum(last_hl, 0)], 0)
    level = np.where(last_hl > tx_start, level, 0)
    last_clm, last_lx = last_of(segs.mask("CLM")), last_of(segs.mask("LX"))
    claim_of = np.where(inside & (last_clm > last_hl) & (last_clm > tx_start), last_clm, -1)
    line_of = np.where((claim_of >= 0) & (last_lx > claim_of), last_lx, -1)
    other = (claim_of >= 0) & (line_of < 0) & (last_of(segs.mask("SBR")) > claim_of)
    last_level = {
        lvl: last_of(is_hl & (level_at_hl == lvl)) for lvl in (BILLING, SUBSCRIBER, PATIENT)
    }
    return Loops(tx_of, tx_start, claim_of, line_of, other, level, last_level)


def taken(values: pa.Array, k: np.ndarray, ok: np.ndarray) -> pa.Array:
    """values[k] where `ok`, null elsewhere."""
    if not len(values):
        return pa.nulls(len(k), values.type)
    return values.take(pa.array(np.where(ok, k, 0), mask=~ok))


def owned(owner: np.ndarray, values: pa.Array, targets: np.ndarray, first: bool) -> pa.Array:
    """For each of `targets` (sorted positions of claims or lines), the value of its first or
    last segment among those whose `owner` (claim_of / line_of, nondecreasing) is it."""
    side = "left" if first else "right"
    k = np.searchsorted(owner, targets, side=side) - (0 if first else 1)
    k_safe = np.clip(k, 0, max(len(owner) - 1, 0))
    ok = (k >= 0) & (k < len(owner)) & (owner[k_safe] == targets) if len(owner) else k < -1
    return taken(values, k_safe, ok)


def before(src: np.ndarray, values: pa.Array, at: np.ndarray, floor: np.ndarray) -> pa.Array:
    """For each position of `at`, the value of the last of the sorted `src` positions before
    it, provided that one lies after `floor` (e.g. the claim's own HL 22): null otherwise."""
    k = np.searchsorted(src, at, side="right") - 1
    k_safe = np.maximum(k, 0)
    ok = (k >= 0) & (src[k_safe] > floor) if len(src) else k < -1
    return taken(values, k_safe, ok)
