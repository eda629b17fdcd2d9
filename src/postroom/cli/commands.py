"""The list of `postroom` subcommands: each module adds its own parser and handler."""

from __future__ import annotations

import argparse

from postroom.cli import (
    check_cmd,
    config_cmd,
    failed_cmd,
    import_cmd,
    ingest_cmd,
    parse_cmd,
    records_cmd,
    run_cmd,
    status_cmd,
)

MODULES = (
    config_cmd, check_cmd, import_cmd, run_cmd, ingest_cmd, parse_cmd, records_cmd, failed_cmd, status_cmd,
)  # fmt: skip


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for module in MODULES:
        module.add(sub)
