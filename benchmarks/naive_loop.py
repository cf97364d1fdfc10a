"""The core rules as a naive row-by-row Python loop (iterrows, dicts): the benchmark's floor.

This is how such an audit is often first written: read the file with pandas, walk the rows
with `iterrows`, look reference facts up in dicts, keep group totals in dicts, then walk again
to decide each rule. Same rules and semantics as `duckdb_rules.py` (the engine's, with the
default configuration: JW/JZ for Medicare single-dose, separately payable lines; void claims
left out; U003 per patient, code, date, claim type and provider, CPT lines included).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pandas as pd

from claims_audit.parsing import UNIT_SPELLINGS
from claims_audit.reference import load_bundle

PAYER_TYPES = {"medicare", "medicare_advantage", "medicaid", "commercial", "other"}
FAMILY = {
    "mg": ("mg", 1.0),
    "mcg": ("mg", 0.001),
    "g": ("mg", 1000.0),
    "units": ("units", 1.0),
    "mL": ("mL", 1.0),
}
DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
CPT = re.compile(r"^(\d{5}|\d{4}[FTU])$")
NDC_HYPH = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")
SLIP_RATIOS = (10.0, 100.0, 1000.0, 0.1, 0.01, 0.001)


def _text(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _num(value):
    text = _text(value)
    if text is None or not DECIMAL.match(text):
        return None
    return float(text)


def _date(value):
    text = _text(value)
    if text is None:
        return None
    for pattern, fmt in (
        (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
        (r"^\d{1,2}/\d{1,2}/\d{4}$", "%m/%d/%Y"),
        (r"^\d{8}$", "%Y%m%d"),
    ):
        if re.match(pattern, text):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                return None
    return None


def _ndc11(value):
    text = _text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{11}", text):
        return f"{text[:5]}-{text[5:9]}-{text[9:]}"
    m = NDC_HYPH.match(text)
    if not m:
        return None
    a, b, c = m.groups()
    if len(a) + len(b) + len(c) == 10 or (len(a), len(b), len(c)) == (5, 4, 2):
        return f"{a.zfill(5)}-{b.zfill(4)}-{c.zfill(2)}"
    return None


def _isclose(a, b) -> bool:
    if a is None or b is None:
        return False
    return abs(a - b) <= 1e-8 + 1e-5 * abs(b)


def _ceil(x):
    return None if x is None else math.ceil(x - 1e-9)


def _to_bu(amount, unit, bua, bunit):
    if amount is None or unit is None or bua is None or bunit is None:
        return None
    if unit not in FAMILY or bunit not in FAMILY or FAMILY[unit][0] != FAMILY[bunit][0]:
        return None
    return amount * FAMILY[unit][1] / (bua * FAMILY[bunit][1])


def _reference(bundle_dir):
    bundle = load_bundle(bundle_dir)
    hcpcs = {}
    for _, r in bundle["hcpcs"].iterrows():
        bua = r["billing_unit_amount"]
        hcpcs[r["hcpcs_code"]] = {
            "add": r["add_date"].date() if pd.notna(r["add_date"]) else None,
            "term": r["termination_date"].date() if pd.notna(r["termination_date"]) else None,
            "bua": float(bua) if pd.notna(bua) else None,
            "bunit": r["billing_unit"] if pd.notna(r["billing_unit"]) else None,
        }
    xwalk = defaultdict(set)
    for _, r in bundle["ndc_crosswalk"].iterrows():
        xwalk[r["ndc11"]].add(r["hcpcs_code"])
    mue = {}
    for _, r in bundle["mue"].iterrows():
        mue[(r["hcpcs_code"], r["setting"])] = (float(r["mue_value"]), int(r["mai"]))
    opps = {r["hcpcs_code"]: r["status_indicator"] for _, r in bundle["opps"].iterrows()}
    by_ndc, by_code = {}, {}
    for _, r in bundle["container"].iterrows():
        if pd.notna(r["ndc11"]):
            by_ndc.setdefault(r["ndc11"], r["container"])
        elif pd.notna(r["hcpcs_code"]):
            by_code.setdefault(r["hcpcs_code"], r["container"])
    return hcpcs, xwalk, mue, opps, by_ndc, by_code


def _valid(r) -> dict | None:
    """One row typed, or None when the schema would reject it."""
    line = {
        "claim_id": _text(r.get("claim_id")),
        "patient_id": _text(r.get("patient_id")),
        "line_f": _num(r.get("line_number")),
        "code": (_text(r.get("hcpcs_code")) or "").upper(),
        "payer_type": (_text(r.get("payer_type")) or "").lower(),
        "provider_key": _text(r.get("provider_id")) or "",
        "frequency": _text(r.get("claim_frequency")) or "1",
        "claim_type": (_text(r.get("claim_type")) or "professional").lower(),
        "service_date": _date(r.get("service_date")),
        "billed": _num(r.get("billed_units")),
        "ndc": _text(r.get("ndc")),
        "amount": _num(r.get("administered_amount")),
        "wasted": _num(r.get("wasted_amount")),
        "unit": UNIT_SPELLINGS.get((_text(r.get("administered_unit")) or "").upper()),
    }
    mods = _text(r.get("modifiers"))
    line["mods"] = set(re.split(r"[\s,:|;]+", mods.upper())) if mods else set()
    checks = [
        line["claim_id"],
        line["patient_id"],
        line["code"],
        line["service_date"],
        line["line_f"] is not None
        and line["line_f"] >= 1
        and line["line_f"] == int(line["line_f"]),
        line["payer_type"] in PAYER_TYPES,
        line["frequency"] in ("1", "7", "8"),
        line["claim_type"] in ("professional", "institutional"),
        line["billed"] is not None and line["billed"] > 0,
    ]
    for col, low, strict in (
        ("charge_usd", 0, False),
        ("ndc_quantity", 0, True),
        ("administered_amount", 0, False),
        ("wasted_amount", 0, False),
        ("other_payer_paid_usd", 0, False),
    ):
        if _text(r.get(col)) is not None:
            v = _num(r.get(col))
            checks.append(v is not None and (v > low if strict else v >= low))
    pos = _text(r.get("place_of_service"))
    checks.append(pos is None or bool(re.fullmatch(r"\d{2}", pos)))
    if _text(r.get("submission_date")) is not None:
        checks.append(_date(r.get("submission_date")) is not None)
    qual = _text(r.get("ndc_unit_qualifier"))
    checks.append(qual is None or qual.upper() in ("UN", "ML", "GR", "F2", "ME"))
    unit_text = _text(r.get("administered_unit"))
    checks.append(unit_text is None or line["unit"] is not None)
    checks.append(_text(r.get("administered_amount")) is None or unit_text is not None)
    seq = (_text(r.get("payer_sequence")) or "primary").lower()
    checks.append(seq in ("primary", "secondary", "tertiary"))
    if not all(checks):
        return None
    line["line_number"] = int(line["line_f"])
    return line


def _day_key(line: dict) -> tuple:
    """MUE date-of-service totals: patient, code, date, claim type and provider."""
    return (
        line["patient_id"],
        line["code"],
        line["service_date"],
        line["claim_type"],
        line["provider_key"],
    )


def naive_findings(
    input_path: Path | str, bundle_dir: Path | str, timings: dict | None = None
) -> pd.DataFrame:
    """Core-rule findings of one claims file, computed row by row. `timings` (optional) gets
    the seconds spent on the reference (fixed cost) and on the lines (per-line cost)."""
    import time

    timings = {} if timings is None else timings
    t = time.perf_counter()
    hcpcs, xwalk, mue, opps, by_ndc, by_code = _reference(bundle_dir)
    timings["reference"] = time.perf_counter() - t
    t = time.perf_counter()
    path = Path(input_path)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    lines, seen = [], set()
    for _, row in frame.iterrows():
        line = _valid(row)
        if line is None or (line["claim_id"], line["line_number"]) in seen:
            continue
        seen.add((line["claim_id"], line["line_number"]))
        ref = hcpcs.get(line["code"])
        void = line["frequency"] == "8"
        line["in_scope"] = not CPT.match(line["code"]) and not void
        line["cpt_scope"] = bool(CPT.match(line["code"])) and not void
        line["ref"] = ref
        bua, bunit = (ref["bua"], ref["bunit"]) if ref else (None, None)
        line["bua"] = bua
        line["admin_bu"] = _to_bu(line["amount"], line["unit"], bua, bunit)
        line["waste_bu"] = _to_bu(line["wasted"], line["unit"], bua, bunit)
        line["has_jw"], line["has_jz"] = "JW" in line["mods"], "JZ" in line["mods"]
        line["ndc11"] = _ndc11(line["ndc"])
        setting = "practitioner" if line["claim_type"] == "professional" else "outpatient_hospital"
        line["mue"] = mue.get((line["code"], setting))
        lines.append(line)

    # drug groups and patient-days, in dicts
    groups = defaultdict(
        lambda: {"jw": False, "waste": False, "admin": None, "w_admin": None, "w_jw": None}
    )
    days = defaultdict(lambda: {"total": 0.0, "first": None})
    for line in lines:
        g = groups[(line["claim_id"], line["code"], line["service_date"])]
        docd = (line["wasted"] or 0) > 0
        g["jw"] |= line["has_jw"]
        g["waste"] |= docd
        if not line["has_jw"] and line["admin_bu"] is not None:
            g["admin"] = (g["admin"] or 0) + line["admin_bu"]
        if docd and line["waste_bu"] is not None:
            key = "w_jw" if line["has_jw"] else "w_admin"
            g[key] = (g[key] or 0) + line["waste_bu"]
        if (line["in_scope"] or line["cpt_scope"]) and line["mue"] is not None:
            d = days[_day_key(line)]
            d["total"] += line["billed"]
            key = (line["claim_id"], line["line_number"])
            if d["first"] is None or key < d["first"]:
                d["first"] = key

    out = []
    for line in lines:
        key = (line["claim_id"], line["line_number"])
        if line["cpt_scope"] and line["mue"] is not None:  # CPT lines: U003 only
            value, mai = line["mue"]
            d = days[_day_key(line)]
            if (mai == 1 and line["billed"] > value) or (
                mai != 1 and d["first"] == key and d["total"] > value
            ):
                out.append((line["claim_id"], line["line_number"], "U003"))
        if not line["in_scope"]:
            continue
        fired = []
        ref = line["ref"]
        if ref is None:
            fired.append("C001")
        else:
            date = line["service_date"]
            if (ref["add"] and date < ref["add"]) or (ref["term"] and date > ref["term"]):
                fired.append("C002")
        g = groups[(line["claim_id"], line["code"], line["service_date"])]
        waste = g["w_admin"] if g["w_admin"] is not None else g["w_jw"]
        group_waste = waste if g["waste"] else 0.0
        exp_jw = None
        if g["admin"] is not None and group_waste is not None:
            exp_jw = _ceil(g["admin"] + group_waste) - _ceil(g["admin"])
        exp_admin = _ceil(line["admin_bu"])
        expected = exp_jw if line["has_jw"] else exp_admin
        billed = line["billed"]
        if not line["has_jw"] and line["admin_bu"] is not None and expected is not None:
            slip = False
            if not _isclose(billed, expected):
                as_amount = _isclose(billed, line["amount"]) and not _isclose(line["bua"], 1.0)
                ratio = billed / expected if expected > 0 else -1
                slip = as_amount or any(_isclose(ratio, r) for r in SLIP_RATIOS)
            if not slip and billed > expected + 1e-9:
                fired.append("U001")
            if not slip and billed < expected - 1e-9:
                fired.append("U002")
        if line["mue"] is not None:
            value, mai = line["mue"]
            d = days[_day_key(line)]
            if (mai == 1 and billed > value) or (
                mai != 1 and d["first"] == key and d["total"] > value
            ):
                fired.append("U003")
        if line["ndc11"] in xwalk and line["code"] not in xwalk[line["ndc11"]]:
            fired.append("N003")
        container = by_ndc.get(line["ndc11"]) or by_code.get(line["code"])
        packaged = line["claim_type"] == "institutional" and opps.get(line["code"]) == "N"
        policy = line["payer_type"] == "medicare" and container == "single_dose" and not packaged
        if policy and not line["has_jw"] and (line["wasted"] or 0) > 0 and not g["jw"]:
            admin = line["admin_bu"] or 0
            if line["waste_bu"] is not None and _ceil(admin + line["waste_bu"]) - _ceil(admin) >= 1:
                fired.append("M001")
        billable_waste = g["waste"] and (exp_jw is None or exp_jw >= 1)
        if policy and not billable_waste and not g["jw"] and not line["has_jz"]:
            fired.append("M002")
        if (
            line["has_jw"]
            and not packaged
            and container != "multi_dose"
            and g["waste"]
            and exp_jw is not None
            and abs(billed - exp_jw) > 1e-9
        ):
            fired.append("M004")
        out.extend((line["claim_id"], line["line_number"], rule) for rule in fired)
    timings["lines"] = time.perf_counter() - t
    result = pd.DataFrame(out, columns=["claim_id", "line_number", "rule_code"])
    result["line_number"] = result["line_number"].astype("int64")
    return result.sort_values(["claim_id", "line_number", "rule_code"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m benchmarks.naive_loop FILE BUNDLE OUT.parquet`: findings to a Parquet file,
    with the seconds spent loading the reference and looping over the lines in OUT.json."""
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("input")
    parser.add_argument("bundle")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    findings = naive_findings(args.input, args.bundle, timings)
    timings["total"] = time.perf_counter() - t
    findings.to_parquet(args.out, index=False)
    Path(args.out + ".json").write_text(json.dumps(timings))


if __name__ == "__main__":
    main()
