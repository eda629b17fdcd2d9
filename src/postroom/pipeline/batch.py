"""Messages of one cycle stored in one open transaction and committed together.

One commit per message costs more than storing it. A batch commits every ``max_messages`` messages or
``max_seconds``, and whenever the pipeline would wait (a slow server or parser never holds the database
locked). Each message still has its raw bytes, ledger entry and record in the same transaction (the store
writes them in a savepoint of their own, so one that fails to store is kept as failed without undoing the
others); the server is told to forget a message only after the commit that holds it (``on_commit``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import transaction

T = TypeVar("T")


class Batch(Generic[T]):
    def __init__(
        self,
        on_commit: Callable[[str, T], None],
        max_messages: int = 200,
        max_seconds: float = 0.5,
        idle_after: float = 0.05,
    ) -> None:
        self.on_commit = on_commit
        self.max_messages, self.max_seconds, self.idle_after = max_messages, max_seconds, idle_after
        self._atomic: transaction.Atomic | None = None
        self._started = 0.0
        self._done: list[tuple[str, T]] = []

    def open(self) -> None:
        """Make sure a transaction is open: call it before storing a message."""
        if self._atomic is None:
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            self._started = time.monotonic()

    def stored(self, key: str, outcome: T) -> None:
        """A message was stored in the open transaction; its ``on_commit`` runs after the commit."""
        self._done.append((key, outcome))
        if len(self._done) >= self.max_messages or time.monotonic() - self._started >= self.max_seconds:
            self.commit()

    def commit_if_idle(self) -> None:
        """The pipeline is about to wait: commit what is open, unless it was opened a moment ago."""
        if self._atomic is not None and time.monotonic() - self._started >= self.idle_after:
            self.commit()

    def commit(self) -> None:
        if self._atomic is None:
            return
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)
        done, self._done = self._done, []
        for key, outcome in done:
            self.on_commit(key, outcome)

    def rollback(self) -> None:
        """Undo an open batch after an error (a no-op when everything was committed)."""
        if self._atomic is None:
            return
        atomic, self._atomic = self._atomic, None
        self._done = []
        exc = sys.exc_info()
        if exc[0] is None:
            exc = (RuntimeError, RuntimeError("batch abandoned"), None)
        atomic.__exit__(*exc)
