"""The repository's `sample_data/`: a few hundred generated lines covering every rule.

    .venv/bin/python -m claims_audit.generate.sample        # or: make sample

writes, with a fixed seed and the sample's own configuration (`sample_data/audit.toml`),
`claims.csv` and `claims.parquet` (the same lines), `history.csv` (earlier doses of some
patients, for `--history`: one of them makes a sample line F002) and `expected_findings.csv`
(the planted labels, with the dollar impact SPEC section 5 gives each, computed here from the
lines and the bundle, independently of the rules). Run it again: the same bytes.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from claims_audit.config import load_config
from claims_audit.generate.driver import generate_claims, labels_path_for
from claims_audit.generate.scenarios import PLANTABLE
from claims_audit.reference import Bundle, load_bundle
from claims_audit.rules import REGISTRY

SAMPLE_DIR = Path("sample_data")
SAMPLE_ROWS = 420
SAMPLE_SEED = 45
# the scenario list: every defect family, at a share of the sample's claims that plants it
# about twice (U003 also on a CPT line; P002 and P003 label each drug line of their claim)
SAMPLE_RATES = {rule: 0.02 for rule in PLANTABLE}
HISTORY_CLEAN, HISTORY_TOO_SOON = 6, 1  # earlier doses: a clean interval / half the interval
IMPACT_RULES = ("U001", "U002", "U003", "U004", "M001", "M004")


def _ndc11(ndc: pd.Series) -> pd.Series:
    digits = ndc.fillna("").str.replace("-", "", regex=False)
    return (digits.str[:5] + "-" + digits.str[5:9] + "-" + digits.str[9:]).where(
        digits.str.len() == 11
    )


def _min_days(lines: pd.DataFrame, bundle: Bundle) -> pd.Series:
    """The curated minimum days between doses of each line's drug (NDC row over code row)."""
    policy = bundle["drug_policy"].dropna(subset=["min_days_between_doses"])
    by_ndc = policy.dropna(subset=["ndc11"])
    by_ndc = by_ndc.set_index(by_ndc["hcpcs_code"] + "|" + by_ndc["ndc11"])
    by_code = policy[policy["ndc11"].isna()].set_index("hcpcs_code")["min_days_between_doses"]
    key = lines["hcpcs_code"] + "|" + _ndc11(lines["ndc"]).fillna("")
    days = key.map(by_ndc["min_days_between_doses"]).fillna(lines["hcpcs_code"].map(by_code))
    return pd.to_numeric(days, errors="coerce")


