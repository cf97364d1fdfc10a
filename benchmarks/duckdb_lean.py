"""A lean DuckDB audit of six core rules on typed Parquet: the floor the engine is measured
against (issue 14). Read, join, group, write; no emulation of the engine's validation, text
normalisation or messages: C001 unknown code, C002 code not effective, U001/U002 units over /
under the documented dose (amount / descriptor amount, rounded up), U003 units over the MUE (per
line for MAI 1, per patient, code, date and claim type otherwise), N003 NDC under another code.

`prepare` makes the typed copy once (cached beside the input, not timed): numbers as DOUBLE,
dates as DATE, NDCs as 5-4-2 text. `python -m benchmarks.duckdb_lean TYPED BUNDLE OUT` writes the
findings (claim_id, line_number, rule_code) to OUT and its stage seconds to OUT.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from benchmarks.duckdb_rules import _date, _num, _table_source

LEAN_RULES = ("C001", "C002", "N003", "U001", "U002", "U003")


def prepare(raw: Path, typed: Path) -> Path:
    """The typed copy of a generated (all-text) extract: the faithful query's typed columns."""
    if typed.exists():
        return typed
    ndc = "nullif(regexp_replace(trim(ndc), '[^0-9]', '', 'g'), '')"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""COPY (SELECT trim(claim_id) AS claim_id, CAST({_num("line_number")} AS BIGINT)
        AS line_number, trim(patient_id) AS patient_id, lower(trim(claim_type)) AS claim_type,
        {_date("service_date")} AS service_date, upper(trim(hcpcs_code)) AS hcpcs_code,
        {_num("billed_units")} AS billed_units, {_num("administered_amount")} AS amount,
        CASE WHEN length({ndc}) = 11 THEN substr({ndc}, 1, 5) || '-' || substr({ndc}, 6, 4)
          || '-' || substr({ndc}, 10, 2) END AS ndc11
        FROM read_parquet('{raw}')) TO '{typed}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.close()
    return typed


def lean_sql(typed: Path, bundle: Path) -> str:
    src = {n: _table_source(bundle, n) for n in ("hcpcs", "ndc_crosswalk", "mue")}
    return f"""
WITH l AS (SELECT * FROM read_parquet('{typed}')),
h AS (SELECT hcpcs_code, CAST(add_date AS DATE) AS add_date,
  CAST(termination_date AS DATE) AS term_date, CAST(billing_unit_amount AS DOUBLE) AS bua
  FROM {src["hcpcs"]}),
x AS (SELECT ndc11, list(DISTINCT hcpcs_code) AS codes FROM {src["ndc_crosswalk"]} GROUP BY ndc11),
m AS (SELECT hcpcs_code, setting, CAST(mue_value AS DOUBLE) AS mue, CAST(mai AS INTEGER) AS mai
  FROM {src["mue"]}),
j AS (
  SELECT l.*, h.hcpcs_code IS NOT NULL AS known, h.add_date, h.term_date,
    ceil(l.amount / h.bua - 1e-9) AS expected, m.mue, m.mai, x.codes
  FROM l LEFT JOIN h USING (hcpcs_code)
  LEFT JOIN m ON m.hcpcs_code = l.hcpcs_code AND m.setting =
    CASE l.claim_type WHEN 'institutional' THEN 'outpatient_hospital' ELSE 'practitioner' END
  LEFT JOIN x USING (ndc11)
),
d AS (
  SELECT *, sum(billed_units) OVER (PARTITION BY patient_id, hcpcs_code, service_date, claim_type)
    AS day_total FROM j
),
f AS (
  SELECT claim_id, line_number, NOT known AS c001,
    known AND (service_date < add_date OR service_date > term_date) AS c002,
    coalesce(billed_units > expected + 1e-9, false) AS u001,
    coalesce(billed_units < expected - 1e-9, false) AS u002,
    coalesce(CASE WHEN mai = 1 THEN billed_units > mue ELSE day_total > mue END, false) AS u003,
    coalesce(NOT list_contains(codes, hcpcs_code), false) AS n003
  FROM d
)
SELECT claim_id, line_number, rule_code FROM (
  UNPIVOT f ON c001 AS 'C001', c002 AS 'C002', u001 AS 'U001', u002 AS 'U002', u003 AS 'U003',
    n003 AS 'N003' INTO NAME rule_code VALUE fired)
WHERE fired ORDER BY claim_id, line_number, rule_code
"""


def main(argv: list[str] | None = None) -> None:
    """`python -m benchmarks.duckdb_lean TYPED BUNDLE OUT.parquet [--threads N]`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("typed")
    parser.add_argument("bundle")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    sql = lean_sql(Path(args.typed).resolve(), Path(args.bundle).resolve())
    con.execute(f"COPY ({sql}) TO '{Path(args.out).resolve()}' (FORMAT parquet)")
    n = con.execute(f"SELECT count(*) FROM read_parquet('{Path(args.out).resolve()}')").fetchone()
    con.close()
    timing = {"total": round(time.perf_counter() - start, 3), "findings": int(n[0])}
    Path(args.out + ".json").write_text(json.dumps(timing) + "\n")


if __name__ == "__main__":
    main()
