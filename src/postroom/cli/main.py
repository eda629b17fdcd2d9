"""The `postroom` command: parses arguments, starts Django, and hands over to one command module."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from postroom.core.errors import ConfigError, PostroomError, TransientError
from postroom.core.memory import return_large_buffers

Handler = Callable[[argparse.Namespace], int]

EX_NOINPUT = 66
EX_TEMPFAIL = 75
EX_CONFIG = 78


def setup_django() -> None:
    """Start Django (no database connection yet): command modules import models."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.project.settings")
    import django

    django.setup()


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    from postroom.cli import commands

    parser = argparse.ArgumentParser(
        prog="postroom",
        description="Postroom turns the mail that arrives in team mailboxes into records.",
        epilog="`postroom COMMAND --help` tells more about each command; see README.md for set-up.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.register(sub, sys.argv[1:] if argv is None else argv)
    return parser


def main(argv: list[str] | None = None) -> int:
    return_large_buffers()
    setup_django()
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        try:
            if getattr(args, "needs_db", True):
                # Bring the schema up to date, so a fresh data folder (or database) just works.
                from postroom.cli.dbsetup import ensure_schema

                ensure_schema()
        except Exception as exc:  # the database is down or unreachable: worth retrying, not a crash
            raise TransientError(f"database unavailable: {exc}") from exc
        return handler(args)
    except ConfigError as exc:
        print(f"postroom: configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    except TransientError as exc:
        print(f"postroom: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except PostroomError as exc:
        print(f"postroom: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def entry() -> NoReturn:
    """The `postroom` executable: run the command, then leave without the interpreter's teardown.

    Freeing every object of Django, the parser and the import one by one costs about 0.15 s at exit and
    does nothing a process's end doesn't do. What must happen does happen first: output flushed, log
    handlers closed, database connections closed (SQLite checkpoints its WAL then). Threads still
    running are daemons by then (a cycle joins its own before it returns).
    """
    code = main()
    try:
        from django.db import connections

        connections.close_all()
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe (postroom ... | head)
                stream.flush()
        os._exit(code)


if __name__ == "__main__":
    entry()
