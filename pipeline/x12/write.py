"""Write canonical claim lines as an X12 5010 837 interchange (837P and 837I), vectorised.

Professional lines become a functional group of 005010X222A1 transaction sets, institutional
lines one of 005010X223A2 sets, in one interchange. Each claim is its own billing provider
(HL 20, NM1*85 = the claim's provider_id) and subscriber (HL 22: SBR, NM1*IL = patient_id,
NM1*PR = payer_id); a transaction set holds the claims of one submission date (BHT04), at most
`claims_per_set`. What `x12.read` maps back is written: CLM01/05, REF*G1, HI (at most 12 codes
a claim, no decimal point), loop 2320 (SBR, AMT*D) for a secondary or tertiary claim, LX, SV1 /
SV2, DTP*472, NM1*82 where a line's provider differs from its claim's, LIN*N4 and CTP. Claim
fields come from a claim's first line. Dose columns have no place in an 837 and are dropped.
Separator characters inside values become spaces. Segments are built as Arrow string columns
and the file is their concatenation (no loop over lines or claims).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims_audit.report.writers import write_file_atomically

ELEMENT, COMPONENT, REPETITION, TERMINATOR = "*", ":", "^", "~\n"
PROFESSIONAL, INSTITUTIONAL = "005010X222A1", "005010X223A2"
MAX_DIAGNOSES = 12  # one HI segment
MAX_POINTERS = 4  # SV107
CLAIMS_PER_SET = 5000
_FILING = {  # payer_type -> SBR09 (medicare: MB professional, MA institutional)
    "medicare_advantage": "16",
    "medicaid": "MC",
    "commercial": "CI",
    "other": "ZZ",
}
_SEQUENCE = {"primary": "P", "secondary": "S", "tertiary": "T"}
_DATE_FORMS = [(r"^(\d{4})-(\d{2})-(\d{2})$", r"\1\2\3"), (r"^(\d{2})/(\d{2})/(\d{4})$", r"\3\1\2")]
_LIST_SEPARATORS = r"[\s,:|]+"
_STR = pa.string()


def _s(value: str) -> pa.Scalar:
    return pa.scalar(value, _STR)


def segment(*parts, sep: str = ELEMENT) -> pa.Array:
    """Elements (arrays or texts; null -> empty) joined by `sep`, trailing separators cut."""
    parts = [_s(p) if isinstance(p, str) else p for p in parts]
    joined = pc.binary_join_element_wise(
        *parts, _s(sep), null_handling="replace", null_replacement=""
    )
    return pc.utf8_rtrim(joined, sep)


def when(mask, values: pa.Array) -> pa.Array:
    """`values` where `mask`, null elsewhere (a null segment is not written)."""
    return pc.if_else(mask, values, pa.scalar(None, _STR))


def text_columns(lines: pd.DataFrame) -> dict[str, pa.Array]:
    """Every column as trimmed text (empty -> null), separator characters as spaces, dates as
    CCYYMMDD."""
    table = pa.Table.from_pandas(lines.reset_index(drop=True), preserve_index=False)
    out = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), pa.nulls(len(column), column.type), column)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.date32())
        column = pc.utf8_trim_whitespace(column.cast(_STR))
        column = pc.replace_substring_regex(column, r"[*:~^\r\n]", " ")
        if name.endswith("_date"):
            for pattern, replacement in _DATE_FORMS:
                column = pc.replace_substring_regex(column, pattern, replacement)
        out[name] = pc.if_else(pc.equal(column, ""), pa.nulls(len(column), _STR), column)
    return out


def _codes(values: pa.Array, table: dict[str, str], default: str) -> pa.Array:
    lower = pc.utf8_lower(values)
    found = pa.array(list(table.values()), _STR).take(pc.index_in(lower, pa.array(list(table))))
    return pc.fill_null(found, default)


class Plan:
    """Lines in writing order and, per claim (in order), its first line and transaction set."""

    def __init__(self, cols: dict[str, pa.Array], n: int, claims_per_set: int):
        claim_code = pd.factorize(cols["claim_id"].to_pandas(), use_na_sentinel=False)[0]
        by_claim = np.argsort(claim_code, kind="stable")
        first = by_claim[np.searchsorted(claim_code[by_claim], np.arange(claim_code.max() + 1))]
        inst = np.asarray(
            pc.fill_null(pc.equal(cols["claim_type"].take(first), "institutional"), False)
        )
        submitted = cols["submission_date"].take(first).to_pandas().fillna("").to_numpy(dtype=str)
        rank = np.lexsort((np.arange(len(first)), submitted, inst))  # claims in writing order
        position = np.empty_like(rank)
        position[rank] = np.arange(len(rank))
        self.order = np.lexsort((np.arange(n), position[claim_code]))
        self.line_claim = position[claim_code][self.order]
        self.first = first[rank]
        self.institutional = inst[rank]
        group = np.r_[
            True, (np.diff(inst[rank]) != 0) | (submitted[rank][1:] != submitted[rank][:-1])
        ]
        start = np.maximum.accumulate(np.where(group, np.arange(len(rank)), 0))
        within = np.arange(len(rank)) - start
        new_set = group | (within % claims_per_set == 0)
        self.tx = np.cumsum(new_set) - 1
        self.in_set = np.arange(len(rank)) - np.maximum.accumulate(
            np.where(new_set, np.arange(len(rank)), 0)
        )

    def claim(self, cols: dict, name: str) -> pa.Array:
        return cols[name].take(pa.array(self.first))

    def line(self, cols: dict, name: str) -> pa.Array:
        return cols[name].take(pa.array(self.order))


def _diagnoses(plan: Plan, cols: dict) -> tuple[pa.Array, pa.Array]:
    """Per claim its HI segment (the distinct codes of its lines in order of appearance, at most
    MAX_DIAGNOSES, no decimal point), per line its SV107 pointers into them."""
    text = pc.replace_substring(plan.line(cols, "diagnosis_codes"), ".", "")
    parts = pc.split_pattern_regex(
        pc.utf8_trim(pc.replace_substring_regex(text, _LIST_SEPARATORS, ","), ","), ","
    )
    line = np.asarray(pc.list_parent_indices(parts))
    codes = pd.Series(pc.list_flatten(parts).to_pandas(), dtype="string")
    long = pd.DataFrame({"claim": plan.line_claim[line], "line": line, "code": codes})
    long = long[long["code"].fillna("") != ""]
    distinct = long.drop_duplicates(["claim", "code"]).copy()
    distinct["rank"] = distinct.groupby("claim").cumcount()
    distinct = distinct[distinct["rank"] < MAX_DIAGNOSES]
    n_claims = len(plan.first)
    slots = np.full(n_claims * MAX_DIAGNOSES, None, dtype=object)
    qualifier = np.where(distinct["rank"].to_numpy() == 0, "ABK:", "ABF:")
    slots[distinct["claim"].to_numpy() * MAX_DIAGNOSES + distinct["rank"].to_numpy()] = (
        pd.Series(qualifier) + distinct["code"].astype(str).to_numpy()
    ).to_numpy()
    grid = [pa.array(slots[k::MAX_DIAGNOSES], _STR) for k in range(MAX_DIAGNOSES)]
    hi = when(pc.is_valid(grid[0]), segment("HI", *grid))
    pointed = long.merge(distinct[["claim", "code", "rank"]], on=["claim", "code"])
    pointed = pointed.drop_duplicates(["line", "rank"])
    pointed["j"] = pointed.groupby("line").cumcount()
    pointed = pointed[pointed["j"] < MAX_POINTERS]
    flat = np.full(len(plan.order) * MAX_POINTERS, None, dtype=object)
    flat[pointed["line"].to_numpy() * MAX_POINTERS + pointed["j"].to_numpy()] = (
        pointed["rank"].to_numpy() + 1
    ).astype(str)
    columns = [pa.array(flat[k::MAX_POINTERS], _STR) for k in range(MAX_POINTERS)]
    return hi, segment(*columns, sep=COMPONENT)


def _claim_segments(plan: Plan, cols: dict, hi: pa.Array) -> list[pa.Array]:
    """The segments of each claim before its lines, in loop order (null: not written)."""
    inst = pa.array(plan.institutional)
    billing = 2 * plan.in_set + 1
    payer_type = plan.claim(cols, "payer_type")
    medicare = pc.if_else(inst, _s("MA"), _s("MB"))
    filing = pc.if_else(
        pc.equal(pc.utf8_lower(payer_type), "medicare"), medicare, _codes(payer_type, _FILING, "ZZ")
    )
    sequence = _codes(plan.claim(cols, "payer_sequence"), _SEQUENCE, "P")
    secondary = pc.not_equal(sequence, "P")
    patient = plan.claim(cols, "patient_id")
    place = pc.if_else(inst, _s("13"), pc.fill_null(plan.claim(cols, "place_of_service"), ""))
    frequency = pc.fill_null(plan.claim(cols, "claim_frequency"), "1")
    kind = pc.if_else(inst, _s("A"), _s("B"))
    charges = pd.to_numeric(plan.line(cols, "charge_usd").to_pandas(), errors="coerce").fillna(0)
    total = np.bincount(plan.line_claim, weights=charges.to_numpy(), minlength=len(plan.first))
    span = _statement_span(plan, cols)
    line_paid = pd.to_numeric(plan.line(cols, "other_payer_paid_usd").to_pandas(), errors="coerce")
    paid_lines = np.bincount(
        plan.line_claim, weights=line_paid.notna().to_numpy(), minlength=len(plan.first)
    )
    paid_total = np.bincount(
        plan.line_claim, weights=line_paid.fillna(0).to_numpy(), minlength=len(plan.first)
    )
    paid = when(pa.array(paid_lines > 0), pa.array(np.round(paid_total, 2)).cast(_STR))
    return [
        segment("HL", pa.array(billing.astype(str)), "", "20", "1"),
        segment(
            "NM1",
            "85",
            "2",
            "BILLING PROVIDER",
            "",
            "",
            "",
            "",
            when(
                pc.is_valid(plan.claim(cols, "provider_id")),
                pa.array(np.full(len(plan.first), "XX")),
            ),
            plan.claim(cols, "provider_id"),
        ),
        segment("N3", "1 MAIN STREET"),
        segment("N4", "ANYTOWN", "IL", "600010001"),
        segment("REF", "EI", "000000000"),
        segment(
            "HL", pa.array((billing + 1).astype(str)), pa.array(billing.astype(str)), "22", "0"
        ),
        segment("SBR", sequence, "18", "", "", "", "", "", "", filing),
        segment("NM1", "IL", "1", "SUBSCRIBER", "", "", "", "", "MI", patient),
        segment("NM1", "PR", "2", "PAYER", "", "", "", "", "PI", plan.claim(cols, "payer_id")),
        segment(
            "CLM",
            plan.claim(cols, "claim_id"),
            pa.array(np.round(total, 2)).cast(_STR),
            "",
            "",
            segment(place, kind, frequency, sep=COMPONENT),
            "Y",
            "A",
            "Y",
            "Y",
        ),
        when(inst, segment("DTP", "434", "RD8", span)),
        when(inst, segment("CL1", "3", "", "01")),
        hi,
        when(secondary, segment("SBR", "P", "18", "", "", "", "", "", "", "ZZ")),
        when(pc.and_(secondary, pc.is_valid(paid)), segment("AMT", "D", paid)),
        when(secondary, segment("OI", "", "", "Y", "", "", "Y")),
        when(secondary, segment("NM1", "IL", "1", "SUBSCRIBER", "", "", "", "", "MI", patient)),
        when(
            secondary, segment("NM1", "PR", "2", "OTHER PAYER", "", "", "", "", "PI", "OTHERPAYER")
        ),
    ]


def _statement_span(plan: Plan, cols: dict) -> pa.Array:
    """Per claim the RD8 range of its lines' service dates (837I DTP*434 statement dates)."""
    dates = pd.to_numeric(plan.line(cols, "service_date").to_pandas(), errors="coerce").to_numpy()
    starts = np.searchsorted(plan.line_claim, np.arange(len(plan.first)))
    bounds = [ufunc.reduceat(dates, starts) for ufunc in (np.fmin, np.fmax)]
    first, last = (pa.array(b, mask=np.isnan(b)).cast(pa.int64()).cast(_STR) for b in bounds)
    return segment(first, last, sep="-")


