"""`generate_claims`: chunks of synthetic claims written as CSV or Parquet, with their labels."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claims_audit.config import Config
from claims_audit.errors import PipelineError
from claims_audit.generate.blocks import make_chunk
from claims_audit.generate.catalog import (
    COMBO_ID,
    COMBO_TYPE,
    DEFAULT_END,
    DEFAULT_START,
    PAYER_TYPES,
    build_catalog,
)
from claims_audit.generate.scenarios import PLANTABLE
from claims_audit.generate.world import Block
from claims_audit.reference import Bundle

OUTPUT_COLUMNS = [
    "claim_id", "line_number", "patient_id", "payer_type", "payer_id", "provider_id",
    "claim_frequency", "claim_type", "place_of_service", "service_date", "submission_date",
    "hcpcs_code", "modifiers", "billed_units", "charge_usd", "ndc", "ndc_unit_qualifier",
    "ndc_quantity", "administered_amount", "administered_unit", "wasted_amount",
    "diagnosis_codes", "prior_auth_number", "payer_sequence", "other_payer_paid_usd",
]  # fmt: skip
DEFAULT_DEFECT_RATE = 0.004  # per rule, as a fraction of claims: ~11% of claims carry a defect
DEFAULT_CHUNK_ROWS = 500_000
SCHEMA = pa.schema([(c, pa.string()) for c in OUTPUT_COLUMNS])
LABEL_SCHEMA = pa.schema(
    [("claim_id", pa.string()), ("line_number", pa.int64()), ("rule_code", pa.string())]
)
TEXT_COLUMNS = ("hcpcs_code", "modifiers", "ndc_unit_qualifier", "administered_unit",
                "diagnosis_codes", "prior_auth_number", "provider_id",
                "claim_frequency")  # fmt: skip
NUMBER_COLUMNS = ("billed_units", "charge_usd", "ndc_quantity", "administered_amount",
                  "wasted_amount", "other_payer_paid_usd")  # fmt: skip


def _text(values: np.ndarray) -> pa.Array:
    """Numbers as the shortest text that reads back to the same float (`60`, `37.5`); NaN: null."""
    values = np.asarray(values, dtype="float64")
    return pc.cast(pa.array(values, mask=np.isnan(values)), pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(days: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(days.astype("int32"), pa.int32()).cast(pa.date32()), pa.string())


def _strings(values) -> pa.Array:
    return pa.array(
        pd.Series(values, dtype="object").where(pd.notna(values), None),
        type=pa.string(),
        from_pandas=True,
    )


def _ndc_text(lines: pd.DataFrame) -> pa.Array:
    """NDCs as the claims carry them: hyphenated 5-4-2, some as the plain 11 digits."""
    ndc = pd.Series(lines["ndc"], dtype="object")
    hyphenated = (
        ndc.astype("string").str.fullmatch(r"\d{5}-\d{4}-\d{2}").fillna(False).to_numpy(bool)
    )
    plain = hyphenated & lines["plain_ndc"].to_numpy()
    return _strings(ndc.where(~plain, ndc.str.replace("-", "", regex=False)))


def to_tables(chunk: Block, claim_offset: int, patient_offset: int) -> tuple[pa.Table, pa.Table]:
    """The chunk as claim-extract text columns (SPEC section 3), and its labels."""
    L = chunk.lines
    combo, inst = L["combo"].to_numpy(), L["inst"].to_numpy()
    claim_id = _ids("CLM", claim_offset + L["_claim"].to_numpy(), 10)
    columns = {
        "claim_id": claim_id,
        "line_number": pc.cast(pa.array(L["line_number"].to_numpy()), pa.string()),
        "patient_id": _ids("PT", patient_offset + L["_patient"].to_numpy(), 8),
        "payer_type": pa.array(PAYER_TYPES[COMBO_TYPE[combo]]),
        "payer_id": _strings(COMBO_ID[combo]),
        "claim_type": pa.array(np.where(inst, "institutional", "professional")),
        "place_of_service": pa.array(np.where(inst, "22", "11")),
        "service_date": _dates(L["service_day"].to_numpy()),
        "submission_date": _dates(L["submit_day"].to_numpy()),
        "ndc": _ndc_text(L),
        "payer_sequence": pa.array(np.where(L["secondary"].to_numpy(), "secondary", "primary")),
    }
    columns |= {name: _strings(L[name]) for name in TEXT_COLUMNS}
    columns |= {name: _text(L[name]) for name in NUMBER_COLUMNS}
    table = pa.table([columns[c] for c in OUTPUT_COLUMNS], schema=SCHEMA)
    rows = chunk.labels["row"].to_numpy()
    labels = pa.table(
        {
            "claim_id": pc.take(claim_id, pa.array(rows, pa.int64())),
            "line_number": pa.array(L["line_number"].to_numpy()[rows], pa.int64()),
            "rule_code": pa.array(chunk.labels["rule_code"].to_numpy(), pa.string()),
        },
        schema=LABEL_SCHEMA,
    )
    return table, labels


@dataclass
class GenerateResult:
    path: Path
    labels_path: Path
    rows: int
    patients: int
    claims: int
    chunks: int
    planted: dict[str, int] = field(default_factory=dict)


def labels_path_for(out: Path) -> Path:
    return Path(str(out) + ".labels.parquet")


def default_rates(defect_rate: float = DEFAULT_DEFECT_RATE) -> dict[str, float]:
    return {rule: defect_rate for rule in PLANTABLE}


class _CsvWriter:
    """pyarrow's CSV writer under a plain header line (pyarrow quotes header names)."""

    def __init__(self, path: Path) -> None:
        self.file = pa.OSFile(str(path), "wb")
        self.file.write((",".join(OUTPUT_COLUMNS) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        self.writer = pacsv.CSVWriter(self.file, SCHEMA, write_options=options)

    def write_table(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()
        if not self.file.closed:
            self.file.close()


def _writer(path: Path, fmt: str):
    if fmt == "parquet":
        return pq.ParquetWriter(path, SCHEMA, compression="zstd")
    return _CsvWriter(path)


def _checked_format(out: Path, fmt: str | None) -> str:
    fmt = fmt or ("parquet" if out.suffix.lower() in (".parquet", ".pq") else "csv")
    if fmt not in ("csv", "parquet"):
        raise PipelineError(f"unknown format {fmt!r} (csv or parquet)")
    return fmt


def _checked_rates(defect_rate: float, rates: dict[str, float] | None) -> dict[str, float]:
    rate = default_rates(defect_rate) | (rates or {})
    unknown = set(rate) - set(PLANTABLE)
    if unknown:
        raise PipelineError(f"cannot plant {', '.join(sorted(unknown))}")
    return rate


def generate_claims(
    bundle: Bundle,
    rows: int,
    out: Path | str,
    seed: int = 0,
    fmt: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    defect_rate: float = DEFAULT_DEFECT_RATE,
    rates: dict[str, float] | None = None,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    progress: Callable[[int, int], None] | None = None,
    config: Config | None = None,
) -> GenerateResult:
    """Write `rows` synthetic claim lines to `out` (CSV or Parquet) and the planted labels beside
    it (`<out>.labels.parquet`). Same seed, rows and chunk size: the same bytes. Clean lines
    follow `config` (default: the default configuration), so that auditing them with it finds
    exactly the labels."""
    if rows < 1:
        raise PipelineError("--rows must be at least 1")
    out = Path(out)
    fmt = _checked_format(out, fmt)
    rate = _checked_rates(defect_rate, rates)
    cat = build_catalog(bundle, start, end, config)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels_out = labels_path_for(out)
    # temporary names no one else uses: only files this run created are ever removed
    token = uuid.uuid4().hex[:8]
    tmp = out.with_name(f".{out.name}.{token}.tmp")
    tmp_labels = labels_out.with_name(f".{labels_out.name}.{token}.tmp")
    writers: list = []
    result = GenerateResult(out, labels_out, 0, 0, 0, 0)
    try:
        writers = [pq.ParquetWriter(tmp_labels, LABEL_SCHEMA), _writer(tmp, fmt)]
        while result.rows < rows:
            size = min(chunk_rows, rows - result.rows)
            rng = np.random.default_rng(np.random.SeedSequence([seed, result.chunks]))
            chunk = make_chunk(cat, rng, size, rate)
            table, labels = to_tables(chunk, result.claims, result.patients)
            writers[1].write_table(table)
            writers[0].write_table(labels)
            _count(result, chunk, len(table))
            if progress:
                progress(result.rows, rows)
        for w in writers:
            w.close()
    except BaseException:
        for w in writers:
            w.close()
        tmp.unlink(missing_ok=True)
        tmp_labels.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    tmp_labels.replace(labels_out)
    result.planted = dict(sorted(result.planted.items()))
    return result


def _count(result: GenerateResult, chunk: Block, rows: int) -> None:
    for code, n in chunk.labels["rule_code"].value_counts().items():
        result.planted[code] = result.planted.get(code, 0) + int(n)
    result.claims += chunk.n_claims
    result.patients += chunk.n_patients
    result.rows += rows
    result.chunks += 1
