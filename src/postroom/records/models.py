"""Records (tickets, jobs, quotes, tasks, cases), the messages on them, their attachments and participants."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from postroom.mailboxes.models import Delivery, Mailbox, RecordKind
from postroom.people.models import Account, Contact, Team


class RecordStatus(models.TextChoices):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


class Priority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


OPEN_STATUSES = (RecordStatus.NEW, RecordStatus.OPEN, RecordStatus.PENDING)


class Record(models.Model):
    # The record's number is its primary key: allocated by the database, so concurrent imports on
    # PostgreSQL never hand out one number twice.
    number = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=10, choices=RecordKind.choices)
    status = models.CharField(max_length=10, choices=RecordStatus.choices, default=RecordStatus.NEW)
    subject = models.TextField(blank=True, default="")
    requester_name = models.CharField(max_length=255, blank=True, default="")
    requester_address = models.CharField(max_length=320, blank=True, default="")
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.PROTECT, related_name="records"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Kept up to date by the store so that listing 100,000 records never counts messages.
    message_count = models.PositiveIntegerField(default=0)
    # Opened by a backfill import: automations (auto-replies, notifications) leave it alone.
    archive = models.BooleanField(default=False)
    # A record number the first message named in its subject but was not allowed to join (see threads/).
    named_reference = models.BigIntegerField(null=True, blank=True)

    # Set by the rule that opened it (routing/): who it is for, where it goes, who works it.
    customer = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="records"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="records"
    )
    category = models.CharField(max_length=200, blank=True, default="")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="records")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    tags = models.JSONField(default=list)
    fields = models.JSONField(default=dict)  # from the rule's field mappings
    needs_review = models.BooleanField(default=False)
    review_reason = models.TextField(blank=True, default="")
    rule = models.CharField(max_length=200, blank=True, default="")  # the rule that opened it
    # A private conversation: only users granted access see it (and whoever was in its To/Cc).
    private = models.BooleanField(default=False)
    granted = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="granted_records")

    class Meta:
        indexes = [
            models.Index(fields=["mailbox", "-number"], name="record_mailbox_number_idx"),
            # Least-busy assignment counts open records per assignee.
            models.Index(fields=["assignee", "status"], name="record_assignee_status_idx"),
        ]


class Direction(models.TextChoices):
    INBOUND = "in"
    OUTBOUND = "out"
    NOTE = "note"


class Message(models.Model):
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="messages")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    delivery = models.OneToOneField(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="message"
    )
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.INBOUND)
    # The kind of entry it makes on its record (a rule's note_type, e.g. "reply" or "note"); "" = plain.
    entry_type = models.CharField(max_length=50, blank=True, default="")
    rule = models.CharField(max_length=200, blank=True, default="")  # the rule that routed it
    message_id = models.CharField(max_length=998, blank=True, default="")
    in_reply_to = models.CharField(max_length=998, blank=True, default="")
    references = models.TextField(blank=True, default="")  # one id per line
    subject = models.TextField(blank=True, default="")
    from_name = models.CharField(max_length=255, blank=True, default="")
    from_address = models.CharField(max_length=320, blank=True, default="")
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    reply_to = models.JSONField(default=list)
    date = models.DateTimeField(null=True, blank=True)
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")  # sanitized
    raw_sha256 = models.CharField(max_length=64, blank=True, default="")  # the raw bytes, in the blob store
    raw_size = models.BigIntegerField(default=0)
    body_sha256 = models.CharField(max_length=64, blank=True, default="")
    auto_submitted = models.BooleanField(default=False)
    bounce = models.BooleanField(default=False)
    archive = models.BooleanField(default=False)
    defects = models.JSONField(default=list)
    # Why it went where it went: {"route": ..., "thread": ...}; shown by `records show` and dry runs.
    explanation = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "id"]
        indexes = [
            models.Index(fields=["message_id"], name="message_message_id_idx"),
            models.Index(fields=["mailbox", "body_sha256"], name="message_body_hash_idx"),
        ]


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=500)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)  # the content, stored once in the blob store
    inline = models.BooleanField(default=False)
    content_id = models.CharField(max_length=500, blank=True, default="")
    subject = models.TextField(blank=True, default="")  # for an attached mail: its own subject

    class Meta:
        ordering = ["message", "id"]


class Participant(models.Model):
    """An address that took part in a record (requester, From/To/Cc of its messages)."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="participants")
    address = models.CharField(max_length=320)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "address"], name="participant_unique")]


class Follower(models.Model):
    """A user who is told by mail of what happens on a record (see outgoing/notify.py)."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "user"], name="follower_unique")]
