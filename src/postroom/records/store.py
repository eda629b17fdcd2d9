"""The only writer of records: stores a group of decided messages — ledger entries, records, messages,
attachments, participants — with a few multi-row statements inside the caller's transaction.

The raw bytes and attachments are in the blob store already (``pipeline/prepare.py``); what to do with each
message was decided before (``pipeline/group.py``). A group of one is the single-message case.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from postroom.mail.message import ParsedMessage
from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.people.directory import Directory
from postroom.records.assignment import Assigner
from postroom.records.blobs import StoredRaw
from postroom.records.inserts import fetch, insert, nul_free, table
from postroom.records.links import Links
from postroom.records.models import Attachment, Direction, Message, Participant, Record
from postroom.routing.engine import RouteDecision


@dataclass(slots=True)
class Plan:
    """What to store for one message. ``record`` names the record it goes on: a number (> 0) of a stored
    record, or a placeholder (< 0) for a record that a plan of the same group opens (``opens``)."""

    key: str
    raw: StoredRaw
    status: str  # a DeliveryStatus: stored, duplicate or failed
    reason: str = ""  # for duplicate and failed: why
    msg: ParsedMessage | None = None
    kind: str = ""  # the kind of record it opens
    record: int = 0
    opens: bool = False
    named_reference: int | None = None
    why: dict[str, Any] = field(default_factory=dict)  # shown by `records show` ("because": lines)
    archive: bool = False
    participants: tuple[str, ...] = ()
    delivery_id: int | None = None  # reprocessing: the failed ledger entry this plan replaces
    route: RouteDecision | None = None  # what the rules made of it (stored plans)


def open_records(mailbox: Mailbox, plans: list[Plan], directory: Directory | None = None) -> dict[int, int]:
    """Insert the records the plans open and count the messages added to stored ones; returns
    placeholder -> number. Record numbers come from the database, so concurrent imports never share one."""
    counts = Counter(p.record for p in plans if p.status == DeliveryStatus.STORED)
    opening = [p for p in plans if p.opens]
    links, assigner = Links(directory or Directory()), Assigner()
    rows = [_routed(_record_row(mailbox, p, counts[p.record]), p, links, assigner) for p in opening]
    assigner.finish()
    numbers = dict(zip((p.record for p in opening), insert(Record, rows), strict=True))
    _count_added(sorted((n, added) for n, added in counts.items() if n > 0))
    return numbers


def _count_added(added: list[tuple[int, int]]) -> None:
    """message_count += n for each stored record, in one statement (CASE works on every database)."""
    if not added:
        return
    cases = " ".join(["WHEN %s THEN %s"] * len(added))
    fetch(
        f"UPDATE {table(Record)} SET message_count = message_count + CASE number {cases} END, "
        f"updated = %s WHERE number IN ({', '.join(['%s'] * len(added))})",
        [
            *(v for pair in added for v in pair),
            _prep(Record, "updated", timezone.now()),
            *(number for number, _ in added),
        ],
    )


def write_group(mailbox: Mailbox, plans: list[Plan]) -> None:
    """Ledger entries for every plan, then messages, attachments and participants of the stored ones.
    Every ``record`` must be a number by now (see ``open_records``)."""
    for plan in plans:
        if plan.delivery_id is not None:
            _replace_delivery(plan)
    fresh = [p for p in plans if p.delivery_id is None]
    for plan, pk in zip(fresh, insert(Delivery, [_delivery_row(mailbox, p) for p in fresh]), strict=True):
        plan.delivery_id = pk
    stored = [p for p in plans if p.status == DeliveryStatus.STORED]
    ids = insert(Message, [_message_row(mailbox, p) for p in stored])
    insert(Attachment, [_attachment_row(pk, a) for p, pk in zip(stored, ids, strict=True) for a in _atts(p)])
    people = sorted({(p.record, a) for p in stored for a in p.participants})
    insert(Participant, [{"record": r, "address": a} for r, a in people], ignore_conflicts=True)


def _replace_delivery(plan: Plan) -> None:
    fetch(
        f"UPDATE {table(Delivery)} SET status = %s, reason = %s, updated = %s WHERE id = %s",
        [plan.status, nul_free(plan.reason), _prep(Delivery, "updated", timezone.now()), plan.delivery_id],
    )


def _prep(model: type[Any], name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_save(value, connections[DEFAULT_DB_ALIAS])


def _atts(plan: Plan) -> tuple[Any, ...]:
    return plan.msg.attachments if plan.msg else ()


def _record_row(mailbox: Mailbox, plan: Plan, messages: int) -> dict[str, Any]:
    msg = plan.msg
    assert msg is not None
    return {
        "kind": plan.kind,
        "subject": msg.subject,
        "requester_name": msg.from_.name if msg.from_ else "",
        "requester_address": msg.from_.address if msg.from_ else "",
        "mailbox": mailbox.pk,
        "message_count": messages,
        "archive": plan.archive,
        "named_reference": plan.named_reference,
    }


def _routed(row: dict[str, Any], plan: Plan, links: Links, assigner: Assigner) -> dict[str, Any]:
    """The record's routing columns: customer, contact, team, assignee and the rest the rules set."""
    d = plan.route
    if d is None:
        return row
    if d.owner and (owner := links.user(d.owner)) is not None:
        row["requester_name"], row["requester_address"] = owner
    assignee, why = assigner.pick(d.assign)
    if why:
        plan.why["assign"] = why
    review = list(d.review)
    if d.assign is not None and assignee is None:
        review.append(why)
    row.update(
        customer=links.account(d.customer) if d.customer else None,
        contact=links.contact(d.sender, d.new_contact) if d.sender else None,
        category=d.category,
        team=links.team(d.team) if d.team else None,
        assignee=assignee,
        priority=d.priority or "normal",
        tags=list(d.tags),
        fields=dict(d.fields),
        needs_review=bool(review),
        review_reason="; ".join(review),
        rule=d.rule,
    )
    return row


