"""Turns a stored mailbox into the plain ServerSettings a source connects with (resolving its password)."""

from __future__ import annotations

import os

from postroom.core.errors import ConfigError
from postroom.mailboxes.models import Mailbox
from postroom.sources.base import ServerSettings


def password_of(mailbox: Mailbox) -> str:
    if mailbox.password_env:
        value = os.environ.get(mailbox.password_env)
        if value is None:
            raise ConfigError(
                f"mailbox {mailbox.name}: password_env names {mailbox.password_env}, which is not set"
            )
        return value
    return mailbox.stored_password()


def server_settings(mailbox: Mailbox) -> ServerSettings:
    return ServerSettings(
        protocol=mailbox.protocol,
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=password_of(mailbox),
        folder=mailbox.folder,
        ca_file=mailbox.ca_file or None,
    )
