"""audit.toml: SPEC defaults, a full config, and a bad config checked as data (exit 2 naming the
key): wrong types, sections of the wrong type, values too deep, numbers out of range, files that
are not readable regular files."""

from __future__ import annotations

import math
import os

import pandas as pd
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from claims_audit.config import MAX_CONFIG_BYTES, Config, load_config, parse_config
from claims_audit.errors import ConfigError
from claims_audit.rules import REGISTRY
from tests.conftest import SAMPLE

CODES = set(REGISTRY)


def _load_text(tmp_path, text: str | bytes):
    path = tmp_path / "audit.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_config(path, rule_codes=CODES)


def test_defaults_match_spec():
    config = Config()
    assert config.rounding == "up"
    assert config.fail_on == "error"
    medicare = config.payer["medicare"]
    # no days: P002 applies the Medicare rule (one calendar year after the date of service)
    assert medicare.filing_limit_days is None
    assert (medicare.require_jw, medicare.require_jz) == (True, True)
    assert config.payer["medicaid"].require_ndc is True
    assert config.payer["medicaid"].require_jw is None
    assert "commercial" not in config.payer
    assert load_config(None).as_dict() == config.as_dict()


def test_defaults_are_not_shared_between_configs():
    one = parse_config({"payer": {"medicare": {"require_jw": False}}})
    assert one.payer["medicare"].require_jw is False
    assert Config().payer["medicare"].require_jw is True


def test_full_config_parses(tmp_path):
    config = _load_text(
        tmp_path,
        """
[policy]
rounding = "nearest"
fail_on = "warning"
[payer.medicaid]
require_jw = true
[payer.commercial]
filing_limit_days = 180
require_prior_auth = ["j0897", "J9035"]
[payer_id."BCBS-TX"]
filing_limit_days = 95
[rules]
disable = ["A001"]
severity = { U002 = "error" }
[columns]
"Proc Code" = "hcpcs_code"
""",
    )
    assert config.rounding == "nearest"
    assert config.fail_on == "warning"
    assert config.payer["commercial"].require_prior_auth == ["J0897", "J9035"]
    assert config.payer["commercial"].filing_limit_days == 180
    assert config.payer["medicare"].filing_limit_days is None  # default kept: no days
    assert config.payer["medicare"].require_jw is True
    assert (config.payer["medicaid"].require_jw, config.payer["medicaid"].require_ndc) == (
        True,
        True,
    )
    assert config.payer_id["BCBS-TX"].filing_limit_days == 95
    assert config.disable == ["A001"]
    assert config.severity == {"U002": "error"}
    assert config.columns == {"Proc Code": "hcpcs_code"}
    assert config.source == str(tmp_path / "audit.toml")
    assert len(config.sha256) == 64 and config.sha256 != Config().sha256


def test_sample_config_loads():
    config = load_config(SAMPLE / "audit.toml", rule_codes=CODES)
    assert config.payer["commercial"].require_prior_auth == ["J0897", "J9035"]
    assert config.payer["medicare"].require_jw is True


@pytest.mark.parametrize("days", [1, 365, 3650])
def test_filing_limit_days_in_range(days):
    config = parse_config({"payer": {"medicare": {"filing_limit_days": days}}})
    assert config.payer["medicare"].filing_limit_days == days


