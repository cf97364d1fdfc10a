"""Regenerate the curated starter reference bundle (this directory) from the CMS files.

    .venv/bin/python reference/make_starter.py [--raw ../shared/reference-raw]

The starter bundle holds only the facts the audit of `sample_data/` and the rule fixtures need:
the HCPCS codes, NDCs and modifiers listed below, and the MUE and OPPS rows of the CPT
administration codes. The script builds the full bundle from the CMS files with the
product's own builder (`claims_audit.reference_build`, the code behind `claims-audit reference
build`) in a scratch directory and keeps the rows of those codes, NDCs and modifiers, each with
the `source` the builder gives it. It is not a copy of a CMS file; real audits build the full
bundle (see README.md).

Hand-curated tables are kept by hand and only read here: `cpt_modifiers.csv` (merged into
`modifiers.csv`) and `drug_policy.csv`. `container.csv` carries every row of
`../shared/reference-curated/containers.csv`. The script is deterministic: same inputs, same
files (the manifest's `built_at` is null for the starter bundle). The manifest gives each table
file's row count and sha256, which `load_bundle` checks: after editing a hand-kept table, run
`make_starter.py --rehash` (no CMS files needed) and review the diff.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from claims_audit.reference import load_bundle, read_table_file, table_entry
from claims_audit.reference_build.build import build_bundle
from claims_audit.schemas.reference import TABLE_SCHEMAS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_RAW = ROOT.parent / "shared" / "reference-raw"
DEFAULT_CURATED = ROOT.parent / "shared" / "reference-curated" / "containers.csv"

# -- what the starter bundle covers ------------------------------------------------------------

# HCPCS Level II codes used by sample_data/ (and a few look-alikes the billing guides confuse).
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
    # for the rule fixtures of the revised SPEC (issue 11)
    "J1560",  # gamma globulin IM, over 10 cc: one unit at any volume (no billing-unit amount)
    "J3301",  # triamcinolone acetonide, NOS, 10 mg: NOS with a unit and a limit (not C003)
    "J8610",  # methotrexate oral, 2.5 mg: MUE 0 practitioner (oral medication, not payable)
    "J9201",  # gemcitabine HCl, NOS, 200 mg: NOS with a unit and a limit (not C003)
    "J9216",  # interferon gamma 1-b, 3 million units: MUE 0 outpatient hospital (CMS policy)
    "J3471",  # hyaluronidase (ovine), up to 150 units: MUE 999 with MAI 1 (a line edit)
    "J7599",  # immunosuppressive drug, not otherwise classified (drug NOC: C003)
    "C9399",  # unclassified drugs or biologicals, hospital outpatient (drug NOC: C003)
    "A9999",  # miscellaneous DME supply or accessory, NOC (non-drug NOC: not C003)
    "E1399",  # durable medical equipment, miscellaneous (non-drug NOC: not C003)
]
# CPT codes (no HCPCS row; U003 judges them): MUE rows of both settings and OPPS rows. Every
# drug administration code 96360-96549 the MUE tables list, plus the other CPT codes that
# sample_data/ and `claims-audit sample generate` bill (port flush, colonoscopy, office visits).
CPT_RANGE = ("96360", "96549")
CPT_CODES = ["36593", "45378", "99213", "99214"]
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
    "13533-0335-12",                                    # J1560 GamaSTAN 10 mL
    "00003-0293-05",                                    # J3301 Kenalog
    "00054-4550-25",                                    # J8610 methotrexate 2.5 mg tablets
    "00409-0181-01",                                    # J9201 gemcitabine 200 mg vial
]  # fmt: skip
# HCPCS Level II modifiers the sample uses or the rules name (JG: terminated 2024-12-31)
MODIFIERS = [
    "GA", "GY", "GZ", "JA", "JB", "JG", "JW", "JZ", "KX", "LT", "PN", "PO", "RT", "TB",
    "XE", "XP", "XS", "XU",
]  # fmt: skip

# -- the CMS files, as `make reference` names them --------------------------------------------

SOURCES = {
    "hcpcs_zip": "hcpcs_2026_jan/january-2026-alpha-numeric-hcpcs-file.zip",
    "asp_pricing": "cms_asp_payment_limit_2026Q1_jan2026_121725.csv",
    "asp_crosswalk": "cms_asp_ndc_hcpcs_crosswalk_2026Q1_jan2026_121725.csv",
    "mue_practitioner": "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
    "mue_outpatient": "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv",
    "opps": "cms_opps_addendum_b_2025Q4_oct2025_103125.csv",
}


def cpt_codes(mue: pd.DataFrame) -> list[str]:
    """The CPT codes of the starter: CPT_CODES and every MUE code in CPT_RANGE."""
    code = mue["hcpcs_code"]
    in_range = code[code.str.fullmatch(r"[0-9]{5}") & code.between(*CPT_RANGE)]
    return sorted(set(in_range) | set(CPT_CODES))


def select(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The starter rows of each built table; stops naming any listed fact the build lacks."""
    cpt = cpt_codes(tables["mue"])
    out = {
        name: df[df["hcpcs_code"].isin(codes)]
        for name, codes in {
            "hcpcs": CODES,
            "payment_limits": CODES,
            "mue": CODES + cpt,
            "opps": CODES + cpt,
        }.items()
        for df in [tables[name]]
    }
    xw = tables["ndc_crosswalk"]
    out["ndc_crosswalk"] = xw[
        xw["hcpcs_code"].isin(ALL_NDCS_OF) | (xw["hcpcs_code"].isin(CODES) & xw["ndc11"].isin(NDCS))
    ]
    mods = tables["modifiers"]
    out["modifiers"] = mods[mods["modifier"].isin(MODIFIERS) | mods["source"].str.contains("CPT")]
    out["container"] = tables["container"]  # all of it, as read from container.csv
    mue_pairs = out["mue"].groupby("hcpcs_code")["setting"].nunique()
    missing = {
        "codes": sorted(set(CODES) - set(out["hcpcs"]["hcpcs_code"])),
        "CPT MUE rows (both settings)": sorted(c for c in cpt if mue_pairs.get(c, 0) != 2),
        "NDCs": sorted(set(NDCS) - set(out["ndc_crosswalk"]["ndc11"])),
        "modifiers": sorted(set(MODIFIERS) - set(out["modifiers"]["modifier"])),
    }
    if any(missing.values()):
        sys.exit(f"not in the built bundle: {missing}")
    return out


