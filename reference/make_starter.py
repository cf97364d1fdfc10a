"""Regenerate the curated starter reference bundle (this directory) from the CMS files.

    .venv/bin/python reference/make_starter.py [--raw ../shared/reference-raw]

The starter bundle holds only the facts the audit of `sample_data/` needs: the HCPCS codes,
NDCs and modifiers listed below, taken row by row from the CMS files as published (the HCPCS
Level II zip, the ASP payment limit file and NDC-HCPCS crosswalk, the two NCCI MUE tables and
OPPS Addendum B), written in this project's own column names with a `source` on every row.
It is not a copy of a CMS file; real audits build the full bundle with
`claims-audit reference build` (see README.md).

Hand-curated tables are kept by hand and only read here: `cpt_modifiers.csv` (merged into
`modifiers.csv`) and `drug_policy.csv`. `container.csv` carries every row of
`../shared/reference-curated/containers.csv`. The script is deterministic: same inputs, same
files (the manifest's `built_at` is null for the starter bundle).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_RAW = ROOT.parent / "shared" / "reference-raw"
DEFAULT_CURATED = ROOT.parent / "shared" / "reference-curated" / "containers.csv"
TOOL_VERSION = "0.1.0"

# -- what the starter bundle covers ------------------------------------------------------------

# HCPCS Level II codes used by sample_data/ (and a few look-alikes the billing guides confuse).
# CPT codes (96413, 96372, ...) are out of scope and never listed.
CODES = [
    "J0696",  # ceftriaxone sodium, per 250 mg
    "J0897",  # denosumab, 1 mg (Prolia, Xgeva)
    "J1100",  # dexamethasone sodium phosphate, 1 mg
    "J1170",  # hydromorphone, up to 4 mg: terminated 2024-09-30
    "J1171",  # hydromorphone, 0.1 mg: its replacement from 2024-10-01
    "J1645",  # dalteparin sodium, per 2500 IU (Fragmin)
    "J1837",  # posaconazole, 1 mg: added 2026-01-01 (C002 "before the add date")
    "J1885",  # ketorolac tromethamine, per 15 mg
    "J2353",  # octreotide depot, 1 mg (Sandostatin LAR Depot)
    "J2354",  # octreotide non-depot, 25 mcg
    "J2371",  # phenylephrine HCl, 20 mcg (the guides call it dalteparin)
    "J2405",  # ondansetron HCl, per 1 mg
    "J2410",  # oxymorphone HCl, up to 1 mg
    "J2700",  # oxacillin sodium, up to 250 mg (the guides call it oxymorphone)
    "J2997",  # alteplase recombinant, 1 mg (Activase, Cathflo Activase)
    "J3397",  # vestronidase alfa-vjbk, 1 mg (the guides call it denosumab)
    "J3490",  # unclassified drugs (NOC)
    "J3590",  # unclassified biologics (NOC)
    "J9035",  # bevacizumab, 10 mg (Avastin)
    "J9312",  # rituximab, 10 mg (Rituxan)
    "J9999",  # not otherwise classified, antineoplastic drugs (NOC)
]
# every crosswalk row of these codes (the drugs the billing guides are about: small families)
ALL_NDCS_OF = ["J0897", "J1645", "J2353", "J2354", "J2997", "J9035", "J9312"]
# multi-source generics: only the packages the sample claims use
NDCS = [
    "00409-7332-01", "25021-0106-10",                   # J0696 ceftriaxone 1 g vials
    "63323-0165-01", "63323-0506-01",                   # J1100 dexamethasone 4 mg/mL, 10 mg/mL
    "00409-1283-31", "00409-1312-30",                   # J1171 hydromorphone 1 mg/mL, 2 mg/mL
    "63323-0685-17",                                    # J1837 posaconazole 300 mg vial
    "00409-3795-01", "25021-0701-01",                   # J1885 ketorolac 30 mg/mL
    "00409-4755-03", "63323-0373-02",                   # J2405 ondansetron 4 mg/2 mL
    "63323-0751-01",                                    # J2371 phenylephrine 10 mg/mL
]  # fmt: skip
# HCPCS Level II modifiers the sample uses or the rules name (JG: terminated 2024-12-31)
MODIFIERS = [
    "GA", "GY", "GZ", "JA", "JB", "JG", "JW", "JZ", "KX", "LT", "PN", "PO", "RT", "TB",
    "XE", "XP", "XS", "XU",
]  # fmt: skip

# -- the CMS files -------------------------------------------------------------------------------

HCPCS_ZIP = "hcpcs_2026_jan/january-2026-alpha-numeric-hcpcs-file.zip"
ASP_PRICING = "cms_asp_payment_limit_2026Q1_jan2026_121725.csv"
ASP_CROSSWALK = "cms_asp_ndc_hcpcs_crosswalk_2026Q1_jan2026_121725.csv"
MUE_PRACTITIONER = "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv"
MUE_OUTPATIENT = "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv"
OPPS = "cms_opps_addendum_b_2025Q4_oct2025_103125.csv"

Q1_2026 = {"start": "2026-01-01", "end": "2026-03-31"}
Q2_2026 = {"start": "2026-04-01", "end": "2026-06-30"}
Q4_2025 = {"start": "2025-10-01", "end": "2025-12-31"}
NO_PERIOD = {"start": None, "end": None}

# file -> (product, quarter label, effective period)
PRODUCTS = {
    HCPCS_ZIP: ("HCPCS Level II alpha-numeric file", "2026Q1", Q1_2026),
    ASP_PRICING: ("Medicare Part B ASP payment limit file", "2026Q1", Q1_2026),
    ASP_CROSSWALK: ("ASP NDC-HCPCS crosswalk", "2026Q1", Q1_2026),
    MUE_PRACTITIONER: ("NCCI MUE table, practitioner services", "2026Q2", Q2_2026),
    MUE_OUTPATIENT: ("NCCI MUE table, outpatient hospital services", "2026Q2", Q2_2026),
    OPPS: ("OPPS Addendum B", "2025Q4", Q4_2025),
}
LABELS = {
    HCPCS_ZIP: "CMS HCPCS Level II alpha-numeric file",
    ASP_PRICING: "CMS ASP payment limit file",
    ASP_CROSSWALK: "CMS ASP NDC-HCPCS crosswalk",
    MUE_PRACTITIONER: "CMS NCCI MUE practitioner services",
    MUE_OUTPATIENT: "CMS NCCI MUE outpatient hospital services",
    OPPS: "CMS OPPS Addendum B",
}
CPT_SOURCE = "AMA CPT Appendix A (curated)"


def label(name: str) -> str:
    """`source` value of a row: `<CMS product> <quarter> (<file name>)`."""
    return f"{LABELS[name]} {PRODUCTS[name][1]} ({Path(name).name})"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_cms_csv(path: Path, first_header_cell: str) -> pd.DataFrame:
    """A CMS CSV (cp1252) below its banner: the header is the first record whose first cell
    (whitespace collapsed) is `first_header_cell`. Values stripped; empty padding columns and
    rows dropped."""
    records = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"))))
    norm = [re.sub(r"\s+", " ", r[0]).strip() if r else "" for r in records]
    at = norm.index(first_header_cell)
    header = [re.sub(r"\s+", " ", c).strip() for c in records[at]]
    keep = [i for i, c in enumerate(header) if c]
    rows = [[(r[i].strip() if i < len(r) else "") for i in keep] for r in records[at + 1 :]]
    df = pd.DataFrame(rows, columns=[header[i] for i in keep])
    return df[(df != "").any(axis=1)].reset_index(drop=True)


# -- HCPCS zip -------------------------------------------------------------------------------------


def read_hcpcs(zip_path: Path) -> tuple[pd.DataFrame, set[str]]:
    """One row per code/modifier from the zip's .xlsx member (RECID 3 procedure, 7 modifier),
    checked against the fixed-width .txt member; plus CMS's NOC code list."""
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        xlsx = next(n for n in names if re.fullmatch(r"HCPC\d{4}_\w+_ANWEB_\d+\.xlsx", n))
        txt = next(n for n in names if re.fullmatch(r"HCPC\d{4}_\w+_ANWEB_\d+\.txt", n))
        noc = next(n for n in names if n.lower().startswith("noc"))
        rows = list(load_workbook(io.BytesIO(zf.read(xlsx)), read_only=True).worksheets[0]
                    .iter_rows(values_only=True))  # fmt: skip
        fixed = zf.read(txt).decode("cp1252").splitlines()
        noc_rows = list(load_workbook(io.BytesIO(zf.read(noc)), read_only=True).worksheets[0]
                        .iter_rows(values_only=True))  # fmt: skip
    df = pd.DataFrame(rows[1:], columns=rows[0]).fillna("").astype(str)
    df["code"] = df["HCPC"].str.strip()
    # the fixed-width records (layout: code 1-5, RECID 11, short description 92-119,
    # ADD DT 269-276, ACT EFF DT 277-284, TERM DT 285-292) must say the same
    for line in fixed:
        code = line[0:5].strip()
        if line[10:11] not in ("3", "7") or code not in set(CODES) | set(MODIFIERS):
            continue
        row = df[(df["code"] == code) & (df["RECID"] == line[10:11])].iloc[0]
        assert row["ADD DT"] == line[268:276].strip(), code
        assert row["ACT EFF DT"] == line[276:284].strip(), code
        assert row["TERM DT"] == line[284:292].strip(), code
        assert row["SHORT DESCRIPTION"].strip() == line[91:119].strip(), code
    header = next(i for i, r in enumerate(noc_rows) if r and r[0] == "HCPCS")
    noc_codes = {str(r[0]).strip() for r in noc_rows[header + 1 :] if r and r[0]}
    return df, noc_codes


