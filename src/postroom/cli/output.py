"""Shared terminal output: JSON printing, rich tables on a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(obj: Any, *, lines: bool = False) -> None:
    text = json.dumps(obj, ensure_ascii=False, default=str, indent=None if lines else 2)
    sys.stdout.write(text + "\n")


def is_terminal() -> bool:
    return sys.stderr.isatty()
