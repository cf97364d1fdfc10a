"""Synthetic claim lines with known, labelled defects (`claims-audit sample generate`).

Every fact comes from the reference bundle in use (`catalog`): codes from its HCPCS table, NDCs
from its crosswalk (under the code they crosswalk to), doses in the code's billing unit,
container types, MUEs (HCPCS and CPT), payment limits, OPPS status indicators and curated drug
policy. `world` builds clean claims of whole patients (JW and JZ only where the payer's policy
asks for them, on single-dose, separately payable lines; replacement and void claims; one
billing provider per patient and setting); `scenarios` plants one defect family per function,
named for its rule, and labels it, so that an audit of the output finds exactly the labels
(`<out>.labels.parquet`: claim_id, line_number, rule_code). Generation is vectorised (numpy),
deterministic for a seed, and written in chunks of whole patients (`driver`).
"""

from claims_audit.generate.catalog import build_catalog
from claims_audit.generate.driver import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_DEFECT_RATE,
    OUTPUT_COLUMNS,
    GenerateResult,
    default_rates,
    generate_claims,
    labels_path_for,
)
from claims_audit.generate.scenarios import PLANTABLE, PLANTED_AS, SCENARIOS, STRUCTURAL

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_DEFECT_RATE",
    "OUTPUT_COLUMNS",
    "PLANTABLE",
    "PLANTED_AS",
    "SCENARIOS",
    "STRUCTURAL",
    "GenerateResult",
    "build_catalog",
    "default_rates",
    "generate_claims",
    "labels_path_for",
]
