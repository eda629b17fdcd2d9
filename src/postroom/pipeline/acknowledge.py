"""Tells the server to forget stored mail — after a durability barrier, in batches, beside the import.

A key reaches ``add`` only after the commit that holds its message. Every ``every`` keys (or ``seconds``)
the batch goes to a background thread, which makes everything committed so far durable (``sync``, and on
PostgreSQL one synchronous commit) and then sends the after-import action on the session (under the lock
the fetch thread shares). The barrier waits on the disk, not the CPU: in a thread of its own it no longer
stalls the import. The ledger's ``acknowledged`` flags are set by the import thread afterwards, on its own
database connection; a flag lost in a crash only means the next cycle acknowledges again, which is
harmless for every action.
"""

from __future__ import annotations

import queue
import threading
import time

from django.db import connection

from postroom.mailboxes.models import Delivery, Mailbox
from postroom.records import durability
from postroom.sources.base import Session

_STOP = None


class Acknowledger:
    def __init__(
        self,
        mailbox: Mailbox,
        session: Session,
        lock: threading.Lock,
        every: int = 200,
        seconds: float = 5.0,
    ) -> None:
        self.mailbox, self.session, self.lock = mailbox, session, lock
        self.every, self.seconds = every, seconds
        self._by_action: dict[str, list[str]] = {}
        self._last = time.monotonic()
        self._todo: queue.Queue[dict[str, list[str]] | None] = queue.Queue(maxsize=4)
        self._done: queue.Queue[list[str]] = queue.Queue()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add(self, key: str, action: str) -> None:
        """``key``'s message is committed: the server may forget it (``action``) once it is durable."""
        self._raise_failure()
        self._by_action.setdefault(action, []).append(key)
        pending = sum(len(keys) for keys in self._by_action.values())
        if pending >= self.every or time.monotonic() - self._last > self.seconds:
            self._send()
        self._mark_done()

    def close(self) -> None:
        """Send what is left, wait until the server has it, and record it in the ledger."""
        self._send()
        if self._thread is not None:
            self._todo.put(_STOP)
            self._thread.join()
            self._thread = None
        self._mark_done()
        self._raise_failure()

    def _send(self) -> None:
        self._last = time.monotonic()
        if not self._by_action:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="postroom-ack", daemon=True)
            self._thread.start()
        batch, self._by_action = self._by_action, {}
        self._todo.put(batch)  # blocks when the server is far behind: the import waits for it

    def _run(self) -> None:
        try:
            while (batch := self._todo.get()) is not _STOP:
                if self._error is None:
                    self._acknowledge(batch)
        except BaseException as exc:  # handed to the import thread, which raises it in the cycle
            self._error = exc
            while self._todo.get() is not _STOP:  # drain, so that close() never blocks
                pass
        finally:
            connection.close()  # this thread's own connection, if the barrier opened one

    def _acknowledge(self, batch: dict[str, list[str]]) -> None:
        durability.barrier()
        for action, keys in batch.items():
            if action != "keep":
                with self.lock:
                    self.session.acknowledge(keys, action)
            self._done.put(keys)

    def _mark_done(self) -> None:
        while True:
            try:
                keys = self._done.get_nowait()
            except queue.Empty:
                return
            for start in range(0, len(keys), 500):
                Delivery.objects.filter(
                    mailbox=self.mailbox, source_key__in=keys[start : start + 500]
                ).update(acknowledged=True)

    def _raise_failure(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
