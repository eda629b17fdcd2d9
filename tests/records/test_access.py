"""Who sees which record (records/access.py), over every role and team setting."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from postroom.people.models import Profile, Role, Team
from postroom.records.access import can_see, role_of, visible_records
from postroom.records.models import Follower, Participant, Record

pytestmark = pytest.mark.django_db


def _user(name: str, role: str | None = None) -> object:
    user = get_user_model().objects.create_user(name, f"{name}@desk.test")
    if role:
        Profile.objects.create(user=user, role=role)
    return user


def _record(subject: str, **fields: object) -> Record:
    return Record.objects.create(
        **{"kind": "ticket", "subject": subject, "requester_address": "cust@x.test", **fields}
    )


@pytest.fixture
def world() -> dict[str, object]:
    users = {n: _user(n, r) for n, r in [("boss", Role.ADMIN), ("ann", None), ("bob", Role.AGENT),
                                          ("cat", Role.AGENT), ("rita", Role.REQUESTER)]}  # fmt: skip
    field, office = (
        Team.objects.create(name="Field"),
        Team.objects.create(name="Office", agents_see="assigned"),
    )
    field.members.add(users["ann"])
    office.members.add(users["bob"], users["cat"])
    office.admins.add(users["cat"])
    recs = {
        "field": _record("field job", team=field),
        "office_bob": _record("office, bob's", team=office, assignee=users["bob"]),
        "office_open": _record("office, nobody's", team=office),
        "no_team": _record("no team"),
        "private_field": _record("private field", team=field, private=True),
        "rita": _record("rita's own", team=office, requester_address="rita@desk.test"),
        "followed": _record("office, ann follows", team=office),
        "private_cc": _record("private, ann in cc", team=office, private=True),
    }
    recs["private_field"].granted.add(users["bob"])
    Follower.objects.create(record=recs["followed"], user=users["ann"])
    Participant.objects.create(record=recs["private_cc"], address="ann@desk.test")
    return {**users, **{f"r:{k}": v for k, v in recs.items()}}


def _seen(world: dict[str, object], who: str) -> set[str]:
    numbers = set(visible_records(world[who]).values_list("pk", flat=True))
    return {k[2:] for k, v in world.items() if k.startswith("r:") and v.pk in numbers}  # type: ignore[attr-defined]


def test_an_admin_sees_every_record_private_ones_too(world: dict[str, object]) -> None:
    assert _seen(world, "boss") == {k[2:] for k in world if k.startswith("r:")}


def test_an_agent_sees_their_teams_records_no_team_records_followed_and_cc_private(
    world: dict[str, object],
) -> None:
    assert role_of(world["ann"]) == Role.AGENT  # no profile: an agent
    assert _seen(world, "ann") == {"field", "no_team", "followed", "private_cc"}


def test_a_team_that_shows_only_assigned_records_and_its_administrator(world: dict[str, object]) -> None:
    assert _seen(world, "bob") == {"office_bob", "no_team", "private_field"}  # granted the private one
    assert _seen(world, "cat") == {"office_bob", "office_open", "no_team", "rita", "followed"}


def test_a_requester_sees_only_their_own_records(world: dict[str, object]) -> None:
    assert _seen(world, "rita") == {"rita"}


def test_anonymous_and_inactive_users_see_nothing(world: dict[str, object]) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not visible_records(AnonymousUser()).exists()
    ann = world["ann"]
    ann.is_active = False  # type: ignore[attr-defined]
    ann.save()  # type: ignore[attr-defined]
    assert not visible_records(ann).exists()
    assert not can_see(ann, world["r:field"].pk)  # type: ignore[attr-defined]
