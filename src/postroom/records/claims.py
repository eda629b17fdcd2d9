"""Work queues in a table (the outbox, webhook deliveries): claiming due rows with a lease, giving them back.

Exactly once, whatever runs at the same time: a row moves queued -> sending by one conditional UPDATE that
writes a fresh token on it, so of two senders only the one whose token is on the row goes on with it; a
sender that died leaves its rows "sending", and they are queued again once their lease (``updated``) is
older than ``lease``. A row's model has ``status``, ``claim``, ``next_attempt`` and ``updated``, and its
status choices hold "queued" and "sending".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

QUEUED, SENDING = "queued", "sending"

M = TypeVar("M", bound=models.Model)


def requeue_abandoned(model: type[models.Model], lease: timedelta, now: datetime) -> int:
    """Rows a dead sender left "sending" past their lease go back in the queue."""
    return model._default_manager.filter(status=SENDING, updated__lt=now - lease).update(
        status=QUEUED, next_attempt=now, updated=now
    )


def claim(due: models.QuerySet[M], now: datetime, limit: int, *related: str) -> list[M]:
    """Up to ``limit`` rows of ``due`` (a filter of the queue) whose attempt is due, claimed in one
    statement: a row still queued is this sender's (its token is written on it); one another sender
    claimed first is no longer queued and is left to it."""
    ids = list(
        due.filter(status=QUEUED, next_attempt__lte=now).order_by("id").values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return []
    token = secrets.token_hex(8)
    queue = due.model._default_manager
    with transaction.atomic():
        queue.filter(pk__in=ids, status=QUEUED).update(status=SENDING, claim=token, updated=timezone.now())
    mine = queue.filter(pk__in=ids, claim=token, status=SENDING)
    return list(mine.select_related(*related).order_by("id"))


def finish(row: Any, **values: object) -> bool:
    """Write an attempt's outcome, only while the row is still this sender's (its lease held)."""
    done = (
        type(row)
        ._default_manager.filter(pk=row.pk, claim=row.claim, status=SENDING)
        .update(**values, updated=timezone.now())
    )
    return bool(done)


def release(rows: Sequence[Any], at: datetime) -> None:
    """Give claimed rows back to the queue untried (a stop, or their lease would run out first)."""
    if not rows:
        return
    type(rows[0])._default_manager.filter(
        pk__in=[r.pk for r in rows], claim__in={r.claim for r in rows}, status=SENDING
    ).update(status=QUEUED, next_attempt=at, updated=at)
