"""The README's Usage block says what `--help` says: every option that a command's `--help` lists
appears on that command's README line, and every option the README names (in the Usage block and
in any `claims-audit ...` line of its other shell examples) exists on the command it is given to.

The options are read from the `--help` text itself (the first column of its "Options:" section)
and cross-checked against click's parameters, so a change to either is caught.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main

README = Path(__file__).resolve().parents[2] / "README.md"
OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
HELP = "--help"  # every command has it; the README says so once


def commands(group: click.Command = main, path: tuple[str, ...] = ()):
    """(path, command) for the root and every command under it, depth first."""
    yield path, group
    if isinstance(group, click.Group):
        for name in sorted(group.commands):
            yield from commands(group.commands[name], (*path, name))


COMMANDS = dict(commands())


def help_options(path: tuple[str, ...]) -> set[str]:
    """The options listed in the "Options:" section of `claims-audit PATH --help`."""
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    section = result.output.split("\nOptions:\n", 1)[1]
    found: set[str] = set()
    for line in section.splitlines():
        if line and not line.startswith(" "):  # the next section ("Commands:")
            break
        if re.match(r"^ {2}-", line):  # an option's first line; help text is indented further
            found |= set(OPTION.findall(re.split(r"\s{2,}", line.strip())[0]))
    return found


def click_options(command: click.Command) -> set[str]:
    names = set()
    for param in command.get_params(click.Context(command)):
        if isinstance(param, click.Option) and not param.hidden:
            names |= set(param.opts) | set(param.secondary_opts)
    return names


def shell_lines(text: str) -> list[str]:
    """The `claims-audit ...` commands of shell code `text`: continuation lines (after a `\\` or
    indented) joined, comments dropped."""
    found: list[str] = []
    joined = False
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if found and (joined or raw.startswith(" ")) and line.strip():
            found[-1] += " " + line.strip().removesuffix("\\")
        elif line.startswith("claims-audit"):
            found.append(line.removesuffix("\\"))
        joined = raw.rstrip().endswith("\\")
    return found


def command_of(line: str) -> tuple[tuple[str, ...], set[str]]:
    """The command path a README line names (`reference show`) and the options it names."""
    words = line.split()[1:]
    path: tuple[str, ...] = ()
    while words and isinstance(COMMANDS[path], click.Group):
        if words[0] not in COMMANDS[path].commands:
            break
        path, words = (*path, words[0]), words[1:]
    return path, set(OPTION.findall(" ".join(words)))


def usage_block() -> str:
    text = README.read_text(encoding="utf-8")
    return re.search(r"^## Usage\n+```sh\n(.*?)^```", text, re.S | re.M).group(1)


def readme_usage() -> dict[tuple[str, ...], set[str]]:
    usage: dict[tuple[str, ...], set[str]] = {}
    for line in shell_lines(usage_block()):
        path, options = command_of(line)
        usage.setdefault(path, set()).update(options)
    return usage


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "claims-audit")
def test_help_lists_the_options_click_has(path):
    assert help_options(path) == click_options(COMMANDS[path])


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "claims-audit")
def test_readme_usage_names_exactly_the_options_of_help(path):
    usage = readme_usage()
    listed = help_options(path) - {HELP}
    if isinstance(COMMANDS[path], click.Group) and not listed:
        return  # `reference`, `sample`: nothing of their own; their commands are checked
    assert path in usage, f"`claims-audit {' '.join(path)}` is missing from the README's Usage"
    documented = usage[path] - {HELP}
    assert sorted(listed - documented) == [], "in --help, not in the README"
    assert sorted(documented - listed) == [], "in the README, not in --help"


def test_readme_usage_mentions_help_and_version():
    assert {"--version", HELP} <= readme_usage()[()]


def test_every_command_line_of_the_readme_is_true():
    """Every shell example (the Usage block and the other sections) names only options that
    exist on the command it gives them to."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
    lines = [line for block in blocks for line in shell_lines(block)]
    assert len(lines) > len(readme_usage())  # the other sections have examples too
    for line in lines:
        path, options = command_of(line)
        assert sorted(options - help_options(path)) == [], line


def test_parsers_see_what_they_should():
    """The helpers themselves, on a known block: continuation, comments, nested commands."""
    block = (
        "claims-audit reference build --hcpcs ZIP \\\n"
        "    --out DIR   # --not-an-option\n"
        "claims-audit run X [--out DIR]\n"
        "                 [--quiet]\n"
        "make audit\n"
    )
    lines = shell_lines(block)
    assert [command_of(line) for line in lines] == [
        (("reference", "build"), {"--hcpcs", "--out"}),
        (("run",), {"--out", "--quiet"}),
    ]
    assert help_options(("reference", "diff")) == {"--out", "--help"}
