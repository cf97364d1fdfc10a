"""Errors a user can cause. The CLI turns every `PipelineError` into one line and exit code 2.

Any other exception is an internal error (exit 3): the CLI names its type and the stage the run
was in, which commands record here with `set_stage` (no patient data: stage names only).
"""

import re

_STAGE = ["startup"]
# C0 controls (tab and line ends included: a message is one line), DEL, C1 controls and the
# Unicode line separators: a damaged file's bytes can reach a library's error text
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(message: str) -> str:
    """An error message as one printable line: line breaks become spaces, other control
    characters are escaped (`\\x0e`), so nothing a file holds can drive the user's terminal."""
    text = " ".join(str(message).splitlines())
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


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
