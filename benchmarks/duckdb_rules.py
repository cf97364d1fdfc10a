"""The core rules in DuckDB SQL: the benchmark's yardstick for the pandas engine.

C001, C002, U001, U002, U003, N003, M001, M002, M004 over one claims file (Parquet or CSV with
canonical column names) and a reference bundle directory (its `<table>.parquet` or `.csv`
files), with the engine's semantics and the default configuration: the same normalisation
(trim, case, modifier lists, NDC 5-4-2, date formats), the schema's reject conditions and
first-wins duplicate lines, units rounded up (ceil with a 1e-9 tolerance), `np.isclose`
tolerances for the unit-of-measure slip that replaces U001/U002, Medicare as the only payer
that requires JW and JZ (single-dose containers, separately payable lines: not an institutional
OPPS status indicator N drug; billable waste is at least one billing unit), void claims
(claim_frequency 8) left out, U003 totals per patient, code, date, claim type and provider, CPT
lines judged by U003 alone. Returns (claim_id, line_number, rule_code), sorted.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

CORE_RULES = ("C001", "C002", "M001", "M002", "M004", "N003", "U001", "U002", "U003")
TABLES = ("hcpcs", "ndc_crosswalk", "mue", "opps", "container")


def _table_source(bundle: Path, name: str) -> str | None:
    parquet, csv = bundle / f"{name}.parquet", bundle / f"{name}.csv"
    if parquet.exists():
        return f"read_parquet('{parquet}')"
    if csv.exists():
        return f"read_csv('{csv}', all_varchar=true, header=true)"
    return None


def _input_source(path: Path) -> str:
    if path.suffix.lower() in (".parquet", ".pq"):
        return f"read_parquet('{path}', file_row_number=true)"
    return (
        f"(SELECT *, row_number() OVER () - 1 AS file_row_number "
        f"FROM read_csv('{path}', all_varchar=true, header=true))"
    )


# numpy.isclose(a, b): |a - b| <= 1e-8 + 1e-5 * |b|, false when either is NaN/NULL
def _isclose(a: str, b: str) -> str:
    return f"coalesce(abs(({a}) - ({b})) <= 1e-8 + 1e-5 * abs({b}), false)"


_UNIT = """CASE upper(trim({c}))
    WHEN 'MG' THEN 'mg' WHEN 'MCG' THEN 'mcg' WHEN 'UG' THEN 'mcg' WHEN 'G' THEN 'g'
    WHEN 'GM' THEN 'g' WHEN 'ML' THEN 'mL' WHEN 'UNITS' THEN 'units' WHEN 'UNIT' THEN 'units'
    WHEN 'U' THEN 'units' WHEN 'IU' THEN 'units' END"""
_FAMILY = "CASE {c} WHEN 'mg' THEN 'mg' WHEN 'mcg' THEN 'mg' WHEN 'g' THEN 'mg' ELSE {c} END"
_FACTOR = "CASE {c} WHEN 'mcg' THEN 0.001 WHEN 'g' THEN 1000.0 ELSE 1.0 END"
_DECIMAL = r"'^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$'"


def _num(col: str) -> str:
    text = f"nullif(trim(CAST({col} AS VARCHAR)), '')"
    return f"CASE WHEN regexp_full_match({text}, {_DECIMAL}) THEN CAST({text} AS DOUBLE) END"


def _date(col: str) -> str:
    t = f"nullif(trim(CAST({col} AS VARCHAR)), '')"
    return (
        f"CAST(CASE WHEN regexp_full_match({t}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}$') "
        f"THEN try_strptime({t}, '%Y-%m-%d') "
        f"WHEN regexp_full_match({t}, '^\\d{{1,2}}/\\d{{1,2}}/\\d{{4}}$') "
        f"THEN try_strptime({t}, '%m/%d/%Y') "
        f"WHEN regexp_full_match({t}, '^\\d{{8}}$') THEN try_strptime({t}, '%Y%m%d') END AS DATE)"
    )


def _to_bu(amount: str, unit: str) -> str:
    """Amount in the code's billing unit; NULL where the families differ (not evaluated)."""
    fam_u, fam_b = _FAMILY.format(c=unit), _FAMILY.format(c="bunit")
    return (
        f"CASE WHEN {fam_u} = {fam_b} THEN ({amount}) * ({_FACTOR.format(c=unit)}) "
        f"/ (bua * ({_FACTOR.format(c='bunit')})) END"
    )


def _ceil(x: str) -> str:
    return f"ceil(({x}) - 1e-9)"


