"""The one entry point for a single message: raw bytes -> parse -> route -> thread -> store -> Outcome.

IMAP, POP3, `postroom ingest` and `postroom reprocess` all end here, so every path imports the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError

from postroom.core.errors import TransientError
from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.pipeline.prepare import Prepared, prepare
from postroom.records import store
from postroom.routing.engine import MailboxDefaults, route
from postroom.threads.resolve import resolve_thread

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # "new" | "added" | "duplicate" | "failed" | "known"
    record: int | None = None
    reason: str = ""

    @property
    def safe_to_acknowledge(self) -> bool:
        """The server may now forget the message: its fate is committed here."""
        return self.status in {"new", "added", "duplicate", "known"}


def ingest(
    mailbox: Mailbox,
    key: str,
    raw: bytes,
    *,
    archive: bool = False,
    context: store.MailboxContext | None = None,
) -> Outcome:
    """Import one message from its raw bytes (a pipe, a test, a cycle without a worker pool)."""
    known = store.known_delivery(mailbox, key)
    if known is not None:
        return Outcome("known" if known.status != DeliveryStatus.FAILED else "failed", reason=known.reason)
    return ingest_prepared(context or store.context_for(mailbox), key, prepare(raw), archive=archive)


def reprocess(delivery: Delivery, raw: bytes) -> Outcome:
    """Try a failed message again, in place of its failed ledger entry."""
    context = store.context_for(delivery.mailbox)
    return ingest_prepared(context, delivery.source_key, prepare(raw), delivery=delivery)


def ingest_prepared(
    context: store.MailboxContext,
    key: str,
    prepared: Prepared,
    *,
    archive: bool = False,
    delivery: Delivery | None = None,
) -> Outcome:
    """Route, thread and store a prepared message whose key is not in the ledger yet (a cycle checks the
    whole listing at once; ``ingest`` checks one key)."""
    mailbox = context.mailbox
    msg = prepared.message
    if msg is None:
        return _failed(mailbox, key, prepared, prepared.error)
    duplicate = store.find_duplicate(mailbox, msg, prepared.raw.sha256)
    if duplicate is not None:
        message_id, record = duplicate
        why = f"same as message {message_id}"
        store.save_delivery(mailbox, key, DeliveryStatus.DUPLICATE, prepared.raw, why)
        return Outcome("duplicate", record, f"already stored on record {record}")
    decision = route(msg, MailboxDefaults(mailbox.name, mailbox.record_kind))
    match = resolve_thread(
        msg, context.lookups, context.reference_format, mailbox.subject_reference_from_anyone
    )
    try:
        stored = store.save_message(context, key, prepared.raw, msg, decision, match, archive, delivery)
    except IntegrityError:
        # Another worker stored the same key between our check and our insert: it is imported once.
        if store.known_delivery(mailbox, key) is not None:
            return Outcome("known")
        raise
    except DatabaseError as exc:
        raise TransientError(f"database: {exc}") from exc
    except Exception as exc:
        log.exception("could not store %s from %s", key, mailbox.name)
        return _failed(mailbox, key, prepared, f"could not store: {type(exc).__name__}: {exc}")
    return Outcome("new" if stored.opened else "added", stored.record)


def _failed(mailbox: Mailbox, key: str, prepared: Prepared, reason: str) -> Outcome:
    log.warning("%s: %s kept as failed: %s", mailbox.name, key, reason)
    try:
        store.save_delivery(mailbox, key, DeliveryStatus.FAILED, prepared.raw, reason)
    except DatabaseError as exc:
        raise TransientError(f"database: {exc}") from exc
    return Outcome("failed", reason=reason)