def _history(
    lines: pd.DataFrame, labels: pd.DataFrame, bundle: Bundle
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier doses of the first drug line of a few patients: most a clean interval before,
    the last half the curated interval before (that sample line is then F002)."""
    days = _min_days(lines, bundle)
    clean = ~lines["claim_id"].isin(labels["claim_id"]) & lines["claim_frequency"].eq("1")
    cand = lines[clean & days.ge(14)].drop_duplicates("patient_id")
    cand = cand.head(HISTORY_CLEAN + HISTORY_TOO_SOON)
    interval = days[cand.index].to_numpy()
    soon = np.arange(len(cand)) >= HISTORY_CLEAN
    back = pd.Series(np.where(soon, np.maximum(interval // 2, 1), interval + 7), cand.index)
    history = cand.copy()
    for column in ("service_date", "submission_date"):
        shifted = pd.to_datetime(history[column]) - pd.to_timedelta(back, unit="D")
        history[column] = shifted.dt.strftime("%Y-%m-%d")
    history["claim_id"] = [f"HST{k:06d}" for k in range(1, len(history) + 1)]
    history["line_number"] = "1"
    too_soon = cand[soon][["claim_id", "line_number"]].assign(rule_code="F002")
    return history, too_soon


def _rates(lines: pd.DataFrame, bundle: Bundle) -> pd.Series:
    """SPEC 5: professional lines at the ASP payment limit; institutional at the OPPS rate of
    a separately payable drug (K, G), nothing for a packaged one (N), else unknown."""
    limits = bundle["payment_limits"].set_index("hcpcs_code")["payment_limit_usd"]
    limit = lines["hcpcs_code"].map(limits)
    opps = bundle["opps"].set_index("hcpcs_code")
    si = lines["hcpcs_code"].map(opps["status_indicator"])
    opps_rate = lines["hcpcs_code"].map(opps["payment_rate_usd"]).where(si.isin(["K", "G"]))
    inst_rate = opps_rate.where(si.ne("N"), 0.0)
    return limit.where(lines["claim_type"].eq("professional"), inst_rate).astype("float64")


def _units(amount: pd.Series, bua: pd.Series) -> pd.Series:
    """Billing units of an amount in the code's own unit, rounded up (policy `up`)."""
    return np.ceil(amount / bua - 1e-9)


def _impacts(lines: pd.DataFrame, found: pd.DataFrame, bundle: Bundle) -> pd.Series:
    """Each expected finding's `impact_usd` as SPEC section 5 states it (others empty)."""
    lines = lines.assign(
        units=lines["billed_units"].astype(float),
        amount=pd.to_numeric(lines["administered_amount"]),
        wasted=pd.to_numeric(lines["wasted_amount"]).fillna(0.0),
        bua=lines["hcpcs_code"].map(bundle["hcpcs"].set_index("hcpcs_code")["billing_unit_amount"]),
        rate=_rates(lines, bundle),
    )
    group = ["claim_id", "hcpcs_code", "service_date"]
    admin = lines[lines["amount"].notna()].drop_duplicates(group).set_index(group)
    jw_units = _units(admin["amount"] + admin["wasted"], admin["bua"]) - _units(
        admin["amount"], admin["bua"]
    )
    key = pd.MultiIndex.from_frame(lines[group])
    lines["jw_expected"] = jw_units.reindex(key).to_numpy()
    mue = bundle["mue"].assign(
        claim_type=lambda m: m["setting"].map(
            {"practitioner": "professional", "outpatient_hospital": "institutional"}
        )
    )
    mue = mue.drop_duplicates(["hcpcs_code", "claim_type"])
    lines = lines.merge(mue[["hcpcs_code", "claim_type", "mai"]], how="left")
    day = ["patient_id", "hcpcs_code", "service_date", "claim_type", "provider_id"]
    audited = lines["claim_frequency"].ne("8")
    day_total = (
        lines["units"].where(audited).groupby([lines[c].fillna("") for c in day]).transform("sum")
    )
    denied = np.where(lines["mai"].eq(1), lines["units"], day_total)
    by_rule = {
        "U001": _units(lines["amount"], lines["bua"]) - lines["units"],
        "U004": _units(lines["amount"], lines["bua"]) - lines["units"],
        "U002": _units(lines["amount"], lines["bua"]) - lines["units"],
        "M004": lines["jw_expected"] - lines["units"],
        "M001": lines["jw_expected"],
        "U003": -pd.Series(denied, index=lines.index),
    }
    keyed = lines.set_index(["claim_id", "line_number"])
    impact = pd.Series(np.nan, index=found.index)
    for rule, units in by_rule.items():
        rows = found["rule_code"].eq(rule)
        at = pd.MultiIndex.from_frame(found.loc[rows, ["claim_id", "line_number"]])
        value = (units.set_axis(keyed.index) * keyed["rate"]).reindex(at).to_numpy()
        impact[rows] = np.round(value, 2)
    return impact


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary name beside `path`, then rename over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    tmp.replace(path)


def write_sample(out_dir: Path = SAMPLE_DIR, bundle: Bundle | None = None) -> dict[str, int]:
    """Write the sample files into `out_dir` (which holds `audit.toml`); returns the expected
    findings per rule. Every plantable rule must be planted at least once."""
    bundle = bundle if bundle is not None else load_bundle(None)
    config = load_config(out_dir / "audit.toml", rule_codes=set(REGISTRY))
    with tempfile.TemporaryDirectory(prefix="claims-audit-sample-") as scratch:
        made = {}
        for name in ("claims.csv", "claims.parquet"):
            path = Path(scratch) / name
            generate_claims(bundle, SAMPLE_ROWS, path, seed=SAMPLE_SEED, rates=SAMPLE_RATES,
                            config=config)  # fmt: skip
            made[name] = path
        labels = pd.read_parquet(labels_path_for(made["claims.csv"]))
        lines = pd.read_csv(made["claims.csv"], dtype=str, keep_default_na=False)
        missing = sorted(set(PLANTABLE) - set(labels["rule_code"]))
        if missing:
            raise SystemExit(f"the sample plants no {', '.join(missing)}: change SAMPLE_SEED")
        for name, path in made.items():
            _replace(out_dir / name, lambda tmp, path=path: tmp.write_bytes(path.read_bytes()))
    history, too_soon = _history(lines.replace("", None), labels, bundle)
    labels = labels.assign(line_number=labels["line_number"].astype(str))
    found = pd.concat([labels, too_soon], ignore_index=True)
    found = found.sort_values(["claim_id", "line_number", "rule_code"], key=_natural)
    found = found.reset_index(drop=True)
    found["impact_usd"] = _impacts(lines.replace("", None), found, bundle)
    for name, frame in (("history.csv", history), ("expected_findings.csv", found)):
        _replace(
            out_dir / name, lambda tmp, f=frame: f.to_csv(tmp, index=False, lineterminator="\n")
        )
    return found["rule_code"].value_counts().sort_index().to_dict()


def _natural(column: pd.Series) -> pd.Series:
    return column.astype(int) if column.name == "line_number" else column


if __name__ == "__main__":
    counts = write_sample(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_DIR)
    print("expected findings: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
