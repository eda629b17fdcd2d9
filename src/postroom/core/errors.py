"""The error kinds every stage raises, so the command line can pick the right exit code and wording."""

from __future__ import annotations


class PostroomError(Exception):
    """Base of every error Postroom raises on purpose."""


class ConfigError(PostroomError):
    """A configuration file or setting is wrong; the message names the file, line and key."""


class ParseError(PostroomError):
    """A mail could not be parsed at all (kept raw and marked failed with this reason)."""


class TransientError(PostroomError):
    """Worth retrying later: a server down, a database locked. ``postroom ingest`` exits 75."""


class ConnectionStepError(TransientError):
    """Connecting to a mail server failed at a named step: dns, tcp, tls, certificate, login, folder."""

    def __init__(self, step: str, detail: str, hint: str = "") -> None:
        self.step = step
        self.detail = detail
        self.hint = hint
        super().__init__(f"{step}: {detail}" + (f" ({hint})" if hint else ""))
