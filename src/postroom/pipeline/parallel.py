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
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from postroom.pipeline.prepare import Prepared, prepare
from postroom.records.blobs import StoredRaw
from postroom.sources.base import FetchedMessage

log = logging.getLogger(__name__)

# Larger mail is prepared here: copying it to a worker costs more than it saves, and memory twice over.
INLINE_BYTES = 8 * 1024 * 1024
MIN_MESSAGES = 20  # fewer than this in a cycle: starting a worker is not worth it


def default_workers() -> int:
    """One worker per core beside the main process (which fetches and stores), at least one."""
    if value := os.environ.get("POSTROOM_PARSE_WORKERS"):
        return max(0, int(value))
    return max(1, (os.cpu_count() or 1) - 1)


class _Pending:
    """One message on its way: a worker's future, or a large mail to prepare here when its turn comes."""

    __slots__ = ("executor", "future", "key", "raw")

    def __init__(
        self,
        key: str,
        future: Future[Prepared] | None = None,
        executor: ProcessPoolExecutor | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.key, self.future, self.executor, self.raw = key, future, executor, raw


class PreparePool:
    """``pool.prepared(fetched)`` yields ``(key, Prepared)`` in the order of ``fetched``."""

    def __init__(self, blob_root: Path, workers: int, depth: int = 32) -> None:
        self.blob_root, self.depth = blob_root, max(1, depth)
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None
        # What the workers hold, until they answer: a worker that dies loses nothing.
        self._raws: dict[str, bytes] = {}

    def start(self) -> None:
        """Start the workers now. Call it before starting threads of your own: workers are forked (no
        start-up cost, no re-import of the main module), and a fork must not copy a lock another thread
        holds. ProcessPoolExecutor forks all its workers before it starts its own threads."""
        if self._workers:
            self._pool().submit(int).result()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = _executor(self._workers)
        return self._executor

    def prepared(
        self, fetched: Iterator[FetchedMessage], on_wait: Callable[[], None] = lambda: None
    ) -> Iterator[tuple[str, Prepared]]:
        """``on_wait`` is called when the next result is not ready yet (the runner commits then)."""
        if self._workers == 0:
            for item in fetched:
                yield item.key, prepare(item.raw, self.blob_root)
            return
        pending: deque[_Pending] = deque()
        for item in fetched:
            pending.append(self._submit(item))
            while len(pending) > self.depth or (pending and _ready(pending[0])):
                yield self._result(pending.popleft(), on_wait)
        while pending:
            yield self._result(pending.popleft(), on_wait)

    def _submit(self, item: FetchedMessage) -> _Pending:
        if len(item.raw) > INLINE_BYTES:
            return _Pending(item.key, raw=item.raw)
        self._raws[item.key] = item.raw
        executor = self._pool()
        try:
            future = executor.submit(prepare, item.raw, self.blob_root)
        except BrokenProcessPool:  # a worker died since the last answer: start afresh
            self._forget(executor)
            executor = self._pool()
            future = executor.submit(prepare, item.raw, self.blob_root)
        return _Pending(item.key, future, executor)

    def _result(self, p: _Pending, on_wait: Callable[[], None]) -> tuple[str, Prepared]:
        if p.future is None:
            assert p.raw is not None
            return p.key, prepare(p.raw, self.blob_root)
        raw = self._raws.pop(p.key)
        try:
            if not p.future.done():
                on_wait()
            return p.key, p.future.result()
        except BrokenProcessPool:
            assert p.executor is not None
            self._forget(p.executor)
            return p.key, self._alone(raw)

    def _forget(self, broken: ProcessPoolExecutor) -> None:
        """A broken executor is replaced at the next submit; messages already sent to a newer one stay."""
        if self._executor is broken:
            self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def _alone(self, raw: bytes) -> Prepared:
        """A worker died while it held this message (maybe because of another one): try it on its own."""
        log.warning("a parse worker died; preparing a %d-byte message again on its own", len(raw))
        executor = _executor(1)
        try:
            return executor.submit(prepare, raw, self.blob_root).result()
        except BrokenProcessPool:
            return _killer(raw, self.blob_root)
        finally:
            executor.shutdown(wait=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _executor(workers: int) -> ProcessPoolExecutor:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context(method), initializer=_worker_started
    )


def _worker_started() -> None:
    """Ctrl-C reaches the whole process group; the main process decides when its workers stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready(p: _Pending) -> bool:
    """A worker's answer is in, or a large mail is due to be prepared here."""
    return p.future is None or p.future.done()


def _killer(raw: bytes, blob_root: Path) -> Prepared:
    """A mail that kills the parser process on its own: kept raw as failed, never parsed in this process."""
    from postroom.records import blobs

    digest = blobs.put(raw, None, blob_root)
    reason = "could not parse: the parser process died on this message (out of memory or a crash)"
    return Prepared(StoredRaw(digest, len(raw)), None, reason)


def pool_for(count: int, blob_root: Path, workers: Callable[[], int] = default_workers) -> PreparePool:
    """A pool sized for a cycle of ``count`` messages: no worker process for a handful of mails."""
    return PreparePool(blob_root, workers() if count >= MIN_MESSAGES else 0)
