"""One import cycle of one mailbox: list, fetch new mail, ingest each message, acknowledge after commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from postroom.mailboxes.models import Cycle, Delivery, DeliveryStatus, Mailbox
from postroom.mailboxes.server import server_settings
from postroom.outgoing.automatic import forwards_sent
from postroom.pipeline.acknowledge import Acknowledger
from postroom.pipeline.backfill import BackfillPlan, plan_backfill
from postroom.pipeline.batch import Batch
from postroom.pipeline.group import Item
from postroom.pipeline.ingest import Outcome, ingest_group
from postroom.pipeline.preparing import Preparing, Stream
from postroom.records import durability, lookups
from postroom.sources.base import ServerSettings, Session
from postroom.sources.registry import open_session

log = logging.getLogger(__name__)

ACK_EVERY = 200  # messages stored before the server is told to forget them (one durability barrier each)
ACK_SECONDS = 5.0


@dataclass
class CycleResult:
    mailbox: str
    fetched: int = 0
    new_records: int = 0
    added: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    unprocessed: int = 0
    held: int = 0  # kept for review: the sender opened too many records too fast
    waiting: int = 0
    error: str = ""
    interrupted: bool = False

    def count(self, outcome: Outcome) -> None:
        self.fetched += 1
        if outcome.status == "new":
            self.new_records += 1
        elif outcome.status == "added":
            self.added += 1
        elif outcome.status in {"duplicate", "known"}:
            self.duplicates += 1
        elif outcome.status == "unprocessed":
            self.unprocessed += 1
        elif outcome.status == "held":
            self.held += 1
        else:
            self.failed += 1


@dataclass
class Hooks:
    """Progress callbacks for the command line; all optional."""

    on_total: Callable[[int], None] = lambda n: None
    on_message: Callable[[Outcome], None] = lambda o: None
    stop: threading.Event = field(default_factory=threading.Event)


def _ledger(mailbox: Mailbox, keys: list[str]) -> dict[str, tuple[str, bool]]:
    found: dict[str, tuple[str, bool]] = {}
    for start in range(0, len(keys), 500):
        rows = Delivery.objects.filter(mailbox=mailbox, source_key__in=keys[start : start + 500])
        for key, status, acked in rows.values_list("source_key", "status", "acknowledged"):
            found[key] = (status, acked)
    return found


def run_cycle(mailbox: Mailbox, hooks: Hooks | None = None) -> CycleResult:
    """Import what is new in one mailbox. A failure (server down, wrong password) is recorded on the mailbox
    and in ``result.error``; it never raises, so one mailbox never holds up the others."""
    hooks = hooks or Hooks()
    result = CycleResult(mailbox.name)
    cycle = Cycle.objects.create(mailbox=mailbox, started=timezone.now())
    try:
        source = server_settings(mailbox)
        with open_session(source) as session, durability.relaxed_commits():
            _import(mailbox, source, session, hooks, result)
    except Exception as exc:
        result.error = str(exc) or type(exc).__name__
        log.warning("%s: cycle failed: %s", mailbox.name, result.error)
        _finish(mailbox, cycle, result, ok=False)
        return result
    _finish(mailbox, cycle, result, ok=True)
    return result


def _import(
    mailbox: Mailbox, source: ServerSettings, session: Session, hooks: Hooks, result: CycleResult
) -> None:
    """The cycle, one page of the listing at a time (see ``Session.list_pages``): what is held per
    message (the listing, the ledger, the keys handed to the workers) is one page's, whatever the size of
    the mailbox."""
    now = timezone.now()
    context = lookups.context_for(mailbox)
    lock = threading.Lock()  # the session's: fetching and the acknowledgement thread take turns on it
    new = listed = 0
    with Preparing(source, session, lock) as preparing:
        if mailbox.after_import == "delete" or mailbox.after_import.startswith("move:"):
            # What is in the folder is what is new (imported mail leaves it): the workers can log in
            # while this process lists the folder.
            preparing.start_early(session.message_count)
        for remote in session.list_pages():
            listed += len(remote)
            ledger = _ledger(mailbox, [r.key for r in remote])
            fresh = [r for r in remote if r.key not in ledger]
            plan = plan_backfill(mailbox, fresh, now)
            result.skipped += _skip(mailbox, plan)
            todo = [r for r in fresh if r.key not in plan.skip]
            # Every message left to import is backfill on the first cycle and none on later ones
            # (plan.archive is exactly todo): one flag instead of the set.
            archive = bool(plan.archive)
            assert not archive or len(plan.archive) == len(todo)
            del remote, fresh, plan
            new += len(todo)
            hooks.on_total(new + session.message_count - listed)  # what is not listed yet may all be new
            with preparing.page(todo) as stream:
                del todo
                _import_prepared(mailbox, session, lock, hooks, result, ledger, archive, context, stream)
            if result.interrupted:
                break
    result.waiting = new - result.fetched + session.message_count - listed


def _import_prepared(
    mailbox: Mailbox,
    session: Session,
    lock: threading.Lock,
    hooks: Hooks,
    result: CycleResult,
    ledger: dict[str, tuple[str, bool]],
    archive: bool,
    context: lookups.MailboxContext,
    stream: Stream,
) -> None:
    acks = Acknowledger(mailbox, session, lock, every=ACK_EVERY, seconds=ACK_SECONDS)
    _retry_acknowledgements(mailbox, ledger, acks)

    def committed(item: Item, outcome: Outcome) -> None:
        result.count(outcome)
        hooks.on_message(outcome)
        if outcome.status == "unprocessed":
            if not mailbox.unprocessed.startswith("forward:"):  # forwarded: once the forward is sent
                acks.add(item.key, mailbox.unprocessed)
        elif outcome.safe_to_acknowledge:
            acks.add(item.key, mailbox.after_import)
        elif mailbox.on_failure != "keep":
            acks.add(item.key, mailbox.on_failure)

    batch: Batch[Item, Outcome] = Batch(lambda items: ingest_group(context, items), committed)
    prepared_mail = stream(batch.commit_if_idle)
    try:
        for key, prepared in prepared_mail:
            batch.add(Item(key, prepared, archive=archive))
            if hooks.stop.is_set():
                result.interrupted = True
                break
        batch.commit()
    finally:
        batch.rollback()  # only when something above raised: that batch is imported by the next cycle
        prepared_mail.close()  # type: ignore[attr-defined]
        acks.close()


def _retry_acknowledgements(
    mailbox: Mailbox, ledger: dict[str, tuple[str, bool]], acks: Acknowledger
) -> None:
    """Stored mail still on the server: tell the server now (it is not imported again).

    That happens after a crash between commit and acknowledgement, or when the server did not keep an
    acknowledgement (a POP3 session whose QUIT never arrived undoes its deletions). With delete or move,
    anything stored that is still listed is acknowledged again; with keep or mark_seen, only what was
    never acknowledged.
    """
    removes = mailbox.after_import == "delete" or mailbox.after_import.startswith("move:")
    forwarded = forwards_sent(mailbox, [k for k, (s, _) in ledger.items() if s == DeliveryStatus.UNPROCESSED])
    for key, (status, acked) in ledger.items():
        if status == DeliveryStatus.SKIPPED:
            continue
        if status == DeliveryStatus.UNPROCESSED:
            if mailbox.unprocessed.startswith("forward:"):
                if key in forwarded:
                    acks.add(key, mailbox.after_import)
            elif not acked or mailbox.unprocessed != "keep":
                acks.add(key, mailbox.unprocessed)
            continue
        if status == DeliveryStatus.FAILED:
            if not acked and mailbox.on_failure != "keep":
                acks.add(key, mailbox.on_failure)
        elif removes or not acked:
            acks.add(key, mailbox.after_import)


def _skip(mailbox: Mailbox, plan: BackfillPlan) -> int:
    Delivery.objects.bulk_create(
        [
            Delivery(mailbox=mailbox, source_key=key, status=DeliveryStatus.SKIPPED, reason=plan.reason)
            for key in plan.skip
        ],
        ignore_conflicts=True,
    )
    return len(plan.skip)


def _finish(mailbox: Mailbox, cycle: Cycle, result: CycleResult, ok: bool) -> None:
    now = timezone.now()
    for name in (
        "fetched",
        "new_records",
        "added",
        "duplicates",
        "failed",
        "skipped",
        "unprocessed",
        "held",
        "error",
    ):
        setattr(cycle, name, getattr(result, name))
    cycle.finished = now
    cycle.save()
    mailbox.last_cycle_at = now
    if ok:
        mailbox.last_success_at = now
        mailbox.consecutive_failures = 0
        mailbox.last_error = ""
        mailbox.waiting_on_server = result.waiting
        if not result.interrupted:
            mailbox.backfill_done = True
    else:
        mailbox.consecutive_failures += 1
        mailbox.last_error = result.error
    mailbox.save(
        update_fields=[
            "last_cycle_at", "last_success_at", "consecutive_failures", "last_error",
            "waiting_on_server", "backfill_done", "updated",
        ]
    )  # fmt: skip
