"""The `postroom` command: parses arguments, starts Django, and hands over to one command module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

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


if __name__ == "__main__":
    sys.exit(main())
