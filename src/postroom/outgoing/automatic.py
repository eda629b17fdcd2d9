"""The mail an import sends by itself, queued in the transaction that stores what caused it: auto-replies
to new records, forwards of unprocessed mail; and what a bounce does to the mail it reports on."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from postroom.hooks import events as webhooks
from postroom.mail.message import ParsedMessage
from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.outgoing.compose import Outgoing, fill_template, thread_references
from postroom.outgoing.models import OutgoingMail, OutKind, OutStatus
from postroom.outgoing.notify import Event, notify
from postroom.outgoing.policy import auto_reply_refusal
from postroom.outgoing.queue import new_message_id, queue
from postroom.records import blobs
from postroom.records.lookups import MailboxContext
from postroom.records.models import Message, Record
from postroom.records.store import Plan
from postroom.threads.subject import format_reference

log = logging.getLogger(__name__)


def after_store(context: MailboxContext, plans: list[Plan]) -> None:
    """Call it after ``store.write_group``: the answers come after the mail they answer, on the record."""
    mailbox = context.mailbox
    before = {id(p): len(p.why) for p in plans}
    _bounces([p for p in plans if p.status == DeliveryStatus.STORED and p.msg is not None and p.msg.bounce])
    webhooks.after_store(plans)  # record_created / message_added, with or without smtp settings
    if mailbox.smtp_host:
        _auto_replies(context, [p for p in plans if p.opens and p.status == DeliveryStatus.STORED])
        notify([e for p in plans if (e := _event(p)) is not None])
        if mailbox.unprocessed.startswith("forward:"):
            for plan in plans:
                if plan.status == DeliveryStatus.UNPROCESSED:
                    _forward(mailbox, plan)
    for plan in plans:  # what was decided here is part of the message's explanation too
        changed = len(plan.why) != before[id(plan)]
        if plan.status == DeliveryStatus.STORED and changed and plan.delivery_id is not None:
            Message.objects.filter(delivery_id=plan.delivery_id).update(explanation=plan.why)


def _event(plan: Plan) -> Event | None:
    """What a stored live message tells the record's followers; an out-of-office answer tells nobody."""
    msg = plan.msg
    if plan.status != DeliveryStatus.STORED or plan.archive or msg is None:
        return None
    if msg.auto_submitted and not msg.bounce:
        return None
    sender = msg.from_.address if msg.from_ else ""
    shown = f"{msg.from_.name} <{sender}>" if msg.from_ and msg.from_.name else sender
    return Event(
        plan.record,
        "new_record" if plan.opens else "new_message",
        sender,
        f"from {shown}" + (" (a delivery failure report)" if msg.bounce else ""),
        msg.text,
        msg.message_id or "",
        frozenset(a.address for a in (*msg.to, *msg.cc)),
    )


# --- auto-replies ----------------------------------------------------------------------------------------


def _template_of(mailbox: Mailbox, plan: Plan) -> dict[str, str]:
    """A rule's own auto-reply wins over the mailbox's; a rule's `auto_reply: false` means none."""
    rule = plan.route.auto_reply if plan.route is not None else None
    return dict(rule) if rule is not None else dict(mailbox.auto_reply or {})


def _auto_replies(context: MailboxContext, plans: list[Plan]) -> None:
    mailbox = context.mailbox
    wanted = [(p, t) for p in plans if not p.archive and (t := _template_of(mailbox, p))]
    if not wanted:
        return
    limit = int(site_settings.get("auto_reply_limit"))
    senders = {p.msg.from_.address for p, _ in wanted if p.msg and p.msg.from_}
    since = timezone.now() - timedelta(hours=1)
    sent = Counter(
        OutgoingMail.objects.filter(kind=OutKind.AUTO_REPLY, to_address__in=senders, created__gte=since)
        .values_list("to_address", flat=True)
    )  # fmt: skip
    records = Record.objects.in_bulk([p.record for p, _ in wanted])
    for plan, template in wanted:
        msg = plan.msg
        assert msg is not None
        sender = msg.from_.address if msg.from_ else ""
        refusal = auto_reply_refusal(msg, context.own_addresses, sent[sender], limit)
        if refusal:
            plan.why["auto_reply"] = f"no auto-reply: {refusal}"
            continue
        record = records[plan.record]
        queue(mailbox, _auto_reply(mailbox, record, msg, template), OutKind.AUTO_REPLY, record)
        sent[sender] += 1
        plan.why["auto_reply"] = f"auto-reply queued to {sender}"