DEEP = {"a": {"b": {"c": [[["x"]]]}}}


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"policy": {"rounding": "sideways"}}, "policy.rounding: expected one of up, nearest"),
        ({"policy": {"speed": 1}}, "policy.speed: unknown key"),
        ({"policy": 5}, "policy: expected a table, got 5"),
        ({"payer": "x"}, "payer: expected a table, got 'x'"),
        ({"payer_id": [1]}, "payer_id: expected a table, got an array"),
        ({"rules": True}, "rules: expected a table, got True"),
        ({"columns": 1.5}, "columns: expected a table, got 1.5"),
        ({"payer": {"medicare": 5}}, "payer.medicare: expected a table, got 5"),
        (
            {"payer": {"medicare": {"filing_limit_days": "365"}}},
            "payer.medicare.filing_limit_days: expected an integer, got '365'",
        ),
        (
            {"payer": {"medicare": {"filing_limit_days": True}}},
            "payer.medicare.filing_limit_days: expected an integer, got True",
        ),
        (
            {"payer": {"medicare": {"filing_limit_days": 365.0}}},
            "payer.medicare.filing_limit_days: expected an integer, got 365.0",
        ),
        (
            {"payer": {"medicare": {"filing_limit_days": 0}}},
            "payer.medicare.filing_limit_days: must be between 1 and 3650 days, got 0",
        ),
        (
            {"payer": {"commercial": {"filing_limit_days": -30}}},
            "payer.commercial.filing_limit_days: must be between 1 and 3650 days, got -30",
        ),
        (
            {"payer_id": {"X": {"filing_limit_days": 3651}}},
            'payer_id."X".filing_limit_days: must be between 1 and 3650 days, got 3651',
        ),
        (
            {"payer": {"medicare": {"require_jz": 1}}},
            "payer.medicare.require_jz: expected true or false, got 1",
        ),
        (
            {"payer": {"medicaid": {"require_jw": "yes"}}},
            "payer.medicaid.require_jw: expected true or false, got 'yes'",
        ),
        (
            {"payer": {"medicare": {"require_jw": DEEP}}},
            "payer.medicare.require_jw: expected true or false, got a table",
        ),
        (
            {"payer": {"commercial": {"require_prior_auth": ["J0897", ["J9035"]]}}},
            "payer.commercial.require_prior_auth: expected an array of strings, "
            "got an array holding an array",
        ),
        (
            {"payer": {"commercial": {"require_prior_auth": [" "]}}},
            "payer.commercial.require_prior_auth: expected an array of strings, got an empty",
        ),
        ({"payer": {"martian": {}}}, "payer.martian: unknown payer type"),
        ({"payer_id": {"X": {"colour": "red"}}}, 'payer_id."X".colour: unknown key'),
        ({"payer_id": {"X": "red"}}, "payer_id.\"X\": expected a table, got 'red'"),
        ({"payer_id": {"a\nb": {"x": 1}}}, 'payer_id."a\\nb".x: unknown key'),
        ({"rules": {"disable": ["Z999"]}}, 'rules.disable: unknown rule code "Z999"'),
        ({"rules": {"disable": "A001"}}, "rules.disable: expected an array of strings"),
        ({"rules": {"disable": [DEEP]}}, "rules.disable: expected an array of strings"),
        ({"rules": {"severity": 3}}, "rules.severity: expected a table, got 3"),
        ({"rules": {"severity": {"U002": "fatal"}}}, "rules.severity.U002: expected one of"),
        ({"rules": {"severity": {"U002": DEEP}}}, "rules.severity.U002: expected one of"),
        ({"rules": {"extra": 1}}, "rules.extra: unknown key"),
        ({"columns": {"Proc": "procedure"}}, "columns.\"Proc\": 'procedure' is not a canonical"),
        ({"columns": {"Proc": DEEP}}, 'columns."Proc": a table is not a canonical'),
        ({"columns": {" ": "hcpcs_code"}}, 'columns." ": empty header name'),
        ({"extra": {}}, "config key extra: unknown section"),
        ({"two words": 1}, 'config key "two words": unknown section'),
        ({"a\x7f\x85\u2028": 1}, 'config key "a\\u007f\\u0085\\u2028": unknown section'),
    ],
)
def test_bad_config_names_the_key(doc, message):
    with pytest.raises(ConfigError) as err:
        parse_config(doc, rule_codes=CODES)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_long_values_are_cut_in_the_message():
    with pytest.raises(ConfigError) as err:
        parse_config({"policy": {"rounding": "x" * 10_000}})
    assert len(str(err.value)) < 200