def starter_manifest(built: dict, tables: dict[str, pd.DataFrame]) -> dict:
    """The builder's manifest, with the starter's row counts and no build time (`tables`: filled
    in by `table_entries` once the files are written)."""
    sources = []
    for entry in built["sources"]:
        df = tables.get(entry["table"])
        if df is None:  # drug_policy: kept by hand, read as is
            sources.append(entry)
            continue
        rows = len(df)
        if entry["table"] == "modifiers":
            from_cpt = df["source"].str.contains("CPT")
            rows = int(from_cpt.sum() if "curated" in entry["product"] else (~from_cpt).sum())
        elif entry["table"] == "mue":
            setting = "practitioner" if "ractitioner" in entry["file"] else "outpatient_hospital"
            rows = int((df["setting"] == setting).sum())
        elif entry["table"] == "hcpcs" and "dosage" in entry["product"]:
            rows = int(df["source"].str.contains("billing unit").sum())
        sources.append(entry | {"rows": rows})
    return {
        "format": built["format"],
        "kind": "starter",
        "tool_version": built["tool_version"],
        "built_at": None,
        "sources": sources,
        "tables": {},
    }


def table_entries() -> dict[str, dict]:
    """File, row count and sha256 of every table file of this directory, as written."""
    entries = {}
    for name in TABLE_SCHEMAS:
        path = HERE / f"{name}.csv"
        if path.is_file():
            entries[name] = table_entry(path, len(read_table_file(HERE, name)))
    return entries


def rehashed_sources(manifest: dict) -> dict:
    """The manifest with the sha256 (and drug_policy's row count) of the hand-kept files of this
    directory recomputed, as `reference build` would record them."""
    sources = []
    for entry in manifest["sources"]:
        path = HERE / entry["file"]
        if entry["product"].startswith("curated") and path.is_file():
            entry = entry | {"sha256": table_entry(path, 0)["sha256"]}
            if entry["table"] == "drug_policy":
                entry["rows"] = len(read_table_file(HERE, "drug_policy"))
        sources.append(entry)
    return manifest | {"sources": sources}


def write_manifest(manifest: dict) -> None:
    manifest = manifest | {"tables": table_entries()}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    load_bundle(HERE)  # the bundle as written must load: rows, sha256, schemas
    print({name: entry["rows"] for name, entry in manifest["tables"].items()})


def container_table(curated: Path) -> pd.DataFrame:
    """Every row of the hand-gathered single-/multi-dose facts, in the bundle's columns."""
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


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as people write them (`250`, `0.462`), flags as `true`/`false`."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "" if pd.isna(v) else np.format_float_positional(v, trim="-")
            )
    return out


def write(df: pd.DataFrame, name: str) -> None:
    readable(df).to_csv(HERE / f"{name}.csv", index=False, lineterminator="\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--containers", type=Path, default=DEFAULT_CURATED)
    parser.add_argument(
        "--rehash",
        action="store_true",
        help="only rewrite the manifest's row counts and sha256 (after editing drug_policy.csv)",
    )
    args = parser.parse_args()
    if args.rehash:
        write_manifest(rehashed_sources(json.loads((HERE / "manifest.json").read_text("utf-8"))))
        return
    write(container_table(args.containers), "container")  # the builder reads it from here
    files = {name: args.raw / path for name, path in SOURCES.items()}
    with tempfile.TemporaryDirectory() as scratch:
        built = build_bundle(**files, out_dir=Path(scratch) / "bundle", curated_dir=HERE)
        tables = {
            name: pd.read_parquet(Path(scratch) / "bundle" / f"{name}.parquet")
            for name in built["tables"]
            if name != "drug_policy"
        }
    starter = select(tables)
    for name, df in starter.items():
        write(df, name)
    write_manifest(rehashed_sources(starter_manifest(built, starter)))


if __name__ == "__main__":
    main()
