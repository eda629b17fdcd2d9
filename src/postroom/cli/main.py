"""The `postroom` command: parses arguments, starts Django, and hands over to one command module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from postroom.core.errors import ConfigError, PostroomError, TransientError

Handler = Callable[[argparse.Namespace], int]

EX_TEMPFAIL = 75
EX_CONFIG = 78


def setup_django(migrate: bool = True) -> None:
    """Start Django; bring the database schema up to date, so a fresh data folder just works."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.project.settings")
    import django

    django.setup()
    if migrate:
        from postroom.cli.dbsetup import ensure_schema

        ensure_schema()


def build_parser() -> argparse.ArgumentParser:
    from postroom.cli import commands

    parser = argparse.ArgumentParser(prog="postroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        setup_django(migrate=getattr(args, "needs_db", True))
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
