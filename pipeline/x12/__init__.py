"""X12 5010 837P / 837I claim files: detection, a vectorised reader into canonical lines, a writer.

`read.read_x12` turns an 837 file into the canonical text columns that `ingest.read_input` hands
on (it dispatches here when a file's first bytes are an `ISA` envelope); `write.write_837` turns
canonical lines back into 837P / 837I files.
"""

from claims_audit.x12.tokens import is_x12

__all__ = ["is_x12"]
