"""Shared terminal output: JSON printing, rich tables on a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console


@cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def __getattr__(name: str) -> Any:
    """``console`` and ``err_console`` are made on first use: rich takes 50 ms to import, and a command
    whose output is not a terminal (an import run by cron or a benchmark) never needs it."""
    if name in {"console", "err_console"}:
        return _console(name == "err_console")
    raise AttributeError(name)


def print_json(obj: Any, *, lines: bool = False) -> None:
    text = json.dumps(obj, ensure_ascii=False, default=str, indent=None if lines else 2)
    sys.stdout.write(text + "\n")


def is_terminal() -> bool:
    return sys.stderr.isatty()
