"""X12 envelopes: which transaction sets (ST..SE) of a file can be read, and why not the others.

Interchange (ISA..IEA), functional group (GS..GE) and transaction set (ST..SE) are matched by
position with `searchsorted` over the envelope segments (no loop over them): counts (IEA01,
GE01, SE01) and control numbers are checked, and the implementation guide (ST03, else GS08)
picks 837P or 837I. A transaction set fails with the first problem of its interchange, its
group or itself; its claims' lines become rejects (`read.read_x12`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.x12.tokens import ISA_LENGTH, Segments

# implementation guides read (GS08 / ST03) -> claim type
VERSIONS = {
    "005010X222A1": "professional",
    "005010X222A2": "professional",
    "005010X223A2": "institutional",
    "005010X223A3": "institutional",
}
_NONE = np.iinfo(np.int64).max  # "no such segment after this one"


@dataclass
class Transactions:
    """The transaction sets of a file, in file order."""

    start: np.ndarray  # position (0-based) of each ST
    end: np.ndarray  # position of its SE (_NONE: missing)
    claim_type: np.ndarray  # professional / institutional / "" (unknown version)
    problem: pd.Series  # why it cannot be read, <NA> when it can (text names segments)

    @property
    def good(self) -> np.ndarray:
        return self.problem.isna().to_numpy()


def _next(positions: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each of `at`, the first of the sorted `positions` after it (_NONE if none)."""
    k = np.searchsorted(positions, at, side="right")
    padded = np.append(positions, _NONE)
    return padded[k]


