"""A real SMTP server on loopback for tests (aiosmtpd in a thread): test-CA TLS, AUTH, scripted answers."""

from __future__ import annotations

import asyncio
import atexit
import email
import email.policy
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.dovecot_setup import make_certificates

if TYPE_CHECKING:
    from tests.support.dovecot import DovecotServer

Security = Literal["none", "starttls", "ssl"]
Answer = Literal["accept", "tempfail", "reject"]

# What the server says when a test scripts a refusal; tests may match on these texts.
TEMPFAIL_REPLY = "451 4.3.0 Test SMTP server: temporary failure, try again later"
REJECT_REPLY = "550 5.1.1 Test SMTP server: message rejected"
RCPT_TEMPFAIL_REPLY = "451 4.3.0 <{address}>: test SMTP server: recipient temporarily refused"
RCPT_REJECT_REPLY = "550 5.1.1 <{address}>: test SMTP server: recipient rejected"
AUTH_REQUIRED_REPLY = "530 5.7.0 Authentication required"
GREETING_NAME = "smtp.postroom.test"

# aiosmtpd logs a deprecation warning of its own making at every successful AUTH; keep test logs readable.
logging.getLogger("mail.log").addFilter(lambda record: "login_data is deprecated" not in record.getMessage())


@dataclass(frozen=True)
class Received:
    """One message the server accepted (250 after DATA), as the client sent it."""

    mail_from: str
    rcpt_tos: list[str]  # the recipients accepted at RCPT time, in order
    data: bytes  # the message after dot-unstuffing, line endings as sent
    message: EmailMessage = field(repr=False)  # ``data`` parsed with ``policy=email.policy.default``
    tls: bool = False  # the transaction ran over TLS (implicit or after STARTTLS)
    login: str | None = None  # who authenticated, when someone did

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", "")).strip()


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class SmtpServer:
    """An aiosmtpd server on ``host:port`` (127.0.0.1, a free port kept across ``stop()``/``start()``).

    ``security`` is the listener's: ``"none"``, ``"starttls"`` (offered, and required before MAIL unless
    ``require_starttls=False``) or ``"ssl"`` (implicit TLS). The certificate is signed by a CA made for this
    server (``ca_file``), for 127.0.0.1 and localhost, so clients verify it for real.

    With ``username``/``password`` every transaction needs AUTH (PLAIN or LOGIN) before MAIL. AUTH is
    offered over TLS only, unless ``auth_require_tls=False`` (a login on a ``security: none`` loopback
    server); implicit TLS counts as TLS.

    What the server answers is switchable at any time: ``answer`` for every message after DATA, and
    ``reject_recipients`` / ``tempfail_recipients`` (addresses, any case) at RCPT time. ``attempts`` counts
    the DATA of each Message-ID whatever the answer; a transaction whose recipients were all refused never
    sends its content, so it shows only in ``rcpt_attempts`` (RCPT commands per address, refused ones too).

    ``deliver`` runs (in a worker thread) for each message before the server says 250; when it raises, the
    client gets a 451 and the error is kept in ``errors`` (the ``smtp_server`` fixture fails on them).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        *,
        auth_require_tls: bool = True,
        require_starttls: bool = True,
        deliver: Callable[[Received], None] | None = None,
        reject_recipients: Iterable[str] = (),
        tempfail_recipients: Iterable[str] = (),
        data_size_limit: int | None = 32 * 1024 * 1024,
    ) -> None:
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"security must be none, starttls or ssl, not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.security: Security = security
        self.username = username
        self.password = password
        self.auth_require_tls = auth_require_tls
        self.require_starttls = require_starttls
        self.deliver = deliver
        self.answer: Answer = "accept"
        self.reject_recipients: set[str] = set(reject_recipients)
        self.tempfail_recipients: set[str] = set(tempfail_recipients)
        self.data_size_limit = data_size_limit
        self.port: int = 0  # chosen by the kernel on the first start(), then kept
        self.workdir: Path | None = None
        self.ca_file = Path()  # set by the first start()
        self.cert_file = Path()
        self.key_file = Path()
        self.errors: list[BaseException] = []  # exceptions the deliver callback raised
        self._received: list[Received] = []
        self._attempts: Counter[str] = Counter()
        self._rcpt_attempts: Counter[str] = Counter()
        self._refusals: list[str] = []
        self._changed = threading.Condition()
        self._controller: _Controller | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> SmtpServer:
        """Listen (again, on the same port after ``stop()``); returns when the server answers."""
        if self._controller is not None:
            return self
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="postroom-smtp-"))
            atexit.register(self.close)  # a crashed run must not leave the folder behind
            self.ca_file, self.cert_file, self.key_file = make_certificates(self.workdir)
        sock = self._bind()
        controller = _Controller(self, sock, ready_timeout=timeout, **self._smtp_options())
        try:
            controller.start()
        except BaseException as exc:
            _abandon(controller)
            sock.close()
            raise RuntimeError(
                f"the test SMTP server did not start on {self.host}:{self.port}: {exc}"
            ) from exc
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and drop open sessions; a client connecting now gets connection refused."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def close(self) -> None:
        """``stop()`` and remove the certificates."""
        atexit.unregister(self.close)
        self.stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart despite TIME_WAIT
            sock.bind((self.host, self.port))
            sock.listen(100)
        except OSError as exc:
            sock.close()
            raise RuntimeError(
                f"the test SMTP server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    def _smtp_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "server_hostname": GREETING_NAME,
            "data_size_limit": self.data_size_limit,
            # Whether AUTH is needed is checked in handle_MAIL: aiosmtpd's auth_required warns when TLS is
            # not required, and it does not count implicit TLS as TLS.
            "auth_require_tls": self.auth_require_tls and self.security != "ssl",
            "authenticator": _authenticate,
        }
        if self.security == "ssl":
            options["ssl_context"] = self._tls_context()
        elif self.security == "starttls":
            options["tls_context"] = self._tls_context()
            options["require_starttls"] = self.require_starttls
        return options

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    # -- what a test configures Postroom with --------------------------------------------------------

    @property
    def ports(self) -> dict[str, int]:
        """``{security: port}``, shaped like ``DovecotServer.ports``."""
        return {self.security: self.port}

    @property
    def url(self) -> str:
        scheme = {"none": "smtp", "starttls": "smtp+starttls", "ssl": "smtps"}[self.security]
        return f"{scheme}://{self.host}:{self.port}"

    def config(self) -> dict[str, Any]:
        """The ``smtp:`` section of a Postroom config (the mailbox's ``smtp_*`` fields) for this server."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": self.username or "",
            "password": self.password or "",
            "ca_file": str(self.ca_file),
        }

    # -- what the server saw -------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        """The messages accepted so far, oldest first (a copy)."""
        with self._changed:
            return list(self._received)

    @property
    def attempts(self) -> Counter[str]:
        """How often each Message-ID reached DATA, whatever the answer (a copy; ``""``: no Message-ID)."""
        with self._changed:
            return Counter(self._attempts)

    @property
    def rcpt_attempts(self) -> Counter[str]:
        """How often each recipient address (lower case) was given in RCPT TO, refused or not (a copy)."""
        with self._changed:
            return Counter(self._rcpt_attempts)

    @property
    def refusals(self) -> list[str]:
        """Every refusal the server answered, as ``"RCPT <address>: reply"`` or ``"DATA <id>: reply"``."""
        with self._changed:
            return list(self._refusals)

    def clear(self) -> None:
        """Forget what was received, attempted and refused (the answers stay as they are)."""
        with self._changed:
            self._received.clear()
            self._attempts.clear()
            self._rcpt_attempts.clear()
            self._refusals.clear()
            self.errors.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """All messages received once there are at least ``count``; AssertionError saying what came if not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(self._describe(f"expected {count} message(s) within {timeout:g} s"))
                self._changed.wait(left)
            return list(self._received)

    def _describe(self, headline: str) -> str:
        lines = [
            f"{headline}; the test SMTP server on {self.host}:{self.port} received {len(self._received)}"
        ]
        lines += [
            f"  {r.mail_from} -> {', '.join(r.rcpt_tos)}: {r.message.get('Subject', '')!r} {r.message_id}"
            for r in self._received
        ]
        if self._attempts:
            lines.append(f"  attempts by Message-ID: {dict(self._attempts)}")
        lines += [f"  refused {refusal}" for refusal in self._refusals]
        lines += [f"  deliver callback failed: {error!r}" for error in self.errors]
        if not self.running:
            lines.append("  (the server is stopped)")
        return "\n".join(lines)

    # -- bookkeeping, called by the hooks from the server's thread --------------------------------------

    def _note_rcpt(self, address: str, refusal: str | None) -> None:
        with self._changed:
            self._rcpt_attempts[address] += 1
            if refusal:
                self._refusals.append(refusal)

    def _note_attempt(self, message_id: str, refusal: str | None) -> None:
        with self._changed:
            self._attempts[message_id] += 1
            if refusal:
                self._refusals.append(refusal)

    def _note_error(self, error: BaseException) -> None:
        with self._changed:
            self.errors.append(error)
            self._changed.notify_all()

    def _note_received(self, received: Received) -> None:
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()


class _Handler:
    """aiosmtpd's hooks, run on the server's event loop (apart from SmtpServer: aiosmtpd scans its names)."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.server.username is None:  # nothing to log in to: AUTH is not offered
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.server.username is not None and not session.authenticated:
            return AUTH_REQUIRED_REPLY
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        server, key = self.server, address.lower()
        reply = None
        if key in {a.lower() for a in list(server.reject_recipients)}:
            reply = RCPT_REJECT_REPLY.format(address=address)
        elif key in {a.lower() for a in list(server.tempfail_recipients)}:
            reply = RCPT_TEMPFAIL_REPLY.format(address=address)
        server._note_rcpt(key, reply and f"RCPT {address}: {reply}")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        server = self.server
        data = envelope.original_content or b""
        transport = smtp.transport
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        received = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=parse(data),
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            login=login.decode(errors="replace") if login is not None else None,
        )
        reply = {"accept": None, "tempfail": TEMPFAIL_REPLY, "reject": REJECT_REPLY}[server.answer]
        server._note_attempt(
            received.message_id, reply and f"DATA {received.message_id or '(no Message-ID)'}: {reply}"
        )
        if reply:
            return reply
        if server.deliver is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, server.deliver, received)
            except Exception as exc:
                server._note_error(exc)
                return f"451 4.3.0 Test SMTP server: the deliver callback failed: {exc!r}"[:500]
        server._note_received(received)
        return "250 2.0.0 OK: queued"