def _line_segments(plan: Plan, cols: dict, pointers: pa.Array) -> list[pa.Array]:
    """The segments of each service line (loops 2400-2420), in loop order."""
    inst = pa.array(plan.institutional[plan.line_claim])
    mods = pc.utf8_trim(
        pc.replace_substring_regex(plan.line(cols, "modifiers"), _LIST_SEPARATORS, COMPONENT),
        COMPONENT,
    )
    procedure = segment("HC", plan.line(cols, "hcpcs_code"), mods, sep=COMPONENT)
    claim_place = plan.claim(cols, "place_of_service").take(pa.array(plan.line_claim))
    place = plan.line(cols, "place_of_service")
    own_place = when(pc.fill_null(pc.not_equal(place, claim_place), True), place)
    charge, units = plan.line(cols, "charge_usd"), plan.line(cols, "billed_units")
    provider = plan.line(cols, "provider_id")
    claim_provider = plan.claim(cols, "provider_id").take(pa.array(plan.line_claim))
    own_provider = pc.and_(
        pc.is_valid(provider), pc.fill_null(pc.not_equal(provider, claim_provider), True)
    )
    ndc = plan.line(cols, "ndc")
    quantity, qualifier = plan.line(cols, "ndc_quantity"), plan.line(cols, "ndc_unit_qualifier")
    has_ctp = pc.and_(pc.is_valid(ndc), pc.or_(pc.is_valid(quantity), pc.is_valid(qualifier)))
    sequence = _codes(plan.claim(cols, "payer_sequence"), _SEQUENCE, "P").take(
        pa.array(plan.line_claim)
    )
    paid = plan.line(cols, "other_payer_paid_usd")
    line_paid = pc.and_(pc.not_equal(sequence, "P"), pc.is_valid(paid))
    return [
        segment("LX", plan.line(cols, "line_number")),
        pc.if_else(
            inst,
            segment("SV2", "0636", procedure, charge, "UN", units),
            segment("SV1", procedure, charge, "UN", units, own_place, "", pointers),
        ),
        when(
            pc.is_valid(plan.line(cols, "service_date")),
            segment("DTP", "472", "D8", plan.line(cols, "service_date")),
        ),
        when(
            pc.is_valid(plan.line(cols, "prior_auth_number")),
            segment("REF", "G1", plan.line(cols, "prior_auth_number")),
        ),
        when(pc.is_valid(ndc), segment("LIN", "", "N4", ndc)),
        when(has_ctp, segment("CTP", "", "", "", quantity, qualifier)),
        when(
            own_provider,
            segment("NM1", "82", "1", "RENDERING PROVIDER", "", "", "", "", "XX", provider),
        ),
        when(line_paid, segment("SVD", "OTHERPAYER", paid, procedure, "", units)),
    ]


