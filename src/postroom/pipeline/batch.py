"""Messages of one cycle stored in groups inside one open transaction, committed together.

One commit per message costs more than storing it, and so does a round trip per row: messages are stored
in groups (a few multi-row statements for up to ``group_size`` mails) and committed every
``max_messages`` messages or ``max_seconds``. Whenever the pipeline would wait, the group in hand is
stored, and the transaction committed unless it was opened a moment ago, so a slow server or parser never
holds the database locked. Each message has its raw bytes, ledger entry and record in the same
transaction; the server is told to forget a message only after the commit that holds it (``on_commit``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import transaction

I = TypeVar("I")  # noqa: E741 - an item to store
O = TypeVar("O")  # noqa: E741 - its outcome


class Batch(Generic[I, O]):
    def __init__(
        self,
        store: Callable[[list[I]], list[O]],
        on_commit: Callable[[I, O], None],
        group_size: int = 100,
        max_messages: int = 200,
        max_seconds: float = 0.5,
        idle_after: float = 0.05,
    ) -> None:
        self.store, self.on_commit = store, on_commit
        self.group_size, self.max_messages = group_size, max_messages
        self.max_seconds, self.idle_after = max_seconds, idle_after
        self._atomic: transaction.Atomic | None = None
        self._started = 0.0
        self._group: list[I] = []
        self._done: list[tuple[I, O]] = []

    def add(self, item: I) -> None:
        self._group.append(item)
        if len(self._group) >= self.group_size:
            self._flush()

    def _flush(self) -> None:
        """Store the group in hand in the open transaction (opening one)."""
        if not self._group:
            return
        if self._atomic is None:
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            self._started = time.monotonic()
        group, self._group = self._group, []
        self._done += zip(group, self.store(group), strict=True)
        if len(self._done) >= self.max_messages or time.monotonic() - self._started >= self.max_seconds:
            self.commit()

    def commit_if_idle(self) -> None:
        """The pipeline is about to wait: store what is in hand, and commit unless just opened."""
        self._flush()
        if self._atomic is not None and time.monotonic() - self._started >= self.idle_after:
            self.commit()

    def commit(self) -> None:
        self._flush()
        if self._atomic is None:
            return
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)
        done, self._done = self._done, []
        for item, outcome in done:
            self.on_commit(item, outcome)

    def rollback(self) -> None:
        """Undo an open batch after an error (a no-op when everything was committed)."""
        self._group = []
        if self._atomic is None:
            return
        atomic, self._atomic = self._atomic, None
        self._done = []
        kind, error, trace = sys.exc_info()
        if error is None:
            kind, error = RuntimeError, RuntimeError("batch abandoned")
        atomic.__exit__(kind, error, trace)
