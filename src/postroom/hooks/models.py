"""Webhooks and their deliveries: one row per event and webhook, queued in the transaction of the change."""

from __future__ import annotations

import uuid

from django.db import models

from postroom.records.models import Record


class HookEvent(models.TextChoices):
    RECORD_CREATED = "record_created"  # an imported mail opened a record
    MESSAGE_ADDED = "message_added"  # an imported mail joined a record
    STATUS_CHANGED = "status_changed"  # someone changed a record's status


class HookStatus(models.TextChoices):
    QUEUED = "queued"  # waiting for its first or next attempt (``next_attempt``)
    SENDING = "sending"  # claimed by a sender; the POST is under way
    SENT = "sent"  # the receiver answered 2xx
    FAILED = "failed"  # refused for good (3xx, 4xx other than 408/429) or given up: ``last_error`` says why


class Webhook(models.Model):
    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=2000)  # http or https only
    events = models.JSONField(default=list)  # HookEvent values this webhook is told of
    # The signing secret, encrypted with the installation's key (mailboxes.secrets); never stored in clear.
    secret_encrypted = models.TextField()
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    # What the receiver sees as "id" and X-Postroom-Delivery: the same on every attempt, to dedup by.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, choices=HookEvent.choices)
    record = models.ForeignKey(Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField(default=dict)  # the body without "id" and "sent_at" (added when sent)
    status = models.CharField(max_length=10, choices=HookStatus.choices, default=HookStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)  # the last HTTP status
    claim = models.CharField(max_length=32, blank=True, default="")  # the sender that claimed it last
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt"], name="webhook_delivery_due_idx")]
