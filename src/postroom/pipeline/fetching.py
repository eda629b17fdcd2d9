"""Worker processes that fetch their share of a cycle's mail themselves and prepare it, results in order.

With ``parallel.PreparePool`` the main process receives every raw mail from the server and copies it to a
worker: on two cores that copying cost as much as the workers saved. A source that lets several sessions
read one folder at once (IMAP) can do better: the cycle's keys are cut into small chunks, chunk ``i`` goes
to worker ``i % n``, each worker fetches its chunks on a connection of its own (read-only: EXAMINE,
BODY.PEEK), hashes, parses and writes the blobs, and sends back only the parse. The main process reads the
chunks in order, so a reply is still stored after its original, and it never holds a raw mail.

A worker answers each chunk at once (fewer wake-ups than an answer per mail) and gets a few chunks ahead
of the one being read, which bounds what waits in it. When a worker can't fetch (the server refuses a
second connection, the connection drops), the main process fetches that chunk itself and prepares it
here. When a worker dies, its chunks go to a replacement, the one being read as one order per mail: a
worker that dies on such an order names the mail that killed it, which is then prepared alone in a fresh
process (and kept as failed if it kills that too). No mail is lost to a crash of the parser.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from postroom.pipeline import parallel
from postroom.pipeline.prepare import Prepared, prepare
from postroom.pipeline.worker import Worker, WorkerDied
from postroom.sources.base import FetchedMessage, ServerSettings

log = logging.getLogger(__name__)

CHUNK = 25  # messages per order: small, so that the workers take turns often and stay busy
CHUNK_BYTES = 4 * 1024 * 1024  # ...and about this much mail (one larger mail makes a chunk of its own)
AHEAD = 3  # orders each worker holds beyond the one being read

FetchHere = Callable[[list[str]], Iterator[FetchedMessage]]

# Accounts whose server refused a worker its own connection, and when: for an hour after, this process
# fetches their mail on the importer's connection at once (a long-running `postroom run` would otherwise
# try, fail and warn every cycle).
REFUSED_FOR = 3600.0
_refused: dict[tuple[str, int, str, str], float] = {}


def _account(source: ServerSettings) -> tuple[str, int, str, str]:
    return (source.protocol, source.port, source.host.lower(), source.username)


def refused(source: ServerSettings) -> None:
    _refused[_account(source)] = time.monotonic()


def accepts_more_connections(source: ServerSettings) -> bool:
    """False for an hour after the account's server refused a worker's connection."""
    since = _refused.get(_account(source))
    if since is not None and time.monotonic() - since < REFUSED_FOR:
        return False
    _refused.pop(_account(source), None)
    return True


def chunked(
    keys: list[str],
    sizes: list[int | None],
    count: int | None = None,
    max_bytes: int | None = None,
    small_first: int = 0,
) -> list[list[str]]:
    """Consecutive slices of ``keys`` of at most ``count`` messages and about ``max_bytes`` (sizes listed);
    ``CHUNK`` and ``CHUNK_BYTES`` by default. The first ``small_first`` slices (one per worker) are a
    quarter of the size: the importer has its first results to store sooner instead of waiting idle."""
    count, max_bytes = count or CHUNK, max_bytes or CHUNK_BYTES
    chunks: list[list[str]] = []
    chunk: list[str] = []
    held = 0
    for key, size in zip(keys, sizes, strict=True):
        limit = count if len(chunks) >= small_first else max(1, count // 4)
        if chunk and (len(chunk) >= limit or held + (size or 0) > max_bytes):
            chunks.append(chunk)
            chunk, held = [], 0
        chunk.append(key)
        held += size or 0
    if chunk:
        chunks.append(chunk)
    return chunks


class _Chunk:
    """A slice of the cycle's keys, fetched and prepared by one worker as one order, or (after a worker
    died on it) one order per key, so that a mail that kills a parser is known exactly."""

    __slots__ = ("here", "keys", "next", "single", "worker")

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.next = 0  # keys[:next] are answered (or were not on the server any more)
        self.worker: Worker | None = None
        self.here = False  # fetched and prepared by the main process
        self.single = False

    def remaining(self) -> list[str]:
        return self.keys[self.next :]

    def send_to(self, worker: Worker) -> None:
        self.worker = worker
        for order in [[key] for key in self.remaining()] if self.single else [self.remaining()]:
            worker.order(order)


class FetchingPool:
    """``pool.prepared(chunks)`` yields ``(key, Prepared)`` for every key still on the server, in order."""

    def __init__(self, source: ServerSettings, blob_root: Path, workers: int, fetch_here: FetchHere) -> None:
        self.source, self.blob_root, self.fetch_here = source, blob_root, fetch_here
        self._count = max(1, workers)
        self._workers: list[Worker] = []
        self._warned = False

    def start(self) -> None:
        """Fork the workers; call it before starting threads of your own (see ``PreparePool.start``)."""
        while len(self._workers) < self._count:
            self._workers.append(Worker(self.blob_root, "fork", fetching=self.source))

    def prepared(
        self, chunk_keys: list[list[str]], on_wait: Callable[[], None] = lambda: None
    ) -> Iterator[tuple[str, Prepared]]:
        """``on_wait`` is called when the next result is not ready yet (the runner commits then)."""
        self.start()
        chunks = [_Chunk(keys) for keys in chunk_keys]
        lead = self._count * (AHEAD + 1)
        for i in range(min(lead, len(chunks))):
            self._assign(chunks[i], i % self._count)
        for i, chunk in enumerate(chunks):
            yield from self._collect(chunk, chunks[i:], on_wait)
            if i + lead < len(chunks):
                self._assign(chunks[i + lead], (i + lead) % self._count)

    def _assign(self, chunk: _Chunk, slot: int) -> None:
        worker: Worker | None = self._workers[slot]
        if worker is not None and not worker.alive:
            worker = self._replace(worker)
        if worker is None:
            chunk.here = True
            return
        try:
            chunk.send_to(worker)
        except WorkerDied:
            chunk.here = True

    def _collect(
        self, chunk: _Chunk, pending: list[_Chunk], on_wait: Callable[[], None]
    ) -> Iterator[tuple[str, Prepared]]:
        while not chunk.here and chunk.remaining():
            worker = chunk.worker
            assert worker is not None
            if not worker.ready():
                on_wait()
            try:
                answer = worker.receive_item()
            except WorkerDied:
                yield from self._after_death(worker, pending)
                continue
            if answer[0] == "failed":
                self._warn(answer[1])
                if answer[2] == "connect":
                    refused(self.source)
                chunk.here = True
                break
            yield from answer[1]
            # an order's answer leaves out keys no longer on the server: the order is done all the same
            chunk.next = chunk.next + 1 if chunk.single else len(chunk.keys)
        for fetched in self.fetch_here(chunk.remaining()):
            yield fetched.key, prepare(fetched.raw, self.blob_root)
        chunk.next = len(chunk.keys)

    def _after_death(self, dead: Worker, pending: list[_Chunk]) -> Iterator[tuple[str, Prepared]]:
        """``pending[0]`` is the chunk being read. Sent as one order, it is sent again one key per order;
        sent so already, its next key is what killed the worker: that one is prepared alone, in a fresh
        process (and kept as failed if it kills that too). Every chunk the dead worker held goes to a
        replacement, in order."""
        chunk = pending[0]
        if chunk.single:
            log.warning("a parse worker died on a message; preparing it again on its own")
            for fetched in self.fetch_here(chunk.remaining()[:1]):
                yield fetched.key, parallel.alone(fetched.raw, self.blob_root)
            chunk.next += 1
        else:
            log.warning("a parse worker died; the mail it held is prepared again, one at a time")
            chunk.single = True
        replacement = self._replace(dead)
        for held in pending:
            if held.worker is not dead or held.here or not held.remaining():
                continue
            if replacement is None:
                held.here = True
                continue
            try:
                held.send_to(replacement)
            except WorkerDied:
                held.here = True

    def _replace(self, dead: Worker) -> Worker | None:
        """A fresh worker in the dead one's place: spawned, since our threads run by now (see parallel).
        None when none can be started: its chunks are then fetched and prepared here."""
        dead.stop()
        try:
            worker = Worker(self.blob_root, parallel.RESTART_METHOD, fetching=self.source)
        except Exception as exc:
            log.warning("no parse worker could be started (%s): preparing here", exc)
            return None
        self._workers[self._workers.index(dead)] = worker
        return worker

    def _warn(self, reason: str) -> None:
        if not self._warned:
            log.warning("a parse worker could not fetch (%s); the importing process fetches instead", reason)
            self._warned = True

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def __enter__(self) -> FetchingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
