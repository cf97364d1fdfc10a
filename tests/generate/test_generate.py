"""`claims-audit sample generate`: synthetic claims whose audit finds exactly their labels."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.audit import run_audit
from claims_audit.cli.main import main
from claims_audit.generate import generate_claims, labels_path_for
from claims_audit.rules.diagnosis import ICD10CM_RELEASE
from tests.helpers import finding_keys

ROWS = 20_000
CORE = ("C001", "C002", "U001", "U002", "U003", "U004", "N002", "N003", "M001", "M002", "M004")
JW_JZ_RULES = ("M001", "M002", "M003", "M004", "M005", "M007")  # planted on Medicare only


@pytest.fixture(scope="module")
def generated(tmp_path_factory, starter_bundle):
    out = tmp_path_factory.mktemp("generated") / "claims.parquet"
    return generate_claims(starter_bundle, ROWS, out, seed=11, defect_rate=0.006)


@pytest.fixture(scope="module")
def audited(generated, starter_bundle, default_config):
    return run_audit([str(generated.path)], starter_bundle, default_config)


def test_generate_writes_exact_rows_and_labels(generated):
    frame = pd.read_parquet(generated.path)
    labels = pd.read_parquet(generated.labels_path)
    assert len(frame) == ROWS == generated.rows
    assert generated.labels_path == labels_path_for(generated.path)
    assert list(labels.columns) == ["claim_id", "line_number", "rule_code"]
    assert not frame.duplicated(["claim_id", "line_number"]).any()
    lines = set(zip(frame["claim_id"], frame["line_number"].astype(int), strict=True))
    assert {(c, n) for c, n, _ in finding_keys(labels)} <= lines
    assert frame["patient_id"].nunique() == generated.patients
    assert frame["claim_id"].nunique() == generated.claims


def test_generated_findings_equal_planted_labels(generated, audited):
    """Every planted defect is found, and nothing else fires anywhere (all 29 rules)."""
    assert audited.rejects.empty, audited.rejects.head().to_dict("records")
    labels = pd.read_parquet(generated.labels_path)
    found, planted = finding_keys(audited.findings), finding_keys(labels)
    unexpected = sorted(found - planted)[:10]
    missing = sorted(planted - found)[:10]
    assert found == planted, f"unexpected findings {unexpected}; planted but not found {missing}"


def test_generated_plants_every_core_rule(generated):
    planted = generated.planted
    assert [code for code in CORE if planted.get(code, 0) == 0] == []
    assert sum(planted.values()) > 0.02 * ROWS


def test_generated_summary_reconciles(audited):
    totals = audited.summary["totals"]
    assert totals["rows_read"] == ROWS == totals["rows_audited"] + totals["rows_rejected"]
    assert totals["lines_not_audited_out_of_scope"] > 0  # CPT administration lines


def test_generated_facts_come_from_the_bundle(generated, starter_bundle):
    """Clean drug lines carry codes of the bundle and NDCs that crosswalk to them."""
    frame = pd.read_parquet(generated.path)
    labels = pd.read_parquet(generated.labels_path)
    flagged = set(zip(labels["claim_id"], labels["line_number"].astype(int), strict=True))
    keys = pd.Series(list(zip(frame["claim_id"], frame["line_number"].astype(int), strict=True)))
    clean = frame[~keys.isin(flagged).to_numpy()]
    drugs = clean[~clean["hcpcs_code"].str.fullmatch(r"\d{5}")]
    assert drugs["hcpcs_code"].isin(starter_bundle["hcpcs"]["hcpcs_code"]).all()
    with_ndc = drugs.dropna(subset=["ndc"])
    ndc11 = with_ndc["ndc"].str.replace("-", "", regex=False)
    ndc11 = ndc11.str[:5] + "-" + ndc11.str[5:9] + "-" + ndc11.str[9:]
    xwalk = starter_bundle["ndc_crosswalk"]
    pairs = set(zip(xwalk["ndc11"], xwalk["hcpcs_code"], strict=True))
    assert all(p in pairs for p in zip(ndc11, with_ndc["hcpcs_code"], strict=True))
    assert len(with_ndc) > 0.5 * len(drugs)


def test_generate_same_seed_same_bytes(tmp_path, starter_bundle):
    paths = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / f"{name}.csv"
        generate_claims(starter_bundle, 3000, out, seed=seed, chunk_rows=1000)
        paths.append(out)
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c
    la, lb = (labels_path_for(p).read_bytes() for p in paths[:2])
    assert la == lb


def test_generate_chunks_keep_ids_unique_and_findings_exact(
    tmp_path, starter_bundle, default_config
):
    out = tmp_path / "chunked.csv"
    result = generate_claims(starter_bundle, 12_345, out, seed=5, chunk_rows=5_000)
    assert result.chunks == 3
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(frame) == 12_345
    assert not frame.duplicated(["claim_id", "line_number"]).any()
    audit = run_audit([str(out)], starter_bundle, default_config)
    assert finding_keys(audit.findings) == finding_keys(pd.read_parquet(result.labels_path))


def test_generate_csv_and_parquet_hold_the_same_lines(tmp_path, starter_bundle):
    generate_claims(starter_bundle, 2000, tmp_path / "x.csv", seed=9)
    generate_claims(starter_bundle, 2000, tmp_path / "x.parquet", seed=9)
    csv = pd.read_csv(tmp_path / "x.csv", dtype=str, keep_default_na=False)
    parquet = pd.read_parquet(tmp_path / "x.parquet").fillna("")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)


def test_cli_sample_generate(tmp_path):
    out = tmp_path / "claims.parquet"
    result = CliRunner().invoke(
        main, ["sample", "generate", "--rows", "800", "--out", str(out), "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 800 lines" in result.output
    assert len(pd.read_parquet(out)) == 800
    assert labels_path_for(out).exists()


def test_cli_sample_generate_rejects_bad_rows(tmp_path):
    result = CliRunner().invoke(
        main, ["sample", "generate", "--rows", "0", "--out", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2


# -- the revised SPEC: payer, container, setting, provider, claim frequency --------------------


@pytest.fixture(scope="module")
def lines(generated, starter_bundle):
    """The generated lines with the facts the JW/JZ policy depends on, and their labels."""
    frame = pd.read_parquet(generated.path)
    frame["line_number"] = frame["line_number"].astype(int)
    digits = frame["ndc"].fillna("").str.replace("-", "", regex=False)
    ndc11 = (digits.str[:5] + "-" + digits.str[5:9] + "-" + digits.str[9:]).where(
        digits.str.fullmatch(r"\d{11}")
    )
    container = starter_bundle["container"].dropna(subset=["ndc11"])
    frame["container"] = ndc11.map(container.set_index("ndc11")["container"])
    si = starter_bundle["opps"].set_index("hcpcs_code")["status_indicator"]
    frame["packaged"] = (frame["claim_type"] == "institutional") & frame["hcpcs_code"].map(si).eq(
        "N"
    )
    mods = frame["modifiers"].fillna("")
    frame["jw"], frame["jz"] = mods.str.contains("JW"), mods.str.contains("JZ")
    frame["cpt"] = frame["hcpcs_code"].str.fullmatch(r"\d{5}")
    labels = pd.read_parquet(generated.labels_path)
    labelled = labels.groupby(["claim_id", "line_number"])["rule_code"].agg(set)
    keys = pd.MultiIndex.from_frame(frame[["claim_id", "line_number"]])
    frame["labels"] = [labelled.get(k, set()) for k in keys]  # test-side only
    return frame


def _with(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    return frame[frame["labels"].map(lambda s: rule in s)]


def test_jw_jz_defects_only_where_the_policy_applies(lines):
    """M001 (and the other JW/JZ plants) only on Medicare, single-dose, separately payable
    lines: never on another payer, a multi-dose or unknown container, or an SI N hospital line."""
    for rule in JW_JZ_RULES:
        flagged = _with(lines, rule)
        assert len(flagged) > 0, rule
        assert set(flagged["payer_type"]) == {"medicare"}, rule
        assert not flagged["packaged"].any(), rule
    for rule in ("M001", "M002", "M003", "M004", "M007"):
        containers = set(_with(lines, rule)["container"])
        assert containers == {"single_dose"}, (rule, containers)
    assert set(_with(lines, "M005")["container"]) == {"multi_dose"}


def test_clean_lines_carry_jw_jz_only_for_medicare_single_dose(lines):
    clean = lines[lines["labels"].map(len).eq(0) & (lines["jw"] | lines["jz"])]
    assert len(clean) > 100
    assert set(clean["payer_type"]) == {"medicare"}
    assert set(clean["container"]) == {"single_dose"}
    assert not clean["packaged"].any()


def test_waste_documented_without_jw_where_no_jw_is_due(lines, audited):
    """Documented waste with no JW line on other payers, multi-dose, unknown containers and
    SI N hospital lines: the audit finds no M001 there."""
    waste = lines[(lines["wasted_amount"].astype(float) > 0) & ~lines["jw"]]
    groups = lines.groupby(["claim_id", "hcpcs_code", "service_date"])["jw"].transform("any")
    waste = waste[~groups[waste.index]]
    cases = {
        "other payer": waste["payer_type"] != "medicare",
        "multi-dose": waste["container"].eq("multi_dose"),
        "unknown container": waste["container"].isna() & ~waste["cpt"],
        "SI N": waste["packaged"],
    }
    m001 = audited.findings[audited.findings["rule_code"] == "M001"]
    m001_keys = set(zip(m001["claim_id"], m001["line_number"].astype(int), strict=True))
    for name, mask in cases.items():
        rows = waste[mask.fillna(False).astype(bool)]
        assert len(rows) >= 5, name
        keys = set(zip(rows["claim_id"], rows["line_number"], strict=True))
        assert not keys & m001_keys, name


def test_waste_below_one_unit_carries_jz(lines, starter_bundle):
    """A JZ line may document waste worth less than one billing unit (no billable waste)."""
    small = lines[lines["jz"] & (lines["wasted_amount"].astype(float) > 0)]
    small = small[small["labels"].map(len).eq(0)]
    assert len(small) > 10
    bua = small["hcpcs_code"].map(
        starter_bundle["hcpcs"].set_index("hcpcs_code")["billing_unit_amount"]
    )
    assert (small["wasted_amount"].astype(float) < bua).all()


def test_a001_professional_and_d002_inside_the_icd10_release(lines):
    assert set(_with(lines, "A001")["claim_type"]) == {"professional"}
    d002 = _with(lines, "D002")
    start, end = ICD10CM_RELEASE["valid_from"], ICD10CM_RELEASE["valid_to"]
    assert len(d002) > 0 and d002["service_date"].between(start, end).all()
    assert (lines["service_date"] < start).any()  # lines outside the release exist (not judged)


def test_providers_are_npi_like_and_few(lines):
    npis = lines["provider_id"].dropna()
    assert npis.str.fullmatch(r"\d{10}").all()
    assert 5 <= npis.nunique() <= 20
    assert all(_luhn_ok("80840" + n) for n in npis.unique())
    assert lines["provider_id"].isna().any()  # a feed without NPIs: one shared provider
    per_patient = lines.dropna(subset=["provider_id"]).groupby(["patient_id", "claim_type"])
    assert per_patient["provider_id"].nunique().max() == 1


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_replacement_and_void_claims(lines, audited):
    """Frequency 7 claims repeat an original claim's line and are not duplicates (no F001);
    void claims (8) have no labels and no findings."""
    assert set(lines["claim_frequency"]) == {"1", "7", "8"}
    key = ["patient_id", "provider_id", "hcpcs_code", "service_date", "billed_units"]
    original = lines[lines["claim_frequency"] == "1"]
    for frequency in ("7", "8"):
        copies = lines[lines["claim_frequency"] == frequency]
        assert len(copies) >= 5
        assert copies["labels"].map(len).eq(0).all()
        repeated = copies[key].merge(original[key].drop_duplicates(), how="left", indicator=True)
        assert (repeated["_merge"] == "both").all()
    findings = audited.findings.assign(
        line_number=audited.findings["line_number"].astype(int)
    ).merge(lines[["claim_id", "line_number", "claim_frequency"]], on=["claim_id", "line_number"])
    assert findings["claim_frequency"].eq("8").sum() == 0
    assert not ((findings["claim_frequency"] == "7") & (findings["rule_code"] == "F001")).any()


def test_u003_planted_on_cpt_lines_over_their_mue(lines, starter_bundle):
    cpt = _with(lines, "U003")
    cpt = cpt[cpt["cpt"]]
    assert len(cpt) > 0
    mue = starter_bundle["mue"]
    practitioner = mue[mue["setting"] == "practitioner"].set_index("hcpcs_code")["mue_value"]
    prof = cpt[cpt["claim_type"] == "professional"]
    assert (prof["billed_units"].astype(float) > prof["hcpcs_code"].map(practitioner)).all()
