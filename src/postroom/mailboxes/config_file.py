"""The YAML configuration file: text to a validated ConfigFile and back, every error reported at once."""

from __future__ import annotations

import difflib
import enum
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from postroom.core.errors import ConfigError

if TYPE_CHECKING:
    from postroom.mailboxes.config_people import Known

# --- the model ---------------------------------------------------------------------------------------------

MASK = "********"


class KeepStored(enum.Enum):
    """Type of KEEP_STORED: a password that is the mask means "keep the password already stored"."""

    KEEP_STORED = "keep the stored password"

    def __repr__(self) -> str:
        return "KEEP_STORED"


# `config dump` prints every literal password as MASK. Loading such a file back gives
# password=KEEP_STORED: the database layer keeps the password it already holds for that mailbox (and must
# refuse it for a mailbox it doesn't know yet). It is not a string, so it can never be sent to a server.
KEEP_STORED = KeepStored.KEEP_STORED

PROTOCOLS = ("imap", "pop3")
SECURITIES = ("ssl", "starttls", "none")
RECORD_KINDS = ("ticket", "job", "quote", "task", "case")
AFTER_IMPORT = ("delete", "move:FOLDER", "mark_seen", "keep")
POP3_AFTER_IMPORT = ("delete", "keep", "mark_seen")  # pop3 has no folders and no flags: mark_seen = keep
ON_FAILURE = ("keep", "move:FOLDER")
DEFAULT_PORTS = {("imap", True): 993, ("imap", False): 143, ("pop3", True): 995, ("pop3", False): 110}
DEFAULT_REFERENCE_FORMAT = "[#{number}]"
MIN_INTERVAL = 10
MAX_INTERVAL = 7 * 24 * 3600
MAX_BACKFILL_DAYS = 36500


@dataclass(frozen=True)
class Settings:
    reference_format: str = DEFAULT_REFERENCE_FORMAT
    auto_reply_limit: int = 5  # auto-replies per sender per hour
    flood_records: int = 20  # a sender who opens more records than this in flood_minutes is held
    flood_minutes: int = 120


@dataclass(frozen=True)
class UserConfig:
    """One staff member (`users:`): may add to any record by naming it in a subject."""

    name: str
    email: str  # lower case, as addresses are compared
    role: str = "agent"  # admin | agent | requester (records/access.py: who sees what)


@dataclass(frozen=True)
class TeamConfig:
    """One team (`teams:`): its user members by name and its contact members by email (lower case)."""

    name: str
    users: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    # Notifications of the team's records: the events that mail their followers (all when not given),
    # and whether every member follows them.
    notify_events: tuple[str, ...] = ()
    notify_members: bool = False
    admins: tuple[str, ...] = ()  # users who see all of the team's records (records/access.py)
    agents_see: str = "team"  # its other members see all its records ("team") or theirs ("assigned")


@dataclass(frozen=True)
class AccountConfig:
    """One customer account (`accounts:`) and the mail domains (lower case) that belong to it."""

    name: str
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactConfig:
    """One contact (`contacts:`): someone outside the team, by email (lower case), maybe of an account."""

    email: str
    name: str = ""
    account: str | None = None


@dataclass(frozen=True)
class FilterConfig:
    """One filter (global `filters:` or a mailbox's): mail its conditions all hold for is not imported.
    ``spec`` holds the conditions normalized as routing/rules.py reads them."""

    name: str
    spec: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class RuleConfig:
    """One import rule of a mailbox; ``spec`` holds its conditions, actions and `continue`, normalized as
    routing/rules.py reads them (``Rule.from_spec(name, order, spec)``)."""

    name: str
    order: int
    spec: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, kw_only=True)
class MailboxConfig:
    """One mailbox as the file describes it, defaults applied (the port from protocol and security)."""

    name: str
    protocol: str
    host: str
    port: int
    security: str = "ssl"
    username: str
    password: str | KeepStored | None = None
    password_env: str | None = None
    ca_file: str | None = None
    folder: str = "INBOX"
    address: str
    record_kind: str = "ticket"
    after_import: str = "delete"
    on_failure: str = "keep"
    interval: int = 60
    enabled: bool = True
    backfill: str | int = "all"  # "all", "none" or a number of days
    subject_reference_from_anyone: bool = False
    unmatched: str = "import"  # mail no rule matched: "import" (as record_kind) | "unprocessed"
    unprocessed: str = "keep"  # mail a filter skipped or a rule rejected: keep | delete | move:FOLDER
    filters: tuple[FilterConfig, ...] = ()  # after the global ones, in file order
    rules: tuple[RuleConfig, ...] = ()  # in file order (they run by order, ties in file order)
    smtp: Any = None  # config_outgoing.SmtpConfig: how it sends; None sends nothing
    save_sent: str = ""  # IMAP folder for a copy of what it sends
    auto_reply: dict[str, str] = field(default_factory=dict, hash=False)  # {template, subject}