def test_bad_toml_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid TOML \(.*line 1"):
        _load_text(tmp_path, "[policy\nrounding=")


@pytest.mark.parametrize(
    "value",
    [
        "[" * 5000 + "]" * 5000,
        "{a = " * 5000 + "1" + "}" * 5000,
        "[\n" + "[{x = [\n" * 2000 + "]}]\n" * 2000 + "]",
    ],
    ids=["arrays", "inline-tables", "multiline"],
)
def test_pathological_nesting_names_the_key(tmp_path, value):
    # tomllib recurses per level: this would be a RecursionError traceback
    with pytest.raises(ConfigError, match=r"config key payer.medicare.require_jz: value nested"):
        _load_text(tmp_path, f'[policy]\nrounding = "up"\n[payer.medicare]\nrequire_jz = {value}\n')


def test_nesting_within_the_parser_limit_is_a_type_error(tmp_path):
    with pytest.raises(ConfigError, match="require_jz: expected true or false, got an array"):
        _load_text(tmp_path, "[payer.medicare]\nrequire_jz = " + "[" * 20 + "]" * 20)


def test_integer_beyond_the_digit_limit_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match="payer.medicare.filing_limit_days: number too long"):
        _load_text(tmp_path, "[payer.medicare]\nfiling_limit_days = 1" + "0" * 5000)


def test_huge_integer_is_out_of_range(tmp_path):
    with pytest.raises(ConfigError, match="filing_limit_days: must be between 1 and 3650"):
        _load_text(tmp_path, "[payer.commercial]\nfiling_limit_days = 9223372036854775807")


def test_infinite_float_is_a_type_error(tmp_path):
    with pytest.raises(ConfigError, match="filing_limit_days: expected an integer, got inf"):
        _load_text(tmp_path, "[payer.commercial]\nfiling_limit_days = inf")


def test_utf8_bom_is_accepted(tmp_path):
    config = _load_text(tmp_path, '\ufeff[policy]\nrounding = "exact"\n'.encode())
    assert config.rounding == "exact"


def test_not_utf8_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 19\)"):
        _load_text(tmp_path, b'[policy]\nrounding="\xff"\n')


