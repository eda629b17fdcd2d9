"""The long-running service loop: each enabled mailbox's cycle on its interval, with backoff on failure."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from postroom.mailboxes.models import Mailbox
from postroom.pipeline.runner import CycleResult, Hooks, run_cycle

log = logging.getLogger(__name__)

MAX_BACKOFF = 30 * 60


def next_delay(mailbox: Mailbox, result: CycleResult) -> float:
    """The interval after a good cycle; after failures, doubling from twice the interval up to 30 minutes
    (or the interval itself, when that is longer: a failing mailbox is never asked more often than a
    healthy one)."""
    if not result.error:
        return float(mailbox.interval)
    cap = max(MAX_BACKOFF, mailbox.interval)
    return float(min(mailbox.interval * 2 ** min(mailbox.consecutive_failures, 10), cap))


def serve(stop: threading.Event, on_cycle: Callable[[CycleResult], None] = lambda r: None) -> None:
    """Run until ``stop`` is set. A stop lets the message in hand finish; nothing is left half imported."""
    due: dict[int, float] = {}
    while not stop.is_set():
        mailboxes = list(Mailbox.objects.filter(enabled=True))  # re-read: `config load` may have changed them
        now = time.monotonic()
        for mailbox in mailboxes:
            if stop.is_set():
                break
            if due.get(mailbox.pk, 0.0) > now:
                continue
            result = run_cycle(mailbox, Hooks(stop=stop))
            on_cycle(result)
            mailbox.refresh_from_db()
            delay = next_delay(mailbox, result)
            if result.error:
                log.warning("%s: retrying in %.0f s", mailbox.name, delay)
            due[mailbox.pk] = time.monotonic() + delay
        if not stop.is_set():
            _send_outbox(stop)
        if not stop.is_set():
            _send_webhooks(stop)
        wake = min((due.get(m.pk, 0.0) for m in mailboxes), default=time.monotonic() + 5.0)
        stop.wait(timeout=max(0.5, min(wake - time.monotonic(), 5.0)))


def _send_outbox(stop: threading.Event) -> None:
    """What the outbox has due: replies, auto-replies, forwards (retried with their own backoff)."""
    from postroom.outgoing.outbox import send_due

    try:
        summary = send_due(stop=stop.is_set)
    except Exception:  # the database went away: the next round tries again; the service keeps running
        log.exception("outbox: sending failed")
        return
    if summary.sent or summary.failed or summary.retrying:
        log.info("outbox: sent %d, retrying %d, failed %d", summary.sent, summary.retrying, summary.failed)


def _send_webhooks(stop: threading.Event) -> None:
    """What the webhooks have due: signed POSTs of record events (retried with their own backoff)."""
    from postroom.hooks.sender import deliver_due

    try:
        summary = deliver_due(stop=stop.is_set)
    except Exception:  # the database went away: the next round tries again; the service keeps running
        log.exception("webhooks: delivering failed")
        return
    if summary.sent or summary.failed or summary.retrying:
        log.info("webhooks: sent %d, retrying %d, failed %d", summary.sent, summary.retrying, summary.failed)
