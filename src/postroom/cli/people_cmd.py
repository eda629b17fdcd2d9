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
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email
    from django.db import transaction

    from postroom.people.models import Profile, Team

    email = args.email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ConfigError(f"--email: {email!r} is not an email address") from exc
    teams = list(Team.objects.filter(name__in=args.team, enabled=True))
    missing = sorted(set(args.team) - {t.name for t in teams})
    if missing:
        raise ConfigError(f"--team: no team {missing[0]!r} (teams come from the configuration's teams:)")
    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise ConfigError(f"--password-env: {args.password_env} is not set (or empty)")
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=args.name, defaults={"email": email})
        user.email, user.is_active = email, True
        if password is not None:
            user.set_password(password)  # hashed (PBKDF2): never kept in clear
        elif created:
            user.set_unusable_password()  # logs in with a token until a password is set
        user.save()
        Profile.objects.update_or_create(user=user, defaults={"role": args.role})
        for team in teams:
            team.members.add(user)
    print(f"{'added' if created else 'changed'} user {args.name} ({args.role}, {email})")
    return 0


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