def iso(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}" if yyyymmdd else ""


# billing unit: the ASP file's "HCPCS Code Dosage" where the code is priced there, else the
# dosage segment of the long descriptor ("..., 1 mg", "..., up to 4 mg")
UNIT_WORDS = {"mg": "mg", "mcg": "mcg", "micrograms": "mcg", "g": "g", "gm": "g", "iu": "units",
              "units": "units", "ml": "mL"}  # fmt: skip


def parse_dosage(text: str) -> tuple[str, str]:
    m = re.fullmatch(r"(?:(?:per|up to)\s+)?(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)", text.strip().lower())
    if not m or m[2] not in UNIT_WORDS:
        return "", ""
    return f"{float(m[1]):g}", UNIT_WORDS[m[2]]


def descriptor_dosage(long_description: str) -> str:
    found = re.findall(
        r",\s*((?:(?:per|up to)\s+)?(?:\d+(?:\.\d+)?|\.\d+)\s*(?:mg|mcg|micrograms|g|gm|iu|units|ml))"
        r"\s*(?=$|[,;(])",
        long_description.lower(),
    )
    return found[0] if len(found) == 1 else ""


def hcpcs_table(hcpcs: pd.DataFrame, noc: set[str], pricing: pd.DataFrame) -> pd.DataFrame:
    procedures = hcpcs[hcpcs["RECID"] == "3"].set_index("code")
    missing = [c for c in CODES if c not in procedures.index]
    if missing:
        sys.exit(f"codes not in the HCPCS file: {missing}")
    dosage = pricing.set_index("HCPCS Code")["HCPCS Code Dosage"]
    out = []
    for code in CODES:
        r = procedures.loc[code]
        text = dosage.get(code, "") or descriptor_dosage(r["LONG DESCRIPTION"])
        amount, unit = parse_dosage(text) if text else ("", "")
        source = label(HCPCS_ZIP)
        if code in dosage.index:
            source += f"; billing unit: {label(ASP_PRICING)}"
        out.append(
            {
                "hcpcs_code": code,
                "short_description": r["SHORT DESCRIPTION"].strip(),
                "long_description": r["LONG DESCRIPTION"].strip(),
                "add_date": iso(r["ADD DT"]),
                "effective_date": iso(r["ACT EFF DT"]),
                "termination_date": iso(r["TERM DT"]),
                "is_noc": "true" if code in noc else "false",
                "billing_unit_amount": amount,
                "billing_unit": unit,
                "billing_unit_text": text,
                "source": source,
            }
        )
    return pd.DataFrame(out)


