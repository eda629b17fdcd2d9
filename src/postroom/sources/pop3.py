"""POP3 sessions: connect and log in, list UIDLs, fetch raw bytes with RETR, delete (committed by QUIT)."""

from __future__ import annotations

import logging
import poplib
import socket
from collections.abc import Callable, Iterator
from functools import partial
from typing import NoReturn, TypeVar

from postroom.core.errors import ConfigError, ConnectionStepError, TransientError
from postroom.sources.base import CheckReport, FetchedMessage, RemoteMessage, ServerSettings
from postroom.sources.connect import (
    TRANSPORT_ERRORS,
    greet,
    open_socket,
    quietly,
    start_tls,
    text_of,
    transient,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

PORTS = {"ssl": 995, "starttls": 110, "none": 110}

# poplib refuses any line over 2,048 bytes, and real mail (HTML without line breaks) has longer ones.
# The limit is a module global of poplib: raised once here for the whole process, only ever upwards.
poplib._MAXLINE = max(poplib._MAXLINE, 64 * 1024 * 1024)  # type: ignore[attr-defined]


class _Client(poplib.POP3):
    """poplib on a socket opened (and verified) step by step by ``connect.open_socket``."""

    def __init__(self, sock: socket.socket, host: str, port: int) -> None:
        self._ready_socket = sock
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._ready_socket


def open_pop3(settings: ServerSettings, readonly: bool = False) -> Pop3Session:
    """Connect and log in (POP3 has one folder, INBOX); each step names its failure."""
    if settings.folder.upper() not in ("", "INBOX"):
        raise ConfigError(f"folder {settings.folder!r}: POP3 reads only INBOX (use IMAP for other folders)")
    sock = open_socket(settings, PORTS)
    client = greet(settings, PORTS, sock, lambda: _Client(sock, settings.host, settings.port))
    try:
        with transient("POP3 login"):
            capabilities = _capabilities(client)
            if settings.security == "starttls":
                start_tls(settings, PORTS, "STLS" in capabilities, client.stls)
                capabilities = _capabilities(client)  # may differ once the connection is private
            _login(client, settings)
        return Pop3Session(client, settings, readonly, capabilities)
    except BaseException:
        client.close()
        raise


def _capabilities(client: poplib.POP3) -> tuple[str, ...]:
    try:
        return tuple(sorted(client.capa()))
    except poplib.error_proto as exc:
        if _server_said_no(exc):  # a server without CAPA (RFC 2449) still works
            return ()
        raise


def _login(client: poplib.POP3, settings: ServerSettings) -> None:
    try:
        client.user(settings.username)
        client.pass_(settings.password)
    except poplib.error_proto as exc:
        if not _server_said_no(exc):
            raise  # a lost connection, made transient by the caller
        detail = f"{settings.username!r} was refused: {text_of(exc)}"
        raise ConnectionStepError("login", detail, "check the username and password") from exc


def _server_said_no(exc: poplib.error_proto) -> bool:
    """poplib raises error_proto both for a server's "-ERR ..." (bytes) and for a lost connection (str)."""
    return bool(exc.args) and isinstance(exc.args[0], bytes)


class Pop3Session:
    """One logged-in POP3 connection. Keys are ``pop3:<UIDL>``.

    Deletions are only marked (DELE) until QUIT commits them. ``__exit__`` sends QUIT whenever the
    connection is still sound, also when the cycle failed: DELE is only ever sent for messages the caller
    already stored (acknowledge after commit), and leaving them would bring stored mail back. When the
    connection itself broke, QUIT cannot be sent; the server then forgets the marks (RFC 1939, section 6)
    and the messages are listed again next time.
    """

    def __init__(
        self, client: poplib.POP3, settings: ServerSettings, readonly: bool, capabilities: tuple[str, ...]
    ) -> None:
        self._client = client
        self.settings = settings
        self.readonly = readonly
        self.capabilities = capabilities
        self.greeting = text_of(client.getwelcome())
        self._numbers: dict[str, int] = {}  # UIDL -> message number in this session
        self._deleted: set[int] = set()
        self._broken = False
        self.message_count, self.octets = self._call("STAT", client.stat) or (0, 0)

    def _call(self, what: str, command: Callable[[], T]) -> T | None:
        """One command. None when the server answered "-ERR" (the connection is still sound); when the
        connection was lost, TransientError, and the session remembers it cannot QUIT any more."""
        try:
            return command()
        except poplib.error_proto as exc:
            if not _server_said_no(exc):
                self._lost(what, exc)
            log.warning("%s: POP3 %s refused: %s", self.settings.host, what, text_of(exc))
            return None
        except TRANSPORT_ERRORS as exc:
            self._lost(what, exc)

    def _lost(self, what: str, exc: Exception) -> NoReturn:
        self._broken = True
        raise TransientError(f"POP3 {what}: connection lost ({type(exc).__name__}: {exc})") from exc

    def list_messages(self) -> list[RemoteMessage]:
        """Every message in server order, with its size (POP3 gives no arrival date)."""
        uidl, sizes_answer = self._call("UIDL", self._client.uidl), self._call("LIST", self._client.list)
        if uidl is None or sizes_answer is None:  # without UIDL no key would be stable
            raise TransientError(f"{self.settings.host} refused to list messages (UIDL and LIST)")
        uidl_lines, size_lines = uidl[1], sizes_answer[1]
        sizes = {number: int(size) for number, size in _pairs(size_lines)}
        self._numbers = {uidl: number for number, uidl in _pairs(uidl_lines)}
        self.message_count = len(self._numbers)
        return [RemoteMessage(f"pop3:{uidl}", sizes.get(number)) for uidl, number in self._numbers.items()]

    def list_pages(self) -> Iterator[list[RemoteMessage]]:
        """One page: UIDL and LIST answer for the whole maildrop at once (and a maildrop is seldom big)."""
        yield self.list_messages()

    def fetch(self, keys: list[str]) -> Iterator[FetchedMessage]:
        """Raw bytes of each key, in the order asked; a key no longer on the server yields nothing."""
        if not self._numbers:
            self.list_messages()
        for key in keys:
            number = self._number_of(key)
            if number is None or number in self._deleted:
                continue
            raw = self._call(f"RETR {number}", partial(_retr, self._client, number))
            if raw is not None:
                yield FetchedMessage(key, raw)

    def acknowledge(self, keys: list[str], action: str) -> None:
        """delete marks each message (committed at QUIT); keep and mark_seen do nothing, POP3 has no flags."""
        if self.readonly:
            raise RuntimeError("acknowledge on a read-only POP3 session")
        if action.startswith("move:"):
            raise ConfigError(f"after-import action {action!r}: POP3 cannot move mail; use delete or keep")
        if action not in ("delete", "keep", "mark_seen"):
            raise ConfigError(f"after-import action {action!r}: POP3 supports delete, keep or mark_seen")
        if action != "delete":
            return
        for key in keys:
            number = self._number_of(key)
            if number is None or number in self._deleted:
                continue
            if self._call(f"DELE {number}", partial(self._client.dele, number)) is not None:
                self._deleted.add(number)

    def _number_of(self, key: str) -> int | None:
        return self._numbers.get(key.removeprefix("pop3:")) if key.startswith("pop3:") else None

    def report(self) -> CheckReport:
        details = {"folder": "INBOX", "octets": str(self.octets), "greeting": self.greeting}
        return CheckReport(self.message_count, self.capabilities, details)

    def __enter__(self) -> Pop3Session:
        return self

    def __exit__(self, *exc: object) -> None:
        """QUIT commits the deletions (see the class). After a clean cycle a failed QUIT must be known."""
        try:
            if self._broken:
                return
            if exc and exc[0] is not None:
                quietly(self._client.quit)
                return
            try:
                self._client.quit()
            except TRANSPORT_ERRORS as error:  # includes "-ERR": the server could not delete what was marked
                raise TransientError(
                    f"POP3 QUIT failed, deletions not committed: {text_of(error)}"
                ) from error
        finally:
            quietly(self._client.close)


def _retr(client: poplib.POP3, number: int) -> bytes:
    """RETR, reading the body in blocks: poplib's ``retr`` loops line by line in Python (about 630 msg/s of
    30 KB here against 2,400 for this). Errors stay poplib's: error_proto with bytes for "-ERR", str for EOF.
    """
    client._putcmd(f"RETR {number}")  # type: ignore[attr-defined]
    client._getresp()  # type: ignore[attr-defined]
    chunks: list[bytes] = []
    tail, total = b"", 0
    while True:
        chunk = client.file.read1(1 << 20)  # type: ignore[attr-defined]
        if not chunk:
            raise poplib.error_proto("-ERR EOF")
        chunks.append(chunk)
        total += len(chunk)
        tail = (tail + chunk)[-5:]
        if tail.endswith(b"\r\n.\r\n") or (total == 3 and tail == b".\r\n"):
            break
    body = b"".join(chunks)[:-3]  # the message ends with its own CRLF, then ".\r\n" ends the answer
    if body.startswith(b".."):  # undo dot-stuffing: every line starting with "." was sent with one more
        body = body[1:]
    return body.replace(b"\r\n..", b"\r\n.")


def _pairs(lines: list[bytes]) -> Iterator[tuple[int, str]]:
    """Listing lines "1 abc" -> (1, "abc"): a message number and its UIDL or size."""
    for line in lines:
        number, value = line.decode("ascii", "replace").split()[:2]
        yield int(number), value
