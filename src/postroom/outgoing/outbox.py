"""Sends what the outbox holds when it is due: claims each mail, hands it to SMTP, records the answer.

Exactly once: a mail is claimed by one conditional UPDATE (queued -> sending) that only one sender can win,
committed before the SMTP conversation, and marked sent in its own commit the moment the server has
accepted it. A sender that dies mid-conversation leaves the mail "sending"; once its lease has run out it
is queued again, and sent with the same Message-ID. The one window left — between the server's 250 and
our commit, a few milliseconds — is where a crash could send a mail twice; a receiver that dedups by
Message-ID (Postroom does) still sees it once. Temporary failures are retried with backoff for up to
``GIVE_UP_AFTER``; permanent ones are marked failed with the server's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from postroom.core.errors import ConfigError
from postroom.mailboxes.server import smtp_settings
from postroom.outgoing.models import OutgoingMail, OutStatus
from postroom.outgoing.smtp import Accepted, Connection, SendError
from postroom.records import blobs, claims

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # longer than any SMTP conversation (30 s timeouts per step)
FIRST_RETRY = 60.0  # seconds; doubled per attempt up to MAX_RETRY
MAX_RETRY = 3600.0
GIVE_UP_AFTER = timedelta(days=3)
CLAIM_BATCH = 50


def retry_delay(attempts: int) -> float:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


@dataclass
class SendSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def requeue_abandoned(now: datetime | None = None) -> int:
    """Mail a dead sender left "sending" past its lease goes back in the queue."""
    return claims.requeue_abandoned(OutgoingMail, LEASE, now or timezone.now())


def _claim(now: datetime, limit: int, only: set[int] | None) -> list[OutgoingMail]:
    """Up to ``limit`` due mails (of ``only``, given), claimed (see ``records.claims``)."""
    due = OutgoingMail.objects.all() if only is None else OutgoingMail.objects.filter(pk__in=only)
    return claims.claim(due, now, limit, "mailbox")


def send_due(
    now: Callable[[], datetime] = timezone.now,
    only: set[int] | None = None,
    stop: Callable[[], bool] = lambda: False,
    after_sent: Callable[[OutgoingMail], object] | None = None,
) -> SendSummary:
    """Send every mail that is due (``only``: just these ids), one SMTP session per mailbox and batch.
    ``after_sent`` runs for each mail sent (by default: its copy into the mailbox's `save_sent` folder)."""
    if after_sent is None:
        from postroom.outgoing.sent_copy import save_sent

        after_sent = save_sent
    summary = SendSummary()
    requeue_abandoned(now())
    while not stop():
        batch = _claim(now(), CLAIM_BATCH, only)
        if not batch:
            break
        connections: dict[int, Connection] = {}
        claimed_at = now()
        try:
            for index, mail in enumerate(batch):
                if now() - claimed_at > LEASE / 2:  # a slow server: never send a mail near its lease's end
                    claims.release(batch[index:], now())
                    break
                _send_one(mail, connections, summary, now)
                if mail.status == OutStatus.SENT and after_sent is not None:
                    after_sent(mail)
        finally:
            for conn in connections.values():
                conn.close()
    return summary


def _send_one(
    mail: OutgoingMail, connections: dict[int, Connection], summary: SendSummary, now: Callable[[], datetime]
) -> None:
    mail.attempts += 1
    try:
        settings = smtp_settings(mail.mailbox)
        if settings is None:
            raise SendError(f"mailbox {mail.mailbox.name} has no smtp settings", temporary=True)
        conn = connections.get(mail.mailbox_id)
        if conn is None or conn.settings != settings:
            conn = connections[mail.mailbox_id] = Connection(settings)
        raw = blobs.read(mail.raw_sha256)
        accepted = conn.send(mail.mail_from, list(mail.recipients), raw)
    except SendError as exc:
        _failed_attempt(mail, exc.reason, exc.temporary, summary, now())
        return
    except ConfigError as exc:  # fixed in the configuration; the mail waits for it
        _failed_attempt(mail, str(exc), True, summary, now())
        return
    except Exception as exc:  # a missing blob, a bug: keep the mail queued and say why
        log.exception("outbox: could not send %s", mail.message_id)
        _failed_attempt(mail, f"{type(exc).__name__}: {exc}", True, summary, now())
        return
    _accepted(mail, accepted, summary, now())


def _accepted(mail: OutgoingMail, accepted: Accepted, summary: SendSummary, at: datetime) -> None:
    refused = {**mail.refused, **{a: t for a, t in accepted.refused.items() if a not in accepted.deferred}}
    if accepted.deferred:  # sent to some; the ones refused for now get the next attempt
        mail.recipients = list(accepted.deferred)
        mail.refused = refused
        _failed_attempt(mail, "; ".join(accepted.refused[a] for a in accepted.deferred), True, summary, at)
        return
    mail.status, mail.sent_at, mail.refused, mail.last_error = OutStatus.SENT, at, refused, ""
    mail.save(update_fields=["status", "sent_at", "refused", "last_error", "attempts", "updated"])
    summary.sent += 1
    log.info("outbox: sent %s to %s", mail.message_id, ", ".join(mail.recipients))


def _failed_attempt(
    mail: OutgoingMail, reason: str, temporary: bool, summary: SendSummary, at: datetime
) -> None:
    mail.last_error = reason
    if temporary and at - mail.created < GIVE_UP_AFTER:
        mail.status = OutStatus.QUEUED
        mail.next_attempt = at + timedelta(seconds=retry_delay(mail.attempts))
        summary.retrying += 1
        log.warning(
            "outbox: %s not sent (%s); next attempt at %s", mail.message_id, reason, mail.next_attempt
        )
    else:
        if temporary:
            mail.last_error = f"gave up after {mail.attempts} attempts: {reason}"
        mail.status = OutStatus.FAILED
        summary.failed += 1
        log.warning("outbox: %s failed: %s", mail.message_id, mail.last_error)
    summary.errors.append(reason)
    mail.save(
        update_fields=["status", "next_attempt", "last_error", "attempts", "recipients", "refused", "updated"]
    )


def due_soon() -> datetime | None:
    """When the next queued mail is due (the service sleeps until then)."""
    due = OutgoingMail.objects.filter(status=OutStatus.QUEUED).order_by("next_attempt")
    return due.values_list("next_attempt", flat=True).first()