def modifiers_table(hcpcs: pd.DataFrame, cpt: pd.DataFrame) -> pd.DataFrame:
    mods = hcpcs[hcpcs["RECID"] == "7"].set_index("code")
    missing = [m for m in MODIFIERS if m not in mods.index]
    if missing:
        sys.exit(f"modifiers not in the HCPCS file: {missing}")
    overlap = sorted(set(cpt["modifier"]) & set(mods.index))
    if overlap:
        sys.exit(f"cpt_modifiers.csv lists HCPCS Level II modifiers {overlap}: remove them")
    rows = [
        {
            "modifier": m,
            "description": mods.loc[m, "LONG DESCRIPTION"].strip(),
            "add_date": iso(mods.loc[m, "ADD DT"]),
            "termination_date": iso(mods.loc[m, "TERM DT"]),
            "source": label(HCPCS_ZIP),
        }
        for m in MODIFIERS
    ]
    return pd.concat([pd.DataFrame(rows), cpt], ignore_index=True).sort_values("modifier")


# -- ASP, MUE, OPPS ----------------------------------------------------------------------------------


def crosswalk_table(raw: Path) -> pd.DataFrame:
    xw = read_cms_csv(raw / ASP_CROSSWALK, "_2026_CODE")
    code_col = next(c for c in xw.columns if re.fullmatch(r"_\d{4}_CODE", c))
    keep = xw[code_col].isin(ALL_NDCS_OF) | (xw[code_col].isin(CODES) & xw["NDC2"].isin(NDCS))
    missing = sorted(set(NDCS) - set(xw.loc[keep, "NDC2"]))
    if missing:
        sys.exit(f"NDCs not in the crosswalk under a starter code: {missing}")
    xw = xw[keep]
    assert xw["NDC2"].str.fullmatch(r"\d{5}-\d{4}-\d{2}").all()
    return pd.DataFrame(
        {
            "ndc11": xw["NDC2"],
            "hcpcs_code": xw[code_col],
            "drug_name": xw["Drug Name"].str.strip(),
            "labeler": xw["LABELER NAME"],
            "pkg_size": xw["PKG SIZE"],
            "pkg_qty": xw["PKG QTY"],
            "billing_units_per_item": xw["BILLUNITS"],
            "billing_units_per_package": xw["BILLUNITSPKG"],
            "source": label(ASP_CROSSWALK),
        }
    ).sort_values(["ndc11", "hcpcs_code"])


