"""Queues webhook deliveries for what happens to records, in the transaction that makes the change.

Events: ``record_created`` (an imported mail opened a record), ``message_added`` (an imported mail joined
one) and ``status_changed`` (``records.changes.set_status``: the command, the web page). Backfilled
(archive) mail tells nobody, like auto-replies and notifications. A delivery is queued per enabled
webhook subscribed to the event; rolled back with the change, so a webhook never hears of what did not
happen. Without any webhook an import pays one query per group (the enabled webhooks, on a table of a few
rows) and nothing else.

The JSON body POSTed (``sender.py`` adds ``id`` and ``sent_at`` when it sends)::

    {
      "id": "6f1c...-uuid",            # the delivery: the same on every attempt, dedup by it
      "event": "record_created",       # or "message_added", "status_changed"
      "occurred": "2026-12-01T14:53:00+00:00",   # when the change was made
      "record": {"number": 1042, "kind": "ticket", "status": "new", "subject": "...",
                 "requester": {"name": "Ann", "address": "ann@example.com"},
                 "mailbox": "support", "team": "Field" | null, "assignee": "dana" | null,
                 "created": "2026-12-01T14:53:00+00:00"},
      "message": {"id": 7, "message_id": "its Message-ID" | null, "direction": "in",
                  "from": {"name": "Ann", "address": "ann@example.com"}, "subject": "...",
                  "date": "2026-12-01T14:52:58+00:00" | null},     # record_created, message_added
      "status": {"from": "new", "to": "closed", "by": "dana" | null},   # status_changed
      "sent_at": "2026-12-01T14:53:01+00:00"     # this attempt
    }

``record`` is the record as it was when the event happened; ``message.id`` is the id the API uses
(``/api/records/{number}/messages/{id}/raw``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from postroom.hooks.models import HookEvent, Webhook, WebhookDelivery
from postroom.mailboxes.models import DeliveryStatus
from postroom.records.models import Message, Record

if TYPE_CHECKING:
    from postroom.records.store import Plan

EVENTS: tuple[str, ...] = tuple(HookEvent.values)


def enabled_webhooks() -> list[Webhook]:
    """The enabled webhooks, in one query (a handful of rows: filtered by event in Python, which works
    the same on SQLite and PostgreSQL)."""
    return list(Webhook.objects.filter(enabled=True).only("id", "events"))


def emit(event: str, record_number: int, payload: dict[str, Any]) -> None:
    """Queue ``payload`` for every enabled webhook subscribed to ``event``; call it in the transaction
    that makes the change."""
    _queue([(event, record_number, payload)], enabled_webhooks())


def _queue(items: list[tuple[str, int, dict[str, Any]]], hooks: list[Webhook]) -> int:
    """One delivery per item and subscribed webhook, in one statement."""
    unknown = sorted({e for e, _, _ in items} - set(EVENTS))
    if unknown:
        raise ValueError(f"unknown webhook event {unknown[0]!r} (one of {', '.join(EVENTS)})")
    now = timezone.now()
    rows = [
        WebhookDelivery(
            webhook=hook,
            event=str(event),
            record_id=number,
            payload={"event": str(event), "occurred": now.isoformat(), **payload},
            next_attempt=now,
        )
        for event, number, payload in items
        for hook in hooks
        if event in (hook.events or ())
    ]
    WebhookDelivery.objects.bulk_create(rows)
    return len(rows)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def record_json(record: Record) -> dict[str, Any]:
    """The record as a webhook sees it (team, assignee and mailbox by name: select them related)."""
    return {
        "number": record.number,
        "kind": record.kind,
        "status": record.status,
        "subject": record.subject,
        "requester": {"name": record.requester_name, "address": record.requester_address},
        "mailbox": record.mailbox.name if record.mailbox else None,
        "team": record.team.name if record.team else None,
        "assignee": record.assignee.username if record.assignee else None,
        "created": _iso(record.created),
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "message_id": message.message_id or None,
        "direction": message.direction,
        "from": {"name": message.from_name, "address": message.from_address},
        "subject": message.subject,
        "date": _iso(message.date),
    }


def after_store(plans: list[Plan]) -> int:
    """``record_created`` or ``message_added`` for each stored, live message of a group (call it after
    ``store.write_group``, in its transaction); returns how many deliveries were queued."""
    live = [p for p in plans if p.status == DeliveryStatus.STORED and not p.archive and p.delivery_id]
    if not live:
        return 0
    hooks = enabled_webhooks()
    wanted = {e for h in hooks for e in (h.events or ())}
    live = [p for p in live if _stored_event(p) in wanted]
    if not live:
        return 0
    related = ("mailbox", "team", "assignee")
    records = Record.objects.select_related(*related).in_bulk(sorted({p.record for p in live}))
    shown = ("delivery_id", "message_id", "direction", "from_name", "from_address", "subject", "date")
    stored = Message.objects.filter(delivery_id__in=[p.delivery_id for p in live]).only(*shown)
    messages = {m.delivery_id: m for m in stored}  # not their text: a large mail is not read again
    items: list[tuple[str, int, dict[str, Any]]] = []
    for plan in live:
        record, message = records.get(plan.record), messages.get(plan.delivery_id)
        if record is None or message is None:
            continue
        items.append(
            (
                _stored_event(plan),
                record.number,
                {"record": record_json(record), "message": message_json(message)},
            )
        )
    return _queue(items, hooks)


def _stored_event(plan: Plan) -> str:
    return HookEvent.RECORD_CREATED if plan.opens else HookEvent.MESSAGE_ADDED


def status_changed(record: Record, before: str, after: str, by: str | None = None) -> int:
    """``status_changed`` from ``before`` to ``after`` (call it in the transaction that saves it)."""
    hooks = [h for h in enabled_webhooks() if HookEvent.STATUS_CHANGED in (h.events or ())]
    if not hooks:
        return 0
    payload = {"record": record_json(record), "status": {"from": before, "to": after, "by": by or None}}
    return _queue([(HookEvent.STATUS_CHANGED, record.number, payload)], hooks)