def _last(positions: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each of `at`, the index of the last of `positions` at or before it (-1 if none)."""
    return np.searchsorted(positions, at, side="right") - 1


def _text(values: pa.Array) -> pd.Series:
    return values.to_pandas(types_mapper={pa.large_string(): pd.StringDtype()}.get).astype("string")


def _numbers(positions: np.ndarray) -> pd.Series:
    """1-based segment numbers as text, for messages."""
    return pd.Series(positions + 1, dtype="int64").astype("string")


def first_problem(problem: pd.Series, when: np.ndarray, why: pd.Series | str) -> pd.Series:
    """`problem` with `why` where `when` holds and no earlier problem was found."""
    why = pd.Series(why, index=problem.index, dtype="string")
    return problem.where(problem.notna() | ~pd.Series(when, index=problem.index), why)


def _pairs(segs: Segments, head: str, tail: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the `head` segments and of the `tail` that closes each (_NONE when another
    `head` or the file's end comes first)."""
    heads = np.flatnonzero(segs.mask(head))
    tails = np.flatnonzero(segs.mask(tail))
    closing = _next(tails, heads)
    following = _next(heads, heads)
    return heads, np.where(closing < following, closing, _NONE)


def _count_between(positions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    return np.searchsorted(positions, end) - np.searchsorted(positions, start, side="right")


def _interchange_problems(segs: Segments) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """ISA positions, their IEA, and per interchange the first problem (or <NA>)."""
    isa, iea = _pairs(segs, "ISA", "IEA")
    problem = pd.Series(pd.NA, index=range(len(isa)), dtype="string")
    where = _numbers(isa)
    length = pc.utf8_length(segs.text.take(pa.array(isa))).to_numpy(zero_copy_only=False)
    e_isa = segs.elements(isa, 16)
    problem = first_problem(
        problem,
        (length != ISA_LENGTH - 1) | np.array(pc.is_null(e_isa[12]), dtype=bool),
        "ISA at segment " + where + f" is not a {ISA_LENGTH}-character interchange header",
    )
    version = _text(e_isa[11]).fillna("")
    problem = first_problem(
        problem,
        (version != "00501").to_numpy(),
        "ISA at segment " + where + ": version " + version + " is not 00501 (5010)",
    )
    problem = first_problem(
        problem, iea == _NONE, "interchange at segment " + where + " has no IEA (truncated?)"
    )
    found = np.minimum(iea, len(segs) - 1)
    e_iea = segs.elements(found, 2)
    groups = _count_between(np.flatnonzero(segs.mask("GS")), isa, iea)
    said = pd.to_numeric(_text(e_iea[0]), errors="coerce").to_numpy()
    problem = first_problem(
        problem,
        (said != groups) | (_text(e_iea[1]) != _text(e_isa[12])).fillna(True).to_numpy(),
        "IEA at segment "
        + _numbers(found)
        + " does not match its ISA at segment "
        + where
        + " (group count or control number)",
    )
    return isa, iea, problem


def _group_problems(segs: Segments) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series]:
    """GS positions, their GE, the implementation guide (GS08) and the first problem."""
    gs, ge = _pairs(segs, "GS", "GE")
    problem = pd.Series(pd.NA, index=range(len(gs)), dtype="string")
    where = _numbers(gs)
    e_gs = segs.elements(gs, 8)
    problem = first_problem(
        problem, ge == _NONE, "functional group at segment " + where + " has no GE (truncated?)"
    )
    found = np.minimum(ge, len(segs) - 1)
    e_ge = segs.elements(found, 2)
    sets = _count_between(np.flatnonzero(segs.mask("ST")), gs, ge)
    said = pd.to_numeric(_text(e_ge[0]), errors="coerce").to_numpy()
    problem = first_problem(
        problem,
        (said != sets) | (_text(e_ge[1]) != _text(e_gs[5])).fillna(True).to_numpy(),
        "GE at segment "
        + _numbers(found)
        + " does not match its GS at segment "
        + where
        + " (transaction count or control number)",
    )
    return gs, ge, problem, _text(e_gs[7]).fillna("")


def transactions(segs: Segments) -> Transactions:
    """The transaction sets of the file and, for each, the first envelope problem."""
    isa, iea, isa_problem = _interchange_problems(segs)
    gs, ge, gs_problem, gs_version = _group_problems(segs)
    st, se = _pairs(segs, "ST", "SE")
    problem = pd.Series(pd.NA, index=range(len(st)), dtype="string")
    # the enclosing interchange and group, and their problems first
    for heads, tails, outer, name in ((isa, iea, isa_problem, "ISA"), (gs, ge, gs_problem, "GS")):
        k = _last(heads, st)
        inside = k >= 0
        if len(heads):
            inside &= tails[np.maximum(k, 0)] > st
        problem = first_problem(
            problem, ~inside, "ST at segment " + _numbers(st) + f" is outside any {name} envelope"
        )
        if len(heads):
            shown = outer.iloc[np.maximum(k, 0)].reset_index(drop=True)
            problem = first_problem(problem, shown.notna().to_numpy() & inside, shown)
    where = _numbers(st)
    e_st = segs.elements(st, 3)
    group_version = gs_version.reindex(np.maximum(_last(gs, st), 0)).reset_index(drop=True)
    version = _text(e_st[2]).fillna(group_version).fillna("")
    claim_type = version.map(VERSIONS).fillna("").to_numpy(dtype=object)
    problem = first_problem(
        problem,
        (_text(e_st[0]) != "837").fillna(True).to_numpy(),
        "transaction set at segment "
        + where
        + " is not an 837 (ST01 "
        + _text(e_st[0]).fillna("")
        + ")",
    )
    problem = first_problem(
        problem,
        claim_type == "",
        "transaction set at segment "
        + where
        + ": unknown version "
        + version
        + f" (read: {', '.join(VERSIONS)})",
    )
    problem = first_problem(
        problem, se == _NONE, "transaction set at segment " + where + " has no SE (truncated?)"
    )
    found = np.minimum(se, len(segs) - 1)
    e_se = segs.elements(found, 2)
    said = pd.to_numeric(_text(e_se[0]), errors="coerce").to_numpy()
    problem = first_problem(
        problem,
        (said != found - st + 1) | (_text(e_se[1]) != _text(e_st[1])).fillna(True).to_numpy(),
        "SE at segment "
        + _numbers(found)
        + " says "
        + _text(e_se[0]).fillna("?")
        + " segments, the transaction set from segment "
        + where
        + " has "
        + pd.Series(found - st + 1).astype("string")
        + " (or its control number differs)",
    )
    return Transactions(st, se, claim_type, problem)
