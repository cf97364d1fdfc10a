"""claims-audit: batch audit of drug claim lines (HCPCS Level II J-codes)."""

__version__ = "0.1.0"
