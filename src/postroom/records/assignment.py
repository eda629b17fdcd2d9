"""Who works a new record: a named user, the next of a team by round-robin, or its least busy member.

The rotation lives in the database (``people.RoundRobin``, one row per team) and is read under a row lock
in the transaction that stores the records, so restarts and concurrent imports carry it on: six records
over three agents give two each, whichever process stores them. Least busy counts the open records of
each member (new, open or pending); ties go to whoever is next in the rotation.
"""

from __future__ import annotations

from collections import Counter

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from postroom.people.models import RoundRobin, Team
from postroom.records.models import OPEN_STATUSES
from postroom.routing.rules import Assign


class Assigner:
    """Picks assignees for the records one group opens; one per group, inside its transaction."""

    def __init__(self, dry_run: bool = False) -> None:
        self.dry_run = dry_run  # a dry run: who would get it, the rotation left as it is
        self._users: dict[str, int | None] = {}
        self._members: dict[str, list[int]] = {}
        self._extra: Counter[int] = Counter()  # records this group has given each user so far
        self._stored_counts: dict[str, Counter[int]] = {}
        self._rotations: dict[str, RoundRobin] = {}  # read (and locked) once per group, saved by finish()

    def pick(self, spec: Assign | None) -> tuple[int | None, str]:
        """(user id, why); (None, why) when nobody can be given it (an empty team, a user gone)."""
        if spec is None:
            return None, ""
        if spec.how == "user":
            pk = self._user(spec.target)
            return pk, f"assigned to {spec.target}" if pk else f"user {spec.target} is not an active user"
        members = self._team(spec.target)
        if not members:
            return None, f"team {spec.target} has no active members to assign"
        rotation = self._rotation(spec.target)
        order = _after(members, rotation.last_user_id)
        if spec.how == "least_busy":
            busy = self._open_counts(spec.target, members)
            pk = min(order, key=lambda m: busy[m])  # min keeps the first of equals: the rotation's next
            why = f"least busy of team {spec.target} ({busy[pk]} open)"
        else:
            pk = order[0]
            why = f"round-robin over team {spec.target}"
        self._extra[pk] += 1
        rotation.last_user_id, rotation.turns = pk, rotation.turns + 1
        return pk, why

    def finish(self) -> None:
        """Write the rotations this group turned (a dry run leaves them)."""
        if not self.dry_run:
            for rotation in self._rotations.values():
                rotation.save(update_fields=["last_user_id", "turns"])

    def _rotation(self, team_name: str) -> RoundRobin:
        if team_name not in self._rotations:
            rows = RoundRobin.objects.filter(team__name=team_name)
            rotation = (rows if self.dry_run else rows.select_for_update()).first()
            if rotation is None:
                team = Team.objects.get(name=team_name)
                if self.dry_run:
                    rotation = RoundRobin(team=team)
                else:  # made once per team; then read under the lock like every later time
                    RoundRobin.objects.get_or_create(team=team)
                    rotation = RoundRobin.objects.select_for_update().get(team=team)
            self._rotations[team_name] = rotation
        return self._rotations[team_name]

    def _user(self, name: str) -> int | None:
        if name not in self._users:
            row = get_user_model().objects.filter(username=name, is_active=True).values_list("id", flat=True)
            self._users[name] = row.first()
        return self._users[name]

    def _team(self, name: str) -> list[int]:
        if name not in self._members:
            team = Team.objects.filter(name=name, enabled=True).first()
            ids = (
                team.members.filter(is_active=True).order_by("id").values_list("id", flat=True)
                if team
                else []
            )
            self._members[name] = list(ids)
        return self._members[name]

    def _open_counts(self, team: str, members: list[int]) -> Counter[int]:
        """Open records per member: as stored (asked once per group), plus what this group gave them."""
        if team not in self._stored_counts:
            rows = (
                get_user_model()
                .objects.filter(id__in=members)
                .annotate(n=Count("assigned", filter=Q(assigned__status__in=OPEN_STATUSES)))
                .values_list("id", "n")
            )
            self._stored_counts[team] = Counter(dict(rows))
        counts = Counter(self._stored_counts[team])
        counts.update({m: self._extra[m] for m in members})
        return counts


def _after(members: list[int], last: int | None) -> list[int]:
    """The members in rotation order, starting with the one after ``last``."""
    if last is None:
        return members
    later = [m for m in members if m > last]
    return later + [m for m in members if m <= last]