def _ordered(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[pa.Array]]],
) -> tuple[pa.Array, np.ndarray]:
    """Segments of (tx, claim, line) keys in file order, nulls dropped; and each one's set."""
    texts, keys = [], []
    for tx, claim, line, segments in pieces:
        for slot, seg in enumerate(segments):
            if isinstance(seg, pa.Scalar):  # every part a literal: the same segment for each
                seg = pa.repeat(seg, len(tx))
            keep = np.asarray(pc.is_valid(seg))
            texts.append(seg.filter(pa.array(keep)))
            keys.append(np.stack([tx[keep], claim[keep], line[keep], np.full(keep.sum(), slot)]))
    key = np.concatenate(keys, axis=1)
    order = np.lexsort(key[::-1])
    return pa.concat_arrays(texts).take(pa.array(order)), key[0][order]


def _set_headers(plan: Plan, cols: dict) -> list[pa.Array]:
    """ST, BHT and the submitter / receiver loops (1000A/B) of each transaction set."""
    n_sets = int(plan.tx.max()) + 1
    first_claim = np.searchsorted(plan.tx, np.arange(n_sets))
    control = _control_numbers(n_sets)
    inst = pa.array(plan.institutional[first_claim])
    version = pc.if_else(inst, _s(INSTITUTIONAL), _s(PROFESSIONAL))
    submitted = plan.claim(cols, "submission_date").take(pa.array(first_claim))
    return [
        segment("ST", "837", control, version),
        segment("BHT", "0019", "00", control, submitted, "1200", "CH"),
        segment("NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", "SUBMITTER01"),
        segment("PER", "IC", "BILLING OFFICE", "TE", "5555550100"),
        segment("NM1", "40", "2", "RECEIVER", "", "", "", "", "46", "RECEIVER01"),
    ]


