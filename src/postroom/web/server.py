"""The HTTP server `postroom run` starts beside the import service: waitress (pure Python, threads) serving
Django's WSGI application, on 127.0.0.1:8000 by default — nothing else to install or start."""

from __future__ import annotations

import logging
import threading
from typing import Any

from postroom.core.errors import ConfigError

log = logging.getLogger("postroom.web")

DEFAULT_LISTEN = "127.0.0.1:8000"


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen must be HOST:PORT, like {DEFAULT_LISTEN}; got {text!r}")
    return host.strip("[]"), int(port)


class WebServer:
    """``start()`` listens (raising ConfigError when the address is taken) and serves in a thread."""

    def __init__(self, listen: str) -> None:
        self.host, self.port = parse_listen(listen)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from django.core.wsgi import get_wsgi_application
        from waitress.server import create_server

        try:
            self._server = create_server(get_wsgi_application(), host=self.host, port=self.port, threads=8)
        except OSError as exc:
            raise ConfigError(f"can't listen on {self.host}:{self.port}: {exc.strerror}") from exc
        self._thread = threading.Thread(target=self._server.run, name="postroom-web", daemon=True)
        self._thread.start()
        log.info("serving http://%s:%d/ (the API at /api/, its OpenAPI at /api/openapi.json)", self.host,
                 self.port)  # fmt: skip

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def first_admin() -> str | None:
    """On the first start, an admin to log in with: its password is printed once, and stored hashed."""
    import secrets

    from django.contrib.auth import get_user_model

    from postroom.people.models import Profile, Role

    users = get_user_model().objects
    if users.filter(is_superuser=True).exists() or Profile.objects.filter(role=Role.ADMIN).exists():
        return None
    password = secrets.token_urlsafe(12)
    name = "admin" if not users.filter(username="admin").exists() else f"admin-{secrets.token_hex(3)}"
    user = users.create_user(name, "", password)
    Profile.objects.create(user=user, role=Role.ADMIN)
    return f"{name} / {password}"