def build_sql(input_path: Path, bundle: Path, columns: set[str] | None = None) -> str:
    """The query; `columns` (the input's columns, when known) lets optional ones be absent."""
    src = {name: _table_source(bundle, name) for name in TABLES}
    empty_opps = "(SELECT NULL::VARCHAR AS hcpcs_code, NULL::VARCHAR AS status_indicator LIMIT 0)"
    t = lambda c: f"nullif(trim(CAST({c} AS VARCHAR)), '')"  # noqa: E731
    ndc_text = t("ndc")
    ndc_parts = r"'^(\d{4,5})-(\d{3,4})-(\d{1,2})$'"
    seg = lambda i: f"regexp_extract({ndc_text}, {ndc_parts}, {i})"  # noqa: E731
    ok_hyph = (
        f"regexp_full_match({ndc_text}, {ndc_parts}) AND "
        f"(length({seg(1)}) + length({seg(2)}) + length({seg(3)}) = 10 OR "
        f"(length({seg(1)}) = 5 AND length({seg(2)}) = 4 AND length({seg(3)}) = 2))"
    )
    ndc11 = (
        f"CASE WHEN regexp_full_match({ndc_text}, '^\\d{{11}}$') THEN "
        f"substr({ndc_text}, 1, 5) || '-' || substr({ndc_text}, 6, 4) || '-' || "
        f"substr({ndc_text}, 10, 2) "
        f"WHEN {ok_hyph} THEN lpad({seg(1)}, 5, '0') || '-' || lpad({seg(2)}, 4, '0') || '-' "
        f"|| lpad({seg(3)}, 2, '0') END"
    )
    mods = f"string_split_regex(upper({t('modifiers')}), '[\\s,:|;]+')"
    opt = lambda c: t(c) if columns is None or c in columns else "NULL::VARCHAR"  # noqa: E731
    return f"""
WITH raw AS (
  SELECT file_row_number AS rn,
    {t("claim_id")} AS claim_id, {_num("line_number")} AS line_f, {t("patient_id")} AS patient_id,
    lower({t("payer_type")}) AS payer_type, {opt("provider_id")} AS provider_id,
    coalesce({opt("claim_frequency")}, '1') AS claim_frequency,
    coalesce(lower({t("claim_type")}), 'professional') AS claim_type,
    {t("place_of_service")} AS pos, {_date("service_date")} AS service_date,
    {t("submission_date")} AS submission_text, {_date("submission_date")} AS submission_date,
    upper({t("hcpcs_code")}) AS code, {mods} AS mods, {_num("billed_units")} AS billed,
    {t("charge_usd")} AS charge_text, {_num("charge_usd")} AS charge,
    {ndc_text} AS ndc, {ndc11} AS ndc11,
    upper({t("ndc_unit_qualifier")}) AS qualifier,
    {t("ndc_quantity")} AS qty_text, {_num("ndc_quantity")} AS qty,
    {t("administered_amount")} AS amount_text, {_num("administered_amount")} AS amount,
    {t("administered_unit")} AS unit_text, {_UNIT.format(c="administered_unit")} AS unit,
    {t("wasted_amount")} AS waste_text, {_num("wasted_amount")} AS wasted,
    coalesce(lower({t("payer_sequence")}), 'primary') AS payer_sequence,
    {t("other_payer_paid_usd")} AS paid_text, {_num("other_payer_paid_usd")} AS paid,
    {t("service_date")} AS service_text
  FROM {_input_source(input_path)}
),
valid AS (  -- the schema's reject conditions (V002/V003/V004), then first-wins duplicates (V005)
  SELECT * FROM raw
  WHERE claim_id IS NOT NULL AND patient_id IS NOT NULL AND code IS NOT NULL
    AND line_f IS NOT NULL AND line_f >= 1 AND line_f = floor(line_f)
    AND payer_type IN ('medicare', 'medicare_advantage', 'medicaid', 'commercial', 'other')
    AND claim_type IN ('professional', 'institutional')
    AND (pos IS NULL OR regexp_full_match(pos, '^\\d{{2}}$'))
    AND service_date IS NOT NULL
    AND (submission_text IS NULL OR submission_date IS NOT NULL)
    AND billed IS NOT NULL AND billed > 0
    AND (charge_text IS NULL OR (charge IS NOT NULL AND charge >= 0))
    AND (qualifier IS NULL OR qualifier IN ('UN', 'ML', 'GR', 'F2', 'ME'))
    AND (qty_text IS NULL OR (qty IS NOT NULL AND qty > 0))
    AND (amount_text IS NULL OR (amount IS NOT NULL AND amount >= 0 AND unit_text IS NOT NULL))
    AND (unit_text IS NULL OR unit IS NOT NULL)
    AND (waste_text IS NULL OR (wasted IS NOT NULL AND wasted >= 0))
    AND payer_sequence IN ('primary', 'secondary', 'tertiary')
    AND claim_frequency IN ('1', '7', '8')
    AND (paid_text IS NULL OR (paid IS NOT NULL AND paid >= 0))
  QUALIFY row_number() OVER (PARTITION BY claim_id, CAST(line_f AS BIGINT) ORDER BY rn) = 1
),
hcpcs AS (
  SELECT hcpcs_code, CAST(add_date AS DATE) AS add_date,
    CAST(termination_date AS DATE) AS term_date,
    CAST(billing_unit_amount AS DOUBLE) AS bua, billing_unit AS bunit
  FROM {src["hcpcs"]}
),
xwalk AS (SELECT DISTINCT ndc11, hcpcs_code FROM {src["ndc_crosswalk"]}),
xwalk_ndc AS (SELECT DISTINCT ndc11 FROM xwalk),
mue AS (
  SELECT hcpcs_code, setting, CAST(mue_value AS DOUBLE) AS mue_value, CAST(mai AS INTEGER) AS mai
  FROM {src["mue"]}
),
opps AS (
  SELECT hcpcs_code, any_value(status_indicator) AS si FROM {src["opps"] or empty_opps}
  GROUP BY hcpcs_code
),
cont_ndc AS (
  SELECT ndc11, first(container) AS container FROM {src["container"]}
  WHERE ndc11 IS NOT NULL AND trim(ndc11) <> '' GROUP BY ndc11
),
cont_code AS (
  SELECT hcpcs_code, first(container) AS container FROM {src["container"]}
  WHERE (ndc11 IS NULL OR trim(ndc11) = '') AND hcpcs_code IS NOT NULL GROUP BY hcpcs_code
),
lines AS (
  SELECT v.*, CAST(v.line_f AS BIGINT) AS line_number,
    NOT regexp_full_match(v.code, '^(\\d{{5}}|\\d{{4}}[FTU])$') AND v.claim_frequency <> '8'
      AS in_scope,
    regexp_full_match(v.code, '^(\\d{{5}}|\\d{{4}}[FTU])$') AND v.claim_frequency <> '8'
      AS cpt_scope,
    coalesce(v.provider_id, '') AS provider_key,
    h.hcpcs_code IS NOT NULL AS code_known, h.add_date, h.term_date, h.bua, h.bunit,
    coalesce(list_contains(v.mods, 'JW'), false) AS has_jw,
    coalesce(list_contains(v.mods, 'JZ'), false) AS has_jz,
    m.mue_value, m.mai, o.si,
    coalesce(cn.container, cc.container) AS container,
    x.ndc11 IS NOT NULL AS ndc_in_xwalk, p.ndc11 IS NOT NULL AS pair_ok
  FROM valid v
  LEFT JOIN hcpcs h ON h.hcpcs_code = v.code
  LEFT JOIN mue m ON m.hcpcs_code = v.code AND m.setting =
    CASE v.claim_type WHEN 'professional' THEN 'practitioner' ELSE 'outpatient_hospital' END
  LEFT JOIN opps o ON o.hcpcs_code = v.code
  LEFT JOIN cont_ndc cn ON cn.ndc11 = v.ndc11
  LEFT JOIN cont_code cc ON cc.hcpcs_code = v.code
  LEFT JOIN xwalk_ndc x ON x.ndc11 = v.ndc11
  LEFT JOIN xwalk p ON p.ndc11 = v.ndc11 AND p.hcpcs_code = v.code
),
units AS (
  SELECT *, {_to_bu("amount", "unit")} AS admin_bu, {_to_bu("wasted", "unit")} AS waste_bu,
    coalesce(wasted, 0) > 0 AS waste_docd,
    (in_scope OR cpt_scope) AND mue_value IS NOT NULL AS mue_scope
  FROM lines
),
groups AS (  -- drug groups: claim, code, date of service
  SELECT claim_id, code, service_date,
    bool_or(has_jw) AS group_has_jw, bool_or(waste_docd) AS group_has_waste,
    sum(CASE WHEN NOT has_jw THEN admin_bu END) AS group_admin,
    sum(CASE WHEN NOT has_jw AND waste_docd THEN waste_bu END) AS waste_admin,
    sum(CASE WHEN has_jw AND waste_docd THEN waste_bu END) AS waste_jw
  FROM units GROUP BY ALL
),
days AS (  -- MUE date-of-service totals: patient, code, date, claim type, provider
  SELECT patient_id, code, service_date, claim_type, provider_key, sum(billed) AS day_total,
    min({{'c': claim_id, 'l': line_number}}) AS day_first
  FROM units WHERE mue_scope GROUP BY ALL
),
grouped AS (
  SELECT u.*, g.group_has_jw, g.group_has_waste, g.group_admin, g.waste_admin, g.waste_jw,
    d.day_total, coalesce(d.day_first = {{'c': u.claim_id, 'l': u.line_number}}, false)
      AS day_first
  FROM units u
  JOIN groups g USING (claim_id, code, service_date)
  LEFT JOIN days d ON u.mue_scope AND d.patient_id = u.patient_id AND d.code = u.code
    AND d.service_date = u.service_date AND d.claim_type = u.claim_type
    AND d.provider_key = u.provider_key
),
expect AS (
  SELECT *,
    CASE WHEN group_has_waste THEN coalesce(waste_admin, waste_jw) ELSE 0 END AS group_waste_bu
  FROM grouped
),
expect2 AS (
  SELECT *,
    {_ceil("group_admin + group_waste_bu")} - {_ceil("group_admin")} AS expected_jw,
    {_ceil("admin_bu")} AS expected_admin,
    NOT (claim_type = 'institutional' AND coalesce(si = 'N', false)) AS payable
  FROM expect
),
rated AS (
  SELECT *,
    CASE WHEN has_jw THEN expected_jw ELSE expected_admin END AS expected,
    NOT has_jw AND admin_bu IS NOT NULL
      AND (CASE WHEN has_jw THEN expected_jw ELSE expected_admin END) IS NOT NULL AS evaluable
  FROM expect2
),
slipped AS (
  SELECT *,
    evaluable AND NOT {_isclose("billed", "expected")} AND (
      ({_isclose("billed", "amount")} AND NOT {_isclose("bua", "1.0")})
      OR (expected > 0 AND (
        {_isclose("billed / expected", "10.0")} OR {_isclose("billed / expected", "100.0")}
        OR {_isclose("billed / expected", "1000.0")} OR {_isclose("billed / expected", "0.1")}
        OR {_isclose("billed / expected", "0.01")} OR {_isclose("billed / expected", "0.001")}
      ))
    ) AS slip
  FROM rated
),
flags AS (
  SELECT claim_id, line_number, in_scope, cpt_scope,
    NOT code_known AS c001,
    code_known AND (service_date < add_date OR service_date > term_date) AS c002,
    evaluable AND NOT slip AND billed > expected + 1e-9 AS u001,
    evaluable AND NOT slip AND billed < expected - 1e-9 AS u002,
    mue_scope AND (
      (mai = 1 AND billed > mue_value) OR (mai <> 1 AND day_first AND day_total > mue_value)
    ) AS u003,
    ndc_in_xwalk AND NOT pair_ok AS n003,
    payer_type = 'medicare' AND container = 'single_dose' AND payable
      AND NOT has_jw AND waste_docd AND NOT group_has_jw AND (
      {_ceil("coalesce(admin_bu, 0) + waste_bu")} - {_ceil("coalesce(admin_bu, 0)")} >= 1
    ) AS m001,
    payer_type = 'medicare' AND container = 'single_dose' AND payable
      AND NOT (group_has_waste AND coalesce(expected_jw >= 1, true))
      AND NOT group_has_jw AND NOT has_jz AS m002,
    has_jw AND payable AND coalesce(container, '') <> 'multi_dose' AND group_has_waste
      AND expected_jw IS NOT NULL AND abs(billed - expected_jw) > 1e-9 AS m004
  FROM slipped
)
SELECT claim_id, line_number, rule_code FROM (
  UNPIVOT (SELECT * FROM flags WHERE in_scope OR cpt_scope)
  ON c001 AS 'C001', c002 AS 'C002', u001 AS 'U001', u002 AS 'U002', u003 AS 'U003',
     n003 AS 'N003', m001 AS 'M001', m002 AS 'M002', m004 AS 'M004'
  INTO NAME rule_code VALUE fired
)
WHERE fired AND (in_scope OR rule_code = 'U003')
ORDER BY claim_id, line_number, rule_code
"""


def duckdb_findings(
    input_path: Path | str,
    bundle: Path | str,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """Core-rule findings of one claims file, computed by DuckDB."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    path = Path(input_path).resolve()
    columns = set(con.execute(f"DESCRIBE SELECT * FROM {_input_source(path)}").df()["column_name"])
    sql = build_sql(path, Path(bundle).resolve(), columns)
    out = con.execute(sql).df()
    con.close()
    out["line_number"] = out["line_number"].astype("int64")
    return out.reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m benchmarks.duckdb_rules FILE BUNDLE OUT.parquet`: findings to a Parquet file."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("input")
    parser.add_argument("bundle")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    duckdb_findings(args.input, args.bundle, threads=args.threads).to_parquet(args.out, index=False)


if __name__ == "__main__":
    main()
