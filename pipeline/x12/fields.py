"""The 837 mapping to canonical claim-line columns (SPEC section 3; README "837 input" table).

Each claim (CLM) gets its claim-level fields, each service line (LX) its own; a line field that
the 837 may carry on the claim or the line (rendering provider, service date, prior
authorization, place of service) takes the line's value first. All columns are text, as CSV
gives them: the validator parses and checks them. Arrow kernels and `searchsorted`, no row loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.x12.envelope import Transactions
from claims_audit.x12.loops import BILLING, PATIENT, SUBSCRIBER, Loops, before, owned, taken
from claims_audit.x12.tokens import Segments, numbers, split_padded

# SBR09 claim filing indicator -> payer_type (others: "other")
FILING_INDICATORS = {
    "MA": "medicare",  # Medicare Part A
    "MB": "medicare",  # Medicare Part B
    "16": "medicare_advantage",  # Health Maintenance Organization (HMO) Medicare Risk
    "MC": "medicaid",
    "CI": "commercial",  # Commercial Insurance Co.
    "BL": "commercial",  # Blue Cross/Blue Shield
    "HM": "commercial",  # Health Maintenance Organization
    "12": "commercial",  # Preferred Provider Organization (PPO)
    "13": "commercial",  # Point of Service (POS)
    "14": "commercial",  # Exclusive Provider Organization (EPO)
    "15": "commercial",  # Indemnity Insurance
    "17": "commercial",  # Dental Maintenance Organization
}
# SBR01 payer responsibility sequence -> payer_sequence (others are kept: V004)
SEQUENCES = {"P": "primary", "S": "secondary", "T": "tertiary"}
# HI composite qualifiers of ICD-10-CM (AB*) and ICD-9-CM diagnoses
DIAGNOSIS_QUALIFIERS = ["ABK", "ABF", "ABJ", "APR", "ABN", "BK", "BF", "BJ", "PR", "BN"]
MAX_POINTERS = 4  # SV107: up to four diagnosis code pointers
_HI_ELEMENTS = 12


def recode(values: pa.Array, table: dict[str, str], other: str | None) -> pa.Array:
    """`values` through `table`; a value not in it becomes `other`, or stays as it is."""
    keys = pa.array(list(table), values.type)
    mapped = pa.array(list(table.values()), values.type).take(pc.index_in(values, keys))
    fallback = values if other is None else pa.scalar(other, values.type)
    return pc.if_else(pc.and_(pc.is_null(mapped), pc.is_valid(values)), fallback, mapped)


def _is(values: pa.Array, wanted: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.equal(values, wanted), False))


class Extractor:
    """The segments of one kind, their elements, owners (claim / line) and positions."""

    def __init__(self, segs: Segments, lp: Loops, name: str, count: int):
        self.pos = np.flatnonzero(segs.mask(name) & (lp.tx_of >= 0))
        self.el = segs.elements(self.pos, count)
        self.lp = lp

    @classmethod
    def of(cls, segs: Segments, lp: Loops, name: str, count: int) -> Extractor:
        """The extractor of `name` segments, made once per file (claim and line fields share
        it)."""
        key = (name, count)
        if key not in segs.cache:
            segs.cache[key] = cls(segs, lp, name, count)
        return segs.cache[key]

    def _values(self, value: int | pa.Array) -> pa.Array:
        return self.el[value] if isinstance(value, int) else value

    def claim(
        self, value: int | pa.Array, clm: np.ndarray, sel: np.ndarray | None = None
    ) -> pa.Array:
        """Element `value` (0-based after the id; or values, one per segment) of the
        claim-level (2300/2310) segment."""
        keep = self.lp.claim_level[self.pos] & (True if sel is None else sel)
        values = self._values(value).filter(keep)
        return owned(self.lp.claim_of[self.pos][keep], values, clm, True)

    def line(
        self, value: int | pa.Array, lx: np.ndarray, sel: np.ndarray | None = None
    ) -> pa.Array:
        """Element `value` of the line's (2400-2430) first such segment."""
        keep = (self.lp.line_of[self.pos] >= 0) & (True if sel is None else sel)
        values = self._values(value).filter(keep)
        return owned(self.lp.line_of[self.pos][keep], values, lx, True)

    def dates(self) -> pa.Array:
        """DTP03 as a date: a D8 date, or the start of an RD8 range."""
        return pc.utf8_slice_codeunits(self.el[2], 0, 8)

    def level(
        self, value: int, level: int, clm: np.ndarray, sel: np.ndarray | None = None
    ) -> pa.Array:
        """Element `value` of the segment in the claim's own hierarchical level loop (HL 20, 22
        or 23), the last before the claim; null where the claim has no such level."""
        keep = self.lp.above_claims(level)[self.pos] & (True if sel is None else sel)
        floor = self.lp.last_level[level][clm]
        if level == PATIENT:  # only a claim in a patient's HL 23 has a patient loop
            floor = np.where(self.lp.level[clm] == PATIENT, floor, np.iinfo(np.int64).max)
        floor = np.where(floor >= self.lp.tx_start[clm], floor, np.iinfo(np.int64).max)
        return before(self.pos[keep], self.el[value].filter(keep), clm, floor)


