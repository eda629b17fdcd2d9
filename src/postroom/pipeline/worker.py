"""One parse worker process and its socket: raw mails go in, Prepared results come back in the same order.

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


class WorkerDied(Exception):
    """The worker process ended without answering (killed, out of memory, a crash in a C extension)."""


class Worker:
    def __init__(self, blob_root: Path, method: str = "fork") -> None:
        ctx: Any = multiprocessing.get_context(method)  # a fork or spawn context: both have Process
        self._conn, theirs = ctx.Pipe(duplex=True)
        self._process = ctx.Process(target=serve, args=(theirs, blob_root), name="postroom-parse")
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


def serve(conn: Connection, blob_root: Path) -> None:
    """The worker's loop. A reader thread takes every mail off the socket as it comes, so the main process
    never blocks sending while this one blocks answering; an empty message ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the main process decides
    # Parsing takes whatever CPU is left; the main process and the database server, which wait on each
    # other statement by statement, get a core as soon as they need one.
    with contextlib.suppress(OSError):
        os.nice(10)
    # Nothing here writes to the terminal: a fork copies the lock of stderr as another thread (a progress
    # bar) held it, and a library's log line would then wait on it forever. Outcomes carry the defects.
    logging.disable(logging.CRITICAL)
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
