"""Adding and changing the people who log in and the teams they form — one place for the command line
(`postroom user add`) and the web pages, so both check the same things and `config dump` shows the result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from postroom.core.errors import ConfigError
from postroom.people.models import Profile, Role, Team

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
