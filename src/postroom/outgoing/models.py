"""The outbox: every mail Postroom sends, queued in the transaction that caused it and sent after commit."""

from __future__ import annotations

from django.db import models

from postroom.mailboxes.models import Delivery, Mailbox
from postroom.records.models import Message, Record


class OutStatus(models.TextChoices):
    QUEUED = "queued"  # waiting for its first or next attempt (``next_attempt``)
    SENDING = "sending"  # claimed by a sender; the SMTP conversation is under way
    SENT = "sent"  # the SMTP server accepted it (250 after DATA)
    FAILED = "failed"  # refused for good (5xx, or bounced afterwards): ``last_error`` says why


class OutKind(models.TextChoices):
    REPLY = "reply"  # an agent's answer from a record
    AUTO_REPLY = "auto_reply"  # the acknowledgement of a new record
    NOTIFICATION = "notification"  # a follower told of an event on a record
    FORWARD = "forward"  # unprocessed mail passed on as an attachment


class OutgoingMail(models.Model):
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="outgoing")
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing"
    )
    # The copy stored on the record (direction out) for replies and auto-replies; none for notifications.
    stored = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing"
    )
    # Forwarding unprocessed mail: the ledger entry acknowledged on the server once this is sent.
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=OutKind.choices)
    message_id = models.CharField(max_length=255, unique=True)  # ours, without angle brackets
    mail_from = models.CharField(max_length=320)  # the envelope sender
    recipients = models.JSONField(default=list)  # envelope recipients
    to_address = models.CharField(max_length=320, blank=True, default="")  # the first: for rate limits
    raw_sha256 = models.CharField(max_length=64)  # the exact bytes sent, in the blob store
    raw_size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=OutStatus.choices, default=OutStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    # Per recipient, what the server or a later bounce said: {"addr": "5.1.1 user unknown"}.
    refused = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    saved_sent = models.BooleanField(default=False)  # the copy in the IMAP Sent folder is there
    claim = models.CharField(max_length=32, blank=True, default="")  # the sender that claimed it last
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt"], name="outgoing_due_idx"),
            models.Index(fields=["to_address", "kind", "created"], name="outgoing_rate_idx"),
        ]
