"""The reference builder: official CMS files (as downloaded) -> reference bundle, and bundle diffs.

One module per CMS source (`hcpcs`, `asp`, `mue`, `opps`), the curated tables (`curated`), shared
file reading and provenance (`sources`), the billing-unit parser (`dosage`), the build itself
(`build`) and the quarter-to-quarter comparison (`diff`).
"""

from claims_audit.reference_build.build import build_bundle
from claims_audit.reference_build.diff import diff_bundles
from claims_audit.reference_build.dosage import descriptor_dosage, parse_dosage
from claims_audit.reference_build.show import format_manifest, read_manifest

__all__ = [
    "build_bundle",
    "descriptor_dosage",
    "diff_bundles",
    "format_manifest",
    "parse_dosage",
    "read_manifest",
]
