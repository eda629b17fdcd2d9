"""The dry run of `postroom rules test`: what importing one mail would do, and why — writing nothing.

It takes the import's own path (parse, duplicate check, threading, filters and rules, sender policy,
assignment) with the same code, so what it says is what an import does; blobs are not written, the
rotation is not advanced, and the whole run sits in a transaction that is rolled back.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from postroom.mail.parse import parse_message
from postroom.mailboxes.models import DeliveryStatus, Mailbox
from postroom.pipeline.group import GroupDecider, Item
from postroom.pipeline.prepare import Prepared
from postroom.records import lookups
from postroom.records.assignment import Assigner
from postroom.records.blobs import StoredRaw
from postroom.records.lookups import MailboxContext
from postroom.records.models import Record


def explain(mailbox: Mailbox, raw: bytes, context: MailboxContext | None = None) -> dict[str, Any]:
    with transaction.atomic():
        try:
            return _explain(mailbox, raw, context or lookups.context_for(mailbox))
        finally:
            transaction.set_rollback(True)


def _explain(mailbox: Mailbox, raw: bytes, context: MailboxContext) -> dict[str, Any]:
    stored = StoredRaw(hashlib.sha256(raw).hexdigest(), len(raw))
    try:
        msg = parse_message(raw)
    except Exception as exc:  # as the import does: kept raw as failed
        return {"outcome": "failed", "reason": f"could not parse: {type(exc).__name__}: {exc}"}
    item = Item("dry-run", Prepared(stored, msg))
    decider = GroupDecider(context, [item])
    decider.explain_all = True
    plan = decider.plan(item)
    out: dict[str, Any] = {
        "subject": msg.subject,
        "from": msg.from_.address if msg.from_ else None,
        "message_id": msg.message_id,
    }
    d = plan.route
    if d is not None:
        out["checks"] = d.checks
    if plan.status == DeliveryStatus.DUPLICATE:
        return out | {"outcome": "duplicate", "reason": plan.reason, "record": plan.record}
    if plan.status == DeliveryStatus.UNPROCESSED:
        assert d is not None
        action = mailbox.unprocessed
        return out | {
            "outcome": "unprocessed",
            "reason": d.reason,
            "then": _fate(action),
            "rule": d.rule or None,
        }
    assert d is not None
    out["thread"] = plan.why.get("thread", "")
    out["reason"] = d.reason
    if not plan.opens:
        existing = Record.objects.filter(number=plan.record).values_list("subject", flat=True).first()
        entry = d.note_type or "message"
        return out | {
            "outcome": "added",
            "record": plan.record,
            "record_subject": existing,
            "entry_type": entry,
            "rule": d.rule or None,
        }
    assignee, assign_why = Assigner(dry_run=True).pick(d.assign)
    review = list(d.review) + ([assign_why] if d.assign is not None and assignee is None else [])
    users = get_user_model().objects
    user = users.filter(pk=assignee).values_list("username", flat=True).first() if assignee else None
    sender = d.sender
    return out | {
        "outcome": "new",
        "record": {
            "kind": d.kind,
            "customer": d.customer or None,
            "contact": sender.address if sender and (sender.contact or d.new_contact) else None,
            "new_contact": d.new_contact,
            "requester": d.owner or (sender.address if sender else None),
            "category": d.category or None,
            "team": d.team or None,
            "assignee": user,
            "assign_reason": assign_why or None,
            "priority": d.priority or "normal",
            "tags": list(d.tags),
            "fields": d.fields,
            "needs_review": bool(review),
            "review_reason": "; ".join(review) or None,
            "rule": d.rule or None,
        },
    }


def _fate(action: str) -> str:
    if action == "keep":
        return "kept on the server (unprocessed: keep)"
    if action == "delete":
        return "deleted from the server once its fate is recorded (unprocessed: delete)"
    return f"moved to {action.partition(':')[2]} once its fate is recorded (unprocessed: {action})"
