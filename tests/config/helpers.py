"""Builds configuration texts for the tests and finds the line a key is on."""

from __future__ import annotations

import pytest

from postroom.core.errors import ConfigError
from postroom.mailboxes.config_file import ConfigFile, load_config_text

BASE = {
    "name": "support",
    "protocol": "imap",
    "host": "mail.example.com",
    "username": "support@example.com",
    "password": "secret",
    "address": "support@example.com",
}


def mailbox_lines(**values: object) -> list[str]:
    """One mailbox as YAML lines: BASE with values replaced or added (None leaves a key out), in order."""
    merged = {**BASE, **values}
    lines: list[str] = []
    for key, value in merged.items():
        if value is None:
            continue
        prefix = "  - " if not lines else "    "
        lines.append(f"{prefix}{key}: {value}")
    return lines


def config_text(*mailboxes: list[str], head: str = "") -> str:
    body = [line for box in mailboxes for line in box]
    return head + "mailboxes:\n" + "\n".join(body) + "\n"


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based number of the line holding fragment (its n-th occurrence)."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return found[occurrence - 1]


def load(text: str) -> ConfigFile:
    return load_config_text(text, "config.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    return str(info.value).splitlines()