@dataclass(frozen=True)
class ConfigFile:
    mailboxes: tuple[MailboxConfig, ...] = ()
    settings: Settings = field(default_factory=Settings)
    # Top-level sections that later issues validate: kept here as the plain data YAML gives, so the file is
    # accepted now and survives `config dump`. When an issue takes one of them over, it parses it from the
    # node tree in _read_file (for line numbers) instead. (None is left: see _EXTRA_SECTIONS.)
    extra: dict[str, Any] = field(default_factory=dict)
    users: tuple[UserConfig, ...] = ()
    teams: tuple[TeamConfig, ...] = ()
    accounts: tuple[AccountConfig, ...] = ()
    contacts: tuple[ContactConfig, ...] = ()
    filters: tuple[FilterConfig, ...] = ()  # global: applied to every mailbox, in file order


class ConfigFileError(ConfigError):
    """Every problem found in one configuration file; the message has one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# --- public functions ----------------------------------------------------------------------------------


def load_config_text(text: str, filename: str = "<config>") -> ConfigFile:
    """Parse and validate a configuration; raises ConfigFileError (a ConfigError) listing every problem."""
    root = _compose(text, filename)
    report = _Report(filename)
    config = _read_file(root, report)
    if report.problems or config is None:
        raise ConfigFileError(report.sorted())
    return config


def load_config_file(path: str | Path) -> ConfigFile:
    """Read a configuration file (UTF-8) and load it; an unreadable file is a ConfigError too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: can't read the configuration file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save the file as UTF-8") from exc
    return load_config_text(text, str(path))


def mask_password(password: str | KeepStored | None) -> str | None:
    """What `config dump` shows for a password: the mask for any password, nothing when there is none."""
    return None if password is None else MASK


def mailbox_to_dict(m: MailboxConfig) -> dict[str, Any]:
    """Every field of a mailbox by name; the password as loaded (clear text or KEEP_STORED): secret."""
    return {f.name: getattr(m, f.name) for f in fields(m)}


def dump_config(config: ConfigFile) -> str:
    """YAML that load_config_text reads back to an equal ConfigFile, but with passwords masked."""
    from postroom.mailboxes import config_people, config_rules

    data: dict[str, Any] = {"settings": _dump_settings(config.settings)}
    if config.users:
        data["users"] = [
            {k: v for k, v in asdict(user).items() if k != "role" or v != "agent"} for user in config.users
        ]
    sections = {
        "teams": [config_people.team_to_dict(t) for t in config.teams],
        "accounts": [config_people.account_to_dict(a) for a in config.accounts],
        "contacts": [config_people.contact_to_dict(c) for c in config.contacts],
        "filters": [config_rules.filter_to_dict(f) for f in config.filters],
    }
    data.update({key: items for key, items in sections.items() if items})
    data.update(config.extra)
    data["mailboxes"] = [_dump_mailbox(m) for m in config.mailboxes]
    body = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )
    return _DUMP_HEADER + body


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key (`mailboxes:` then `  - name: ...`), as the documentation writes them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_DUMP_HEADER = (
    "# Postroom configuration (postroom config dump). Passwords are masked: loading this file keeps\n"
    f"# the stored password of a mailbox whose password is '{MASK}'; write the password to change it.\n"
)


def _dump_settings(settings: Settings) -> dict[str, Any]:
    data = {"reference_format": settings.reference_format, "auto_reply_limit": settings.auto_reply_limit}
    data["flood_limit"] = {"records": settings.flood_records, "minutes": settings.flood_minutes}
    return data


def _dump_mailbox(m: MailboxConfig) -> dict[str, Any]:
    from postroom.mailboxes import config_outgoing, config_rules

    data = mailbox_to_dict(m)
    data["password"] = mask_password(m.password)
    data["smtp"] = config_outgoing.smtp_to_dict(m.smtp)
    data["save_sent"] = m.save_sent or None
    data["auto_reply"] = m.auto_reply or None
    data["filters"] = [config_rules.filter_to_dict(f) for f in m.filters] or None
    data["rules"] = config_rules.rules_to_dicts(m.rules) or None
    return _drop_none(data)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


# --- reading YAML: syntax, problems, mappings -------------------------------------------------------------


