"""Where every message ends: prepared bytes -> route -> thread -> store -> Outcome.

IMAP and POP3 cycles hand over groups of prepared messages (``ingest_group``); `postroom ingest`,
`postroom reprocess` and tests hand over one raw message (``ingest``, a group of one). Every path imports
the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction

from postroom.core.errors import TransientError
from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.outgoing import automatic
from postroom.pipeline.group import GroupDecider, Item
from postroom.pipeline.prepare import prepare
from postroom.records import lookups, store
from postroom.records.lookups import MailboxContext
from postroom.records.store import Plan

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # "new" | "added" | "duplicate" | "unprocessed" | "held" | "failed" | "known"
    record: int | None = None
    reason: str = ""

    @property
    def safe_to_acknowledge(self) -> bool:
        """The server may now forget the message: its fate is committed here."""
        return self.status in {"new", "added", "duplicate", "unprocessed", "held", "known"}


def ingest(
    mailbox: Mailbox,
    key: str,
    raw: bytes,
    *,
    archive: bool = False,
    context: MailboxContext | None = None,
) -> Outcome:
    """Import one message from its raw bytes (a pipe, a test, a cycle without a worker pool)."""
    known = lookups.known_delivery(mailbox, key)
    if known is not None:
        return Outcome("known" if known.status != DeliveryStatus.FAILED else "failed", reason=known.reason)
    return ingest_group(context or lookups.context_for(mailbox), [Item(key, prepare(raw), archive)])[0]


def reprocess(delivery: Delivery, raw: bytes, place: int | None = None) -> Outcome:
    """Try a failed (or held) message again, in place of its ledger entry; ``place``: 0 for a new record,
    a record's number to add it there (an admin's choice), None to decide as an import does."""
    context = lookups.context_for(delivery.mailbox)
    release = delivery.status == DeliveryStatus.HELD  # an admin let it through: no flood limit
    item = Item(delivery.source_key, prepare(raw), delivery_id=delivery.pk, release=release, place=place)
    return ingest_group(context, [item])[0]


def ingest_group(context: MailboxContext, items: list[Item]) -> list[Outcome]:
    """Route, thread and store prepared messages whose keys are not in the ledger yet, in fetch order, in
    a savepoint of the caller's transaction. When the group can't be stored as one (another worker stored
    one of its keys meanwhile, a bug on one message), each is stored on its own: one never holds up the
    others, and one that can't be stored is kept as failed."""
    try:
        with transaction.atomic():
            return _store(context, items)
    except IntegrityError:
        context.directory.rolled_back()
        if len(items) > 1:
            return [ingest_group(context, [item])[0] for item in items]
        if lookups.known_delivery(context.mailbox, items[0].key) is not None:
            return [Outcome("known")]  # stored by another worker between our check and our insert
        raise
    except DatabaseError as exc:
        raise TransientError(f"database: {exc}") from exc
    except Exception as exc:
        context.directory.rolled_back()
        if len(items) > 1:
            return [ingest_group(context, [item])[0] for item in items]
        log.exception("could not store %s from %s", items[0].key, context.mailbox.name)
        return _failed(context, items[0], f"could not store: {type(exc).__name__}: {exc}")


def _store(context: MailboxContext, items: list[Item]) -> list[Outcome]:
    decider = GroupDecider(context, items)
    plans = decider.plans(items)
    decider.settle(plans, store.open_records(context.mailbox, plans, context.directory))
    store.write_group(context.mailbox, plans)
    automatic.after_store(context, plans)
    return [_outcome(context, plan) for plan in plans]


def _outcome(context: MailboxContext, plan: Plan) -> Outcome:
    if plan.status == DeliveryStatus.STORED:
        return Outcome("new" if plan.opens else "added", plan.record)
    if plan.status == DeliveryStatus.DUPLICATE:
        return Outcome("duplicate", plan.record, f"already stored on record {plan.record}")
    if plan.status == DeliveryStatus.UNPROCESSED:
        log.info("%s: %s not imported: %s", context.mailbox.name, plan.key, plan.reason)
        return Outcome("unprocessed", reason=plan.reason)
    if plan.status == DeliveryStatus.HELD:
        log.warning("%s: %s held for review: %s", context.mailbox.name, plan.key, plan.reason)
        return Outcome("held", reason=plan.reason)
    log.warning("%s: %s kept as failed: %s", context.mailbox.name, plan.key, plan.reason)
    return Outcome("failed", reason=plan.reason)


def _failed(context: MailboxContext, item: Item, reason: str) -> list[Outcome]:
    plan = Plan(item.key, item.prepared.raw, DeliveryStatus.FAILED, reason, delivery_id=item.delivery_id)
    try:
        with transaction.atomic():
            store.write_group(context.mailbox, [plan])
    except DatabaseError as exc:
        raise TransientError(f"database: {exc}") from exc
    return [_outcome(context, plan)]