def claim_fields(segs: Segments, lp: Loops, txs: Transactions, clm: np.ndarray) -> dict:
    """The claim-level canonical fields, one value per CLM position of `clm`."""
    comp = segs.seps.component
    e_clm = segs.elements(clm, 5)
    facility, code_kind, frequency = split_padded(e_clm[4], comp, 3)
    sbr = Extractor.of(segs, lp, "SBR", 9)
    nm1 = Extractor.of(segs, lp, "NM1", 9)
    bht = Extractor.of(segs, lp, "BHT", 4)
    claim_type = pa.array(txs.claim_type[lp.tx_of[clm]].astype(str), pa.large_string())
    fields = {
        "claim_id": e_clm[0],
        "claim_frequency": frequency,
        "claim_type": claim_type,
        # CLM05-1 is a place of service (qualifier B, 837P); in an 837I it is a facility code
        "place_of_service": pc.if_else(
            _is(code_kind, "B"), facility, pa.nulls(len(facility), facility.type)
        ),
        "submission_date": before(bht.pos, bht.el[3], clm, lp.tx_start[clm]),
        "payer_sequence": recode(sbr.level(0, SUBSCRIBER, clm), SEQUENCES, None),
        "payer_type": recode(sbr.level(8, SUBSCRIBER, clm), FILING_INDICATORS, "other"),
        "payer_id": nm1.level(8, SUBSCRIBER, clm, _is(nm1.el[0], "PR")),
        "billing_provider": nm1.level(8, BILLING, clm, _is(nm1.el[0], "85")),
        "rendering_provider": nm1.claim(8, clm, _is(nm1.el[0], "82")),
        "patient_id": _patient_ids(segs, lp, nm1, clm),
        "other_payer_paid_usd": _other_payer_paid(segs, lp, clm),
    }
    dtp, ref = Extractor.of(segs, lp, "DTP", 3), Extractor.of(segs, lp, "REF", 2)
    dates = dtp.dates()
    fields["service_date"] = pc.coalesce(
        dtp.claim(dates, clm, _is(dtp.el[0], "472")), dtp.claim(dates, clm, _is(dtp.el[0], "434"))
    )
    fields["prior_auth_number"] = ref.claim(1, clm, _is(ref.el[0], "G1"))
    return fields


def _patient_ids(segs: Segments, lp: Loops, nm1: Extractor, clm: np.ndarray) -> pa.Array:
    """The subscriber's member id (NM1*IL NM109); for a claim of a dependent patient (HL 23,
    whose NM1*QC carries no id in 5010) the member id, the patient's name and birth date
    (DMG02), joined by `:`."""
    subscriber = nm1.level(8, SUBSCRIBER, clm, _is(nm1.el[0], "IL"))
    is_qc = _is(nm1.el[0], "QC")
    last, first = (nm1.level(k, PATIENT, clm, is_qc) for k in (2, 3))
    dmg = Extractor.of(segs, lp, "DMG", 2)
    born = dmg.level(1, PATIENT, clm)
    joined = pc.binary_join_element_wise(
        subscriber,
        last,
        first,
        born,
        pa.scalar(":", subscriber.type),
        null_handling="replace",
        null_replacement="",
    )
    return pc.if_else(pc.is_valid(last), joined, subscriber)


def _other_payer_paid(segs: Segments, lp: Loops, clm: np.ndarray) -> pa.Array:
    """AMT*D of loop 2320 (payer paid amount); several other payers' amounts are summed (an
    amount that is not a number is passed on as it is, for the validator to reject)."""
    amt = Extractor.of(segs, lp, "AMT", 2)
    keep = lp.other_subscriber[amt.pos] & _is(amt.el[0], "D")
    owner, text = lp.claim_of[amt.pos][keep], amt.el[1].filter(keep)
    first = owned(owner, text, clm, True)
    row = np.searchsorted(clm, owner)
    value = pd.to_numeric(pd.Series(text.to_pandas()), errors="coerce").to_numpy(dtype=float)
    count = np.bincount(row, minlength=len(clm))
    bad = np.bincount(row, weights=np.isnan(value), minlength=len(clm)) > 0
    total = np.bincount(row, weights=np.nan_to_num(value), minlength=len(clm))
    summed = pa.array(np.round(total, 2)).cast(pa.string()).cast(text.type)
    return pc.if_else(pa.array((count > 1) & ~bad), summed, first)


