"""Mailboxes as stored: server settings, import state and health, the per-message ledger, cycles."""

from __future__ import annotations

from django.db import models

from postroom.mailboxes.secrets import decrypt, encrypt


class Protocol(models.TextChoices):
    IMAP = "imap"
    POP3 = "pop3"


class Security(models.TextChoices):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class RecordKind(models.TextChoices):
    TICKET = "ticket"
    JOB = "job"
    QUOTE = "quote"
    TASK = "task"
    CASE = "case"


class Mailbox(models.Model):
    name = models.CharField(max_length=100, unique=True)
    protocol = models.CharField(max_length=10, choices=Protocol.choices)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=255)
    # Fernet-encrypted with the installation's key (see secrets.py); never stored or shown in clear.
    password_encrypted = models.TextField(blank=True, default="")
    password_env = models.CharField(max_length=255, blank=True, default="")
    ca_file = models.CharField(max_length=1000, blank=True, default="")
    folder = models.CharField(max_length=255, default="INBOX")
    address = models.CharField(max_length=255)
    record_kind = models.CharField(max_length=10, choices=RecordKind.choices, default=RecordKind.TICKET)
    after_import = models.CharField(max_length=255, default="delete")
    on_failure = models.CharField(max_length=255, default="keep")
    interval = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    backfill = models.CharField(max_length=20, default="all")  # "all" | "none" | days as digits
    subject_reference_from_anyone = models.BooleanField(default=False)
    # Mail that no rule matched: "import" (as record_kind) or "unprocessed".
    unmatched = models.CharField(max_length=20, default="import")
    # What happens on the server to mail a filter skipped or a rule rejected: keep | delete | move:FOLDER.
    unprocessed = models.CharField(max_length=255, default="keep")

    # Outgoing mail (outgoing/): the SMTP server replies, auto-replies and notifications go out through,
    # from `address`. No smtp_host: this mailbox sends nothing (a reply from its records is refused).
    smtp_host = models.CharField(max_length=255, blank=True, default="")
    smtp_port = models.PositiveIntegerField(null=True, blank=True)
    smtp_security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    smtp_username = models.CharField(max_length=255, blank=True, default="")
    smtp_password_encrypted = models.TextField(blank=True, default="")
    smtp_password_env = models.CharField(max_length=255, blank=True, default="")
    smtp_ca_file = models.CharField(max_length=1000, blank=True, default="")
    from_name = models.CharField(max_length=255, blank=True, default="")
    save_sent = models.CharField(max_length=255, blank=True, default="")  # IMAP folder for a copy; "" = none
    # {"template": ..., "subject": ...} acknowledges each new record; {} = no auto-reply.
    auto_reply = models.JSONField(default=dict, blank=True)

    # Import state: the first cycle is the backfill; UIDVALIDITY seen last (a change is logged).
    backfill_done = models.BooleanField(default=False)
    uidvalidity = models.BigIntegerField(null=True, blank=True)

    # Health, shown by `postroom status`.
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    waiting_on_server = models.IntegerField(null=True, blank=True)

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_password(self, password: str) -> None:
        self.password_encrypted = encrypt(password) if password else ""

    def stored_password(self) -> str:
        return decrypt(self.password_encrypted) if self.password_encrypted else ""

    def set_smtp_password(self, password: str) -> None:
        self.smtp_password_encrypted = encrypt(password) if password else ""

    def stored_smtp_password(self) -> str:
        return decrypt(self.smtp_password_encrypted) if self.smtp_password_encrypted else ""


class DeliveryStatus(models.TextChoices):
    STORED = "stored"  # on a record
    DUPLICATE = "duplicate"  # the same mail was already stored in this mailbox
    FAILED = "failed"  # kept raw with the reason; `postroom reprocess` retries
    SKIPPED = "skipped"  # left alone on purpose (backfill: none / older than the backfill window)
    UNPROCESSED = "unprocessed"  # a filter skipped it or a rule rejected it; handled by `unprocessed`
    HELD = "held"  # kept for review: its sender opened too many records too fast (outgoing/policy.py)
    DISCARDED = "discarded"  # an admin threw it away from the quarantine; the raw mail stays, for audit


class Delivery(models.Model):
    """The ledger: one row per message that reached a mailbox, keyed by where it came from.

    A key is "imap:<uidvalidity>:<uid>", "pop3:<uidl>" or "pipe:<sha256>". The row is written in the same
    transaction as the message it produced, so a key present here is never imported again.
    """

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="deliveries")
    source_key = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    reason = models.TextField(blank=True, default="")
    raw_sha256 = models.CharField(max_length=64, blank=True, default="")
    raw_size = models.BigIntegerField(default=0)
    # The after-import (or on-failure) action has been applied on the server.
    acknowledged = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "source_key"], name="delivery_unique_key_per_mailbox")
        ]
        indexes = [models.Index(fields=["status", "mailbox"], name="delivery_status_idx")]


class Cycle(models.Model):
    """One import cycle of one mailbox, with its counts (for `postroom status` and the health page)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="cycles")
    started = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    new_records = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    unprocessed = models.PositiveIntegerField(default=0)  # skipped by a filter or rejected by a rule
    held = models.PositiveIntegerField(default=0)  # kept for review (a sender opening records too fast)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started"]


class Setting(models.Model):
    """Installation-wide settings from the configuration file's `settings:` section."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField()


class Rule(models.Model):
    """One import rule of a mailbox, applied in ``order``. ``spec`` holds its conditions and actions as the
    configuration file writes them (validated on load; see ``routing/rules.py`` for what they mean)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    order = models.IntegerField(default=0)
    spec = models.JSONField(default=dict)

    class Meta:
        ordering = ["mailbox", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "name"], name="rule_unique_name")]


class Filter(models.Model):
    """A filter that skips mail: global (no mailbox) or one mailbox's. ``spec`` as in the file."""

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.CASCADE, related_name="filters"
    )
    name = models.CharField(max_length=200)
    order = models.IntegerField(default=0)
    spec = models.JSONField(default=dict)

    class Meta:
        ordering = ["order", "id"]
