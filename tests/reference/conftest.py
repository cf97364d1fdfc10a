"""Fixtures of the reference builder tests: the CMS files in ../shared/reference-raw (never copied
into the project), a small curated directory written to tmp, and one full build per session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from claims_audit.reference import read_table_file, table_entry
from claims_audit.reference_build import build_bundle

RAW = Path(__file__).resolve().parents[2].parent / "shared" / "reference-raw"
RAW_FILES = {
    "hcpcs_zip": RAW / "hcpcs_2026_jan" / "january-2026-alpha-numeric-hcpcs-file.zip",
    "asp_pricing": RAW / "cms_asp_payment_limit_2026Q1_jan2026_121725.csv",
    "asp_crosswalk": RAW / "cms_asp_ndc_hcpcs_crosswalk_2026Q1_jan2026_121725.csv",
    "mue_practitioner": RAW / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
    "mue_outpatient": RAW / "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv",
    "opps": RAW / "cms_opps_addendum_b_2025Q4_oct2025_103125.csv",
}
RAW_MISSING = not all(p.is_file() for p in RAW_FILES.values())
needs_raw = pytest.mark.skipif(
    RAW_MISSING, reason=f"CMS source files not found in {RAW} (the shared reference-raw directory)"
)

# The twelve CPT/HCPCS modifiers SPEC section 4 asks the curated list to hold; six of them (XE, XP,
# XS, XU, RT, LT) are HCPCS Level II modifiers that the CMS file already lists.
CPT_MODIFIERS = """modifier,description,add_date,termination_date,source
25,Significant separately identifiable evaluation and management service,,,test fixture
50,Bilateral procedure,,,test fixture
59,Distinct procedural service,,,test fixture
76,Repeat procedure by same physician,,,test fixture
77,Repeat procedure by another physician,,,test fixture
91,Repeat clinical diagnostic laboratory test,,,test fixture
XE,Separate encounter,,,test fixture
XP,Separate practitioner,,,test fixture
XS,Separate structure,,,test fixture
XU,Unusual non-overlapping service,,,test fixture
RT,Right side,,,test fixture
LT,Left side,,,test fixture
"""
CONTAINER = """ndc11,hcpcs_code,product,container,source
55513-0710-01,J0897,Prolia 60 mg/mL prefilled syringe,single_dose,test fixture
50242-0085-27,J2997,Activase 100 mg vial,single_dose,test fixture
,J1645,dalteparin,multi_dose,test fixture
"""
DRUG_POLICY = """hcpcs_code,ndc11,min_days_between_doses,indications,requires_prior_auth,source
J0897,55513-0710-01,180,M81 M80,commercial,test fixture
J9035,,14,C18 C34,,test fixture
"""


def write_curated(directory: Path, **override: str) -> Path:
    """A curated directory with the three curated tables (contents overridable by name)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"cpt_modifiers": CPT_MODIFIERS, "container": CONTAINER, "drug_policy": DRUG_POLICY}
    for name, text in (files | override).items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    return directory


def rehash_manifest(bundle_dir: Path) -> dict:
    """Rewrite the manifest's row count and sha256 of every table file of `bundle_dir`, as a build
    would have written them (for tests that edit a bundle on purpose and want it to load)."""
    path = bundle_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in manifest["tables"].items():
        table = bundle_dir / entry["file"]
        manifest["tables"][name] = table_entry(table, len(read_table_file(bundle_dir, name)))
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


@pytest.fixture(scope="session")
def curated_dir(tmp_path_factory) -> Path:
    return write_curated(tmp_path_factory.mktemp("curated"))


@pytest.fixture(scope="session")
def built(tmp_path_factory, curated_dir):
    """The full bundle, built once. Its out dir held an older bundle, which the build replaced."""
    if RAW_MISSING:
        pytest.skip(f"CMS source files not found in {RAW}")
    out = tmp_path_factory.mktemp("bundle") / "reference-2026Q1"
    out.mkdir()
    old_manifest = '{"kind": "old", "tables": {"stale": {"file": "stale.parquet", "rows": 0}}}'
    (out / "manifest.json").write_text(old_manifest, encoding="utf-8")
    (out / "stale.parquet").write_bytes(b"old")
    manifest = build_bundle(**RAW_FILES, out_dir=out, curated_dir=curated_dir)
    tables = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    return out, manifest, tables


@pytest.fixture(scope="session")
def next_quarter(built, tmp_path_factory) -> Path:
    """A copy of the built bundle with a known set of edits (as a next quarter might bring)."""
    out = built[0]
    new_dir = tmp_path_factory.mktemp("next-quarter") / "bundle"
    shutil.copytree(out, new_dir)

    def edit(name, change):
        path = new_dir / f"{name}.parquet"
        change(pd.read_parquet(path)).to_parquet(path, index=False)

    def hcpcs(df):
        df = df[df["hcpcs_code"] != "J2997"].copy()
        added = df[df["hcpcs_code"] == "J9035"].assign(hcpcs_code="J9996", short_description="New")
        df.loc[df["hcpcs_code"] == "J9035", "billing_unit_amount"] = 5.0
        df.loc[df["hcpcs_code"] == "J2354", "termination_date"] = pd.Timestamp("2026-06-30")
        return pd.concat([df, added], ignore_index=True)

    def mue(df):
        row = (df["hcpcs_code"] == "J2354") & (df["setting"] == "practitioner")
        df.loc[row, ["mue_value", "mai"]] = [80, 2]
        return df

    def limits(df):
        df.loc[df["hcpcs_code"] == "J2997", "payment_limit_usd"] = 95.0
        return df

    def crosswalk(df):
        added = df[df["ndc11"] == "00078-0811-81"].assign(ndc11="00078-0811-99")
        return pd.concat([df[df["ndc11"] != "55513-0710-01"], added], ignore_index=True)

    edit("hcpcs", hcpcs)
    edit("mue", mue)
    edit("payment_limits", limits)
    edit("ndc_crosswalk", crosswalk)
    rehash_manifest(new_dir)
    return new_dir