def test_missing_file_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_directory_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"not a regular file \(a directory\)"):
        load_config(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "audit.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"not a regular file \(a FIFO\)"):
        load_config(fifo)


def test_device_is_config_error():
    with pytest.raises(ConfigError, match=r"not a regular file \(a character device\)"):
        load_config("/dev/null")


def test_symlink_to_a_regular_file_is_read(tmp_path):
    target = tmp_path / "real.toml"
    target.write_text('[policy]\nfail_on = "never"\n')
    link = tmp_path / "audit.toml"
    link.symlink_to(target)
    assert load_config(link).fail_on == "never"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_file_is_config_error(tmp_path):
    path = tmp_path / "audit.toml"
    path.write_text("[policy]\n")
    path.chmod(0)
    try:
        with pytest.raises(ConfigError, match="cannot be read"):
            load_config(path)
    finally:
        path.chmod(0o600)


def test_oversized_file_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        _load_text(tmp_path, "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))


def test_payer_setting_payer_id_overrides_type():
    config = parse_config(
        {
            "payer": {"commercial": {"filing_limit_days": 180}},
            "payer_id": {"BCBS-TX": {"filing_limit_days": 95}},
        }
    )
    lines = pd.DataFrame(
        {
            "payer_type": ["commercial", "commercial", "medicare", "medicaid"],
            "payer_id": ["BCBS-TX", "AETNA", None, "BCBS-TX"],
        }
    )
    out = config.payer_setting(lines, "filing_limit_days").tolist()
    assert out[:2] == [95, 180]
    assert math.isnan(out[2])  # Medicare: no days set, P002 applies the calendar-year rule
    assert out[3] == 95  # the payer_id table applies whatever the type


def test_payer_setting_require_jw_defaults_to_medicare_only():
    config = parse_config({"payer_id": {"MCD-TX": {"require_jw": True}}})
    lines = pd.DataFrame(
        {
            "payer_type": ["medicare", "medicaid", "medicaid", "commercial"],
            "payer_id": ["MCR-JL", "MCD-TX", "MCD-CA", None],
        }
    )
    out = config.payer_setting(lines, "require_jw").eq(True).tolist()
    assert out == [True, True, False, False]


@pytest.mark.parametrize(
    "make, line",
    [
        (lambda p: p, "not a regular file (a directory)"),
        (lambda p: _write(p / "bad.toml", "policy = 5\n"), "config key policy: expected a table"),
        (
            lambda p: _write(p / "bad.toml", "[payer.medicare]\nfiling_limit_days = 0\n"),
            "config key payer.medicare.filing_limit_days: must be between 1 and 3650 days",
        ),
        (
            lambda p: _write(p / "bad.toml", "[rules]\nx = " + "[" * 3000 + "]" * 3000),
            "config key rules.x: value nested too deeply",
        ),
    ],
    ids=["directory", "section-type", "range", "deep"],
)
def test_cli_bad_config_exits_2_with_one_line(tmp_path, make, line):
    config = make(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(SAMPLE / "claims.csv"), "--config", str(config), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("claims-audit: error: ")
    assert line in lines[0]
    assert not out.exists()


def _write(path, text: str):
    path.write_text(text)
    return path


# -- reading a real export: [values], [policy] date_formats, several [columns] per list --------


def test_values_tables_fold_source_values_and_date_formats_are_kept():
    config = parse_config(
        {
            "policy": {"date_formats": ["%m/%d/%y", "%d-%b-%Y"]},
            "columns": {"Dx1": "diagnosis_codes", "Dx2": "diagnosis_codes", "Mod1": "modifiers"},
            "values": {"payer_type": {" Medicare Advantage ": "medicare_advantage"}},
        },
        rule_codes=CODES,
    )
    assert config.values == {"payer_type": {"medicare advantage": "medicare_advantage"}}
    assert config.date_formats == ["%m/%d/%y", "%d-%b-%Y"]
    assert config.columns == {
        "Dx1": "diagnosis_codes",
        "Dx2": "diagnosis_codes",
        "Mod1": "modifiers",
    }
    assert Config().values == {} and Config().date_formats == []
    assert config.sha256 != Config().sha256  # both are part of the recorded config


@pytest.mark.parametrize(
    "data, message",
    [
        ({"values": 3}, "config key values: expected a table, got 3"),
        ({"values": {"payer": {}}}, "config key values.payer: not a canonical column"),
        ({"values": {"patient_id": {}}}, "config key values.patient_id: an identifier column"),
        ({"values": {"payer_type": []}}, "config key values.payer_type: expected a table"),
        (
            {"values": {"payer_type": {"MA": 1}}},
            "config key values.payer_type.MA: expected a non-empty string, got 1",
        ),
        (
            {"values": {"payer_type": {"MA": {"x": "y"}}}},
            "config key values.payer_type.MA: expected a non-empty string, got a table",
        ),
        ({"values": {"payer_type": {" ": "x"}}}, 'values.payer_type." ": empty source value'),
        (
            {"values": {"payer_type": {"MA": "a", "ma": "b"}}},
            "config key values.payer_type.ma: given twice",
        ),
        ({"policy": {"date_formats": "%m/%d/%y"}}, "policy.date_formats: expected an array"),
        ({"policy": {"date_formats": [5]}}, "policy.date_formats: expected an array of strings"),
        ({"policy": {"date_formats": ["%m/%d %H"]}}, "only %d %m %y %Y %b %B are allowed"),
        ({"policy": {"date_formats": ["%m/%y"]}}, "needs a day (%d) and a month"),
        ({"policy": {"date_formats": ["%m/%d"]}}, "needs a year (%y or %Y)"),
        ({"policy": {"date_formats": ["%m%d%y%d"]}}, "does not read back the dates it writes"),
        ({"policy": {"date_format": []}}, "policy.date_format: unknown key (one of rounding"),
    ],
)
def test_values_and_date_formats_are_checked_naming_the_key(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data, rule_codes=CODES)
    assert message in str(err.value)


def test_values_section_of_the_wrong_type_is_exit_2_naming_the_key(tmp_path):
    path = tmp_path / "audit.toml"
    path.write_text("[values.payer_type]\nMA = 3\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(SAMPLE / "claims.csv"), "--config", str(path)])
    assert result.exit_code == 2
    assert "config key values.payer_type.MA: expected a non-empty string, got 3" in result.output
