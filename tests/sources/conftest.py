"""Fixtures for the source tests: the suite's Dovecot, settings pointing at it, mails with exact bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from postroom.sources.base import ServerSettings
from tests.support.builders import mail
from tests.support.dovecot import DovecotServer
from tests.support.fixtures import *  # noqa: F403

MakeSettings = Callable[..., ServerSettings]
PORT_KEYS = {("imap", "ssl"): "imaps", ("pop3", "ssl"): "pop3s"}


def raw_mail(n: int, body_lines: int = 3) -> bytes:
    """A mail as it sits on a server (CRLF), with dot-leading lines to exercise POP3 dot-stuffing."""
    body = "".join(f"line {i} of mail {n}\n" for i in range(body_lines)) + ".leading dot\n..two dots\n"
    return mail(subject=f"mail {n}", body=body).replace(b"\n", b"\r\n")


ODD_MAILS = {
    "first line starts with a dot": b".X-Odd: yes\r\nSubject: dot\r\n\r\nbody\r\n",
    "a line that is a lone dot": b"Subject: lone dot\r\n\r\nabove\r\n.\r\nbelow\r\n",
    "a megabyte without blank lines": b"Subject: big\r\n\r\n"
    + b"x" * 998
    + b"\r\n"
    + b"y" * 1_000_000
    + b"\r\n",
}


@pytest.fixture
def settings_for(dovecot: DovecotServer, mailbox_folder: str) -> MakeSettings:
    """ServerSettings for the suite's Dovecot: IMAP reads this test's own folder, POP3 the INBOX."""

    def make(protocol: str = "imap", security: str = "none", **overrides: Any) -> ServerSettings:
        values: dict[str, Any] = {
            "protocol": protocol,
            "host": dovecot.host,
            "port": dovecot.ports[PORT_KEYS.get((protocol, security), protocol)],
            "security": security,
            "username": dovecot.user,
            "password": dovecot.password,
            "folder": mailbox_folder if protocol == "imap" else "INBOX",
            "ca_file": str(dovecot.ca_file),
            "timeout": 5.0,
        }
        values.update(overrides)
        return ServerSettings(**values)

    return make


@pytest.fixture
def pop3_inbox(dovecot: DovecotServer) -> Iterator[DovecotServer]:
    """POP3 sees only the account's INBOX: each POP3 test starts and ends with it empty."""
    dovecot.clear("INBOX")
    yield dovecot
    dovecot.clear("INBOX")
