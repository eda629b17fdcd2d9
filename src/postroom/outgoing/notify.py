"""Tells the followers of a record by mail what happened on it: a new record, a new message, an assignment,
a status change — queued in the transaction that made the change.

A record's followers are its assignee, the users added as followers, and the members of its team when the
team says so (`notify: {members: true}`); the team's `notify: {events: [...]}` chooses the events (all of
them when not given). Nobody is told of their own doing, and nobody gets a notification of a mail they were
sent themselves (they were in its To or Cc).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.models import Mailbox
from postroom.outgoing.compose import Outgoing
from postroom.outgoing.models import OutKind
from postroom.outgoing.queue import new_message_id, queue
from postroom.people.models import Team
from postroom.records.models import Follower, Record
from postroom.threads.subject import format_reference

log = logging.getLogger(__name__)

EVENTS = ("new_record", "new_message", "assignment", "status_change")
_HEADLINES = {
    "new_record": "New record",
    "new_message": "New message",
    "assignment": "Assigned",
    "status_change": "Status changed",
}
EXCERPT = 2000  # characters of the message's text in a notification


@dataclass(frozen=True)
class Event:
    record: int
    kind: str  # one of EVENTS
    actor: str  # the address of whoever caused it: never told
    summary: str  # one line, e.g. "from Ann <ann@example.com>" or "open -> closed"
    text: str = ""
    message_id: str = ""  # the mail that caused it, if any (In-Reply-To of the notification)
    already_have: frozenset[str] = field(default_factory=frozenset)  # its To/Cc: they have the mail


def recipients(event: Event, followers: Iterable[str], team_events: Iterable[str]) -> list[str]:
    """Who of ``followers`` (their addresses) is told of ``event``; pure."""
    events = tuple(team_events) or EVENTS
    if event.kind not in events:
        return []
    skip = {event.actor.lower(), *(a.lower() for a in event.already_have)}
    return sorted({a.lower() for a in followers if a and a.lower() not in skip})


def followers_of(numbers: list[int]) -> dict[int, tuple[set[str], tuple[str, ...]]]:
    """record -> (its followers' addresses, its team's events), in four queries for any number of records."""
    rows = list(Record.objects.filter(pk__in=numbers).values_list("pk", "assignee_id", "team_id"))
    users: dict[int, set[int]] = defaultdict(set)
    for number, assignee, _team in rows:
        if assignee:
            users[number].add(assignee)
    for number, user in Follower.objects.filter(record_id__in=numbers).values_list("record_id", "user_id"):
        users[number].add(user)
    teams = {t.pk: t for t in Team.objects.filter(pk__in={team for _, _, team in rows if team})}
    members: dict[int, set[int]] = defaultdict(set)
    through = Team.members.through.objects.filter(
        team_id__in=[t.pk for t in teams.values() if t.notify_members]
    )
    for team, user in through.values_list("team_id", "user_id"):
        members[team].add(user)
    for number, _assignee, team in rows:
        if team:
            users[number] |= members[team]
    wanted = {u for ids in users.values() for u in ids}
    active = get_user_model().objects.filter(pk__in=wanted, is_active=True).exclude(email="")
    email = dict(active.values_list("pk", "email"))
    return {
        number: (
            {email[u] for u in users[number] if u in email},
            tuple(teams[team].notify_events) if team and team in teams else (),
        )
        for number, _assignee, team in rows
    }


def notify(events: list[Event]) -> int:
    """Queue the notifications of these events; returns how many were queued."""
    if not events:
        return 0
    who = followers_of(sorted({e.record for e in events}))
    records = Record.objects.select_related("mailbox").in_bulk(sorted(who))
    queued = 0
    for event in events:
        followers, team_events = who.get(event.record, (set(), ()))
        to = recipients(event, followers, team_events)
        record = records.get(event.record)
        if not to or record is None:
            continue
        mailbox = record.mailbox
        if mailbox is None or not mailbox.smtp_host:
            log.info("record %s: no notification sent: its mailbox has no smtp settings", event.record)
            continue
        for address in to:
            queue(
                mailbox, _mail(mailbox, record, event, address), OutKind.NOTIFICATION, record, on_record=False
            )
            queued += 1
    return queued


def _mail(mailbox: Mailbox, record: Record, event: Event, address: str) -> Outgoing:
    reference = format_reference(record.pk, site_settings.reference_format())
    headline = _HEADLINES[event.kind]
    body = [f"{headline} on {reference} {record.subject}: {event.summary}", ""]
    if event.text:
        text = event.text if len(event.text) <= EXCERPT else event.text[:EXCERPT] + " [...]"
        body += [text, ""]
    body.append(f"You get this mail because you follow {reference}.")
    return Outgoing(
        from_address=mailbox.address,
        from_name=mailbox.from_name,
        to=(address,),
        subject=" ".join(f"{reference} {headline}: {record.subject}".split()),
        text="\n".join(body) + "\n",
        message_id=new_message_id(mailbox, record.pk),
        in_reply_to=event.message_id,
        references=(event.message_id,) if event.message_id else (),
        auto_submitted="auto-generated",
    )
