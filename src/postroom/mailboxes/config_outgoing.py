"""A mailbox's outgoing mail in the configuration file: `smtp:`, `save_sent:` and `auto_reply:`; and the
`settings:` limits that keep automatic mail from looping (`auto_reply_limit`, `flood_limit`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from yaml.nodes import MappingNode, Node

from postroom.mailboxes.config_file import (
    MASK,
    SECURITIES,
    KeepStored,
    _address,
    _bounded_text,
    _choice,
    _describe,
    _entries,
    _Entry,
    _folder,
    _host,
    _int,
    _Invalid,
    _is_null,
    _password,
    _password_env,
    _port,
    _raw_text,
    _Report,
    _unknown_key,
)

MAILBOX_KEYS = ("smtp", "save_sent", "auto_reply")
MAILBOX_SYNONYMS = {"outgoing": "smtp", "sent_folder": "save_sent", "autoreply": "auto_reply"}
SMTP_KEYS = ("host", "port", "security", "username", "password", "password_env", "ca_file", "from_name")
AUTO_REPLY_KEYS = ("template", "subject")
PLACEHOLDERS = ("number", "reference", "subject", "requester", "department")
DEFAULT_AUTO_REPLY_SUBJECT = "Re: {reference} {subject}"


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    host: str
    port: int | None = None  # by security: 465 ssl, 587 starttls, 25 none
    security: str = "starttls"
    username: str = ""
    password: str | KeepStored | None = None
    password_env: str | None = None
    ca_file: str | None = None
    from_name: str = ""


def _template(limit: int) -> Any:
    def read(node: Node) -> str:
        # A template is a letter: line breaks are welcome (a subject's are folded away when it is sent).
        value = _raw_text(node)
        if len(value) > limit:
            raise _Invalid(f"must be at most {limit} characters, got {len(value)}")
        if "\0" in value:
            raise _Invalid("must not contain NUL characters")
        unknown = sorted({word for word in _placeholders(value) if word not in PLACEHOLDERS})
        if unknown:
            raise _Invalid(
                f"unknown placeholder {{{unknown[0]}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
        return value

    return read


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", text)


def _mapping(entry: _Entry, report: _Report, where: str, keys: tuple[str, ...]) -> dict[str, _Entry] | None:
    if not isinstance(entry.value, MappingNode):
        report.add(
            entry.key_node, where, entry.key, f"must be a mapping of keys, got {_describe(entry.value)}"
        )
        return None
    inner = _entries(entry.value, report, f"{where}.{entry.key}")
    for key, item in inner.items():
        if key not in keys:
            synonyms = {"server": "host", "user": "username", "login": "username", "ssl": "security"}
            report.add(item.key_node, f"{where}.{entry.key}", key, _unknown_key(key, list(keys), synonyms))
    return {k: e for k, e in inner.items() if k in keys and not _is_null(e.value)}


_SMTP_READERS = {
    "host": _host, "port": _port, "security": _choice(SECURITIES), "username": _bounded_text(255),
    "password": _password, "password_env": _password_env, "ca_file": _bounded_text(1000),
    "from_name": _bounded_text(255),
}  # fmt: skip


def _read(items: dict[str, _Entry], readers: dict[str, Any], report: _Report, where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, item in items.items():
        try:
            values[key] = readers[key](item.value)
        except _Invalid as exc:
            report.add(item.key_node, where, key, str(exc))
    return values


def read_mailbox_outgoing(
    entries: dict[str, _Entry], values: dict[str, Any], report: _Report, where: str
) -> dict[str, Any]:
    """``smtp``, ``save_sent`` and ``auto_reply`` of one mailbox (``values``: its other keys read so far)."""
    out: dict[str, Any] = {}
    before = len(report.problems)
    if (entry := entries.get("smtp")) is not None and not _is_null(entry.value):
        items = _mapping(entry, report, where, SMTP_KEYS)
        if items is not None:
            smtp = _read(items, _SMTP_READERS, report, f"{where}.smtp")
            if "host" not in items:
                report.add(entry.key_node, f"{where}.smtp", "host", "is required")
            if "password" in items and "password_env" in items:
                report.add(
                    items["password_env"].key_node, f"{where}.smtp", "password_env",
                    "give either password or password_env, not both",
                )  # fmt: skip
            if len(report.problems) == before:
                out["smtp"] = SmtpConfig(**smtp)
    if (entry := entries.get("save_sent")) is not None and not _is_null(entry.value):
        try:
            out["save_sent"] = _folder(entry.value)
        except _Invalid as exc:
            report.add(entry.key_node, where, "save_sent", str(exc))
        if values.get("protocol") == "pop3":
            report.add(entry.key_node, where, "save_sent", "pop3 has no folders to save sent mail in")
    entry = entries.get("auto_reply")
    if entry is not None and not _is_null(entry.value):
        auto = read_auto_reply(entry, report, where)
        if auto is not None:
            out["auto_reply"] = auto
    for key in ("save_sent", "auto_reply"):
        if key in entries and "smtp" not in entries and not _is_null(entries[key].value):
            report.add(entries[key].key_node, where, key, "needs smtp: (the server it sends through)")
    unprocessed = values.get("unprocessed", "")
    if unprocessed.startswith("forward:") and "smtp" not in entries:
        report.add(entries["unprocessed"].key_node, where, "unprocessed", "forward needs smtp: to send with")
    return out


def read_auto_reply(entry: _Entry, report: _Report, where: str) -> dict[str, str] | None:
    """``{template, subject}`` (the subject defaulted); None when wrong (the problem is reported)."""
    items = _mapping(entry, report, where, AUTO_REPLY_KEYS)
    if items is None:
        return None
    before = len(report.problems)
    readers = {"template": _template(20_000), "subject": _template(500)}
    auto = _read(items, readers, report, f"{where}.auto_reply")
    if "template" not in items:
        report.add(entry.key_node, f"{where}.auto_reply", "template", "is required")
    if len(report.problems) != before:
        return None
    return {"subject": DEFAULT_AUTO_REPLY_SUBJECT, **auto}


def forward_target(node: Node) -> str:
    """`forward:ADDRESS` of `unprocessed`: the address, checked."""
    value = _bounded_text(255)(node).strip()
    return "forward:" + _address_text(value[len("forward:") :].strip())


def _address_text(text: str) -> str:
    from yaml.nodes import ScalarNode

    if not text:
        raise _Invalid("forward needs an address: forward:ADDRESS, e.g. forward:triage@example.com")
    return _address(ScalarNode("tag:yaml.org,2002:str", text))


def smtp_to_dict(smtp: SmtpConfig | None) -> dict[str, Any] | None:
    if smtp is None:
        return None
    data = asdict(smtp)
    data["password"] = None if smtp.password is None else MASK
    return {k: v for k, v in data.items() if v not in (None, "")}


# --- settings: the limits on automatic mail --------------------------------------------------------------

SETTINGS_KEYS = ("auto_reply_limit", "flood_limit")
FLOOD_KEYS = ("records", "minutes")


def read_setting(entry: _Entry, report: _Report) -> dict[str, Any]:
    """One of SETTINGS_KEYS, as ``{key: value}`` (empty when it was wrong: the problem is reported)."""
    try:
        if entry.key == "auto_reply_limit":
            value = _int(entry.value)
            if not 0 <= value <= 1000:
                raise _Invalid(f"must be auto-replies per sender per hour, 0 to 1000, got {value}")
            return {"auto_reply_limit": value}
        if not isinstance(entry.value, MappingNode):
            raise _Invalid(
                f"must be a mapping like {{records: 20, minutes: 120}}, got {_describe(entry.value)}"
            )
        items = _entries(entry.value, report, "settings.flood_limit")
        flood = {}
        for key, item in items.items():
            if key not in FLOOD_KEYS:
                report.add(
                    item.key_node, "settings.flood_limit", key, _unknown_key(key, list(FLOOD_KEYS), {})
                )
                return {}
            flood[key] = _int(item.value)
            if not 1 <= flood[key] <= 100_000:
                raise _Invalid(f"{key} must be between 1 and 100000, got {flood[key]}")
        return {"flood_records": flood.get("records", 20), "flood_minutes": flood.get("minutes", 120)}
    except _Invalid as exc:
        report.add(entry.key_node, "settings", entry.key, str(exc))
        return {}
