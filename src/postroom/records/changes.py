"""Changes people make to a record — assignee, status, followers — each with its notifications, in one
transaction (the record row locked, so two changes at once are told in the order they happened)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from postroom.core.errors import PostroomError
from postroom.records.models import Follower, Record, RecordStatus


def _user(name: str) -> object:
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise PostroomError(f"no active user {name!r} (users are listed under users: in the configuration)")
    return user


def _locked(number: int) -> Record:
    record = Record.objects.select_for_update().filter(pk=number).first()
    if record is None:
        raise PostroomError(f"no record {number}")
    return record


def _actor(name: str | None) -> str:
    return str(getattr(_user(name), "email", "")) if name else ""


def assign(number: int, username: str | None, by: str | None = None) -> str:
    """Give the record to ``username`` (None: to nobody); returns what changed."""
    from postroom.outgoing.notify import Event, notify

    with transaction.atomic():
        record = _locked(number)
        user = _user(username) if username else None
        if record.assignee_id == (user.pk if user else None):  # type: ignore[attr-defined]
            return f"record {number} is already assigned to {username or 'nobody'}"
        record.assignee = user  # type: ignore[assignment]
        record.save(update_fields=["assignee", "updated"])
        notify(
            [
                Event(
                    number,
                    "assignment",
                    _actor(by),
                    f"to {username or 'nobody'}" + (f" by {by}" if by else ""),
                )
            ]
        )
    return f"record {number} assigned to {username or 'nobody'}"


def set_status(number: int, status: str, by: str | None = None) -> str:
    from postroom.outgoing.notify import Event, notify

    if status not in RecordStatus.values:
        raise PostroomError(f"status must be one of {', '.join(RecordStatus.values)}, got {status!r}")
    with transaction.atomic():
        record = _locked(number)
        before = record.status
        if before == status:
            return f"record {number} is already {status}"
        record.status = status
        record.save(update_fields=["status", "updated"])
        summary = f"{before} -> {status}" + (f" by {by}" if by else "")
        notify([Event(number, "status_change", _actor(by), summary)])
    return f"record {number}: {before} -> {status}"


def follow(number: int, username: str, on: bool = True) -> str:
    with transaction.atomic():
        record = _locked(number)
        user = _user(username)
        if on:
            _, made = Follower.objects.get_or_create(record=record, user=user)  # type: ignore[misc]
            return f"{username} {'now follows' if made else 'already follows'} record {number}"
        gone, _ = Follower.objects.filter(record=record, user=user).delete()  # type: ignore[misc]
        return f"{username} {'no longer follows' if gone else 'did not follow'} record {number}"
