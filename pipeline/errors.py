"""Errors a user can cause. The CLI turns every `PipelineError` into one line and exit code 2."""


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
