"""The list of `postroom` subcommands: each module adds its own parser and handler.

Only the module of the command being run is imported (``postroom status`` needs none of the import
pipeline); asking for help, or for no or an unknown command, imports them all so argparse can list them.
"""

from __future__ import annotations

import argparse
import importlib

# command -> the module under postroom.cli that defines it, in the order `postroom --help` lists them
COMMANDS = {
    "config": "config_cmd",
    "check": "check_cmd",
    "import": "import_cmd",
    "run": "run_cmd",
    "ingest": "ingest_cmd",
    "parse": "parse_cmd",
    "records": "records_cmd",
    "rules": "rules_cmd",
    "failed": "failed_cmd",
    "reprocess": "failed_cmd",
    "status": "status_cmd",
    "reply": "outbox_cmd",
    "outbox": "outbox_cmd",
    "user": "people_cmd",
    "token": "people_cmd",
    "webhook": "hooks_cmd",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], argv: list[str]) -> None:
    wanted = next((arg for arg in argv if not arg.startswith("-")), None)
    modules = [COMMANDS[wanted]] if wanted in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"postroom.cli.{name}").add(sub)
