"""Errors a user can cause. The CLI turns every `PipelineError` into one line and exit code 2.

Any other exception is an internal error (exit 3): the CLI names its type and the stage the run
was in, which commands record here with `set_stage` (no patient data: stage names only).
"""

_STAGE = ["startup"]


def set_stage(name: str) -> None:
    """Record the stage the command is in (named in an internal-error line)."""
    _STAGE[0] = name


def current_stage() -> str:
    return _STAGE[0]


class PipelineError(Exception):
    """A problem with the user's input, configuration or reference data (exit 2)."""


class InputError(PipelineError):
    """An input file cannot be read, or lacks a required column."""


class ConfigError(PipelineError):
    """The audit.toml is invalid (unknown key, wrong type)."""


class BundleError(PipelineError):
    """The reference bundle is missing, incomplete or fails its schema."""


class ReferenceBuildError(PipelineError):
    """A CMS source file handed to `reference build` is unreadable or has the wrong layout."""


class OutputError(PipelineError):
    """The output directory cannot be written."""


class BaselineError(InputError):
    """A `--baseline` run directory or `--suppress` file is unreadable or of the wrong shape."""
