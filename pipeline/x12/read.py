"""Read an X12 5010 837P / 837I file into canonical text columns (`X12Lines`), which
`ingest.read_input` screens and hands on as the `RawInput` that CSV and Parquet files give.

One row per service line (LX); `source_row` is the line's LX segment number in the file
(1-based, counting every segment from the first ISA). A line that cannot be read is a V006
reject naming its segment and why: every line of a transaction set whose envelope is broken
(SE01 count, control numbers, unknown version, truncated), of a claim that cannot be read (no
CLM01, no subscriber loop; the message names the CLM segment), a line without its SV1/SV2. A
claim without any service line is one reject (its CLM segment). When no transaction set can be
read at all, the file is an InputError naming the segment. `rows_read` counts service lines
(and claims without one), so rows_read == audited + rejected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.errors import InputError
from claims_audit.rejects import unreadable_rows
from claims_audit.x12.envelope import Transactions, first_problem, transactions
from claims_audit.x12.fields import claim_fields, diagnosis_columns, line_fields
from claims_audit.x12.loops import Loops, loops
from claims_audit.x12.tokens import ISA_LENGTH, Segments, file_text, separators, split_segments

ENCODING = "x12"  # what the summary records as the file's encoding
# claim- and line-level fields that the canonical line takes, line value first
_LINE_OVER_CLAIM = ("service_date", "prior_auth_number", "place_of_service", "other_payer_paid_usd")
_CLAIM_ONLY = (
    "claim_id",
    "patient_id",
    "payer_type",
    "payer_id",
    "claim_frequency",
    "claim_type",
    "submission_date",
    "payer_sequence",
)
_LINE_ONLY = (
    "line_number",
    "hcpcs_code",
    "billed_units",
    "charge_usd",
    "ndc",
    "ndc_unit_qualifier",
    "ndc_quantity",
)


def parse(data: bytes, path: Path) -> tuple[Segments, Transactions, Loops, bool]:
    """The segments, transaction sets and loops of an 837's bytes, and whether undecodable
    bytes were replaced; InputError when no transaction set can be read."""
    text, undecodable = file_text(data)
    head = pc.utf8_slice_codeunits(text, 0, ISA_LENGTH)[0].as_py().lstrip(" \t\r\n")
    seps = separators(head)
    if seps is None:
        raise InputError(
            f"{path}: segment 1: not an X12 interchange header (ISA of {ISA_LENGTH} characters "
            "with its element, component and segment separators)"
        )
    segs = split_segments(text, seps)
    txs = transactions(segs)
    if not txs.good.any():
        why = txs.problem.dropna()
        reason = why.iloc[0] if len(why) else "no transaction set (ST..SE) in the file"
        raise InputError(
            f"{path}: cannot be read as an 837: {reason} (the file holds {len(segs):,} segments)"
        )
    return segs, txs, loops(segs, txs), undecodable


def _line_problems(
    lp: Loops,
    txs: Transactions,
    lx: np.ndarray,
    claim_problem: pd.Series,
    row: np.ndarray,
    service: np.ndarray,
) -> pd.Series:
    """Why each line cannot be read (<NA>: it can): its transaction set, its claim, itself."""
    problem = pd.Series(pd.NA, index=range(len(lx)), dtype="string")
    tx = lp.tx_of[lx]
    problem = first_problem(problem, np.ones(len(lx), bool), txs.problem.iloc[tx].to_numpy())
    in_claim = lp.claim_of[lx] >= 0
    problem = first_problem(problem, ~in_claim, "service line (LX) outside a claim (CLM)")
    shown = claim_problem.iloc[np.maximum(row, 0)].to_numpy() if len(claim_problem) else None
    if shown is not None:
        problem = first_problem(problem, in_claim & pd.notna(shown), shown)
    kind = np.where(txs.claim_type[tx] == "institutional", "SV2", "SV1")
    missing = "service line has no " + pd.Series(kind, dtype="string") + " segment"
    return first_problem(problem, ~service, missing)


def _claim_problems(fields: dict, clm: np.ndarray) -> pd.Series:
    """Why each claim cannot be read: no CLM01, no subscriber loop (SBR) before it."""
    where = "claim at segment " + pd.Series(clm + 1, dtype="int64").astype("string")
    problem = pd.Series(pd.NA, index=range(len(clm)), dtype="string")
    problem = first_problem(
        problem, np.asarray(pc.is_null(fields["claim_id"])), where + ": no CLM01"
    )
    no_sbr = np.asarray(pc.is_null(fields["payer_type"])) & np.asarray(
        pc.is_null(fields["payer_sequence"])
    )
    return first_problem(problem, no_sbr, where + ": no subscriber loop (HL 22, SBR) before it")


def lines_table(
    segs: Segments, txs: Transactions, lp: Loops
) -> tuple[pa.Table, np.ndarray, pd.Series, np.ndarray, pd.Series]:
    """The canonical text columns of every service line, the LX positions, why each line
    cannot be read (<NA>: it can), the CLM positions of claims without lines and why those
    cannot be read (<NA>: only for having no line)."""
    clm = np.flatnonzero(segs.mask("CLM") & (lp.claim_of >= 0))
    lx = np.flatnonzero(segs.mask("LX") & (lp.tx_of >= 0))
    row = np.searchsorted(clm, lp.claim_of[lx])
    row = np.where(lp.claim_of[lx] >= 0, np.minimum(row, max(len(clm) - 1, 0)), -1)
    claims = claim_fields(segs, lp, txs, clm)
    professional = txs.claim_type[lp.tx_of[lx]] == "professional"
    lines = line_fields(segs, lp, lx, professional)
    safe = pa.array(np.maximum(row, 0))

    def of_claim(name: str) -> pa.Array:
        values = claims[name]
        return values.take(safe) if len(values) else pa.nulls(len(lx), pa.large_string())

    columns = {name: lines[name] for name in _LINE_ONLY}
    columns |= {name: of_claim(name) for name in _CLAIM_ONLY}
    columns |= {name: pc.coalesce(lines[name], of_claim(name)) for name in _LINE_OVER_CLAIM}
    columns["provider_id"] = pc.coalesce(
        lines["rendering_provider"], of_claim("rendering_provider"), of_claim("billing_provider")
    )
    dx = diagnosis_columns(segs, lp, clm, np.maximum(row, 0), lines["pointers"], professional)
    table = pa.table(
        [*columns.values(), *lines["modifiers"], *dx],
        names=[*columns, *["modifiers"] * len(lines["modifiers"]), *["diagnosis_codes"] * len(dx)],
    )
    # the parts of `modifiers` and `diagnosis_codes` stay columns of one name: ingest joins them
    # as it joins a CSV's repeated headers (`join_repeated`)
    table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
    claim_problem = _claim_problems(claims, clm)
    service = np.asarray(lines["service_present"])
    problem = _line_problems(lp, txs, lx, claim_problem, row, service)
    lineless = ~np.isin(clm, lp.claim_of[lx])
    lineless_problem = first_problem(
        pd.Series(txs.problem.iloc[lp.tx_of[clm[lineless]]].to_numpy(), dtype="string"),
        np.ones(int(lineless.sum()), bool),
        claim_problem[lineless].reset_index(drop=True),
    )
    return table, lx, problem, clm[lineless], lineless_problem


def _rejects(path: Path, positions: np.ndarray, why: pd.Series) -> pd.DataFrame:
    """V006 reject records of segments (0-based `positions`) that cannot be read."""
    rows = positions.astype(np.int64) + 1
    where = f"{path} segment " + pd.Series(rows, dtype="int64").astype("string") + ": "
    return unreadable_rows(path, rows, (where + why.reset_index(drop=True)).to_numpy())


@dataclass
class X12Lines:
    """An 837 file's service lines before screening: `table` holds canonical text columns (the
    parts of a list field as several columns of its name), `source_rows` the 1-based LX segment
    number of each, `rejects` the lines and claims that cannot be read (V006)."""

    table: pa.Table
    source_rows: np.ndarray
    rejects: pd.DataFrame
    sha256: str
    rows_read: int
    undecodable: bool


def read_x12(path: Path) -> X12Lines:
    """The service lines of the 837 file at `path` (InputError when none can be read)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    segs, txs, lp, undecodable = parse(data, path)
    table, lx, problem, lineless, lineless_why = lines_table(segs, txs, lp)
    del data, segs, txs, lp  # the file's text and segments: not held while converting
    bad = problem.notna().to_numpy()
    lineless_why = lineless_why.fillna("claim has no service line (LX)")
    rejects = [_rejects(path, lx[bad], problem[bad]), _rejects(path, lineless, lineless_why)]
    return X12Lines(
        table=table.filter(pa.array(~bad)),
        source_rows=lx[~bad] + 1,
        rejects=pd.concat(rejects, ignore_index=True),
        sha256=sha256,
        rows_read=len(lx) + len(lineless),
        undecodable=undecodable,
    )
