"""One parse worker process and its socket, in one of two modes.

- Given raw mails (``send``), it answers one Prepared each, in the same order.
- Given a source (``fetching=ServerSettings``), it takes orders of keys (``order``), fetches them on a
  connection of its own and answers each order with ``("done", [(key, Prepared), ...])`` (keys no longer
  on the server left out), or ``("failed", reason, "connect" | "fetch")`` when it could not connect or
  fetch (the main process fetches that order itself). The raw mail then never passes through the main
  process at all.

Lean on purpose: a raw mail crosses as bytes (no pickling), a result as one pickle. ProcessPoolExecutor
was tried first; its manager thread hands a worker only one call at a time beyond the one it runs, and
refilling needed the main process's GIL, so the workers sat idle while the main process stored.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from postroom.pipeline.prepare import Prepared, prepare
from postroom.sources.base import ServerSettings, Session


class WorkerDied(Exception):
    """The worker process ended without answering (killed, out of memory, a crash in a C extension)."""


class Worker:
    def __init__(self, blob_root: Path, method: str = "fork", fetching: ServerSettings | None = None) -> None:
        ctx: Any = multiprocessing.get_context(method)  # a fork or spawn context: both have Process
        self._conn, theirs = ctx.Pipe(duplex=True)
        target, args = (serve, (theirs, blob_root)) if fetching is None else (
            serve_fetching, (theirs, blob_root, fetching))  # fmt: skip
        self._process = ctx.Process(target=target, args=args, name="postroom-parse")
        self._process.daemon = True
        self._process.start()
        theirs.close()
        self.alive = True

    def send(self, raw: bytes) -> None:
        try:
            self._conn.send_bytes(raw)
        except OSError as exc:  # the worker is gone; receive() says so for each message it held
            self.alive = False
            raise WorkerDied(str(exc)) from exc

    def order(self, keys: list[str]) -> None:
        """Fetch and prepare these keys (a worker started with ``fetching``)."""
        self.send(pickle.dumps(keys, protocol=pickle.HIGHEST_PROTOCOL))

    def ready(self) -> bool:
        """The next answer is here (or the worker died: receive() will say so at once)."""
        try:
            return self._conn.poll()
        except OSError:
            return True

    def receive(self) -> Prepared:
        try:
            status, value = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self.alive = False
            raise WorkerDied(f"exit code {self._process.exitcode}") from exc
        if status == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def receive_item(self) -> tuple[Any, ...]:
        """The next answer of a fetching worker: ("done", [(key, Prepared), ...]) or ("failed", why, step)."""
        try:
            item: tuple[Any, ...] = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self.alive = False
            raise WorkerDied(f"exit code {self._process.exitcode}") from exc
        if item[0] == "error":
            raise item[1]
        return item

    def stop(self) -> None:
        if self.alive:
            with contextlib.suppress(OSError):
                self._conn.send_bytes(b"")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()
        self.alive = False


def _settle() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the main process decides
    # Parsing takes whatever CPU is left; the main process and the database server, which wait on each
    # other statement by statement, get a core as soon as they need one.
    with contextlib.suppress(OSError):
        os.nice(10)
    # Nothing here writes to the terminal: a fork copies the lock of stderr as another thread (a progress
    # bar) held it, and a library's log line would then wait on it forever. Outcomes carry the defects.
    logging.disable(logging.CRITICAL)


def _reader(conn: Connection) -> queue.Queue[bytes]:
    """Every frame taken off the socket as it comes, so the main process never blocks sending while this
    one blocks answering; an empty frame (or a closed socket) ends the queue."""
    inbox: queue.Queue[bytes] = queue.Queue()

    def read() -> None:
        while True:
            try:
                raw = conn.recv_bytes()
            except (EOFError, OSError):
                raw = b""
            inbox.put(raw)
            if not raw:
                return

    threading.Thread(target=read, daemon=True).start()
    return inbox


def serve(conn: Connection, blob_root: Path) -> None:
    """The raw-mail worker's loop: one Prepared (or an error) per mail, in order."""
    _settle()
    inbox = _reader(conn)
    while raw := inbox.get():
        try:
            answer: tuple[str, object] = ("ok", prepare(raw, blob_root))
        except Exception as exc:  # a disk error: the main process raises it, the cycle retries later
            answer = ("error", exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        conn.send_bytes(data)


def serve_fetching(conn: Connection, blob_root: Path, source: ServerSettings) -> None:
    """The fetching worker's loop. Answers go out through a writer thread: while the main process reads
    another worker's answers, this one keeps preparing its next orders instead of waiting on a full socket
    (the main process gives it only a few orders ahead, which bounds what waits here)."""
    _settle()
    inbox = _reader(conn)
    outbox: queue.Queue[bytes | None] = queue.Queue()

    def write() -> None:
        while (data := outbox.get()) is not None:
            try:
                conn.send_bytes(data)
            except OSError:  # the main process is gone: nothing to answer
                return

    writer = threading.Thread(target=write, daemon=True)
    writer.start()

    def answer(*item: object) -> None:
        try:
            data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        outbox.put(data)

    session: Session | None = None
    with contextlib.suppress(Exception):  # at once, while the importer lists; else again at the first order
        session = _open(source)
    try:
        while frame := inbox.get():
            keys: list[str] = pickle.loads(frame)
            if session is None:
                try:
                    session = _open(source)
                except Exception as exc:  # refused (a server allowing one connection): never got in
                    answer("failed", f"{type(exc).__name__}: {exc}", "connect")
                    continue
            try:
                done: list[tuple[str, Prepared]] = []
                for fetched in session.fetch(keys):
                    try:
                        done.append((fetched.key, prepare(fetched.raw, blob_root)))
                    except Exception as exc:  # the blob store's disk: the cycle fails, as in the main process
                        raise _DiskError(exc) from exc
                    del fetched
            except _DiskError as exc:
                answer("error", exc.args[0])
                continue
            except Exception as exc:  # cut off: the main process fetches the rest itself
                answer("failed", f"{type(exc).__name__}: {exc}", "fetch")
                _close(session)
                session = None
                continue
            answer("done", done)  # one answer per order: fewer wake-ups on both sides than one per mail
            del done
    finally:
        _close(session)
        outbox.put(None)
        writer.join()


class _DiskError(Exception):
    """prepare() raised: not a fetch failure (prepare never raises for bad mail)."""


def _open(source: ServerSettings) -> Session:
    from postroom.sources.registry import open_session

    session = open_session(source, readonly=True)  # EXAMINE: this connection never changes the folder
    session.__enter__()
    return session


def _close(session: Session | None) -> None:
    if session is not None:
        with contextlib.suppress(Exception):
            session.__exit__(None, None, None)
