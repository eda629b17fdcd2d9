"""Decides, for a group of prepared messages in fetch order, what each becomes: failed, duplicate, a new
record, or an addition to a record — exactly as if they came one by one.

The database is asked once per group (stored duplicates, the records named in reply headers); what
earlier messages of the same group decided is kept here, so a reply fetched right after its original joins
the record that original opens, though neither is written yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from postroom.mail.message import Address, ParsedMessage
from postroom.mailboxes.models import DeliveryStatus
from postroom.pipeline.prepare import Prepared
from postroom.records import lookups
from postroom.records.lookups import MailboxContext, StoredCopy
from postroom.records.store import Plan
from postroom.routing.engine import RouteDecision, route
from postroom.threads.resolve import ThreadLookups, ThreadMatch, header_ids, resolve_thread


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    prepared: Prepared
    archive: bool = False
    delivery_id: int | None = None  # reprocessing a failed ledger entry
    release: bool = False  # a held mail an admin let through: the flood limit does not apply
    # An admin's choice from the quarantine: 0 = a new record whatever it names; N = add it to record N.
    place: int | None = None


def _same_key(msg: ParsedMessage, raw_sha256: str) -> tuple[str, str]:
    """Same body and same Message-ID, or for mail without one, the same raw bytes."""
    same = "id:" + msg.message_id if msg.message_id else "raw:" + raw_sha256
    return (msg.body_sha256, same)


def _placed(place: int) -> ThreadMatch:
    if place == 0:
        return ThreadMatch(None, "new", "imported as a new record by an admin, from the quarantine")
    return ThreadMatch(place, "chosen", f"added to record {place} by an admin, from the quarantine")


def _bounced_id(msg: ParsedMessage) -> str:
    report = getattr(msg, "delivery_report", None) if msg.bounce else None
    return (report.original_message_id or "") if report is not None else ""


def _participants(msg: ParsedMessage, own: frozenset[str]) -> tuple[str, ...]:
    people: list[Address] = [*msg.to, *msg.cc, *([msg.from_] if msg.from_ else [])]
    return tuple(sorted({a.address for a in people if a.address and a.address not in own}))


class GroupDecider:
    def __init__(self, context: MailboxContext, items: list[Item]) -> None:
        self.context = context
        mailbox = context.mailbox
        msgs = [i.prepared.message for i in items if i.prepared.message is not None]
        self._stored = lookups.stored_copies(mailbox, {m.body_sha256 for m in msgs})
        ids = {i for m in msgs for i in header_ids(m)} | {i for m in msgs if (i := _bounced_id(m))}
        self._by_id = lookups.records_by_message_id(mailbox, ids)
        self._senders = [m.from_.address for m in msgs if m.from_ and m.from_.address]
        self._opened: Counter[str] | None = None  # records opened lately per sender, read when needed
        context.directory.start_group(m.from_.address for m in msgs if m.from_)
        # What earlier plans of this group decided:
        self._planned: dict[tuple[str, str], Plan] = {}  # duplicate key -> the plan that stores it
        self._group_ids: dict[str, int] = {}  # Message-ID -> record (or placeholder)
        self._joined: dict[int, set[str]] = {}  # record -> addresses this group adds to it
        self._placeholders = 0
        self._on_placeholder: dict[int, ThreadMatch] = {}  # id(plan) -> its header match on a new record
        self.lookups = ThreadLookups(self._record_for_ids, self._participants_of, context.staff_addresses)

    def plans(self, items: list[Item]) -> list[Plan]:
        return [self.plan(item) for item in items]

    def plan(self, item: Item) -> Plan:
        prepared, msg = item.prepared, item.prepared.message
        if msg is None:
            return Plan(
                item.key, prepared.raw, DeliveryStatus.FAILED, prepared.error, delivery_id=item.delivery_id
            )
        same = _same_key(msg, prepared.raw.sha256)
        if (duplicate := self._duplicate(same)) is not None:
            reason, record = duplicate
            return Plan(
                item.key, prepared.raw, DeliveryStatus.DUPLICATE, reason,
                record=record, delivery_id=item.delivery_id,
            )  # fmt: skip
        match = resolve_thread(
            msg,
            self.lookups,
            self.context.reference_format,
            self.context.mailbox.subject_reference_from_anyone,
        )
        if item.place is not None:
            match = _placed(item.place)
        elif msg.bounce and match.record is None:
            match = self._bounce_match(msg)
            if match.record is None:
                status, reason = DeliveryStatus.UNPROCESSED, match.reason
                return Plan(item.key, prepared.raw, status, reason, msg=msg, delivery_id=item.delivery_id)
        decision = self.route(msg, match.record)
        if decision.action == "unprocessed":
            status, reason = DeliveryStatus.UNPROCESSED, decision.reason
            return Plan(
                item.key, prepared.raw, status, reason, msg=msg, delivery_id=item.delivery_id, route=decision
            )
        chosen = item.release or item.place is not None  # an admin decided: no flood limit
        if match.record is None and not item.archive and not chosen and (flood := self._flooding(msg)):
            return Plan(
                item.key, prepared.raw, DeliveryStatus.HELD, flood, msg=msg, delivery_id=item.delivery_id
            )
        plan = Plan(
            item.key,
            prepared.raw,
            DeliveryStatus.STORED,
            msg=msg,
            kind=decision.kind,
            record=match.record if match.record is not None else self._new_placeholder(),
            opens=match.record is None,
            named_reference=match.named_reference,
            why={"route": decision.reason, "thread": match.reason, "because": decision.because},
            archive=item.archive,
            participants=_participants(msg, self.context.own_addresses),
            delivery_id=item.delivery_id,
            route=decision,
        )
        self._remember(plan, same, match)
        return plan

    explain_all = False  # a dry run sets it: every condition of every filter and rule is tested and shown

    def route(self, msg: ParsedMessage, joins: int | None) -> RouteDecision:
        directory = self.context.directory
        sender = directory.sender(msg.from_.address, msg.from_.name) if msg.from_ else directory.sender("")
        return route(
            msg,
            self.context.rules,
            sender,
            joins=joins,
            in_team=directory.in_team,
            explain_all=self.explain_all,
        )

    def _bounce_match(self, msg: ParsedMessage) -> ThreadMatch:
        """A delivery report never opens a record: it joins the record of the mail it reports on."""
        original = _bounced_id(msg)
        number = self._record_for_ids([original]) if original else None
        if number is None:
            why = f"names {original}, which is on no record" if original else "names no message we know"
            return ThreadMatch(None, "new", f"a delivery status notification that {why}: not imported")
        return ThreadMatch(number, "header", f"a delivery report about {original}, on record {number}")

    def _flooding(self, msg: ParsedMessage) -> str:
        """Why this sender may open no more records for now ("" when they may): more than the limit in the
        window, counting the records this group opens too. Our own users and addresses are never held."""
        sender = msg.from_.address if msg.from_ else ""
        if not sender or sender in self.context.own_addresses or sender in self.context.staff_addresses():
            return ""
        if self._opened is None:
            since = timezone.now() - timedelta(minutes=self.context.flood_minutes)
            self._opened = Counter(lookups.records_opened_since(self._senders, since))
        if self._opened[sender] >= self.context.flood_records:
            return (
                f"{sender} opened {self._opened[sender]} records in the last "
                f"{self.context.flood_minutes} minutes (limit {self.context.flood_records})"
            )
        self._opened[sender] += 1
        return ""

    def settle(self, plans: list[Plan], numbers: dict[int, int]) -> None:
        """Put the numbers of the records just opened in place of their placeholders."""
        for plan in plans:
            if plan.record < 0:
                plan.record = numbers[plan.record]
                if (match := self._on_placeholder.get(id(plan))) is not None:
                    plan.why["thread"] = match.on_record(plan.record).reason

    def _duplicate(self, same: tuple[str, str]) -> tuple[str, int] | None:
        stored: StoredCopy | None = self._stored.get(same)
        if stored is not None:
            return f"same as message {stored.message}", stored.record
        earlier = self._planned.get(same)
        if earlier is not None:
            return f"same as the mail under {earlier.key}, imported just before it", earlier.record
        return None

    def _new_placeholder(self) -> int:
        self._placeholders += 1
        return -self._placeholders

    def _remember(self, plan: Plan, same: tuple[str, str], match: ThreadMatch) -> None:
        self._planned.setdefault(same, plan)
        if match.record is not None and match.record < 0:
            self._on_placeholder[id(plan)] = match
        if plan.msg is not None and plan.msg.message_id:
            self._group_ids.setdefault(plan.msg.message_id, plan.record)
        self._joined.setdefault(plan.record, set()).update(plan.participants)

    def _record_for_ids(self, ids: list[str]) -> int | None:
        for mid in ids:  # newest ancestor first; this group's own copies win, as this mailbox's do
            if mid in self._group_ids:
                return self._group_ids[mid]
            if mid in self._by_id:
                return self._by_id[mid]
        return None

    def _participants_of(self, number: int) -> set[str] | None:
        stored = lookups.participants_of(number)
        if stored is None:
            return None
        return stored | self._joined.get(number, set())