def _authenticate(
    smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """AUTH PLAIN/LOGIN against the server's one account."""
    server = smtp.event_handler.server
    ok = (
        server.username is not None
        and isinstance(auth_data, LoginPassword)
        and auth_data.login == server.username.encode()
        and auth_data.password == (server.password or "").encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _Controller(Controller):
    """aiosmtpd's threaded controller on a socket bound beforehand (so the port is known and kept)."""

    def __init__(self, server: SmtpServer, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()
        super().__init__(_Handler(server), hostname=host, port=port, **kwargs)
        self._sock = sock
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def factory(self) -> SMTP:
        smtp = super().factory()
        self._sessions.add(smtp)
        return smtp

    def stop(self, no_assert: bool = False) -> None:
        """Drop the open sessions too, as a server going down does (aiosmtpd would leave their sockets)."""
        if self.loop.is_running():
            with suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._drop_sessions(), self.loop).result(timeout=5)
        super().stop(no_assert)

    async def _drop_sessions(self) -> None:
        for smtp in list(self._sessions):
            if isinstance(smtp.transport, asyncio.Transport):
                smtp.transport.abort()
        for _ in range(3):  # let connection_lost() run for each of them
            await asyncio.sleep(0)


def _abandon(controller: _Controller) -> None:
    """Stop a controller whose start() failed, whichever step it failed at, and close its loop."""
    with suppress(Exception):
        controller.stop(no_assert=True)
    if not controller.loop.is_running() and not controller.loop.is_closed():
        controller.loop.close()


def deliver_to_dovecot(dovecot: DovecotServer, mapping: dict[str, str]) -> Callable[[Received], None]:
    """A ``deliver`` callback: each message goes (once per folder) to the Dovecot folder of its recipients.

    ``mapping`` maps a recipient address (any case) to a folder of the suite's Dovecot account; recipients
    not in it are ignored. The message is stored as sent, with ``DovecotServer.append``.
    """
    folders = {address.lower(): folder for address, folder in mapping.items()}

    def deliver(received: Received) -> None:
        targets = dict.fromkeys(folders[r.lower()] for r in received.rcpt_tos if r.lower() in folders)
        for folder in targets:
            dovecot.append([received.data], folder=folder)

    return deliver
