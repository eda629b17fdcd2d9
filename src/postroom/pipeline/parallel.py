"""Prepares fetched mail (hash, parse, blobs) in worker processes, handing results back in fetch order.

Parsing is CPU work that Python threads can't share; a worker process parses the next messages while the
main process stores the previous ones, so a cycle uses two cores. Order is kept (a reply fetched after its
original is stored after it). A very large mail is prepared in the main process instead, so it is never
copied to a worker; a worker that dies (out of memory, a crash in a C extension) costs no mail: the
messages it held are prepared again one at a time, and one that kills a worker on its own is kept as
failed with the reason.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from postroom.pipeline.prepare import Prepared, prepare
from postroom.pipeline.worker import Worker, WorkerDied
from postroom.records.blobs import StoredRaw
from postroom.sources.base import FetchedMessage

log = logging.getLogger(__name__)

# Larger mail is prepared here: copying it to a worker costs more than it saves, and memory twice over.
INLINE_BYTES = 8 * 1024 * 1024
MIN_MESSAGES = 20  # fewer than this in a cycle: starting a worker is not worth it
# How a worker is started again after one died: by then the fetch and acknowledgement threads run, and a
# fork could copy a lock one of them holds (OpenSSL's, say), so a fresh interpreter is started instead.
RESTART_METHOD = "spawn"


def default_workers() -> int:
    """One worker per core, up to four (beyond that the main process, which stores, is the bottleneck).
    The main process mostly waits on the database and the workers, so it needs no core of its own."""
    if value := os.environ.get("POSTROOM_PARSE_WORKERS"):
        return max(0, int(value))
    return max(1, min(os.cpu_count() or 1, 4))


class _Pending:
    """One message on its way: sent to a worker, or a large mail to prepare here when its turn comes."""

    __slots__ = ("key", "raw", "worker")

    def __init__(self, key: str, raw: bytes, worker: Worker | None = None) -> None:
        self.key, self.raw, self.worker = key, raw, worker

    def ready(self) -> bool:
        return self.worker is None or self.worker.ready()


class PreparePool:
    """``pool.prepared(fetched)`` yields ``(key, Prepared)`` in the order of ``fetched``."""

    def __init__(
        self, blob_root: Path, workers: int, depth: int = 128, depth_bytes: int = 4 * 1024 * 1024
    ) -> None:
        # How far the workers may run ahead of the store: enough to keep them busy while the main process
        # commits, bounded in bytes so memory does not grow with the size of the mail.
        self.blob_root, self.depth, self.depth_bytes = blob_root, max(1, depth), depth_bytes
        self._count = workers
        self._workers: list[Worker] = []
        self._next = 0
        self._in_flight = 0  # bytes sent to workers and not answered yet

    def start(self) -> None:
        """Start the workers. Call it before starting threads of your own: they are forked (no start-up
        cost, no re-import of the main module), and a fork must not copy a lock another thread holds."""
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        while len(self._workers) < self._count:
            self._workers.append(Worker(self.blob_root, method))

    def prepared(
        self, fetched: Iterator[FetchedMessage], on_wait: Callable[[], None] = lambda: None
    ) -> Iterator[tuple[str, Prepared]]:
        """``on_wait`` is called when the next result is not ready yet (the runner commits then)."""
        if self._count == 0:
            for item in fetched:
                yield item.key, prepare(item.raw, self.blob_root)
            return
        self.start()
        pending: deque[_Pending] = deque()
        for item in fetched:
            pending.append(self._send(item))
            while pending and (self._full(pending) or pending[0].ready()):
                yield self._result(pending.popleft(), on_wait)
        while pending:
            yield self._result(pending.popleft(), on_wait)

    def _full(self, pending: deque[_Pending]) -> bool:
        return len(pending) > self.depth or self._in_flight > self.depth_bytes

    def _send(self, item: FetchedMessage) -> _Pending:
        if len(item.raw) > INLINE_BYTES:
            return _Pending(item.key, item.raw)
        for _ in range(len(self._workers) + 1):
            self._next = (self._next + 1) % len(self._workers)
            worker = self._workers[self._next]
            if not worker.alive:  # replaced after it died
                worker = self._workers[self._next] = Worker(self.blob_root, RESTART_METHOD)
            try:
                worker.send(item.raw)
            except WorkerDied:
                continue
            self._in_flight += len(item.raw)
            return _Pending(item.key, item.raw, worker)
        raise WorkerDied("no parse worker could be started")

    def _result(self, p: _Pending, on_wait: Callable[[], None]) -> tuple[str, Prepared]:
        if p.worker is None:
            return p.key, prepare(p.raw, self.blob_root)
        self._in_flight -= len(p.raw)
        if not p.worker.ready():
            on_wait()
        try:
            return p.key, p.worker.receive()
        except WorkerDied:
            return p.key, alone(p.raw, self.blob_root)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def alone(raw: bytes, blob_root: Path) -> Prepared:
    """A worker died while it held this message (maybe because of another one): try it on its own, in a
    fresh process, never here (it may be what kills a parser)."""
    log.warning("a parse worker died; preparing a %d-byte message again on its own", len(raw))
    worker = Worker(blob_root, RESTART_METHOD)
    try:
        worker.send(raw)
        return worker.receive()
    except WorkerDied:
        return _killer(raw, blob_root)
    finally:
        worker.stop()


def _killer(raw: bytes, blob_root: Path) -> Prepared:
    """A mail that kills the parser process on its own: kept raw as failed, never parsed in this process."""
    from postroom.records import blobs

    digest = blobs.put(raw, None, blob_root)
    reason = "could not parse: the parser process died on this message (out of memory or a crash)"
    return Prepared(StoredRaw(digest, len(raw)), None, reason)
