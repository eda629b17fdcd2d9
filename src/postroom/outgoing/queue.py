"""Puts a mail in the outbox inside the caller's transaction: its bytes in the blob store, its row due now,
and (for mail that belongs on a record) its copy on the record, direction out, so answers thread back."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from postroom.mailboxes.models import Delivery, Mailbox
from postroom.outgoing.compose import Outgoing, domain_of, make_message_id
from postroom.outgoing.models import OutgoingMail, OutKind
from postroom.pipeline.prepare import prepare
from postroom.records.models import Attachment, Direction, Message, Participant, Record


def new_message_id(mailbox: Mailbox, record: int | None) -> str:
    return make_message_id(record or 0, domain_of(mailbox.address), settings.SECRET_KEY)


def queue(
    mailbox: Mailbox,
    mail: Outgoing,
    kind: str,
    record: Record | None = None,
    *,
    on_record: bool = True,
    delivery: Delivery | None = None,
    entry_type: str = "",
) -> OutgoingMail:
    """Queue ``mail``; call it in the transaction that makes the change the mail is about."""
    raw = mail.render()
    prepared = prepare(raw)  # the same parse, hash and blob store inbound mail gets
    stored = None
    if record is not None and on_record and prepared.message is not None:
        stored = _store_copy(mailbox, record, prepared, entry_type or kind)
    return OutgoingMail.objects.create(
        mailbox=mailbox,
        record=record,
        stored=stored,
        delivery=delivery,
        kind=kind,
        message_id=mail.message_id,
        mail_from=mailbox.address,
        recipients=list(mail.recipients),
        to_address=mail.recipients[0] if mail.recipients else "",
        raw_sha256=prepared.raw.sha256,
        raw_size=prepared.raw.size,
        next_attempt=timezone.now(),
    )


def _store_copy(mailbox: Mailbox, record: Record, prepared: Any, entry_type: str) -> Message:
    msg = prepared.message
    row = Message.objects.create(
        record=record,
        mailbox=mailbox,
        direction=Direction.OUTBOUND,
        entry_type="" if entry_type == OutKind.REPLY else entry_type,
        message_id=msg.message_id or "",
        in_reply_to=msg.in_reply_to or "",
        references="\n".join(msg.references),
        subject=msg.subject,
        from_name=msg.from_.name if msg.from_ else "",
        from_address=msg.from_.address if msg.from_ else "",
        to=[a.as_dict() for a in msg.to],
        cc=[a.as_dict() for a in msg.cc],
        date=msg.date,
        text=msg.text,
        html=msg.html or "",
        raw_sha256=prepared.raw.sha256,
        raw_size=prepared.raw.size,
        body_sha256=msg.body_sha256,
        auto_submitted=msg.auto_submitted,
    )
    Attachment.objects.bulk_create(
        Attachment(
            message=row, filename=a.filename, content_type=a.content_type, size=a.size, sha256=a.sha256,
            inline=a.inline, content_id=a.content_id or "",
        )
        for a in msg.attachments
    )  # fmt: skip
    own = {mailbox.address.lower()}
    people = {a.address for a in (*msg.to, *msg.cc) if a.address and a.address not in own}
    Participant.objects.bulk_create(
        [Participant(record=record, address=a) for a in sorted(people)], ignore_conflicts=True
    )
    Record.objects.filter(pk=record.pk).update(message_count=F("message_count") + 1, updated=timezone.now())
    return row
