"""A mailbox's first cycle: which mail already on the server to import (as archive) and which to leave."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from postroom.mailboxes.models import Mailbox
from postroom.sources.base import RemoteMessage


@dataclass(frozen=True)
class BackfillPlan:
    skip: frozenset[str] = field(default_factory=frozenset)  # left on the server, never imported
    archive: frozenset[str] = field(default_factory=frozenset)  # imported, marked archive (no automations)
    reason: str = ""


def plan_backfill(mailbox: Mailbox, fresh: list[RemoteMessage], now: datetime) -> BackfillPlan:
    """Only the first cycle backfills; later cycles import everything new as live mail.

    With a number of days, a message the server gives no arrival date for (POP3) is imported as archive:
    importing too much quietly is better than losing mail.
    """
    if mailbox.backfill_done or not fresh:
        return BackfillPlan()
    keys = [r.key for r in fresh]
    if mailbox.backfill == "none":
        return BackfillPlan(
            skip=frozenset(keys), reason="on the server before the first cycle (backfill: none)"
        )
    if mailbox.backfill == "all":
        return BackfillPlan(archive=frozenset(keys))
    cutoff = now - timedelta(days=int(mailbox.backfill))
    old = frozenset(r.key for r in fresh if r.internal_date is not None and r.internal_date < cutoff)
    return BackfillPlan(
        skip=old,
        archive=frozenset(keys) - old,
        reason=f"older than the backfill window of {mailbox.backfill} days",
    )
