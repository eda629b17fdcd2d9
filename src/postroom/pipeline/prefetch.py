"""Runs a source's fetch in a background thread so that network waits overlap parsing and storing."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class Prefetcher(Iterator[T]):
    """Iterates ``source`` in a thread, holding at most ``depth`` items (and, given ``size``, about
    ``max_bytes``) ahead of the consumer, so that memory does not grow with the size of the mailbox.

    ``lock`` is held while the thread advances the source; the consumer takes the same lock to send other
    commands (acknowledgements) on the same connection between two fetch batches.
    """

    def __init__(
        self,
        source: Iterator[T],
        lock: threading.Lock,
        depth: int = 150,
        on_wait: Callable[[], None] = lambda: None,
        size: Callable[[T], int] = lambda item: 0,
        max_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._source = source
        self._size, self._max_bytes = size, max_bytes
        self._held = 0  # bytes in the queue
        self._room = threading.Condition()
        self._on_wait = on_wait  # called when the consumer would block (the runner commits then)
        self._lock = lock
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="postroom-fetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    item = next(self._source, _DONE)
                if item is _DONE:
                    break
                self._wait_for_room()
                with self._room:
                    self._held += self._size(item)  # type: ignore[arg-type]
                self._put(item)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            self._put(exc)
            return
        self._put(_DONE)

    def _wait_for_room(self) -> None:
        """Hold back while the queue holds more than ``max_bytes`` (one item always fits)."""
        with self._room:
            while self._held > self._max_bytes and not self._stop.is_set():
                self._room.wait(timeout=0.2)

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __next__(self) -> T:
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            self._on_wait()
            item = self._queue.get()
        if item is _DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        with self._room:
            self._held -= self._size(item)  # type: ignore[arg-type]
            self._room.notify()
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
