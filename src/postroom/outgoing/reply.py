"""An agent's reply from a record: addressed, subjected, threaded, queued with its copy on the record."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from postroom.core.errors import PostroomError
from postroom.mailboxes import settings as site_settings
from postroom.outgoing.compose import FileToAttach, Outgoing, reply_subject, thread_references
from postroom.outgoing.models import OutgoingMail, OutKind
from postroom.outgoing.queue import new_message_id, queue
from postroom.records.models import Direction, Message, Participant, Record
from postroom.threads.subject import format_reference


def _last_inbound(record: Record) -> Message | None:
    return record.messages.filter(direction=Direction.INBOUND).order_by("-id").first()


def queue_reply(
    number: int,
    text: str,
    attachments: Sequence[FileToAttach] = (),
    cc: Sequence[str] = (),
    everyone: bool = False,
) -> OutgoingMail:
    """Queue a reply to record ``number``'s requester (``everyone``: and its other participants in Cc)."""
    with transaction.atomic():
        record = (
            Record.objects.select_for_update(of=("self",)).select_related("mailbox").filter(pk=number).first()
        )
        if record is None:
            raise PostroomError(f"no record {number}")
        mailbox = record.mailbox
        if mailbox is None or not mailbox.smtp_host:
            where = f"mailbox {mailbox.name}" if mailbox else "the record's mailbox"
            raise PostroomError(f"record {number} can't be answered by mail: {where} has no smtp settings")
        to = record.requester_address
        if not to:
            raise PostroomError(f"record {number} has no requester address to answer")
        own = {mailbox.address.lower(), to.lower()}
        copies = [a.lower() for a in cc]
        if everyone:
            others = Participant.objects.filter(record=record).values_list("address", flat=True)
            copies += [a for a in others if a not in own]
        copies = [a for a in dict.fromkeys(copies) if a not in own]
        parent = _last_inbound(record)
        message_id = new_message_id(mailbox, record.pk)
        parent_refs = tuple(parent.references.split()) if parent else ()
        mail = Outgoing(
            from_address=mailbox.address,
            from_name=mailbox.from_name,
            to=(to,),
            cc=tuple(copies),
            subject=reply_subject(
                record.subject, format_reference(record.pk, site_settings.reference_format())
            ),
            text=text,
            message_id=message_id,
            in_reply_to=parent.message_id if parent else "",
            references=thread_references(parent.message_id if parent else "", parent_refs, message_id),
            attachments=tuple(attachments),
        )
        return queue(mailbox, mail, OutKind.REPLY, record)
