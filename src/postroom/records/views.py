"""Read-side shapes of records and messages (the JSON of `records list|show`, later the API)."""

from __future__ import annotations

from typing import Any

from postroom.records.models import Message, Record


def _record_summary(r: Record, mailbox_name: str | None) -> dict[str, Any]:
    return {
        "number": r.number,
        "kind": r.kind,
        "status": r.status,
        "subject": r.subject,
        "requester": {"name": r.requester_name, "address": r.requester_address},
        "mailbox": mailbox_name,
        "created": r.created.isoformat(),
        "message_count": r.message_count,
        "archive": r.archive,
    }


def list_records(mailbox: str | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Newest first. Served from the record table alone (the count is stored), so it stays fast at scale."""
    qs = Record.objects.select_related("mailbox").order_by("-number")
    if mailbox:
        qs = qs.filter(mailbox__name=mailbox)
    return [_record_summary(r, r.mailbox.name if r.mailbox else None) for r in qs[offset : offset + limit]]


def _routing(r: Record) -> dict[str, Any]:
    """What the rules made of the record (`records show`)."""
    return {
        "customer": r.customer.name if r.customer else None,
        "contact": r.contact.email if r.contact else None,
        "category": r.category or None,
        "team": r.team.name if r.team else None,
        "assignee": r.assignee.username if r.assignee else None,
        "priority": r.priority,
        "tags": list(r.tags or ()),
        "fields": dict(r.fields or {}),
        "needs_review": r.needs_review,
        "review_reason": r.review_reason or None,
        "rule": r.rule or None,
    }


def _message(m: Message) -> dict[str, Any]:
    why = m.explanation or {}
    return {
        "direction": m.direction,
        "entry_type": m.entry_type or None,
        "rule": m.rule or None,
        "message_id": m.message_id or None,
        "from": {"name": m.from_name, "address": m.from_address},
        "subject": m.subject,
        "date": m.date.isoformat() if m.date else None,
        "text": m.text,
        "attachments": [
            {"filename": a.filename, "size": a.size, "sha256": a.sha256} for a in m.attachments.all()
        ],
        "why": "; ".join(v for k, v in why.items() if v and isinstance(v, str)),
        "because": list(why.get("because") or ()),
        **_sending(m),
    }


def _sending(m: Message) -> dict[str, Any]:
    """For a message we sent: where it is in the outbox (queued, sent, failed and why)."""
    out = getattr(m, "outgoing", None) if m.direction == "out" else None
    if out is None:
        return {}
    return {"outbox": {"status": out.status, "to": out.recipients, "error": out.last_error or None,
                       "refused": out.refused or None}}  # fmt: skip


def show_record(number: int) -> dict[str, Any] | None:
    related = ("mailbox", "customer", "contact", "team", "assignee")
    r = Record.objects.select_related(*related).filter(number=number).first()
    if r is None:
        return None
    data = _record_summary(r, r.mailbox.name if r.mailbox else None) | _routing(r)
    messages = r.messages.prefetch_related("attachments").select_related("outgoing").order_by("id")
    data["messages"] = [_message(m) for m in messages]
    data["followers"] = sorted(r.followers.values_list("user__username", flat=True))
    data["named_reference"] = r.named_reference
    return data
