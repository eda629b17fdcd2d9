"""Webhook tests, and the real HTTP receiver they POST to (also used by the end-to-end test)."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verifies(self, secret: str, max_age: float = 300) -> bool:
        """What the README tells a receiver to do: HMAC-SHA256 of "<timestamp>.<body>", a fresh timestamp."""
        timestamp = self.headers["X-Postroom-Timestamp"]
        expected = hmac.new(
            secret.encode(), timestamp.encode() + b"." + self.body, hashlib.sha256
        ).hexdigest()
        signature = self.headers["X-Postroom-Signature"]
        return (
            hmac.compare_digest(f"sha256={expected}", signature)
            and abs(time.time() - int(timestamp)) < max_age
        )


class Receiver:
    """An HTTP server on 127.0.0.1 in a thread that keeps every request; ``status`` is what it answers.
    ``stop()`` closes the port (connections are refused); ``start()`` opens it again on the same port.
    With ``cert`` (certificate and key files) it speaks HTTPS."""

    def __init__(self, cert: tuple[Path, Path] | None = None) -> None:
        self.cert = cert
        self.requests: list[Received] = []
        self.status = 204
        self.body = b""
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{'https' if self.cert else 'http'}://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    status, answer = receiver.status, receiver.body
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        if self.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.cert)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, status: int, body: bytes = b"") -> None:
        with self._lock:
            self.status, self.body = status, body