def _compose(text: str, filename: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigFileError([_syntax_message(exc, filename)]) from exc
    except yaml.YAMLError as exc:  # e.g. a character YAML doesn't allow, reported without a mark
        raise ConfigFileError([f"{filename}: YAML syntax error: {exc}"]) from exc


def _syntax_message(exc: yaml.MarkedYAMLError, filename: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
    message = f"{where}: YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    hint = next((hint for clue, hint in _SYNTAX_HINTS if clue in f"{exc.problem} {exc.context}"), "")
    return message + (f"; {hint}" if hint else "")


# The usual slips in hand-written YAML, recognised by PyYAML's wording.
_SYNTAX_HINTS = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("mapping values are not allowed here", "quote a value that contains ': ' (like 'move: Archive')"),
    ("while scanning an alias", "quote a value that starts with '*' (like password: '********')"),
    ("while scanning an anchor", "quote a value that starts with '&'"),
    ("cannot start any token", "quote a value that starts with a special character like '@', '`' or '%'"),
)


class _Invalid(Exception):
    """A value is wrong; the message says why (the caller adds file, line and key)."""


class _Report:
    """Collects problems with their line, so they can be listed in file order."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[tuple[int, int, str]] = []

    def add(self, node: Node, where: str, key: str | None, message: str) -> None:
        line = node.start_mark.line + 1
        label = " ".join(part for part in (where, f"key '{key}'" if key is not None else "") if part)
        text = (
            f"{self.filename}:{line}: {label}: {message}" if label else f"{self.filename}:{line}: {message}"
        )
        self.problems.append((line, len(self.problems), text))

    def sorted(self) -> list[str]:
        return [text for _, _, text in sorted(self.problems)]


@dataclass
class _Entry:
    key: str
    key_node: Node
    value: Node


def _entries(node: MappingNode, report: _Report, where: str) -> dict[str, _Entry]:
    """The keys of a mapping (merge keys `<<: *anchor` applied); a key given twice is a problem."""
    own: dict[str, _Entry] = {}
    for key_node, value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if not isinstance(key_node, ScalarNode):
            report.add(key_node, where, None, f"a key must be a plain word, got {_describe(key_node)}")
            continue
        key = key_node.value
        if key in own:
            first = own[key].key_node.start_mark.line + 1
            report.add(key_node, where, key, f"duplicate key (first given on line {first})")
            continue
        own[key] = _Entry(key, key_node, value)
    merged = _merged_entries(node, report, where, {id(node)})
    return {**merged, **own}


def _merged_entries(node: MappingNode, report: _Report, where: str, seen: set[int]) -> dict[str, _Entry]:
    merged: dict[str, _Entry] = {}
    for key_node, value in node.value:
        if key_node.tag != "tag:yaml.org,2002:merge":
            continue
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in reversed(sources):  # earlier sources win, as in YAML's merge key
            if not isinstance(source, MappingNode):
                report.add(key_node, where, "<<", "can only merge a mapping (an &anchor of one)")
            elif id(source) not in seen:
                inner = {**_merged_entries(source, report, where, seen | {id(source)}), **_plain(source)}
                merged.update(inner)
    return merged


def _plain(node: MappingNode) -> dict[str, _Entry]:
    """The scalar keys of a merged mapping (its own problems are reported where it is defined)."""
    entries: dict[str, _Entry] = {}
    for key_node, value in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            entries.setdefault(key_node.value, _Entry(key_node.value, key_node, value))
    return entries


def _unknown_key(key: str, candidates: list[str], synonyms: dict[str, str]) -> str:
    guess = synonyms.get(key.lower()) or next(
        iter(difflib.get_close_matches(key.lower(), candidates, n=1, cutoff=0.6)), None
    )
    return "unknown key" + (
        f"; did you mean '{guess}'?" if guess else f" (known keys: {', '.join(candidates)})"
    )


# --- values ---------------------------------------------------------------------------------------------


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kinds = {"null": "nothing", "bool": "true/false", "int": "a number", "float": "a number"}
    return kinds.get(node.tag.rsplit(":", 1)[-1], "text")


def _construct(node: Node) -> Any:
    return SafeConstructor().construct_object(node, deep=True)


def _text(node: Node) -> str:
    """A scalar as written (so `username: 0123` stays "0123"); control characters are refused."""
    value = _raw_text(node)
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise _Invalid(f"must not contain control characters (found U+{ord(bad):04X})")
    return value


def _raw_text(node: Node) -> str:
    if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        raise _Invalid(f"must be text, got {_describe(node)}")
    if node.value == "":
        raise _Invalid("must not be empty")
    return str(node.value)


def _bounded_text(limit: int) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _text(node)
        if len(value) > limit:
            raise _Invalid(f"is too long ({len(value)} characters, at most {limit})")
        return value

    return read


def _bool(node: Node) -> bool:
    if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
        raise _Invalid(f"must be true or false, got {_shown(node)}")
    return bool(_construct(node))


def _int(node: Node) -> int:
    if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:int":
        raise _Invalid(f"must be a whole number, got {_shown(node)}")
    return int(_construct(node))


def _shown(node: Node) -> str:
    return repr(node.value) if isinstance(node, ScalarNode) and node.value else _describe(node)


def _choice(choices: tuple[str, ...], hints: dict[str, str] | None = None) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _text(node).strip().lower()
        if value in choices:
            return value
        hint = (hints or {}).get(value)
        raise _Invalid(
            f"must be one of {', '.join(choices)}, got {node.value!r}" + (f"; {hint}" if hint else "")
        )

    return read


_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST = re.compile(r"[\w.\-:%]+")
_HOST_WITH_PORT = re.compile(r"[^:\[\]]+:\d+")
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_ADDRESS = re.compile(rf"[^@\s<>()\[\],;:\"\\]+@{_LABEL}(?:\.{_LABEL})*")


def _name(node: Node) -> str:
    value = _bounded_text(100)(node)
    if not _NAME.fullmatch(value):
        raise _Invalid(f"may contain only letters, digits, '_', '.' and '-', got {value!r}")
    return value


def _host(node: Node) -> str:
    value = _bounded_text(255)(node)
    if "://" in value:
        raise _Invalid(f"give the host name only, without a scheme like 'imaps://', got {value!r}")
    if _HOST_WITH_PORT.fullmatch(value):
        raise _Invalid(f"give the port in the key 'port', not in the host, got {value!r}")
    if value.startswith("[") and value.endswith("]"):
        raise _Invalid(f"write an IPv6 address without brackets, got {value!r}")
    if not _HOST.fullmatch(value):
        raise _Invalid(f"must be a host name or IP address, got {value!r}")
    return value


def _address(node: Node) -> str:
    value = _bounded_text(255)(node)
    if "<" in value:
        raise _Invalid(f"give the bare address without a display name, got {value!r}")
    if not _ADDRESS.fullmatch(value):
        raise _Invalid(f"must be an email address like support@example.com, got {value!r}")
    return value


def _password_env(node: Node) -> str:
    value = _bounded_text(255)(node)
    if value.startswith("$") and _ENV_NAME.fullmatch(value.lstrip("${").rstrip("}")):
        raise _Invalid(f"give the variable's name without '$', got {value!r}")
    if not _ENV_NAME.fullmatch(value):
        raise _Invalid(f"must be an environment variable name (letters, digits and '_'), got {value!r}")
    return value


def _password(node: Node) -> str | KeepStored:
    """Any text but line breaks and NUL (IMAP and POP3 send it on one line); the mask means KEEP_STORED."""
    value = _raw_text(node)
    if any(c in value for c in "\r\n\0"):
        raise _Invalid("must not contain line breaks or NUL characters")
    return KEEP_STORED if value == MASK else value


def _folder(node: Node) -> str:
    value = _bounded_text(255)(node)
    return "INBOX" if value.upper() == "INBOX" else value  # INBOX is case-insensitive in IMAP


def _action(choices: tuple[str, ...]) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _bounded_text(255)(node).strip()
        if value.lower().startswith("move:") and "move:FOLDER" in choices:
            target = value[5:].strip()
            if not target:
                raise _Invalid("move needs a folder: move:FOLDER, e.g. move:Archive")
            return "move:" + ("INBOX" if target.upper() == "INBOX" else target)
        if value.lower() in choices:
            return value.lower()
        hint = "; move needs a folder: move:FOLDER" if value.lower() == "move" else ""
        raise _Invalid(f"must be one of {', '.join(choices)}, got {node.value!r}{hint}")

    return read


def _port(node: Node) -> int:
    value = _int(node)
    if not 1 <= value <= 65535:
        raise _Invalid(f"must be between 1 and 65535, got {value}")
    return value


def _interval(node: Node) -> int:
    value = _int(node)
    if value < MIN_INTERVAL:
        raise _Invalid(f"must be at least {MIN_INTERVAL} seconds, got {value}")
    if value > MAX_INTERVAL:
        raise _Invalid(f"must be at most {MAX_INTERVAL} seconds (a week), got {value}")
    return value


def _backfill(node: Node) -> str | int:
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        word = node.value.strip().lower()
        if word in ("all", "none"):
            return word
        if not word.isdigit():
            raise _Invalid(f"must be all, none or a number of days, got {node.value!r}")
        return _days(int(word))
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:int":
        return _days(_int(node))
    raise _Invalid(f"must be all, none or a number of days, got {_shown(node)}")


def _days(days: int) -> int:
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise _Invalid(
            f"a number of days must be between 1 and {MAX_BACKFILL_DAYS} (or all / none), got {days}"
        )
    return days


_PROTOCOL_HINTS = {
    "imaps": "for IMAP over TLS use protocol: imap with security: ssl",
    "pop3s": "for POP3 over TLS use protocol: pop3 with security: ssl",
    "pop": "did you mean pop3?",
}
_MAILBOX_KEYS: dict[str, Callable[[Node], Any]] = {
    "name": _name,
    "protocol": _choice(PROTOCOLS, _PROTOCOL_HINTS),
    "host": _host,
    "port": _port,
    "security": _choice(SECURITIES),
    "username": _bounded_text(255),
    "password": _password,
    "password_env": _password_env,
    "ca_file": _bounded_text(1000),
    "folder": _folder,
    "address": _address,
    "record_kind": _choice(RECORD_KINDS),
    "after_import": _action(AFTER_IMPORT),
    "on_failure": _action(ON_FAILURE),
    "interval": _interval,
    "enabled": _bool,
    "backfill": _backfill,
    "subject_reference_from_anyone": _bool,
}
_REQUIRED = ("name", "protocol", "host", "username", "address")
_MAILBOX_SYNONYMS = {
    "server": "host", "hostname": "host", "user": "username", "login": "username", "pass": "password",
    "passwd": "password", "ssl": "security", "tls": "security", "type": "protocol", "kind": "record_kind",
    "email": "address", "mailbox": "folder", "cafile": "ca_file", "ca": "ca_file", "ca_cert": "ca_file",
    "active": "enabled", "disabled": "enabled", "poll_interval": "interval", "frequency": "interval",
}  # fmt: skip
_NO_VERIFY = re.compile(
    r"verif|insecure|check_?hostname|validate_?cert|ignore_?cert|skip_?cert", re.IGNORECASE
)
_NO_VERIFY_MESSAGE = (
    "certificate verification can't be switched off; for a server with a self-signed certificate, set "
    "ca_file to the path of the CA certificate (PEM) that signed it"
)


# --- mailboxes ------------------------------------------------------------------------------------------


@dataclass
class _Mailbox:
    """One mailbox as read: the values that were valid, and where it and its keys are."""

    index: int
    node: MappingNode
    where: str
    values: dict[str, Any]
    entries: dict[str, _Entry]
    ok: bool


def _read_mailbox(index: int, node: Node, report: _Report, known: Known) -> _Mailbox | None:
    from postroom.mailboxes import config_outgoing, config_rules

    where = f"mailboxes[{index}]"
    if not isinstance(node, MappingNode):
        report.add(
            node, where, None, f"must be a mapping of keys (name: ..., host: ...), got {_describe(node)}"
        )
        return None
    name = _name_of(node)
    where += f" ({name})" if name else ""
    before = len(report.problems)
    entries = {key: e for key, e in _entries(node, report, where).items() if not _left_empty(key, e)}
    routing = {key: e for key, e in entries.items() if key in config_rules.MAILBOX_KEYS}
    outgoing = {key: e for key, e in entries.items() if key in config_outgoing.MAILBOX_KEYS}
    plain = {k: e for k, e in entries.items() if k not in routing and k not in outgoing}
    values = _read_values(plain, report, where)
    values.update(config_rules.read_mailbox_routing(routing, values, report, where, known))
    outgoing["unprocessed"] = entries.get("unprocessed")  # type: ignore[assignment]
    if outgoing["unprocessed"] is None:
        del outgoing["unprocessed"]
    values.update(config_outgoing.read_mailbox_outgoing(outgoing, values, report, where))
    box = _Mailbox(index, node, where, values, entries, ok=True)
    _check_mailbox(box, report)
    box.ok = len(report.problems) == before
    return box


def _left_empty(key: str, entry: _Entry) -> bool:
    """An optional key with no value (`ca_file:`, `password: ~`) counts as not given: its default applies."""
    return key in _MAILBOX_KEYS and key not in _REQUIRED and _is_null(entry.value)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _name_of(node: MappingNode) -> str:
    for key_node, value in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "name" and isinstance(value, ScalarNode):
            return value.value if _NAME.fullmatch(value.value or "") else ""
    return ""


def _read_values(entries: dict[str, _Entry], report: _Report, where: str) -> dict[str, Any]:
    from postroom.mailboxes import config_outgoing, config_rules

    values: dict[str, Any] = {}
    for key, entry in entries.items():
        reader = _MAILBOX_KEYS.get(key)
        if reader is None:
            message = (
                _NO_VERIFY_MESSAGE
                if _NO_VERIFY.search(key)
                else _unknown_key(
                    key,
                    [*_MAILBOX_KEYS, *config_rules.MAILBOX_KEYS, *config_outgoing.MAILBOX_KEYS],
                    {
                        **_MAILBOX_SYNONYMS,
                        **config_rules.MAILBOX_SYNONYMS,
                        **config_outgoing.MAILBOX_SYNONYMS,
                    },
                )
            )
            report.add(entry.key_node, where, key, message)
            continue
        try:
            values[key] = reader(entry.value)
        except _Invalid as exc:
            report.add(entry.key_node, where, key, str(exc))
    return values


def _check_mailbox(box: _Mailbox, report: _Report) -> None:
    """Rules between keys; each runs only when the keys it needs were valid, so one mistake is one problem."""
    for key in _REQUIRED:
        if key not in box.entries:
            report.add(box.node, box.where, key, "is required")
    _check_password(box, report)
    if box.values.get("protocol") == "pop3":
        _check_pop3(box, report)
    else:
        _check_moves(box, report)


def _check_password(box: _Mailbox, report: _Report) -> None:
    given = [key for key in ("password", "password_env") if key in box.entries]
    if len(given) == 2:
        entry = box.entries["password_env"]
        report.add(
            entry.key_node, box.where, "password_env", "give either password or password_env, not both"
        )
    elif not given and box.values.get("enabled", True) and "enabled" not in _invalid_keys(box):
        report.add(
            box.node,
            box.where,
            "password",
            "is required: give password or password_env (or set enabled: false)",
        )


def _invalid_keys(box: _Mailbox) -> set[str]:
    return {key for key in box.entries if key in _MAILBOX_KEYS and key not in box.values}


def _check_pop3(box: _Mailbox, report: _Report) -> None:
    folder = box.values.get("folder", "INBOX")
    if folder != "INBOX":
        report.add(
            box.entries["folder"].key_node,
            box.where,
            "folder",
            f"pop3 reads only INBOX (folders are for imap), got {folder!r}",
        )
    action = box.values.get("after_import", "delete")
    if action.startswith("move:"):
        report.add(
            box.entries["after_import"].key_node,
            box.where,
            "after_import",
            f"pop3 can't move messages (it has no folders): use one of {', '.join(POP3_AFTER_IMPORT)}",
        )
    if box.values.get("on_failure", "keep").startswith("move:"):
        report.add(
            box.entries["on_failure"].key_node,
            box.where,
            "on_failure",
            "pop3 can't move messages (it has no folders): use keep",
        )


def _check_moves(box: _Mailbox, report: _Report) -> None:
    folder = box.values.get("folder", "INBOX")
    for key in ("after_import", "on_failure"):
        if box.values.get(key) == f"move:{folder}":
            message = f"moves messages into {folder!r}, the folder being read: they would be read again"
            report.add(box.entries[key].key_node, box.where, key, message)


def _build(box: _Mailbox) -> MailboxConfig:
    values = dict(box.values)
    ssl = values.get("security", "ssl") == "ssl"
    values.setdefault("port", DEFAULT_PORTS[(values["protocol"], ssl)])
    return MailboxConfig(**values)


def _check_unique(boxes: list[_Mailbox], report: _Report) -> None:
    """Names are unique; no two mailboxes read one server account and folder."""
    names: dict[str, _Mailbox] = {}
    accounts: dict[tuple[str, int, str, str], _Mailbox] = {}
    for box in boxes:
        name = box.values.get("name")
        if name is not None and name in names:
            first = names[name]
            message = f"name {name!r} is already used by {first.where} on line {_line(first.node)}"
            report.add(box.entries["name"].key_node, box.where, "name", message)
        elif name is not None:
            names[name] = box
        account = _account(box)
        if account is None:
            continue
        if account in accounts:
            report.add(box.node, box.where, None, _shared_account(accounts[account], account))
        accounts.setdefault(account, box)


def _account(box: _Mailbox) -> tuple[str, int, str, str] | None:
    v = box.values
    if not all(key in v for key in ("protocol", "host", "username")):
        return None
    if _invalid_keys(box) & {"port", "security", "folder"}:
        return None
    port = v.get("port") or DEFAULT_PORTS[(v["protocol"], v.get("security", "ssl") == "ssl")]
    return (v["host"].lower().rstrip("."), port, v["username"], v.get("folder", "INBOX"))


def _shared_account(first: _Mailbox, account: tuple[str, int, str, str]) -> str:
    host, port, username, folder = account
    return (
        f"reads the same account and folder as {first.where} on line {_line(first.node)} "
        f"(host {host}, port {port}, username {username}, folder {folder}); two mailboxes would take each "
        "other's mail"
    )


def _line(node: Node) -> int:
    return node.start_mark.line + 1


# --- users ----------------------------------------------------------------------------------------------


def _staff_email(node: Node) -> str:
    return _address(node).lower()  # addresses are compared in lower case when threading


_USER_KEYS: dict[str, Callable[[Node], Any]] = {
    "name": _bounded_text(150), "email": _staff_email, "role": _choice(("admin", "agent", "requester")),
}  # fmt: skip
_USER_SYNONYMS = {
    "mail": "email", "e-mail": "email", "address": "email", "username": "name", "user": "name",
}  # fmt: skip


@dataclass
class _User:
    """One entry of `users:` as read: its valid values, and where it and its keys are."""

    node: MappingNode
    where: str
    values: dict[str, Any]
    entries: dict[str, _Entry]


def _read_users(entry: _Entry | None, report: _Report) -> tuple[UserConfig, ...] | None:
    if entry is None or _is_null(entry.value):
        return ()
    if not isinstance(entry.value, SequenceNode):
        message = f"must be a list of users (- {{name: ..., email: ...}}), got {_describe(entry.value)}"
        report.add(entry.key_node, "", "users", message)
        return None
    before = len(report.problems)
    users = [user for i, item in enumerate(entry.value.value) if (user := _read_user(i, item, report))]
    _check_unique_users(users, report)
    if len(report.problems) != before:
        return None
    return tuple(UserConfig(**user.values) for user in users)


def _read_user(index: int, node: Node, report: _Report) -> _User | None:
    where = f"users[{index}]"
    if not isinstance(node, MappingNode):
        report.add(node, where, None, f"must be a mapping (name: ..., email: ...), got {_describe(node)}")
        return None
    name = _user_name_of(node)
    where += f" ({name})" if name else ""
    entries = _entries(node, report, where)
    values: dict[str, Any] = {}
    for key, item in entries.items():
        reader = _USER_KEYS.get(key)
        if reader is None:
            report.add(item.key_node, where, key, _unknown_key(key, list(_USER_KEYS), _USER_SYNONYMS))
        else:
            _read_key(values, item, reader, report, where)
    for key in ("name", "email"):
        if key not in entries:
            report.add(node, where, key, "is required")
    return _User(node, where, values, entries)


def _user_name_of(node: MappingNode) -> str:
    entry = _plain(node).get("name")
    try:
        return _bounded_text(150)(entry.value) if entry else ""
    except _Invalid:
        return ""


def _check_unique_users(users: list[_User], report: _Report) -> None:
    """A name is one user: a second entry with it would quietly replace the first one's email."""
    names: dict[str, _User] = {}
    for user in users:
        name = user.values.get("name")
        if name is None:
            continue
        if name in names:
            first = names[name]
            message = f"name {name!r} is already used by {first.where} on line {_line(first.node)}"
            report.add(user.entries["name"].key_node, user.where, "name", message)
        else:
            names[name] = user


# --- the file ---------------------------------------------------------------------------------------------

# Any other top-level key is an error. A section a later issue will validate can be listed here meanwhile:
# accepted as raw data on ConfigFile.extra (see there).
_EXTRA_SECTIONS: tuple[str, ...] = ()
_TOP_KEYS = ("settings", "users", "teams", "accounts", "contacts", "filters", "mailboxes", *_EXTRA_SECTIONS)
_TOP_SYNONYMS = {
    "mailbox": "mailboxes", "user": "users", "staff": "users", "setting": "settings", "team": "teams",
    "departments": "teams", "account": "accounts", "customers": "accounts", "contact": "contacts",
    "filter": "filters",
}  # fmt: skip
_TOP_RULES_MESSAGE = "rules belong to a mailbox: give them as 'rules:' of the mailbox whose mail they sort"
_SETTINGS_KEYS = ("reference_format", "auto_reply_limit", "flood_limit")
_DATA_DIR_MESSAGE = (
    "the data folder can't be set in this file (it holds the database the file is loaded into): "
    "set the environment variable POSTROOM_DATA_DIR instead"
)


def _read_file(root: Node | None, report: _Report) -> ConfigFile | None:
    from postroom.mailboxes import config_people, config_rules  # they build on this module's readers

    if root is None:
        raise ConfigFileError([f"{report.filename}: the file is empty; it needs at least 'mailboxes:'"])
    if not isinstance(root, MappingNode):
        report.add(
            root, "", None, f"the file must be a mapping (settings:, mailboxes:), got {_describe(root)}"
        )
        return None
    entries = _entries(root, report, "")
    for key, entry in entries.items():
        if key == "rules":
            report.add(entry.key_node, "", key, _TOP_RULES_MESSAGE)
        elif key not in _TOP_KEYS:
            report.add(entry.key_node, "", key, _unknown_key(key, list(_TOP_KEYS), _TOP_SYNONYMS))
    settings = _read_settings(entries.get("settings"), report)
    users = _read_users(entries.get("users"), report)
    people = config_people.read_people(entries, report)
    filters = config_rules.read_filters(entries.get("filters"), report, "", people.known)
    mailboxes = _read_mailboxes(root, entries.get("mailboxes"), report, people.known)
    extra = {key: _read_extra(entries[key], report) for key in _EXTRA_SECTIONS if key in entries}
    teams, accounts, contacts = people.teams, people.accounts, people.contacts
    if (
        report.problems
        or settings is None
        or users is None
        or mailboxes is None
        or filters is None
        or teams is None
        or accounts is None
        or contacts is None
    ):
        return None
    return ConfigFile(
        mailboxes=mailboxes,
        settings=settings,
        extra=extra,
        users=users,
        teams=teams,
        accounts=accounts,
        contacts=contacts,
        filters=filters,
    )


def _read_mailboxes(
    root: Node, entry: _Entry | None, report: _Report, known: Known
) -> tuple[MailboxConfig, ...] | None:
    if entry is None:
        report.add(root, "", "mailboxes", "is required (write 'mailboxes: []' to disable every mailbox)")
        return None
    node = entry.value
    if _is_null(node):
        return ()
    if not isinstance(node, SequenceNode):
        report.add(
            entry.key_node,
            "",
            "mailboxes",
            f"must be a list of mailboxes (- name: ...), got {_describe(node)}",
        )
        return None
    boxes = [
        box for i, item in enumerate(node.value) if (box := _read_mailbox(i, item, report, known)) is not None
    ]
    _check_unique(boxes, report)
    if len(boxes) != len(node.value) or not all(box.ok for box in boxes):
        return None
    return tuple(_build(box) for box in boxes)


def _read_settings(entry: _Entry | None, report: _Report) -> Settings | None:
    if entry is None or _is_null(entry.value):
        return Settings()
    if not isinstance(entry.value, MappingNode):
        report.add(entry.key_node, "", "settings", f"must be a mapping of keys, got {_describe(entry.value)}")
        return None
    values: dict[str, Any] = {}
    for key, item in _entries(entry.value, report, "settings").items():
        if key == "data_dir":
            report.add(item.key_node, "settings", key, _DATA_DIR_MESSAGE)
        elif key not in _SETTINGS_KEYS:
            report.add(item.key_node, "settings", key, _unknown_key(key, list(_SETTINGS_KEYS), {}))
        elif _is_null(item.value):  # `reference_format:` with no value: the default
            continue
        elif key == "reference_format":
            _read_key(values, item, _reference_format, report, "settings")
        else:
            from postroom.mailboxes import config_outgoing

            values.update(config_outgoing.read_setting(item, report))
    return Settings(**values)


def _read_key(
    values: dict[str, Any], entry: _Entry, reader: Callable[[Node], Any], report: _Report, where: str
) -> None:
    """Read one value into ``values``; a wrong value is reported on its key's line instead."""
    try:
        values[entry.key] = reader(entry.value)
    except _Invalid as exc:
        report.add(entry.key_node, where, entry.key, str(exc))


def _reference_format(node: Node) -> str:
    value = _bounded_text(100)(node)
    count = value.count("{number}")
    if count != 1:
        raise _Invalid(f"must contain {{number}} exactly once, got {value!r}")
    if not value.replace("{number}", "").strip():
        raise _Invalid("needs text around {number} (like [#{number}]): a bare number would match any number")
    return value


def _read_extra(entry: _Entry, report: _Report) -> Any:
    try:
        return _construct(entry.value)
    except yaml.MarkedYAMLError as exc:
        report.add(entry.key_node, "", entry.key, f"can't be read: {exc.problem}")
    except (yaml.YAMLError, RecursionError) as exc:
        report.add(entry.key_node, "", entry.key, f"can't be read: {exc}")
        return None
