"""Keeps a copy of each sent mail in the mailbox's Sent folder over IMAP (`save_sent`), after it is sent."""

from __future__ import annotations

import logging

from postroom.core.errors import PostroomError
from postroom.mailboxes.server import server_settings
from postroom.outgoing.models import OutgoingMail, OutKind
from postroom.records import blobs
from postroom.sources.imap import open_imap

log = logging.getLogger(__name__)


def save_sent(mail: OutgoingMail) -> bool:
    """Append the sent bytes to the folder; False (logged, retried by ``save_pending``) when it can't."""
    mailbox = mail.mailbox
    if not mailbox.save_sent or mail.saved_sent or mail.kind == OutKind.FORWARD or mailbox.protocol != "imap":
        return False
    try:
        with open_imap(server_settings(mailbox), readonly=True) as session:
            session.append(mailbox.save_sent, blobs.read(mail.raw_sha256))
    except (PostroomError, OSError) as exc:
        log.warning(
            "%s: copy of %s not saved in %s: %s", mailbox.name, mail.message_id, mailbox.save_sent, exc
        )
        return False
    OutgoingMail.objects.filter(pk=mail.pk).update(saved_sent=True)
    mail.saved_sent = True
    return True
