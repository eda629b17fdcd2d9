"""How a cycle's mail is fetched and prepared: workers fetching over IMAP, or raw mail handed to them.

The runner asks ``Preparing.page(todo)`` for each page of the listing and gets a stream of ``(key,
Prepared)`` in fetch order; which pool serves it, and when its workers are forked, is decided here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from postroom.pipeline import fetching
from postroom.pipeline.fetching import FetchingPool, chunked
from postroom.pipeline.parallel import MIN_MESSAGES, PreparePool, default_workers
from postroom.pipeline.prefetch import Prefetcher
from postroom.pipeline.prepare import Prepared
from postroom.sources import registry
from postroom.sources.base import FetchedMessage, RemoteMessage, ServerSettings, Session

Stream = Callable[[Callable[[], None]], Iterator[tuple[str, Prepared]]]


class Preparing:
    """How a cycle's mail is fetched and prepared: by parse workers on connections of their own when the
    source allows it (IMAP; one pool for the whole cycle), else fetched here and handed to workers
    (POP3); a handful of mails is prepared here without any. Workers are forked, so each pool starts
    before any thread of ours does (at a page's start none runs: the previous page joined its own)."""

    def __init__(self, source: ServerSettings, session: Session, lock: threading.Lock) -> None:
        self.source, self.session, self.lock = source, session, lock
        self.blob_root = Path(settings.BLOB_DIR)
        self.workers = default_workers()
        self.fetching = (
            self.workers > 0
            and registry.get(source.protocol).parallel_sessions
            and fetching.accepts_more_connections(source)
        )
        self._pool: FetchingPool | None = None

    def start_early(self, expected: int) -> None:
        if self.fetching and expected >= MIN_MESSAGES:
            self._fetching_pool()

    def _fetching_pool(self) -> FetchingPool:
        if self._pool is None:
            pool = FetchingPool(
                self.source, self.blob_root, self.workers, _fetch_here(self.session, self.lock)
            )
            pool.start()
            self._pool = pool
        return self._pool

    @contextmanager
    def page(self, todo: list[RemoteMessage]) -> Iterator[Stream]:
        if self.fetching and (len(todo) >= MIN_MESSAGES or (self._pool is not None and todo)):
            shared = self._fetching_pool()
            chunks = chunked([r.key for r in todo], [r.size for r in todo], small_first=self.workers)
            del todo  # the listing is not kept through the page
            yield lambda on_wait: shared.prepared(chunks, on_wait)
            return
        keys = [r.key for r in todo]
        workers = self.workers if len(todo) >= MIN_MESSAGES else 0
        del todo
        session, lock = self.session, self.lock

        def fetched_here(pool: PreparePool, on_wait: Callable[[], None]) -> Iterator[tuple[str, Prepared]]:
            fetcher = Prefetcher(session.fetch(keys), lock, on_wait=on_wait, size=lambda m: len(m.raw))
            try:
                yield from pool.prepared(fetcher, on_wait)
            finally:
                fetcher.close()

        with PreparePool(self.blob_root, workers) as here:
            here.start()
            yield lambda on_wait: fetched_here(here, on_wait)

    def __enter__(self) -> Preparing:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.close()


def _fetch_here(session: Session, lock: threading.Lock) -> Callable[[list[str]], Iterator[FetchedMessage]]:
    """Fetching on the cycle's own session, taking turns with the acknowledgement thread."""

    def fetch(keys: list[str]) -> Iterator[FetchedMessage]:
        if not keys:
            return
        messages = session.fetch(keys)
        while True:
            with lock:
                item = next(messages, None)
            if item is None:
                return
            yield item

    return fetch
