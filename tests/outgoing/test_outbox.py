"""The outbox against a real SMTP server (aiosmtpd): a sender that died, retries per recipient, backoff.
(Concurrent senders, which need separate processes on one database: tests/e2e/test_outgoing.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.mailboxes.models import Mailbox
from postroom.outgoing.models import OutgoingMail, OutStatus
from postroom.outgoing.outbox import LEASE, retry_delay, send_due
from postroom.outgoing.reply import queue_reply
from postroom.pipeline.ingest import ingest
from tests.support.builders import mail
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)


def _desk(server: SmtpServer) -> int:
    box = Mailbox.objects.create(
        name="desk", protocol="imap", host="127.0.0.1", port=1, security="none", username="u",
        address="desk@desk.test", smtp_host=server.host, smtp_port=server.port, smtp_security=server.security,
        smtp_ca_file=str(server.ca_file),
    )  # fmt: skip
    outcome = ingest(box, "pipe:1", mail("Leak", sender="ann@customer.test", to="desk@desk.test"))
    assert outcome.record is not None
    return outcome.record


def test_a_mail_a_dead_sender_left_sending_is_sent_once_after_its_lease(smtp_server: SmtpServer) -> None:
    number = _desk(smtp_server)
    stale, fresh = queue_reply(number, "one"), queue_reply(number, "two")
    long_ago = timezone.now() - LEASE - timedelta(seconds=1)
    OutgoingMail.objects.filter(pk=stale.pk).update(status=OutStatus.SENDING, updated=long_ago)
    OutgoingMail.objects.filter(pk=fresh.pk).update(status=OutStatus.SENDING, updated=timezone.now())
    summary = send_due()
    assert summary.sent == 1
    (got,) = smtp_server.wait_for(1)
    assert got.message_id == f"<{stale.message_id}>"  # the same Message-ID it was queued with
    # The other may still be in a live sender's hands: left alone until its lease runs out.
    assert OutgoingMail.objects.get(pk=fresh.pk).status == OutStatus.SENDING
    assert send_due().sent == 0 and len(smtp_server.received) == 1


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]


def test_a_mail_refused_for_now_is_retried_alone_for_the_recipient_that_refused(
    smtp_server: SmtpServer,
) -> None:
    number = _desk(smtp_server)
    smtp_server.tempfail_recipients = {"bob@customer.test"}
    mail_ = queue_reply(number, "to both", cc=["bob@customer.test"])
    send_due()
    row = OutgoingMail.objects.get(pk=mail_.pk)
    assert row.status == OutStatus.QUEUED and row.recipients == ["bob@customer.test"]
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@customer.test"]]
    smtp_server.tempfail_recipients = set()
    OutgoingMail.objects.filter(pk=row.pk).update(next_attempt=timezone.now())
    send_due()
    assert [r.rcpt_tos for r in smtp_server.wait_for(2)] == [["ann@customer.test"], ["bob@customer.test"]]
    assert OutgoingMail.objects.get(pk=row.pk).status == OutStatus.SENT
