"""Who may see which record — one rule for the web pages, the API and every download.

- An admin (role admin, or a Django superuser) sees every record.
- An agent sees the records given to them, those they follow, those of a team they administer, those of
  their teams when the team lets its members see all of them (`agents_see: team`, the default), and records
  of no team (a desk without departments works as one team).
- A requester sees the records they asked for or took part in (by their email address), nothing else.
- A private record is seen only by admins, the users granted access, and whoever was in its To/Cc
  (they have the mail already) — whatever else the rules above would allow. A grant alone gives access.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from postroom.people.models import Profile, Role
from postroom.records.models import Follower, Participant, Record


def role_of(user: Any) -> str:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ""
    if user.is_superuser:
        return Role.ADMIN
    profile = Profile.objects.filter(user=user).values_list("role", flat=True).first()
    return profile or Role.AGENT


def _took_part(email: str) -> Q:
    if not email:
        return Q(pk__in=[])
    parts = Participant.objects.filter(record=OuterRef("pk"), address=email.lower())
    return Q(Exists(parts)) | Q(requester_address__iexact=email)


def visible_records(user: Any) -> QuerySet[Record]:
    """The records ``user`` may see (none for an anonymous or inactive user)."""
    role = role_of(user)
    records = Record.objects.all()
    if role == Role.ADMIN:
        return records
    if not role:
        return records.none()
    email = (user.email or "").lower()
    if role == Role.REQUESTER:
        return records.filter(_took_part(email))
    follows = Follower.objects.filter(record=OuterRef("pk"), user=user)
    granted = Q(Exists(Record.granted.through.objects.filter(record=OuterRef("pk"), user=user)))
    sees = (
        granted
        | Q(assignee=user)
        | Q(Exists(follows))
        | Q(team__in=user.administers.all())
        | Q(team__in=user.teams.filter(agents_see="team"))
        | Q(team__isnull=True)
        | _took_part(email)
    )
    private_ok = Q(private=False) | granted | _took_part(email)
    return records.filter(sees & private_ok)


def can_see(user: Any, number: int) -> bool:
    return visible_records(user).filter(pk=number).exists()