def _auto_reply(mailbox: Mailbox, record: Record, msg: ParsedMessage, template: dict[str, str]) -> Outgoing:
    reference = format_reference(record.pk, site_settings.reference_format())
    values = {
        "number": str(record.pk),
        "reference": reference,
        "subject": record.subject,
        "requester": record.requester_name or record.requester_address,
        "department": mailbox.from_name or mailbox.name,
    }
    subject = fill_template(template.get("subject") or "Re: {reference} {subject}", values)
    if reference not in subject:  # the reference is what threads the answer back: never without it
        subject = f"{subject} {reference}"
    message_id = new_message_id(mailbox, record.pk)
    parent = msg.message_id or ""
    return Outgoing(
        from_address=mailbox.address,
        from_name=mailbox.from_name,
        to=(record.requester_address,),
        subject=" ".join(subject.split()),
        text=fill_template(template["template"], values),
        message_id=message_id,
        in_reply_to=parent,
        references=thread_references(parent, msg.references, message_id),
        auto_submitted="auto-replied",
    )


# --- bounces ------------------------------------------------------------------------------------------


def _bounces(plans: list[Plan]) -> None:
    """A report that one of our mails failed marks that mail failed, with who refused it and why."""
    for plan in plans:
        report = getattr(plan.msg, "delivery_report", None)
        if report is None or not report.original_message_id:
            continue
        failed = {r.address: " ".join(x for x in (r.status, r.diagnostic) if x) for r in report.recipients
                  if r.action == "failed" or r.status.startswith("5")}  # fmt: skip
        mail = OutgoingMail.objects.filter(message_id=report.original_message_id).first()
        if mail is None:
            continue
        if failed:
            mail.status = OutStatus.FAILED
            mail.refused = {**mail.refused, **failed}
            mail.last_error = "bounced: " + "; ".join(f"{a}: {why}" for a, why in failed.items())
            mail.save(update_fields=["status", "refused", "last_error", "updated"])
            plan.why["bounce"] = f"delivery failure of {mail.message_id}: {mail.last_error[9:]}"
        else:
            plan.why["bounce"] = f"delivery report on {mail.message_id} (not a failure)"


# --- forwarding unprocessed mail -------------------------------------------------------------------------


def _forward(mailbox: Mailbox, plan: Plan) -> None:
    target = mailbox.unprocessed.partition(":")[2]
    raw = blobs.read(plan.raw.sha256)
    msg = plan.msg
    subject = f"Fwd: {msg.subject}" if msg is not None else "Fwd: unprocessed mail"
    mail = Outgoing(
        from_address=mailbox.address,
        from_name=mailbox.from_name,
        to=(target,),
        subject=subject,
        text=f"Postroom did not import the attached mail from mailbox {mailbox.name}: {plan.reason}\n",
        message_id=new_message_id(mailbox, None),
        auto_submitted="auto-generated",
        attached_mail=raw,
    )
    assert plan.delivery_id is not None  # written by store.write_group before this runs
    delivery = Delivery.objects.get(pk=plan.delivery_id)
    queue(mailbox, mail, OutKind.FORWARD, delivery=delivery)


def forwards_sent(mailbox: Mailbox, keys: list[str]) -> set[str]:
    """Which of these unprocessed ledger keys have had their forward sent (the server may forget them)."""
    if not keys:
        return set()
    sent = OutgoingMail.objects.filter(
        mailbox=mailbox, kind=OutKind.FORWARD, status=OutStatus.SENT, delivery__source_key__in=keys
    )
    return set(sent.values_list("delivery__source_key", flat=True))
