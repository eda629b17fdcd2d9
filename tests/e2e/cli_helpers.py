"""Helpers for the end-to-end tests: configuration files, mail piped to `postroom ingest`, JSON read back."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli


def mailbox_yaml(name: str, **values: object) -> str:
    """One mailbox entry; by default one that is only fed by `postroom ingest` (nothing listens there).
    A value of None leaves its key out."""
    fields: dict[str, object] = {
        "name": name,
        "protocol": "imap",
        "host": "127.0.0.1",
        "port": 1,
        "security": "none",
        "username": name,
        "password": "unused",
        "address": f"{name}@desk.test",
        **values,
    }
    lines = [f"    {key}: {value}" for key, value in fields.items() if value is not None]
    return "  - " + "\n".join(lines)[4:] + "\n"


def load_config(cli: Cli, tmp_path: Path, *mailboxes: str, head: str = "") -> str:
    """Write and load a configuration; returns what `config load` said it changed."""
    path = tmp_path / "postroom.yaml"
    path.write_text(head + "mailboxes:\n" + "".join(mailboxes))
    return str(cli("config", "load", str(path), check=True).stdout)


def dovecot_mailbox(name: str, dovecot: Any, folder: str, **values: object) -> str:
    """A mailbox reading ``folder`` on the suite's Dovecot (STARTTLS, its CA), password in $DESK_PASSWORD."""
    fields: dict[str, object] = {
        "host": dovecot.host,
        "port": dovecot.ports["imap"],
        "security": "starttls",
        "ca_file": dovecot.ca_file,
        "username": dovecot.user,
        "password": None,
        "password_env": "DESK_PASSWORD",
        "folder": folder,
        "interval": 10,
    }
    return mailbox_yaml(name, **{**fields, **values})


_OUTCOME = re.compile(r"^(new|added|duplicate|known|failed)(?: \(record (\d+)\))?", re.MULTILINE)


def ingest(cli: Cli, mailbox: str, raw: bytes) -> tuple[str, int | None]:
    """Pipe one mail in; (outcome, record number) as `postroom ingest` reports them on stderr."""
    result = cli("ingest", "--mailbox", mailbox, "-", input=raw, check=True)
    match = _OUTCOME.search(result.stderr)
    assert match, result.stderr
    return match[1], int(match[2]) if match[2] else None


def records(cli: Cli, *args: str) -> list[dict[str, Any]]:
    return json.loads(cli("records", "list", "--json", *args, check=True).stdout)


def record(cli: Cli, number: int) -> dict[str, Any]:
    return json.loads(cli("records", "show", str(number), "--json", check=True).stdout)


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released): connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
