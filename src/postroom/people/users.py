"""Adding and changing the people who log in and the teams they form — one place for the command line
(`postroom user add`) and the web pages, so both check the same things and `config dump` shows the result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from postroom.core.errors import ConfigError
from postroom.people.models import Account, Contact, Profile, Role, Team

NOTIFY_EVENTS = ("new_record", "new_message", "assignment", "status_change")


def save_user(
    name: str, email: str, role: str, teams: Iterable[str] = (), password: str | None = None
) -> tuple[Any, bool]:
    """Add a user or change one; returns (user, created). The password is stored hashed; a new user
    without one logs in with an API token until a password is set."""
    name, email = name.strip(), email.strip().lower()
    if not name or len(name) > 150:
        raise ConfigError("a user needs a name of at most 150 characters")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ConfigError(f"{email!r} is not an email address") from exc
    if role not in Role.values:
        raise ConfigError(f"role must be one of {', '.join(Role.values)}, got {role!r}")
    wanted = list(dict.fromkeys(t for t in teams if t))
    rows = list(Team.objects.filter(name__in=wanted, enabled=True))
    missing = sorted(set(wanted) - {t.name for t in rows})
    if missing:
        raise ConfigError(
            f"no team {missing[0]!r} (teams come from the configuration's teams: or the People page)"
        )
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=name, defaults={"email": email})
        user.email, user.is_active = email, True
        if password:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        Profile.objects.update_or_create(user=user, defaults={"role": role})
        for team in rows:
            team.members.add(user)
    return user, created


def save_team(
    name: str,
    members: Iterable[str],
    admins: Iterable[str],
    agents_see: str,
    notify_members: bool,
    notify_events: Iterable[str],
) -> tuple[Team, bool]:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ConfigError("a team needs a name of at most 100 characters")
    if agents_see not in ("team", "assigned"):
        raise ConfigError("agents see all the team's records (team) or those assigned to them (assigned)")
    events = [e for e in notify_events if e]
    if bad := [e for e in events if e not in NOTIFY_EVENTS]:
        raise ConfigError(f"unknown notification event {bad[0]!r}")
    users = get_user_model().objects.filter(is_active=True)
    member_rows = list(users.filter(username__in=list(members)))
    admin_rows = list(users.filter(username__in=list(admins)))
    with transaction.atomic():
        team, created = Team.objects.get_or_create(name=name)
        team.enabled, team.agents_see = True, agents_see
        team.notify_members, team.notify_events = notify_members, events
        team.save()
        team.members.set(member_rows)
        team.admins.set(admin_rows)
    return team, created


_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")  # its subdomains belong to it too, as in the file


def save_account(name: str, domains: Iterable[str]) -> tuple[Account, bool]:
    """An account (a customer) with the domains whose mail belongs to it; one domain, one account."""
    name = " ".join(name.split())
    if not name or len(name) > 255:
        raise ConfigError("an account needs a name of at most 255 characters")
    wanted = list(dict.fromkeys(d.strip().lower() for d in domains if d.strip()))
    if bad := [d for d in wanted if not _DOMAIN.match(d)]:
        raise ConfigError(f"{bad[0]!r} is not a domain like example.com")
    for other in Account.objects.exclude(name=name):
        if taken := set(wanted) & set(other.domains):
            raise ConfigError(f"{sorted(taken)[0]!r} is already a domain of account {other.name}")
    account, created = Account.objects.get_or_create(name=name)
    account.domains, account.configured = wanted, True
    account.save()
    return account, created


def save_contact(email: str, name: str, account: str | None) -> tuple[Contact, bool]:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ConfigError(f"{email!r} is not an email address") from exc
    row = Account.objects.filter(name=account).first() if account else None
    if account and row is None:
        raise ConfigError(f"no account {account!r}")
    contact, created = Contact.objects.get_or_create(email=email)
    contact.name, contact.account, contact.configured = name.strip(), row, True
    contact.save()
    return contact, created
