"""Turns a stored mailbox into the plain settings a source reads and the outbox sends with."""

from __future__ import annotations

import os

from postroom.core.errors import ConfigError
from postroom.mailboxes.models import Mailbox
from postroom.outgoing.smtp import DEFAULT_PORTS as SMTP_PORTS
from postroom.outgoing.smtp import SmtpSettings
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


def smtp_settings(mailbox: Mailbox) -> SmtpSettings | None:
    """How the mailbox sends; None when it has no `smtp:` (it sends nothing)."""
    if not mailbox.smtp_host:
        return None
    if mailbox.smtp_password_env:
        password = os.environ.get(mailbox.smtp_password_env)
        if password is None:
            raise ConfigError(
                f"mailbox {mailbox.name}: smtp password_env names {mailbox.smtp_password_env}, "
                "which is not set"
            )
    else:
        password = mailbox.stored_smtp_password()
    return SmtpSettings(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port or SMTP_PORTS[mailbox.smtp_security],
        security=mailbox.smtp_security,
        username=mailbox.smtp_username,
        password=password,
        ca_file=mailbox.smtp_ca_file,
    )
