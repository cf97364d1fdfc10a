"""The worked example of sample_data/messy/: a practice-management export of the sample claims
(cp1252, CRLF, its own headers, Dx1..Dx4 and Mod1/Mod2, `$` amounts, M/D/YY dates, payer names)
audits through its config alone with exactly the findings of the clean sample extract."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from tests.conftest import SAMPLE

MESSY = SAMPLE / "messy"
EXPORT = MESSY / "export.csv"
HISTORY = ["--history", str(SAMPLE / "history.csv"), "--format", "csv"]


def _run(tmp_path_factory, claims, config, name):
    out = tmp_path_factory.mktemp(name) / "out"
    result = CliRunner().invoke(
        main, ["run", str(claims), "--config", str(config), *HISTORY, "--out", str(out)]
    )
    assert result.exit_code == 1, result.output  # the sample has error findings
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    messy = _run(tmp_path_factory, EXPORT, MESSY / "audit.toml", "messy")
    clean = _run(tmp_path_factory, SAMPLE / "claims.csv", SAMPLE / "audit.toml", "clean")
    return messy, clean


def _findings(out) -> pd.DataFrame:
    frame = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    return frame.sort_values(["claim_id", "line_number", "rule_code"])


def test_the_export_is_messy_as_described():
    data = EXPORT.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert text.count("\r\n") == text.count("\n") == 421  # header + 420 lines, all CRLF
    header = text.split("\r\n", 1)[0].split(",")
    assert header[:4] == ["Claim #", "Line", "MRN", "Payer"]
    assert {"Dx1", "Dx2", "Dx3", "Dx4", "Mod1", "Mod2"} <= set(header)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert frame.loc[1, "Charge"] == "$437.58" and frame.loc[1, "DOS"] == "8/24/25"
    assert set(frame["Payer"]) == {
        "Medicare",
        "Medicare Advantage",
        "Medicaid",
        "Commercial Insurance",
        "Self Pay / Other",
    }
    assert (frame["Dx2"] != "").sum() > 0 and (frame["Mod2"] != "").sum() > 0


def test_the_export_is_what_its_generator_writes():
    spec = importlib.util.spec_from_file_location("make_messy", MESSY / "make_messy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(module.export_rows())
    assert text.getvalue().encode("cp1252") == EXPORT.read_bytes()


def test_messy_export_audits_with_the_findings_of_the_clean_extract(runs):
    messy, clean = runs
    found, expected = _findings(messy), _findings(clean)
    assert len(found) == 91
    pd.testing.assert_frame_equal(found.reset_index(drop=True), expected.reset_index(drop=True))
    # and those are the sample's hand-checked findings
    truth = pd.read_csv(SAMPLE / "expected_findings.csv", dtype=str, keep_default_na=False)
    keys = ["claim_id", "line_number", "rule_code"]
    assert sorted(map(tuple, found[keys].to_numpy())) == sorted(map(tuple, truth[keys].to_numpy()))


def test_messy_export_reads_every_line_and_rejects_none(runs):
    messy, _ = runs
    rejects = pd.read_csv(messy / "rejects.csv")
    assert len(rejects) == 0
    summary = json.loads((messy / "summary.json").read_text())
    [entry] = summary["inputs"]
    assert (entry["encoding"], entry["rows_read"], entry["rows_audited"]) == ("cp1252", 420, 420)
    assert entry["rows_rejected"] == 0
    assert summary["config"]["settings"]["date_formats"] == ["%m/%d/%y"]
    assert (
        summary["config"]["settings"]["values"]["payer_type"]["medicare advantage"]
        == "medicare_advantage"
    )


def test_messy_export_without_its_value_and_date_settings_is_rejected(tmp_path):
    config = (MESSY / "audit.toml").read_text(encoding="utf-8")
    config = config.split("[values.payer_type]")[0].replace('date_formats = ["%m/%d/%y"]', "")
    path = tmp_path / "columns_only.toml"
    path.write_text(config, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(EXPORT), "--config", str(path), *HISTORY, "--out", str(out)]
    )
    assert result.exit_code == 1, result.output  # every line rejected
    rejects = pd.read_csv(out / "rejects.csv")
    assert set(rejects["source_row"]) == set(range(1, 421))
    assert {"service_date", "submission_date"} <= set(rejects["column"])


def test_make_audit_takes_the_analysts_config():
    root = SAMPLE.parent
    args = ["make", "-n", "-C", str(root), "audit"]
    given = subprocess.run(
        [*args, f"INPUT={EXPORT}", f"CONFIG={MESSY / 'audit.toml'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    run = next(line for line in given.splitlines() if "claims-audit run" in line)
    assert f"run {EXPORT} --config {MESSY / 'audit.toml'}" in run
    assert "--history" not in given  # the sample history belongs to the sample input only
    default = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert "--config sample_data/audit.toml" in default
    assert "--history sample_data/history.csv" in default