def payment_limits_table(pricing: pd.DataFrame) -> pd.DataFrame:
    p = pricing[pricing["HCPCS Code"].isin(CODES) & (pricing["Payment Limit"] != "")]
    return pd.DataFrame(
        {
            "hcpcs_code": p["HCPCS Code"],
            "payment_limit_usd": p["Payment Limit"],
            "dosage_text": p["HCPCS Code Dosage"],
            "quarter": PRODUCTS[ASP_PRICING][1],
            "source": label(ASP_PRICING),
        }
    ).sort_values("hcpcs_code")


def mue_table(raw: Path) -> pd.DataFrame:
    frames = []
    for name, setting, value_col in (
        (MUE_PRACTITIONER, "practitioner", "Practitioner Services MUE Values"),
        (MUE_OUTPATIENT, "outpatient_hospital", "Outpatient Hospital Services MUE Values"),
    ):
        m = read_cms_csv(raw / name, "HCPCS/ CPT Code")
        m = m[m["HCPCS/ CPT Code"].isin(CODES)]
        frames.append(
            pd.DataFrame(
                {
                    "hcpcs_code": m["HCPCS/ CPT Code"],
                    "setting": setting,
                    "mue_value": m[value_col],
                    "mai": m["MUE Adjudication Indicator"].str.extract(r"^([123])\b")[0],
                    "rationale": m["MUE Rationale"],
                    "source": label(name),
                }
            )
        )
    return pd.concat(frames).sort_values(["hcpcs_code", "setting"])