def _delivery_row(mailbox: Mailbox, plan: Plan) -> dict[str, Any]:
    return {
        "mailbox": mailbox.pk,
        "source_key": plan.key,
        "status": plan.status,
        "reason": plan.reason,
        "raw_sha256": plan.raw.sha256,
        "raw_size": plan.raw.size,
    }


def _message_row(mailbox: Mailbox, plan: Plan) -> dict[str, Any]:
    msg = plan.msg
    assert msg is not None and plan.record > 0
    return {
        "record": plan.record,
        "mailbox": mailbox.pk,
        "delivery": plan.delivery_id,
        "direction": Direction.INBOUND,
        "message_id": msg.message_id or "",
        "in_reply_to": msg.in_reply_to or "",
        "references": "\n".join(msg.references),
        "subject": msg.subject,
        "from_name": msg.from_.name if msg.from_ else "",
        "from_address": msg.from_.address if msg.from_ else "",
        "to": [a.as_dict() for a in msg.to],
        "cc": [a.as_dict() for a in msg.cc],
        "reply_to": [a.as_dict() for a in msg.reply_to],
        "date": msg.date,
        "text": msg.text,
        "html": msg.html or "",
        "raw_sha256": plan.raw.sha256,
        "raw_size": plan.raw.size,
        "body_sha256": msg.body_sha256,
        "auto_submitted": msg.auto_submitted,
        "bounce": msg.bounce,
        "archive": plan.archive,
        "defects": list(msg.defects),
        "explanation": plan.why,
        "entry_type": _entry_type(plan),
        "rule": plan.route.rule if plan.route else "",
    }


def _entry_type(plan: Plan) -> str:
    """A bounce is a delivery failure on its record; otherwise the rule's `note_type` for an addition."""
    if plan.msg is not None and plan.msg.bounce:
        return "delivery_failure"
    return plan.route.note_type if plan.route and not plan.opens else ""


def _attachment_row(message: int, att: Any) -> dict[str, Any]:
    return {
        "message": message,
        "filename": att.filename,
        "content_type": att.content_type,
        "size": att.size,
        "sha256": att.sha256,
        "inline": att.inline,
        "content_id": att.content_id or "",
        "subject": att.subject or "",
    }
