"""IMAP sessions: connect and open one folder, list UIDs, fetch raw bytes with BODY.PEEK, acknowledge."""

# stdlib imaplib, not IMAPClient: IMAPClient's pure-Python FETCH parser runs at 700-1,200 msg/s against
# imaplib's 5,500-7,800 here, and the import must beat a stdlib fetch+parse baseline by 2x (decision 0001).

from __future__ import annotations

import imaplib
import logging
import socket
from collections.abc import Iterator

from postroom.core.errors import ConfigError, ConnectionStepError, TransientError
from postroom.sources.base import CheckReport, FetchedMessage, RemoteMessage, ServerSettings
from postroom.sources.connect import greet, open_socket, quietly, start_tls, text_of, transient
from postroom.sources.imap_names import parse_list, quote, quote_string
from postroom.sources.imap_wire import batches, parse_bodies, parse_listing, sequence_set

log = logging.getLogger(__name__)

PORTS = {"ssl": 993, "starttls": 143, "none": 143}
FETCH_BATCH = 100  # messages per UID FETCH
FETCH_BATCH_BYTES = 4 * 1024 * 1024  # ...and at most this much mail held in memory per batch
LIST_PAGE = 2000  # UIDs per FETCH of sizes and dates when listing
ACK_BATCH = 1000  # UIDs per STORE/MOVE, keeping each command line well under server limits


class _Client(imaplib.IMAP4):
    """imaplib on a socket opened (and verified) step by step by ``connect.open_socket``."""

    def __init__(self, sock: socket.socket, host: str, port: int) -> None:
        self._ready_socket = sock
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._ready_socket


def open_imap(settings: ServerSettings, readonly: bool = False) -> ImapSession:
    """Connect, log in, open ``settings.folder`` (EXAMINE when ``readonly``); each step names its failure."""
    sock = open_socket(settings, PORTS)
    client = greet(settings, PORTS, sock, lambda: _Client(sock, settings.host, settings.port))
    try:
        with transient("IMAP login"):
            if settings.security == "starttls":
                start_tls(settings, PORTS, "STARTTLS" in client.capabilities, client.starttls)
            _login(client, settings)
        return ImapSession(client, settings, readonly)
    except BaseException:
        quietly(client.shutdown)
        raise


def _login(client: imaplib.IMAP4, settings: ServerSettings) -> None:
    try:
        # imaplib quotes the password but sends the user name as it is given
        client.login(quote_string(settings.username), settings.password)
    except imaplib.IMAP4.abort:
        raise  # a lost connection, made transient by the caller
    except imaplib.IMAP4.error as exc:
        detail = f"{settings.username!r} was refused: {text_of(exc)}"
        raise ConnectionStepError("login", detail, "check the username and password") from exc


