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
    from postroom.hooks.events import status_changed
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
        status_changed(record, before, status, by)  # webhooks
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


def set_private(number: int, private: bool, by: str | None = None) -> str:
    """Make a record private (or not); who makes it private is granted access, so it is never lost."""
    with transaction.atomic():
        record = _locked(number)
        record.private = private
        record.save(update_fields=["private", "updated"])
        if private and by:
            record.granted.add(_user(by))  # type: ignore[arg-type]
    return f"record {number} is {'private' if private else 'no longer private'}"


def grant(number: int, username: str) -> str:
    """Let a user see a (private) record."""
    with transaction.atomic():
        record = _locked(number)
        record.granted.add(_user(username))  # type: ignore[arg-type]
    return f"{username} may see record {number}"


def set_field(number: int, name: str, value: str) -> str:
    """Set (or, with an empty value, remove) one of the record's fields."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise PostroomError("a field needs a name of at most 100 characters")
    with transaction.atomic():
        record = _locked(number)
        fields = dict(record.fields or {})
        if value.strip():
            fields[name] = value.strip()
        else:
            fields.pop(name, None)
        record.fields = fields
        record.save(update_fields=["fields", "updated"])
    return f"record {number}: {name} = {value.strip() or '(removed)'}"


def create_by_hand(
    *,
    kind: str,
    subject: str,
    requester_name: str,
    requester_address: str,
    team: str | None,
    text: str,
    by: object,
) -> int:
    """A record without a mail: a team without a mailbox works this way. Its first entry is a note."""
    from django.utils import timezone

    from postroom.mailboxes.models import RecordKind
    from postroom.people.models import Team
    from postroom.records.models import Direction, Message

    if kind not in RecordKind.values:
        raise PostroomError(f"kind must be one of {', '.join(RecordKind.values)}")
    if not subject.strip():
        raise PostroomError("a record needs a subject")
    address = requester_address.strip().lower()
    if address and "@" not in address:
        raise PostroomError(f"{requester_address!r} is not an email address")
    team_row = Team.objects.filter(name=team, enabled=True).first() if team else None
    if team and team_row is None:
        raise PostroomError(f"no team {team!r}")
    with transaction.atomic():
        record = Record.objects.create(
            kind=kind, subject=subject.strip(), requester_name=requester_name.strip(),
            requester_address=address, team=team_row, message_count=1 if text.strip() else 0,
        )  # fmt: skip
        if text.strip():
            Message.objects.create(
                record=record, direction=Direction.NOTE, entry_type="note", subject="Made by hand",
                from_name=getattr(by, "username", ""), from_address=getattr(by, "email", ""),
                text=text.strip() + "\n", date=timezone.now(),
            )  # fmt: skip
        from postroom.outgoing.notify import Event, notify

        actor = getattr(by, "email", "") or ""
        notify(
            [Event(record.pk, "new_record", actor, f"made by hand by {getattr(by, 'username', '')}", text)]
        )
        from postroom.hooks.events import emit, record_json

        emit("record_created", record.pk, {"record": record_json(record)})  # webhooks too: no mail needed
    return record.pk
