"""Each command is defined by the module the registry names, so loading only that module is enough."""

from __future__ import annotations

import argparse

from postroom.cli.commands import COMMANDS
from postroom.cli.main import build_parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_help_lists_every_command() -> None:
    assert _commands(build_parser([])) == set(COMMANDS)
    assert _commands(build_parser(["--help"])) == set(COMMANDS)


def test_running_a_command_loads_just_its_module() -> None:
    for name in COMMANDS:
        loaded = _commands(build_parser([name, "--json"]))
        assert name in loaded and loaded <= {n for n, m in COMMANDS.items() if m == COMMANDS[name]}
