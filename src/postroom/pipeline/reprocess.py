"""Retries messages kept as failed, from their stored raw bytes, through the same ingest path."""

from __future__ import annotations

from django.db.models import F

from postroom.core.errors import PostroomError
from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.pipeline.ingest import Outcome, reprocess
from postroom.records import blobs


def reprocess_failed(delivery_id: int | None, place: int | None = None) -> list[tuple[int, Outcome]]:
    """Retry one failed or held delivery (by id: a held one is let through the flood limit), or every
    failed one (None; held mail is released one by one, on purpose)."""
    failed = Delivery.objects.filter(status=DeliveryStatus.FAILED).select_related("mailbox").order_by("pk")
    if delivery_id is not None:
        statuses = (DeliveryStatus.FAILED, DeliveryStatus.HELD)
        failed = Delivery.objects.filter(pk=delivery_id, status__in=statuses).select_related("mailbox")
        if not failed.exists():
            raise PostroomError(f"no failed or held message with ID {delivery_id} (see `postroom failed`)")
    results = []
    for delivery in failed:
        Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
        results.append((delivery.pk, reprocess(delivery, blobs.read(delivery.raw_sha256), place)))
    return results
