"""The packaged data is found through `claims_audit.resources` (here: the editable install,
where it is the repository folder reference/), and `reference build --curated` reaches the
builder."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from claims_audit.cli import reference as cli_reference
from claims_audit.reference import DEFAULT_REFERENCE_DIR, load_bundle
from claims_audit.resources import curated_dir, starter_bundle

ROOT = Path(__file__).resolve().parents[2]
BUILD_ARGS = [
    "build",
    *("--hcpcs", "h.zip", "--asp-pricing", "p.csv", "--asp-crosswalk", "c.csv"),
    *("--mue-practitioner", "m1.csv", "--mue-outpatient", "m2.csv", "--out", "bundle"),
]


def test_packaged_data_is_the_reference_folder_in_a_checkout():
    assert starter_bundle() == curated_dir() == DEFAULT_REFERENCE_DIR == ROOT / "reference"
    bundle = load_bundle()  # the manifest's sha256 and row checks pass on the packaged copy
    assert bundle.path == ROOT / "reference"
    assert len(bundle["container"]) == 15
    for name in ("cpt_modifiers", "container", "drug_policy"):
        assert (curated_dir() / f"{name}.csv").is_file()


def _build_calls(monkeypatch, tmp_path, extra: list[str]) -> list[dict]:
    """The keyword arguments `reference build` passes to the builder (stubbed)."""
    calls = []

    def fake_build(*args, **kwargs):
        calls.append(kwargs)
        return {}

    monkeypatch.setattr(cli_reference, "build_bundle", fake_build)
    monkeypatch.setattr(cli_reference, "format_manifest", lambda manifest, where: "built")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_reference.reference, [*BUILD_ARGS, *extra])
    assert result.exit_code == 0, result.output
    return calls


def test_build_passes_curated_only_when_given(monkeypatch, tmp_path):
    (tmp_path / "mine").mkdir()
    (given,) = _build_calls(monkeypatch, tmp_path, ["--curated", "mine"])
    assert given["curated_dir"] == Path("mine")
    (default,) = _build_calls(monkeypatch, tmp_path, [])
    assert "curated_dir" not in default  # the builder's default: the packaged tables


def test_build_curated_must_be_a_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_reference.reference, [*BUILD_ARGS, "--curated", "absent"])
    assert result.exit_code == 2
    assert "'absent' does not exist" in result.output
