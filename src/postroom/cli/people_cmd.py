"""`postroom user add|list` and `postroom token create`: the people who log in, scriptable."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.table import Table

from postroom.cli.output import console, print_json
from postroom.core.errors import ConfigError, PostroomError

ROLES = ("admin", "agent", "requester")


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    u = sub.add_parser("user", help="add or list the people who log in (admins, agents, requesters)")
    usub = u.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = usub.add_parser("add", help="add a user, or change one (role, email, teams, password)")
    a.add_argument("name")
    a.add_argument("--email", required=True, metavar="ADDRESS")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--team", action="append", default=[], metavar="TEAM", help="repeatable; must exist")
    a.add_argument("--password-env", metavar="VAR", help="the environment variable holding the password")
    a.set_defaults(handler=run_add)
    ls = usub.add_parser("list", help="the users, with their role and teams")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    t = sub.add_parser("token", help="API tokens")
    tsub = t.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = tsub.add_parser("create", help="make an API token for a user and print it (shown only once)")
    c.add_argument("name", help="the user's name")
    c.add_argument("--label", default="cli", help="what the token is for (shown in lists)")
    c.set_defaults(handler=run_token)


def run_add(args: argparse.Namespace) -> int:
    from postroom.people.users import save_user

    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise ConfigError(f"--password-env: {args.password_env} is not set (or empty)")
    try:
        user, created = save_user(args.name, args.email, args.role, args.team, password)
    except ConfigError as exc:
        raise ConfigError(f"{_option(str(exc))}{exc}") from exc
    print(f"{'added' if created else 'changed'} user {args.name} ({args.role}, {user.email})")
    return 0


def _option(problem: str) -> str:
    """Which option a problem is about, for the command line's message."""
    if "email address" in problem:
        return "--email: "
    if "team" in problem:
        return "--team: "
    return ""


def run_list(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model

    from postroom.records.access import role_of

    rows: list[dict[str, Any]] = [
        {
            "name": u.username,
            "email": u.email,
            "role": role_of(u) or "inactive",
            "active": u.is_active,
            "teams": sorted(t.name for t in u.teams.all()),
        }
        for u in get_user_model().objects.order_by("username").prefetch_related("teams")
    ]
    if args.json:
        print_json(rows)
        return 0
    table = Table("Name", "Email", "Role", "Teams")
    for r in rows:
        table.add_row(r["name"], r["email"], r["role"], ", ".join(r["teams"]))
    console.print(table)
    return 0


def run_token(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model

    from postroom.people.tokens import create_token

    user = get_user_model().objects.filter(username=args.name, is_active=True).first()
    if user is None:
        raise PostroomError(f"no active user {args.name!r} (see `postroom user list`)")
    print(create_token(user, args.label))
    return 0