def to_837(lines: pd.DataFrame, claims_per_set: int = CLAIMS_PER_SET) -> bytes:
    """The bytes of one interchange holding `lines` (canonical columns): a functional group of
    837P transaction sets for the professional claims, one of 837I for the institutional."""
    cols = text_columns(lines)
    n = len(lines)
    for name in ("claim_type", "submission_date", "claim_id"):
        cols.setdefault(name, pa.nulls(n, _STR))
    for name in (
        "patient_id",
        "payer_type",
        "payer_id",
        "provider_id",
        "claim_frequency",
        "place_of_service",
        "service_date",
        "hcpcs_code",
        "modifiers",
        "billed_units",
        "charge_usd",
        "ndc",
        "ndc_unit_qualifier",
        "ndc_quantity",
        "diagnosis_codes",
        "prior_auth_number",
        "payer_sequence",
        "other_payer_paid_usd",
        "line_number",
    ):
        cols.setdefault(name, pa.nulls(n, _STR))
    plan = Plan(cols, n, claims_per_set)
    hi, pointers = _diagnoses(plan, cols)
    n_claims, n_sets = len(plan.first), int(plan.tx.max()) + 1
    sets = np.arange(n_sets)
    body, tx_of = _ordered(
        [
            (sets, np.full(n_sets, -1), np.full(n_sets, -1), _set_headers(plan, cols)),
            (plan.tx, np.arange(n_claims), np.full(n_claims, -1), _claim_segments(plan, cols, hi)),
            (
                plan.tx[plan.line_claim],
                plan.line_claim,
                np.arange(n),
                _line_segments(plan, cols, pointers),
            ),
        ]
    )
    counts = np.bincount(tx_of, minlength=n_sets) + 1
    trailer = segment("SE", pa.array(counts).cast(_STR), _control_numbers(n_sets))
    body, tx_of = _ordered(
        [
            (tx_of, np.zeros(len(tx_of), int), np.arange(len(tx_of)), [body]),
            (sets, np.ones(n_sets, int), np.zeros(n_sets, int), [trailer]),
        ]
    )
    return _envelope(body, tx_of, plan, cols)


