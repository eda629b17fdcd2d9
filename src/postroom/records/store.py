"""The only writer of records: stores a parsed message with its ledger entry, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from postroom.mail.message import Address, ParsedMessage
from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.records.blobs import StoredRaw
from postroom.records.inserts import fetch, insert, table
from postroom.records.models import Attachment, Direction, Message, Participant, Record
from postroom.routing.engine import RouteDecision
from postroom.threads.resolve import ThreadLookups, ThreadMatch


@dataclass(frozen=True, slots=True)
class Stored:
    record: int
    opened: bool  # True: a new record; False: added to an existing one
    delivery_id: int




def known_delivery(mailbox: Mailbox, key: str) -> Delivery | None:
    return Delivery.objects.filter(mailbox=mailbox, source_key=key).first()


def find_duplicate(mailbox: Mailbox, msg: ParsedMessage, raw_sha256: str) -> tuple[int, int] | None:
    """The same mail already stored in this mailbox (same Message-ID and body, or the same raw bytes):
    its (message id, record number)."""
    same = ("message_id", msg.message_id) if msg.message_id else ("raw_sha256", raw_sha256)
    rows = fetch(
        f"SELECT id, record_id FROM {table(Message)} "
        f"WHERE mailbox_id = %s AND body_sha256 = %s AND {same[0]} = %s LIMIT 1",
        [mailbox.pk, msg.body_sha256, same[1]],
    )
    return (rows[0][0], rows[0][1]) if rows else None


def _participants(msg: ParsedMessage, own: frozenset[str]) -> set[str]:
    people: list[Address] = [*msg.to, *msg.cc, *([msg.from_] if msg.from_ else [])]
    return {a.address for a in people if a.address and a.address not in own}


def own_addresses() -> set[str]:
    return {a.lower() for a in Mailbox.objects.values_list("address", flat=True) if a}


@dataclass(frozen=True)
class MailboxContext:
    """What every message of one cycle needs from the database, read once per cycle instead of per message."""

    mailbox: Mailbox
    own_addresses: frozenset[str]
    reference_format: str
    lookups: ThreadLookups


def context_for(mailbox: Mailbox) -> MailboxContext:
    return MailboxContext(
        mailbox, frozenset(own_addresses()), site_settings.reference_format(), lookups(mailbox)
    )


def lookups(mailbox: Mailbox) -> ThreadLookups:
    def record_for_message_ids(ids: list[str]) -> int | None:
        found: dict[str, int] = {}
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            rows = fetch(
                f"SELECT message_id, record_id, mailbox_id FROM {table(Message)} "
                f"WHERE message_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for mid, record, mbox in rows:
                # Prefer this mailbox's copy: one mail delivered to two mailboxes has a record in each.
                if mid not in found or mbox == mailbox.pk:
                    found[mid] = record
        return next((found[i] for i in ids if i in found), None)

    def participants_of(number: int) -> set[str] | None:
        if not fetch(f"SELECT 1 FROM {table(Record)} WHERE number = %s", [number]):
            return None
        rows = fetch(f"SELECT address FROM {table(Participant)} WHERE record_id = %s", [number])
        return {address for (address,) in rows}

    staff: list[set[str]] = []

    def staff_addresses() -> set[str]:
        if not staff:  # asked only for subject references; read once per cycle
            staff.append(
                {
                    e.lower()
                    for e in get_user_model().objects.exclude(email="").values_list("email", flat=True)
                }
            )
        return staff[0]

    return ThreadLookups(record_for_message_ids, participants_of, staff_addresses)


def save_delivery(mailbox: Mailbox, key: str, status: str, raw: StoredRaw, reason: str = "") -> Delivery:
    """A message that makes no record (failed, duplicate, skipped): its fate beside its raw bytes, which
    are already in the blob store."""
    delivery, _ = Delivery.objects.update_or_create(
        mailbox=mailbox,
        source_key=key,
        defaults={"status": status, "reason": reason, "raw_sha256": raw.sha256, "raw_size": raw.size},
    )
    return delivery


def save_message(
    context: MailboxContext,
    key: str,
    stored_raw: StoredRaw,
    msg: ParsedMessage,
    decision: RouteDecision,
    match: ThreadMatch,
    archive: bool = False,
    delivery: Delivery | None = None,
) -> Stored:
    """The ledger entry, record, message, attachments and participants, in one transaction. The raw bytes
    and attachments are in the blob store already (``pipeline.prepare``)."""
    mailbox = context.mailbox
    with transaction.atomic():
        if delivery is None:
            ledger = {"mailbox": mailbox.pk, "source_key": key, "status": DeliveryStatus.STORED}
            row = {**ledger, "raw_sha256": stored_raw.sha256, "raw_size": stored_raw.size}
            [delivery_id] = insert(Delivery, [row])
        else:
            delivery_id = delivery.pk
            Delivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.STORED, reason="")
        number = _record_for(mailbox, msg, decision, match, archive)
        why = {"route": decision.reason, "thread": match.reason}
        _add_message(number, mailbox, delivery_id, stored_raw, msg, archive, why)
        people = _participants(msg, context.own_addresses)
        insert(Participant, [{"record": number, "address": a} for a in sorted(people)], ignore_conflicts=True)
    return Stored(number, match.record is None, delivery_id)


def _record_for(
    mailbox: Mailbox, msg: ParsedMessage, decision: RouteDecision, match: ThreadMatch, archive: bool
) -> int:
    if match.record is not None:
        fetch(
            f"UPDATE {table(Record)} SET message_count = message_count + 1, updated = %s WHERE number = %s",
            [Record._meta.get_field("updated").get_db_prep_save(timezone.now(), connection), match.record],
        )
        return match.record
    [number] = insert(
        Record,
        [
            {
                "kind": decision.kind,
                "subject": msg.subject,
                "requester_name": msg.from_.name if msg.from_ else "",
                "requester_address": msg.from_.address if msg.from_ else "",
                "mailbox": mailbox.pk,
                "message_count": 1,
                "archive": archive,
                "named_reference": match.named_reference,
            }
        ],
    )
    return number


def _add_message(
    record: int,
    mailbox: Mailbox,
    delivery_id: int,
    stored_raw: StoredRaw,
    msg: ParsedMessage,
    archive: bool,
    why: dict[str, str],
) -> int:
    row = {
        "record": record,
        "mailbox": mailbox.pk,
        "delivery": delivery_id,
        "direction": Direction.INBOUND,
        "message_id": msg.message_id or "",
        "in_reply_to": msg.in_reply_to or "",
        "references": "\n".join(msg.references),
        "subject": msg.subject,
        "from_name": msg.from_.name if msg.from_ else "",
        "from_address": msg.from_.address if msg.from_ else "",
        "to": [a.as_dict() for a in msg.to],
        "cc": [a.as_dict() for a in msg.cc],
        "reply_to": [a.as_dict() for a in msg.reply_to],
        "date": msg.date,
        "text": msg.text,
        "html": msg.html or "",
        "raw_sha256": stored_raw.sha256,
        "raw_size": stored_raw.size,
        "body_sha256": msg.body_sha256,
        "auto_submitted": msg.auto_submitted,
        "bounce": msg.bounce,
        "archive": archive,
        "defects": list(msg.defects),
        "explanation": why,
    }
    [message_id] = insert(Message, [row])
    attachments = [
        {
            "message": message_id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
            "inline": a.inline,
            "content_id": a.content_id or "",
            "subject": a.subject or "",
        }
        for a in msg.attachments
    ]
    insert(Attachment, attachments)
    return message_id
