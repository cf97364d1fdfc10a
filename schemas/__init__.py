"""Schemas: the canonical claim line (`claims`) and the reference bundle tables (`reference`)."""