def opps_table(raw: Path) -> pd.DataFrame:
    o = read_cms_csv(raw / OPPS, "HCPCS Code")
    o = o[o["HCPCS Code"].isin(CODES)]
    rate = o["Payment Rate"].str.replace(r"[$,\s]", "", regex=True)
    return pd.DataFrame(
        {
            "hcpcs_code": o["HCPCS Code"],
            "status_indicator": o["SI"],
            "apc": o["APC"],
            "payment_rate_usd": rate,
            "source": label(OPPS),
        }
    ).sort_values("hcpcs_code")


def container_table(curated: Path) -> pd.DataFrame:
    c = pd.read_csv(curated, dtype=str, keep_default_na=False)
    return pd.DataFrame(
        {
            "ndc11": c["ndc11"],
            "hcpcs_code": "",
            "product": c["product"] + ", " + c["package"],
            "container": c["container"],
            "source": c["source"] + " (curated: reference-curated/containers.csv)",
        }
    )


# -- write -----------------------------------------------------------------------------------------


def write(df: pd.DataFrame, name: str) -> Path:
    path = HERE / f"{name}.csv"
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--containers", type=Path, default=DEFAULT_CURATED)
    args = parser.parse_args()
    raw: Path = args.raw

    hcpcs, noc = read_hcpcs(raw / HCPCS_ZIP)
    pricing = read_cms_csv(raw / ASP_PRICING, "HCPCS Code")
    cpt = pd.read_csv(HERE / "cpt_modifiers.csv", dtype=str, keep_default_na=False)
    policy = pd.read_csv(HERE / "drug_policy.csv", dtype=str, keep_default_na=False)

    tables = {
        "hcpcs": hcpcs_table(hcpcs, noc, pricing),
        "modifiers": modifiers_table(hcpcs, cpt),
        "ndc_crosswalk": crosswalk_table(raw),
        "payment_limits": payment_limits_table(pricing),
        "mue": mue_table(raw),
        "opps": opps_table(raw),
        "container": container_table(args.containers),
    }
    for name, df in tables.items():
        write(df, name)
    tables["drug_policy"] = policy

    def entry(table: str, file: Path, product: str, period: dict, rows: int) -> dict:
        return {
            "table": table,
            "file": file.name,
            "product": product,
            "effective_period": period,
            "sha256": sha256(file),
            "rows": int(rows),
        }

    def cms(table: str, name: str, rows: int, product: str | None = None) -> dict:
        return entry(table, raw / name, product or PRODUCTS[name][0], PRODUCTS[name][2], rows)

    h, m = tables["hcpcs"], tables["modifiers"]
    mue = tables["mue"]
    sources = [
        cms("hcpcs", HCPCS_ZIP, len(h)),
        cms("hcpcs", ASP_PRICING, int(h["source"].str.contains("billing unit").sum()),
            f"{PRODUCTS[ASP_PRICING][0]} (dosage column: billing unit)"),
        cms("modifiers", HCPCS_ZIP, int((m["source"] != CPT_SOURCE).sum())),
        entry("modifiers", HERE / "cpt_modifiers.csv", "curated cpt_modifiers", NO_PERIOD,
              int((m["source"] == CPT_SOURCE).sum())),
        cms("ndc_crosswalk", ASP_CROSSWALK, len(tables["ndc_crosswalk"])),
        cms("payment_limits", ASP_PRICING, len(tables["payment_limits"])),
        cms("mue", MUE_PRACTITIONER, int((mue["setting"] == "practitioner").sum())),
        cms("mue", MUE_OUTPATIENT, int((mue["setting"] == "outpatient_hospital").sum())),
        cms("opps", OPPS, len(tables["opps"])),
        entry("container", args.containers, "curated container (FDA labels, How Supplied)",
              NO_PERIOD, len(tables["container"])),
        entry("drug_policy", HERE / "drug_policy.csv", "curated drug_policy (FDA labels)",
              NO_PERIOD, len(policy)),
    ]  # fmt: skip
    manifest = {
        "format": "claims-audit-reference/1",
        "kind": "starter",
        "tool_version": TOOL_VERSION,
        "built_at": None,
        "sources": sources,
        "tables": {name: len(df) for name, df in tables.items()},
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print({name: len(df) for name, df in tables.items()})


if __name__ == "__main__":
    main()