def line_fields(segs: Segments, lp: Loops, lx: np.ndarray, professional: np.ndarray) -> dict:
    """The line-level canonical fields, one value per LX position of `lx`; `professional`:
    whether each line is of an 837P (SV1) or an 837I (SV2) claim."""
    comp = segs.seps.component
    sv1, sv2 = Extractor.of(segs, lp, "SV1", 7), Extractor.of(segs, lp, "SV2", 5)
    prof = pa.array(professional)
    # SV101 / SV202: qualifier:code:modifier 1..4; SV102/SV203 charge; SV104/SV205 units
    procedure = pc.if_else(prof, sv1.line(0, lx), sv2.line(1, lx))
    _qualifier, code, *modifiers = split_padded(procedure, comp, 6)
    nm1 = Extractor.of(segs, lp, "NM1", 9)
    dtp, ref = Extractor.of(segs, lp, "DTP", 3), Extractor.of(segs, lp, "REF", 2)
    lin, ctp = Extractor.of(segs, lp, "LIN", 3), Extractor.of(segs, lp, "CTP", 5)
    svd = Extractor.of(segs, lp, "SVD", 2)
    return {
        "line_number": Extractor.of(segs, lp, "LX", 1).line(0, lx),
        "service_present": pc.is_valid(pc.if_else(prof, sv1.line(0, lx), sv2.line(0, lx))),
        "hcpcs_code": code,
        "modifiers": modifiers,  # joined by the caller (`join_repeated`)
        "charge_usd": pc.if_else(prof, sv1.line(1, lx), sv2.line(2, lx)),
        "billed_units": pc.if_else(prof, sv1.line(3, lx), sv2.line(4, lx)),
        "place_of_service": pc.if_else(prof, sv1.line(4, lx), pa.nulls(len(lx), code.type)),
        "pointers": split_padded(sv1.line(6, lx), comp, MAX_POINTERS),
        "service_date": dtp.line(dtp.dates(), lx, _is(dtp.el[0], "472")),
        "rendering_provider": nm1.line(8, lx, _is(nm1.el[0], "82")),
        "prior_auth_number": ref.line(1, lx, _is(ref.el[0], "G1")),
        "ndc": lin.line(2, lx, _is(lin.el[1], "N4")),
        "ndc_quantity": ctp.line(3, lx),
        "ndc_unit_qualifier": split_padded(ctp.line(4, lx), comp, 1)[0],
        # loop 2430 line adjudication: SVD02 the amount the other payer paid for this line
        "other_payer_paid_usd": svd.line(1, lx),
    }


def _claim_diagnoses(
    segs: Segments, lp: Loops, clm: np.ndarray
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The diagnosis codes of the claims' HI segments in order (HI01, HI02, ... of each HI
    segment in turn), and the flat slot of each: claim row x width + rank in its claim."""
    hi = Extractor.of(segs, lp, "HI", _HI_ELEMENTS)
    keep = lp.claim_level[hi.pos]
    pos, els = hi.pos[keep], [e.filter(keep) for e in hi.el]
    if not len(pos):
        return pa.array([], pa.large_string()), np.zeros(0, np.int64), np.zeros(0, np.int64)
    parts = [split_padded(e, segs.seps.component, 2) for e in els]
    quals = pa.concat_arrays([p[0] for p in parts])
    codes = pa.concat_arrays([p[1] for p in parts])
    order_key = np.concatenate([pos * _HI_ELEMENTS + k for k in range(_HI_ELEMENTS)])
    owner = np.tile(lp.claim_of[pos], _HI_ELEMENTS)
    wanted = np.asarray(pc.is_in(quals, pa.array(DIAGNOSIS_QUALIFIERS, quals.type)))
    wanted &= np.asarray(pc.is_valid(codes))
    order = np.flatnonzero(wanted)[np.argsort(order_key[wanted], kind="stable")]
    owner, codes = owner[order], codes.take(pa.array(order))
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
    return codes, np.searchsorted(clm, owner), rank


def diagnosis_columns(
    segs: Segments,
    lp: Loops,
    clm: np.ndarray,
    line_claim: np.ndarray,
    pointers: list[pa.Array],
    professional: np.ndarray,
) -> list[pa.Array]:
    """Per line, the diagnosis code columns to join: an 837P line's codes are those its SV107
    pointers name (1-based into the claim's HI codes), an 837I line's all of its claim's."""
    codes, row, rank = _claim_diagnoses(segs, lp, clm)
    width = int(rank.max()) + 1 if len(rank) else 1
    slot = np.full(len(clm) * width + 1, -1, dtype=np.int64)  # last slot: "no code"
    slot[row * width + rank] = np.arange(len(rank))
    base = line_claim * width
    columns = []
    for j in range(max(width, MAX_POINTERS)):
        if j < MAX_POINTERS:
            pointer = numbers(pointers[j])
            ok = professional & (pointer >= 1) & (pointer <= width)
            at = np.where(ok, base + np.nan_to_num(pointer, nan=1).astype(np.int64) - 1, -1)
        else:
            at = np.full(len(base), -1, dtype=np.int64)
        if j < width:
            at = np.where(professional, at, base + j)
        index = slot[at]  # -1 (the "no code" slot) where none
        columns.append(taken(codes, np.maximum(index, 0), index >= 0))
    return columns
