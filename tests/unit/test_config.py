import pandas as pd
import pytest

from pipeline.config import Config, load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.rules import REGISTRY

CODES = set(REGISTRY)


def test_defaults_match_spec():
    config = Config()
    assert config.rounding == "up"
    assert config.fail_on == "error"
    assert config.payer["medicare"].filing_limit_days == 365
    assert config.payer["medicare"].require_jz is True
    assert config.payer["medicaid"].require_ndc is True
    assert "commercial" not in config.payer


def test_full_config_parses(tmp_path):
    path = tmp_path / "audit.toml"
    path.write_text(
        """
[policy]
rounding = "nearest"
fail_on = "warning"
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
"""
    )
    config = load_config(path, rule_codes=CODES)
    assert config.rounding == "nearest"
    assert config.fail_on == "warning"
    assert config.payer["commercial"].require_prior_auth == ["J0897", "J9035"]
    assert config.payer["medicare"].filing_limit_days == 365  # default kept
    assert config.payer_id["BCBS-TX"].filing_limit_days == 95
    assert config.disable == ["A001"]
    assert config.severity == {"U002": "error"}
    assert config.columns == {"Proc Code": "hcpcs_code"}
    assert len(config.sha256) == 64 and config.sha256 != Config().sha256


@pytest.mark.parametrize(
    "doc, key",
    [
        ({"policy": {"rounding": "sideways"}}, "policy.rounding"),
        ({"policy": {"speed": 1}}, "policy.speed"),
        ({"payer": {"medicare": {"filing_limit_days": "365"}}}, "payer.medicare.filing_limit_days"),
        ({"payer": {"medicare": {"require_jz": 1}}}, "payer.medicare.require_jz"),
        ({"payer": {"martian": {}}}, "payer.martian"),
        ({"payer_id": {"X": {"colour": "red"}}}, 'payer_id."X".colour'),
        ({"rules": {"disable": ["Z999"]}}, "rules.disable"),
        ({"rules": {"severity": {"U002": "fatal"}}}, "rules.severity.U002"),
        ({"columns": {"Proc": "procedure"}}, 'columns."Proc"'),
        ({"extra": {}}, "extra"),
    ],
)
def test_bad_config_names_the_key(doc, key):
    with pytest.raises(ConfigError) as err:
        parse_config(doc, rule_codes=CODES)
    assert key in str(err.value)


def test_bad_toml_is_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[policy\nrounding=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


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
    assert out[:3] == [95, 180, 365]
    assert out[3] == 95  # the payer_id table applies whatever the type