class ImapSession:
    """One logged-in connection with one folder open. Keys are ``imap:<UIDVALIDITY>:<UID>``.

    ``uidvalidity``, ``uidnext`` and ``message_count`` are as the server reported them when the folder was
    opened (``message_count`` is refreshed by ``list_messages``).
    """

    def __init__(self, client: imaplib.IMAP4, settings: ServerSettings, readonly: bool) -> None:
        self._client = client
        self.settings = settings
        self.readonly = readonly
        self.greeting = text_of(client.welcome)
        self._sizes: dict[int, int] = {}
        self._known_folders: set[str] = set()
        with transient("IMAP open folder"):
            self.capabilities = _capabilities(client)
            self._select()

    def _select(self) -> None:
        folder = self.settings.folder
        status, data = self._client.select(quote(folder), readonly=self.readonly)
        if status != "OK":
            raise ConnectionStepError(
                "folder", f"cannot open folder {folder!r}: {text_of(data)}", self._folder_hint()
            )
        self.message_count = int(data[-1] or 0)
        uidvalidity = _code(self._client, "UIDVALIDITY")
        if uidvalidity is None:
            raise TransientError(f"no UIDVALIDITY for folder {folder!r}: no key of it would be stable")
        self.uidvalidity = uidvalidity
        self.uidnext = _code(self._client, "UIDNEXT")  # informative only; some servers leave it out
        self._prefix = f"imap:{self.uidvalidity}:"

    def _folder_hint(self) -> str:
        names = self.folders()
        return "folders on the server: " + (", ".join(names) if names else "(none listed)")

    def folders(self) -> list[str]:
        with transient("IMAP LIST"):
            status, data = self._client.list('""', '"*"')
        return parse_list(data) if status == "OK" else []

    # -- listing and fetching -----------------------------------------------------------------------

    def list_messages(self) -> list[RemoteMessage]:
        """Every message in the folder, in UID order, with its size and arrival date."""
        listing: list[RemoteMessage] = []
        for page in self.list_pages():
            listing += page
        self.message_count = len(listing)
        return listing

    def list_pages(self) -> Iterator[list[RemoteMessage]]:
        """The folder's messages in UID order, ``LIST_PAGE`` at a time: UID SEARCH, then the sizes and
        dates of a page of UIDs. A cycle imports a page before it lists the next, so that neither this
        listing nor anything the import keeps per message grows with the folder. ``message_count`` is
        the number of messages SEARCH found."""
        with transient("IMAP listing"):
            status, data = self._client.uid("SEARCH", "ALL")
        if status != "OK":
            raise TransientError(f"IMAP listing of {self.settings.folder!r} failed: {text_of(data)}")
        uids = sorted({int(u) for line in data if isinstance(line, bytes) for u in line.split()})
        self.message_count = len(uids)
        for start in range(0, len(uids), LIST_PAGE):
            page = uids[start : start + LIST_PAGE]
            with transient("IMAP listing"):
                status, data = self._client.uid(
                    "FETCH", f"{page[0]}:{page[-1]}", "(UID RFC822.SIZE INTERNALDATE)"
                )
            if status != "OK":
                raise TransientError(f"IMAP listing of {self.settings.folder!r} failed: {text_of(data)}")
            listed = parse_listing(data)
            del data
            self._sizes = {uid: size for uid, size, _ in listed if size is not None}  # for fetch()
            yield [RemoteMessage(self._key(uid), size, date) for uid, size, date in listed]

    def fetch(self, keys: list[str]) -> Iterator[FetchedMessage]:
        """Raw bytes of each key still on the server, in the order asked (BODY.PEEK: \\Seen stays unset)."""
        uids = self._uids_of(keys)
        for batch in batches(uids, FETCH_BATCH, FETCH_BATCH_BYTES, self._sizes):
            bodies = self._fetch_batch(batch)
            for uid in batch:
                if uid in bodies:
                    yield FetchedMessage(self._key(uid), bodies[uid])

    def _fetch_batch(self, batch: list[int]) -> dict[int, bytes]:
        """A vanished UID simply has no answer; when the server refuses the batch, save what it can give."""
        with transient("IMAP fetch"):
            status, data = self._client.uid("FETCH", sequence_set(batch), "(UID BODY.PEEK[])")
        bodies = parse_bodies(data)
        if status != "OK":
            missing = [uid for uid in batch if uid not in bodies]
            log.warning(
                "%s: FETCH of %d messages refused (%s)", self.settings.host, len(batch), text_of(data)
            )
            if len(batch) > 1:
                for uid in missing:  # one unreadable message must not hold back the others
                    bodies.update(self._fetch_batch([uid]))
        return bodies

    # -- acknowledging ------------------------------------------------------------------------------

    def acknowledge(self, keys: list[str], action: str) -> None:
        """delete, move:FOLDER, mark_seen or keep stored messages; keys of an old UIDVALIDITY are ignored."""
        if self.readonly:
            raise RuntimeError("acknowledge on a read-only IMAP session")
        target = self._check_action(action)
        uids = sorted(set(self._uids_of(keys)))
        if action == "keep" or not uids:
            return
        with transient(f"IMAP {action}"):
            for chunk in [uids[i : i + ACK_BATCH] for i in range(0, len(uids), ACK_BATCH)]:
                uid_set = sequence_set(chunk)
                if target is not None:
                    self._move(uid_set, target)
                elif action == "delete":
                    self._delete(uid_set)
                else:
                    self._command("STORE", uid_set, "+FLAGS.SILENT", "(\\Seen)")
            for name in ("EXPUNGE", "COPYUID", "FETCH"):  # imaplib would keep these untagged answers forever
                self._client.response(name)

    def _check_action(self, action: str) -> str | None:
        """The move target, or None; a bad action is a configuration error, raised before touching mail."""
        if action in ("delete", "mark_seen", "keep"):
            return None
        target = action.removeprefix("move:")
        if action.startswith("move:") and target and target != self.settings.folder:
            return target
        raise ConfigError(
            f"after-import action {action!r}: use delete, move:FOLDER (another folder), mark_seen or keep"
        )

    def _delete(self, uid_set: str) -> None:
        self._command("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in self.capabilities:
            self._command("EXPUNGE", uid_set)
        else:  # without UIDPLUS the only way is to expunge every \Deleted message in the folder
            status, data = self._client.expunge()
            if status != "OK":
                raise TransientError(f"IMAP EXPUNGE failed: {text_of(data)}")

    def _move(self, uid_set: str, folder: str) -> None:
        self._ensure_folder(folder)
        if "MOVE" in self.capabilities:
            self._command("MOVE", uid_set, quote(folder))
        else:
            self._command("COPY", uid_set, quote(folder))
            self._delete(uid_set)

    def append(self, folder: str, raw: bytes, flags: str = "(\\Seen)") -> None:
        """Put a mail into ``folder`` (made when missing): the copy of what we sent, for mail clients."""
        self._ensure_folder(folder)
        with transient("IMAP APPEND"):
            status, data = self._client.append(quote(folder), flags, None, raw)
        if status != "OK":
            raise TransientError(f"IMAP APPEND to {folder!r} failed: {text_of(data)}")

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        if folder not in self.folders():
            status, data = self._client.create(quote(folder))
            if status != "OK" and folder not in self.folders():  # created meanwhile by another client is fine
                raise TransientError(f"cannot create folder {folder!r}: {text_of(data)}")
        self._known_folders.add(folder)

    def _command(self, name: str, *args: str) -> None:
        status, data = self._client.uid(name, *args)
        if status != "OK":
            raise TransientError(f"IMAP UID {name} failed: {text_of(data)}")

    # -- keys, report, closing ----------------------------------------------------------------------

    def _key(self, uid: int) -> str:
        return f"{self._prefix}{uid}"

    def _uids_of(self, keys: list[str]) -> list[int]:
        """UIDs of the keys that belong to this folder as it is now (same UIDVALIDITY), in the order given."""
        size = len(self._prefix)
        return [int(key[size:]) for key in keys if key.startswith(self._prefix) and key[size:].isdigit()]

    def report(self) -> CheckReport:
        details = {
            "folder": self.settings.folder,
            "uidvalidity": str(self.uidvalidity),
            "uidnext": str(self.uidnext),
            "greeting": self.greeting,
        }
        return CheckReport(self.message_count, self.capabilities, details)

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        """LOGOUT (imaplib never raises from it). Nothing is pending: acknowledgements expunged at once."""
        quietly(self._client.logout)


def _capabilities(client: imaplib.IMAP4) -> tuple[str, ...]:
    """Asked again after login: servers (Dovecot among them) announce MOVE, UIDPLUS... only then."""
    status, data = client.capability()
    if status != "OK" or not data or not data[-1]:
        return tuple(client.capabilities)
    return tuple(text_of(data[-1]).upper().split())


def _code(client: imaplib.IMAP4, name: str) -> int | None:
    """A number from a response code of SELECT ([UIDVALIDITY 123], [UIDNEXT 45])."""
    _, values = client.response(name)
    value = values[-1] if values else None
    return int(value) if isinstance(value, bytes) and value.isdigit() else None
