"""What import decisions read from the database: the ledger, stored duplicates, threads, participants.

Each query serves a whole group of messages at once (see ``pipeline/group.py``): one query for the
duplicates of fifty mails costs about what one query for one mail did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model

from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.models import Delivery, Filter, Mailbox, Rule
from postroom.outgoing.compose import record_of_message_id
from postroom.people.directory import Directory
from postroom.records.inserts import fetch, nul_free, table
from postroom.records.models import Message, Participant, Record
from postroom.routing.rules import RuleSet

CHUNK = 200  # values per IN (...) list


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """A message already stored in the mailbox, as duplicate detection needs it."""

    message: int  # its id
    record: int


@dataclass
class MailboxContext:
    """What every message of one cycle needs from the database, read once per cycle instead of per message."""

    mailbox: Mailbox
    own_addresses: frozenset[str]
    reference_format: str
    rules: RuleSet = field(default_factory=lambda: RuleSet("", "ticket"))
    directory: Directory = field(default_factory=Directory, repr=False)
    flood_records: int = 20  # a sender who opened this many records in flood_minutes opens no more
    flood_minutes: int = 120
    _staff: frozenset[str] | None = field(default=None, repr=False)

    def staff_addresses(self) -> set[str]:
        """Our own users, who may add to any record by naming it; asked only for subject references."""
        if self._staff is None:
            users = get_user_model().objects.exclude(email="").filter(is_active=True)
            emails = users.values_list("email", flat=True)
            self._staff = frozenset(e.lower() for e in emails)
        return set(self._staff)


def context_for(mailbox: Mailbox) -> MailboxContext:
    own = frozenset(a.lower() for a in Mailbox.objects.values_list("address", flat=True) if a)
    return MailboxContext(
        mailbox, own, site_settings.reference_format(), rule_set(mailbox), Directory(),
        flood_records=int(site_settings.get("flood_records")),
        flood_minutes=int(site_settings.get("flood_minutes")),
    )  # fmt: skip


def records_opened_since(senders: Iterable[str], since: datetime) -> dict[str, int]:
    """How many records each sender opened since then (by requester address; any mailbox)."""
    found: dict[str, int] = {}
    for chunk in _chunks(senders):
        rows = fetch(
            f"SELECT requester_address, COUNT(*) FROM {table(Record)} WHERE created >= %s AND "
            f"requester_address IN ({', '.join(['%s'] * len(chunk))}) GROUP BY requester_address",
            [_created(since), *chunk],
        )
        found.update({address: int(count) for address, count in rows})
    return found


def _created(value: datetime) -> object:
    from django.db import connection

    return Record._meta.get_field("created").get_db_prep_value(value, connection)


def rule_set(mailbox: Mailbox) -> RuleSet:
    """The mailbox's filters (global ones first) and rules, compiled once per cycle."""
    filters = [
        (f.name, "global" if f.mailbox_id is None else mailbox.name, f.spec)
        for f in Filter.objects.filter(mailbox=None)
    ] + [(f.name, mailbox.name, f.spec) for f in Filter.objects.filter(mailbox=mailbox)]
    rules = [(r.name, r.order, r.spec) for r in Rule.objects.filter(mailbox=mailbox)]
    return RuleSet.build(mailbox.name, mailbox.record_kind, filters, rules, mailbox.unmatched)


def known_delivery(mailbox: Mailbox, key: str) -> Delivery | None:
    return Delivery.objects.filter(mailbox=mailbox, source_key=key).first()


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def stored_copies(mailbox: Mailbox, body_hashes: Iterable[str]) -> dict[tuple[str, str], StoredCopy]:
    """Messages of this mailbox with one of these body hashes, keyed the way duplicates are recognised:
    ``(body, "id:" + Message-ID)``, and ``(body, "raw:" + raw sha256)`` for mail without a Message-ID."""
    found: dict[tuple[str, str], StoredCopy] = {}
    for chunk in _chunks(body_hashes):
        rows = fetch(
            f"SELECT id, record_id, message_id, raw_sha256, body_sha256 FROM {table(Message)} "
            f"WHERE mailbox_id = %s AND body_sha256 IN ({', '.join(['%s'] * len(chunk))}) ORDER BY id",
            [mailbox.pk, *chunk],
        )
        for pk, record, message_id, raw_sha256, body in rows:
            copy = StoredCopy(pk, record)
            if message_id:
                found.setdefault((body, "id:" + message_id), copy)
            found.setdefault((body, "raw:" + raw_sha256), copy)
    return found


def records_by_message_id(mailbox: Mailbox, ids: Iterable[str]) -> dict[str, int]:
    """The record each stored Message-ID is on. One mail delivered to two mailboxes has a record in each:
    this mailbox's copy wins."""
    found: dict[str, int] = {}
    for chunk in _chunks(nul_free(i) for i in ids):  # as they were stored
        rows = fetch(
            f"SELECT message_id, record_id, mailbox_id FROM {table(Message)} "
            f"WHERE message_id IN ({', '.join(['%s'] * len(chunk))})",
            chunk,
        )
        for mid, record, mbox in rows:
            if mid not in found or mbox == mailbox.pk:
                found[mid] = record
    ours = _our_ids([i for i in ids if nul_free(i) not in found])
    found.update(ours)
    return {original: found[clean] for original in ids if (clean := nul_free(original)) in found}


def _our_ids(ids: list[str]) -> dict[str, int]:
    """Ids we made that are not stored as such (a provider rewrote the Message-ID of what we sent, or the
    reply names an older mail of ours): they carry their record, signed (outgoing/compose.py)."""
    named = {mid: n for mid in ids if (n := record_of_message_id(mid, settings.SECRET_KEY)) is not None}
    if not named:
        return {}
    numbers = sorted(set(named.values()))
    marks = ", ".join(["%s"] * len(numbers))
    exist = {n for (n,) in fetch(f"SELECT number FROM {table(Record)} WHERE number IN ({marks})", numbers)}
    return {mid: n for mid, n in named.items() if n in exist}


def participants_of(number: int) -> set[str] | None:
    """The addresses that took part in a record; None when there is no such record."""
    if not fetch(f"SELECT 1 FROM {table(Record)} WHERE number = %s", [number]):
        return None
    rows = fetch(f"SELECT address FROM {table(Participant)} WHERE record_id = %s", [number])
    return {address for (address,) in rows}
