"""The kinds of mail source, each declared once: its ports, its settings (and which are secret), its actions.

The config loader, ``postroom check`` and the web form read these declarations instead of branching on
protocol names. A new kind is a small ``SourceKind`` subclass decorated with ``@register``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from postroom.core.errors import ConfigError
from postroom.sources import imap, pop3
from postroom.sources.base import CheckReport, ServerSettings, Session

SECURITIES = ("ssl", "starttls", "none")


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting a source kind takes, as a form or a config file shows it."""

    name: str
    help: str
    required: bool = True
    secret: bool = False  # stored encrypted, masked when shown back, never logged
    default: str | float | None = None
    choices: tuple[str, ...] = ()


SERVER_SETTINGS = (
    SettingSpec("host", "the mail server's host name"),
    SettingSpec("port", "default: the usual port for the security chosen", required=False),
    SettingSpec("security", "how the connection is protected", False, default="ssl", choices=SECURITIES),
    SettingSpec("username", "the account to log in as"),
    SettingSpec("password", "the account's password", secret=True),
    SettingSpec(
        "ca_file", "a CA certificate (PEM) to trust besides the system's; verification stays on", False
    ),
    SettingSpec("timeout", "seconds before a silent server counts as down", False, default=30.0),
)


class SourceKind:
    """A kind of mail source. Subclasses fill in the class attributes and ``open`` / ``check``."""

    name: ClassVar[str]
    label: ClassVar[str]
    ports: ClassVar[Mapping[str, int]]  # security -> usual port
    settings: ClassVar[tuple[SettingSpec, ...]]
    actions: ClassVar[tuple[str, ...]]  # after-import actions; "move" is written "move:FOLDER"
    # Several sessions may read one folder at once: parse workers then fetch their share themselves
    # (pipeline/fetching.py). POP3 locks the maildrop to one session.
    parallel_sessions: ClassVar[bool] = False

    def open(self, settings: ServerSettings, readonly: bool = False) -> Session:
        raise NotImplementedError

    def check(self, settings: ServerSettings) -> CheckReport:
        """Connect, log in, open the folder read-only; raises ConnectionStepError naming the failed step."""
        raise NotImplementedError

    def default_port(self, security: str) -> int:
        if security not in self.ports:
            raise ConfigError(f"security {security!r}: must be one of {', '.join(self.ports)}")
        return self.ports[security]

    def secret_settings(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.settings if spec.secret)

    def action_names(self) -> tuple[str, ...]:
        return tuple("move:FOLDER" if action == "move" else action for action in self.actions)

    def validate_action(self, action: str) -> None:
        verb, colon, target = action.partition(":")
        if verb not in self.actions or (verb == "move") != bool(colon and target):
            choices = ", ".join(self.action_names())
            raise ConfigError(f"after-import action {action!r}: {self.name} supports {choices}")


_KINDS: dict[str, SourceKind] = {}


def register(kind: type[SourceKind]) -> type[SourceKind]:
    _KINDS[kind.name] = kind()
    return kind


def get(name: str) -> SourceKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ConfigError(f"protocol {name!r}: must be one of {', '.join(_KINDS)}") from None


def kinds() -> list[SourceKind]:
    return list(_KINDS.values())


def open_session(settings: ServerSettings, readonly: bool = False) -> Session:
    """A logged-in session on the settings' folder, for whatever kind of source they describe."""
    return get(settings.protocol).open(settings, readonly)


@register
class ImapSource(SourceKind):
    name = "imap"
    label = "IMAP"
    ports = imap.PORTS
    settings = (*SERVER_SETTINGS, SettingSpec("folder", "the folder to read", False, default="INBOX"))
    actions = ("delete", "move", "mark_seen", "keep")
    parallel_sessions = True

    def open(self, settings: ServerSettings, readonly: bool = False) -> Session:
        return imap.open_imap(settings, readonly)

    def check(self, settings: ServerSettings) -> CheckReport:
        with imap.open_imap(settings, readonly=True) as session:
            return session.report()


@register
class Pop3Source(SourceKind):
    name = "pop3"
    label = "POP3"
    ports = pop3.PORTS
    settings = SERVER_SETTINGS
    actions = ("delete", "keep", "mark_seen")  # no folders, no flags: mark_seen behaves as keep

    def open(self, settings: ServerSettings, readonly: bool = False) -> Session:
        return pop3.open_pop3(settings, readonly)

    def check(self, settings: ServerSettings) -> CheckReport:
        with pop3.open_pop3(settings, readonly=True) as session:
            return session.report()
