"""A loopback TCP proxy that drops a connection after N bytes from the server, to test failures mid-fetch."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class CutProxy:
    """Forwards ``host:port`` to ``target``; cuts both sides once ``cut_after_bytes`` went to the client.

    ``cut_after_bytes`` is read when a connection is accepted, so a test may change it between connections
    (``None`` forwards without limit); ``limit_for``, given, decides per connection instead (its number,
    from 1 -> the limit; 0 closes it at once, as a server refusing more connections does). ``listen_host``
    may be another loopback address (127.0.0.2) to reach the server under a name its certificate does not
    carry.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        cut_after_bytes: int | None = None,
        listen_host: str = "127.0.0.1",
        limit_for: Callable[[int], int | None] | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.cut_after_bytes = cut_after_bytes
        self.limit_for = limit_for
        self.refused = 0
        self.connections = 0
        self.cuts = 0
        self._listener = socket.create_server((listen_host, 0))
        self.host = listen_host
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener.settimeout(0.05)  # accept() wakes up now and then to notice stop()
        self._thread = threading.Thread(target=self._accept_loop, name="cutproxy", daemon=True)

    def start(self) -> CutProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
        self._thread.join(timeout=5)

    def __enter__(self) -> CutProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed by stop()
            client.settimeout(None)
            number = self.connections + self.refused + 1
            limit = self.limit_for(number) if self.limit_for else self.cut_after_bytes
            if limit == 0:
                with self._lock:
                    self.refused += 1
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self.connections += 1
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, limit), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        """Copy one way; when ``limit`` bytes went through, cut both sockets (the other pump ends too)."""
        sent = 0
        try:
            while limit is None or sent < limit:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if limit is not None:
                    chunk = chunk[: limit - sent]
                sink.sendall(chunk)
                sent += len(chunk)
            else:
                with self._lock:
                    self.cuts += 1
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)
                with self._lock:
                    self._open.discard(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