def _control_numbers(count: int) -> pa.Array:
    """ST02 / SE02 control numbers 0001, 0002, ..."""
    return pc.utf8_lpad(pa.array(np.arange(1, count + 1)).cast(_STR), 4, "0")


def _envelope(body: pa.Array, tx_of: np.ndarray, plan: Plan, cols: dict) -> bytes:
    """ISA, a GS..GE group per claim type present (837P first), IEA around the sets."""
    submitted = pc.max(cols["submission_date"]).as_py() or "20240101"
    date = submitted if len(submitted) == 8 and submitted.isdigit() else "20240101"
    set_inst = plan.institutional[np.searchsorted(plan.tx, np.arange(int(plan.tx.max()) + 1))]
    split = int(np.searchsorted(set_inst[tx_of], True))  # first segment of an 837I set
    groups = [(body.slice(0, split), PROFESSIONAL), (body.slice(split), INSTITUTIONAL)]
    groups = [(segs, version) for segs, version in groups if len(segs)]
    isa = (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'SUBMITTER01':<15}*ZZ*{'RECEIVER01':<15}*"
        f"{date[2:]}*1200*{REPETITION}*00501*000000001*0*T*{COMPONENT}"
    )
    parts = [pa.array([isa], _STR)]
    for number, (segs, version) in enumerate(groups, start=1):
        sets = int(np.count_nonzero(set_inst == (version == INSTITUTIONAL)))
        gs = f"GS*HC*SUBMITTER01*RECEIVER01*{date}*1200*{number}*X*{version}"
        parts += [pa.array([gs], _STR), segs, pa.array([f"GE*{sets}*{number}"], _STR)]
    parts.append(pa.array([f"IEA*{len(groups)}*000000001"], _STR))
    text = pc.binary_join_element_wise(pa.concat_arrays(parts), _s(TERMINATOR), _s(""))
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[
        text.offset : text.offset + len(text) + 1
    ]
    return text.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def write_837(lines: pd.DataFrame, path: Path, claims_per_set: int = CLAIMS_PER_SET) -> Path:
    """Write `lines` as an 837 interchange to `path`, atomically (a temp file beside it, then
    renamed over it)."""
    data = to_837(lines, claims_per_set)
    return write_file_atomically(Path(path), lambda tmp: tmp.write_bytes(data))


def generated_as_837(generate, out: Path, labels_for):
    """`sample generate --format x12`: `generate(path)` writes Parquet lines (and their labels
    file, `labels_for(path)`) into a new temporary directory beside `out`; they are written as
    an 837 to `out`, the labels moved to `labels_for(out)`, the temporary directory removed
    (only the two files it made there). Returns `generate`'s result with the paths of `out`."""
    import dataclasses

    import pyarrow.parquet as pq

    out = Path(out)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    lines_file = scratch / "lines.parquet"
    try:
        result = generate(lines_file)
        write_837(pq.read_table(lines_file).to_pandas(), out)
        os.replace(labels_for(lines_file), labels_for(out))
    finally:
        for made in (lines_file, labels_for(lines_file)):
            if made.exists():
                made.unlink()  # made by `generate` in our own mkdtemp
        scratch.rmdir()
    return dataclasses.replace(result, path=out, labels_path=labels_for(out))
