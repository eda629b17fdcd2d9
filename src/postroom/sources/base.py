"""What every mail source (IMAP, POP3, pipe, ...) offers: check, list, fetch and acknowledge raw mail.

Sources hand over raw bytes and a stable key; they know nothing of records or the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything a source needs to reach one server account and folder (a plain copy of the mailbox row)."""

    protocol: str  # "imap" | "pop3"
    host: str
    port: int
    security: str  # "ssl" | "starttls" | "none"
    username: str
    password: str
    folder: str = "INBOX"
    ca_file: str | None = None  # extra CA to trust (self-signed servers); verification is never turned off
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class RemoteMessage:
    """One message as the server lists it, before its bytes are fetched."""

    key: str  # stable per mailbox: "imap:<uidvalidity>:<uid>" or "pop3:<uidl>"
    size: int | None = None
    internal_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    key: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``postroom check`` prints on success."""

    message_count: int
    capabilities: tuple[str, ...]
    details: dict[str, str] = field(default_factory=dict)


class Session(Protocol):
    """An open, logged-in connection to one folder. Used as a context manager; closing commits deletions."""

    message_count: int

    def list_messages(self) -> list[RemoteMessage]: ...

    def list_pages(self) -> Iterator[list[RemoteMessage]]:
        """The same, a page at a time (``message_count`` is set once the first page is asked for)."""
        ...

    def fetch(self, keys: list[str]) -> Iterator[FetchedMessage]:
        """Yield the raw bytes of each key, in order, fetching in batches."""
        ...

    def acknowledge(self, keys: list[str], action: str) -> None:
        """Apply the after-import action ("delete", "move:FOLDER", "mark_seen", "keep") to stored messages."""
        ...

    def __enter__(self) -> Session: ...

    def __exit__(self, *exc: object) -> None: ...
