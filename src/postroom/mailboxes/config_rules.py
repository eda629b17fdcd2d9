"""Filters, import rules and field mappings in the configuration file, normalized to the specs that
routing/rules.py compiles; and a mailbox's `unmatched` and `unprocessed`.

Normalizing: address patterns, domains, phrases and tags become lists; `keyword` is always a mapping with a
`text` list and/or a `regex`, and an `in` list; `header` keeps its names as written; a mapping keeps only
the fields that differ from ``Mapping``'s defaults; otherwise only the keys given are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, fields
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from postroom.mailboxes.config_file import (
    FilterConfig,
    RuleConfig,
    _action,
    _bool,
    _bounded_text,
    _choice,
    _describe,
    _entries,
    _Entry,
    _int,
    _Invalid,
    _is_null,
    _line,
    _Report,
    _unknown_key,
)
from postroom.mailboxes.config_people import Known, domain, listed, read_one_or_list, written
from postroom.routing.mappings import SOURCES, TRANSFORMS, check_mapping
from postroom.routing.mappings import Mapping as FieldMapping
from postroom.routing.rules import (
    CONDITION_KEYS,
    IMPORT_AS,
    KEYWORD_PLACES,
    PRIORITIES,
    REGEX_PREFIX,
    UNKNOWN_SENDER,
    compile_pattern,
)

MAILBOX_KEYS = ("unmatched", "unprocessed", "filters", "rules")
MAILBOX_SYNONYMS = {"filter": "filters", "rule": "rules", "skip": "filters", "on_unmatched": "unmatched"}
UNMATCHED = ("import", "unprocessed")
UNPROCESSED = ("keep", "delete", "move:FOLDER", "forward:ADDRESS")
ACTION_KEYS = (
    "import_as", "job_keyword", "customer", "category", "team", "priority", "tags", "note_type", "assign",
    "unknown_sender", "owner", "require_access", "mappings", "auto_reply",
)  # fmt: skip
ASSIGN_KEYS = ("user", "round_robin", "least_busy")
MAX_ORDER = 1_000_000
DEFAULT_KEYWORD_PLACES = ("subject", "body")  # as Conditions.from_spec has it

# --- reading ----------------------------------------------------------------------------------------------


class _Bad:
    """A value that was wrong (its problem is reported): leaves the key out and fails the entry."""


_BAD = _Bad()


@dataclass
class _Ctx:
    """Where one filter or rule is: problems go to the report under its ``where``."""

    report: _Report
    where: str
    known: Known

    def add(self, node: Node, key: str | None, message: str) -> None:
        self.report.add(node, self.where, key, message)

    def one(self, entry: _Entry, path: str, reader: Callable[[Node], Any]) -> Any:
        """One value by a reader that raises _Invalid; the problem is reported on the key's line."""
        try:
            return reader(entry.value)
        except _Invalid as exc:
            self.add(entry.key_node, path, str(exc))
            return _BAD

    def many(self, entry: _Entry, path: str, reader: Callable[[Node], Any]) -> Any:
        """One value or a list of them, as a list; a wrong item is reported on its own line."""
        values = read_one_or_list(path, entry.key_node, entry.value, reader, self.report, self.where)
        return _BAD if values is None else values


# A key's reader: (its entry, where, its key path) -> the normalized value, or _BAD.
_Reader = Callable[[_Entry, _Ctx, str], Any]


def _regex(text: str, **kind: bool) -> None:
    try:
        compile_pattern(text, **kind)
    except re.error as exc:
        shown = text[len(REGEX_PREFIX) :] if text.startswith(REGEX_PREFIX) else text
        raise _Invalid(f"{shown!r} is not a valid regex: {exc}") from exc
    except RecursionError as exc:
        raise _Invalid("is not a valid regex: nested too deeply") from exc


def _pattern_text(node: Node) -> str:
    value = _bounded_text(1000)(node)
    if value.startswith(REGEX_PREFIX) and not value[len(REGEX_PREFIX) :]:
        raise _Invalid("regex: needs a pattern after it, like regex:^PO\\d+")
    return value


def _address_pattern(node: Node) -> str:
    """An address, a glob (*@example.com) or regex:RE, matched against a whole address."""
    value = _pattern_text(node).strip()
    if value.startswith(REGEX_PREFIX):
        _regex(value)
        return value
    if any(c.isspace() for c in value) or "<" in value:
        raise _Invalid(f"must be a bare address or a glob like *@example.com, got {node.value!r}")
    if "@" not in value and not any(c in value for c in "*?["):
        raise _Invalid(
            f"must be an address, a glob like *@example.com or regex:RE, got {node.value!r} (it is matched "
            "against the whole address; for a sender's domain use from_domain)"
        )
    _regex(value, glob=True)
    return value


def _phrase(node: Node) -> str:
    """A phrase (matched case-insensitively) or regex:RE."""
    value = _pattern_text(node)
    if not value.strip():
        raise _Invalid("must not be blank")
    _regex(value, whole_words=True)
    return value


def _sender_domain(node: Node) -> str:
    if isinstance(node, ScalarNode) and str(node.value).startswith(REGEX_PREFIX):
        raise _Invalid(
            "takes domains (example.com, or *.example.com for its subdomains too), not regex:; "
            "to match the sender with a regex use from: 'regex:...'"
        )
    return domain(node, wildcard=True)


def _patterns(item: Callable[[Node], str]) -> _Reader:
    return lambda entry, ctx, path: ctx.many(entry, path, item)


def _single(reader: Callable[[Node], Any]) -> _Reader:
    return lambda entry, ctx, path: ctx.one(entry, path, reader)


def _mapping_of(entry: _Entry, ctx: _Ctx, path: str, shape: str) -> dict[str, _Entry] | None:
    if not isinstance(entry.value, MappingNode):
        ctx.add(entry.key_node, path, f"must be a mapping ({shape}), got {_describe(entry.value)}")
        return None
    return _entries(entry.value, ctx.report, f"{ctx.where} {path}".strip())


def _inner(
    entries: dict[str, _Entry],
    ctx: _Ctx,
    path: str,
    known: tuple[str, ...],
    synonyms: dict[str, str] | None = None,
) -> dict[str, _Entry]:
    """The entries of a nested mapping whose keys are known; the others are reported as unknown."""
    kept = {}
    for key, entry in entries.items():
        if key in known:
            kept[key] = entry
        else:
            ctx.add(entry.key_node, f"{path}.{key}", _unknown_key(key, list(known), synonyms or {}))
    return kept


def _keyword(entry: _Entry, ctx: _Ctx, path: str) -> Any:
    """keyword: PHRASE | [PHRASES] | {text: PHRASE or [PHRASES], regex: RE, in: [subject, body, headers]}."""
    if not isinstance(entry.value, MappingNode):
        texts = ctx.many(entry, path, _phrase)
        return _BAD if texts is _BAD else {"text": texts, "in": list(DEFAULT_KEYWORD_PLACES)}
    entries = _mapping_of(entry, ctx, path, "text: ..., in: [...]")
    if entries is None:
        return _BAD
    synonyms = {"phrase": "text", "phrases": "text", "texts": "text", "words": "text", "where": "in",
                "places": "in", "fields": "in", "regexp": "regex", "pattern": "regex"}  # fmt: skip
    inner = _inner(entries, ctx, path, ("text", "regex", "in"), synonyms)
    ok = len(inner) == len(entries)
    spec: dict[str, Any] = {}
    if "text" in inner:
        spec["text"] = ctx.many(inner["text"], f"{path}.text", _phrase)
    if "regex" in inner:
        spec["regex"] = ctx.one(inner["regex"], f"{path}.regex", _keyword_regex)
    places = ctx.many(inner["in"], f"{path}.in", _choice(KEYWORD_PLACES)) if "in" in inner else None
    spec["in"] = list(dict.fromkeys(places if isinstance(places, list) else DEFAULT_KEYWORD_PLACES))
    if ok and not {"text", "regex"} & set(entries):
        ctx.add(entry.key_node, path, "needs text: PHRASE (or a list) or regex: RE")
        ok = False
    if places is _BAD or any(value is _BAD for value in spec.values()):
        ok = False
    return spec if ok else _BAD


def _keyword_regex(node: Node) -> str:
    value = _bounded_text(1000)(node)
    _regex(REGEX_PREFIX + value)
    return value


_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII but ':' (RFC 5322 field names)


def _header(entry: _Entry, ctx: _Ctx, path: str) -> Any:
    """header: {NAME: PATTERN, ...}: the header is there and contains PATTERN ("*": there at all)."""
    entries = _mapping_of(entry, ctx, path, 'X-Project: apollo, or X-Flag: "*"')
    if entries is None:
        return _BAD
    if not entries:
        ctx.add(entry.key_node, path, "needs at least one header (NAME: PATTERN)")
        return _BAD
    spec: dict[str, str] = {}
    seen: dict[str, _Entry] = {}
    ok = True
    for name, item in entries.items():
        key = f"{path}.{name}"
        if not _HEADER_NAME.fullmatch(name):
            ctx.add(item.key_node, key, "is not a header name (letters, digits and '-', no spaces or ':')")
            ok = False
            continue
        if (first := seen.get(name.lower())) is not None:
            message = f"is the same header as {path}.{first.key} on line {_line(first.key_node)}"
            ctx.add(item.key_node, key, message)
            ok = False
            continue
        seen[name.lower()] = item
        value = ctx.one(item, key, _header_pattern)
        if value is _BAD:
            ok = False
        else:
            spec[name] = value
    return spec if ok else _BAD


def _header_pattern(node: Node) -> str:
    if _is_null(node):
        raise _Invalid('needs a pattern: text the header contains, regex:RE, or "*" for present at all')
    if not isinstance(node, ScalarNode):
        raise _Invalid(f'must be text (or "*" for present at all), got {_describe(node)}')
    value = _pattern_text(node)
    if value != "*":
        _regex(value)
    return value


_CONDITIONS: dict[str, _Reader] = {
    "from": _patterns(_address_pattern),
    "from_domain": _patterns(_sender_domain),
    "to": _patterns(_address_pattern),
    "cc": _patterns(_address_pattern),
    "delivered_to": _patterns(_address_pattern),
    "keyword": _keyword,
    "subject_contains": _patterns(_phrase),
    "body_contains": _patterns(_phrase),
    "header": _header,
    "has_attachment": _single(_bool),
}
assert tuple(_CONDITIONS) == CONDITION_KEYS


# actions ---------------------------------------------------------------------------------------------------


def _team(known: Known) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _bounded_text(100)(node)
        listed(value, known.teams, "teams:", "team")
        return value

    return read


def _user(known: Known) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _bounded_text(150)(node)
        if value not in known.users and (user := known.user_emails.get(value.lower())) is not None:
            raise _Invalid(f"{value!r} is the email of user {user!r}: name the user ({user})")
        listed(value, known.users, "users:", "user")
        return value

    return read


def _with_known(make: Callable[[Known], Callable[[Node], str]]) -> _Reader:
    return lambda entry, ctx, path: ctx.one(entry, path, make(ctx.known))


def _assign(entry: _Entry, ctx: _Ctx, path: str) -> Any:
    """assign: exactly one of {user: NAME}, {round_robin: TEAM}, {least_busy: TEAM}."""
    if isinstance(entry.value, ScalarNode) and not _is_null(entry.value):
        value = entry.value.value
        message = f"must be a mapping: {{user: {value}}}, {{round_robin: TEAM}} or {{least_busy: TEAM}}"
        ctx.add(entry.key_node, path, message)
        return _BAD
    entries = _mapping_of(entry, ctx, path, "user: NAME, round_robin: TEAM or least_busy: TEAM")
    if entries is None:
        return _BAD
    synonyms = {"round-robin": "round_robin", "roundrobin": "round_robin", "rotate": "round_robin",
                "least-busy": "least_busy", "team": "round_robin", "to": "user", "name": "user"}  # fmt: skip
    inner = _inner(entries, ctx, path, ASSIGN_KEYS, synonyms)
    if len(inner) != len(entries):
        return _BAD
    if len(inner) != 1:
        given = f": got {', '.join(inner)}" if inner else ""
        ctx.add(entry.key_node, path, f"needs exactly one of {', '.join(ASSIGN_KEYS)}{given}")
        return _BAD
    ((how, item),) = inner.items()
    if how == "user":
        target = ctx.one(item, f"{path}.user", _user(ctx.known))
    else:
        target = ctx.one(item, f"{path}.{how}", _assignable_team(ctx.known))
    return _BAD if target is _BAD else {how: target}


def _assignable_team(known: Known) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _team(known)(node)
        if known.team_users.get(value) == ():
            raise _Invalid(f"team {value!r} has no users among its members: there is no one to assign to")
        return value

    return read


def _free_text(limit: int) -> Callable[[Node], str]:
    """Text that may be empty and hold line breaks and tabs (what to look for in a mail)."""

    def read(node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise _Invalid(f"must be text, got {_describe(node)}")
        value = str(node.value)
        bad = next((c for c in value if (ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127), None)
        if bad is not None:
            raise _Invalid(f"must not contain control characters (found U+{ord(bad):04X})")
        if len(value) > limit:
            raise _Invalid(f"is too long ({len(value)} characters, at most {limit})")
        return value

    return read


_MAPPING_KEYS: dict[str, Callable[[Node], Any]] = {
    "field": _bounded_text(100),
    "start": _free_text(1000),
    "end": _free_text(1000),
    "source": _choice(tuple(SOURCES)),
    "required": _bool,
    "default": _free_text(1000),
    "transform": _choice(TRANSFORMS),
    "regex": _bounded_text(1000),
}
_MAPPING_SYNONYMS = {"name": "field", "from": "start", "after": "start", "before": "end", "until": "end",
                     "to": "end", "in": "source", "pattern": "regex", "optional": "required"}  # fmt: skip
_MAPPING_DEFAULTS = {
    f.name: f.default for f in fields(FieldMapping) if f.default is not MISSING and f.name in _MAPPING_KEYS
}


def _mappings(entry: _Entry, ctx: _Ctx, path: str) -> Any:
    """mappings: [{field, start, end, source, required, default, transform} or {regex, source, ...}]."""
    node = entry.value
    if not isinstance(node, SequenceNode):
        message = f"must be a list of mappings (- {{field: ..., start: ...}}), got {_describe(node)}"
        ctx.add(entry.key_node, path, message)
        return _BAD
    rows = [_mapping(item, ctx, f"{path}[{i}]") for i, item in enumerate(node.value)]
    return _BAD if any(row is _BAD for row in rows) else rows


def _mapping(node: Node, ctx: _Ctx, path: str) -> Any:
    if not isinstance(node, MappingNode):
        ctx.add(node, path, f"must be a mapping (field: ..., start: ...), got {_describe(node)}")
        return _BAD
    entries = _entries(node, ctx.report, f"{ctx.where} {path}")
    inner = _inner(entries, ctx, path, tuple(_MAPPING_KEYS), _MAPPING_SYNONYMS)
    ok = len(inner) == len(entries)
    values: dict[str, Any] = {}
    for key, item in inner.items():
        if not _is_null(item.value):  # `end:` with no value: the default
            values[key] = ctx.one(item, f"{path}.{key}", _MAPPING_KEYS[key])
    if not ok or _BAD in values.values():
        return _BAD
    try:
        problems = check_mapping(FieldMapping(**values))
    except (TypeError, ValueError) as exc:
        problems = [str(exc)]
    for problem in problems:
        ctx.add(node, path, problem)
    if problems:
        return _BAD
    return {key: value for key, value in values.items() if value != _MAPPING_DEFAULTS.get(key)}


def _rule_auto_reply(entry: _Entry, ctx: _Ctx, path: str) -> Any:
    """`auto_reply: false` (none for this rule's mail) or `{template, subject}` (its own)."""
    from postroom.mailboxes.config_outgoing import read_auto_reply

    if isinstance(entry.value, ScalarNode) and entry.value.value.lower() in ("false", "no", "off"):
        return False
    value = read_auto_reply(entry, ctx.report, ctx.where)
    return _BAD if value is None else value


_ACTIONS: dict[str, _Reader] = {
    "import_as": _single(_choice(IMPORT_AS)),
    "job_keyword": _single(_phrase),
    "customer": _single(_bounded_text(255)),
    "category": _single(_bounded_text(200)),
    "team": _with_known(_team),
    "priority": _single(_choice(PRIORITIES)),
    "tags": _patterns(_bounded_text(100)),
    "note_type": _single(_bounded_text(50)),
    "assign": _assign,
    "unknown_sender": _single(_choice(UNKNOWN_SENDER)),
    "owner": _with_known(_user),
    "require_access": _single(_bool),
    "mappings": _mappings,
    "auto_reply": _rule_auto_reply,
}
assert tuple(_ACTIONS) == ACTION_KEYS


def _order(node: Node) -> int:
    value = _int(node)
    if not 0 <= value <= MAX_ORDER:
        raise _Invalid(f"must be between 0 and {MAX_ORDER}, got {value}")
    return value


_RULE_KEYS: dict[str, _Reader] = {
    "name": _single(_bounded_text(200)),
    "order": _single(_order),
    "continue": _single(_bool),
    **_CONDITIONS,
    **_ACTIONS,
}
_FILTER_KEYS: dict[str, _Reader] = {"name": _RULE_KEYS["name"], **_CONDITIONS}
_SYNONYMS = {
    "sender": "from", "from_address": "from", "domain": "from_domain", "sender_domain": "from_domain",
    "recipient": "to", "subject": "subject_contains", "body": "body_contains", "keywords": "keyword",
    "headers": "header", "attachment": "has_attachment", "has_attachments": "has_attachment",
    "attachments": "has_attachment", "kind": "import_as", "record_kind": "import_as", "type": "import_as",
    "as": "import_as", "account": "customer", "department": "team", "tag": "tags", "assignee": "assign",
    "assign_to": "assign", "mapping": "mappings", "fields": "mappings", "extract": "mappings",
    "stop": "continue", "position": "order", "priority_level": "priority", "unknown": "unknown_sender",
}  # fmt: skip
_NESTING = ("conditions", "condition", "match", "when", "if", "actions", "action", "then", "do")
_NESTING_MESSAGE = "write conditions and actions straight on the rule (from: ..., import_as: ...), not nested"


@dataclass
class _Read:
    """One filter or rule as read."""

    node: MappingNode
    where: str
    entries: dict[str, _Entry]
    values: dict[str, Any]  # every key read without problems, normalized
    ok: bool


def _read_entry(
    node: Node, report: _Report, where: str, known: Known, keys: dict[str, _Reader]
) -> _Read | None:
    kind = "filter" if keys is _FILTER_KEYS else "rule"
    if not isinstance(node, MappingNode):
        report.add(node, where, None, f"must be a mapping (name: ..., from: ...), got {_describe(node)}")
        return None
    if name := written(node, "name"):
        where += f" ({name})"
    before = len(report.problems)
    ctx = _Ctx(report, where, known)
    entries = _entries(node, report, where)
    values: dict[str, Any] = {}
    for key, entry in entries.items():
        reader = keys.get(key)
        if reader is not None:
            value = reader(entry, ctx, key)
            if value is not _BAD:
                values[key] = value
        else:
            ctx.add(entry.key_node, key, _not_a_key(kind, key, keys))
    if "name" not in entries:
        ctx.add(node, "name", "is required")
    if kind == "filter":
        if not any(key in entries for key in CONDITION_KEYS):
            ctx.add(node, None, "a filter without conditions would skip every message")
    else:
        _check_rule(entries, values, ctx)
    return _Read(node, where, entries, values, ok=len(report.problems) == before)


def _not_a_key(kind: str, key: str, keys: dict[str, _Reader]) -> str:
    if key.lower() in _NESTING:
        return _NESTING_MESSAGE if kind == "rule" else "write conditions straight on the filter (from: ...)"
    if kind == "filter" and key in _RULE_KEYS:
        return (
            f"filters have no {key}: a filter only skips mail, in file order; "
            "actions, order and continue belong to rules"
        )
    return _unknown_key(key, list(keys), _SYNONYMS)


def _check_rule(entries: dict[str, _Entry], values: dict[str, Any], ctx: _Ctx) -> None:
    """Rules between a rule's keys; each runs only when the keys it needs were valid."""

    def only_with(key: str, other: str, wanted: str, why: str) -> None:
        """``key`` given while ``other`` is left out or valid but not ``wanted`` (when ``other`` is wrong,
        that one problem is enough)."""
        if key in values and (other not in entries or values.get(other, wanted) != wanted):
            ctx.add(entries[key].key_node, key, f"only goes with {other}: {wanted}{why}")

    only_with("job_keyword", "import_as", "job_and_quote", " (it picks the mails that become a job)")
    only_with("owner", "unknown_sender", "as_owner", "")
    if values.get("unknown_sender") == "as_owner" and "owner" not in entries:
        message = "as_owner needs owner: USER-NAME (the user the records are made in the name of)"
        ctx.add(entries["unknown_sender"].key_node, "unknown_sender", message)
    if values.get("require_access") is True and "team" not in entries:
        message = "needs team: (the team whose members and contacts may send this mail)"
        ctx.add(entries["require_access"].key_node, "require_access", message)


def _read_list(
    entry: _Entry | None,
    report: _Report,
    where: str,
    known: Known,
    keys: dict[str, _Reader],
) -> list[_Read] | None:
    section = entry.key if entry else ""
    if entry is None or _is_null(entry.value):
        return []
    path = f"{where}.{section}" if where else section
    if not isinstance(entry.value, SequenceNode):
        message = f"must be a list (- name: ..., from: ...), got {_describe(entry.value)}"
        report.add(entry.key_node, where, section, message)
        return None
    before = len(report.problems)
    items = [
        item
        for index, node in enumerate(entry.value.value)
        if (item := _read_entry(node, report, f"{path}[{index}]", known, keys)) is not None
    ]
    _check_names(items, report, section[:-1])
    return items if len(report.problems) == before else None


def _check_names(items: list[_Read], report: _Report, kind: str) -> None:
    names: dict[str, _Read] = {}
    for item in items:
        name = item.values.get("name")
        if name is None:
            continue
        if name in names:
            first = names[name]
            message = f"{kind} name {name!r} is already used by {first.where} on line {_line(first.node)}"
            report.add(item.entries["name"].key_node, item.where, "name", message)
        else:
            names[name] = item


def read_filters(
    entry: _Entry | None, report: _Report, where: str, known: Known
) -> tuple[FilterConfig, ...] | None:
    """A `filters:` list (the file's, where="", or a mailbox's); None when it has problems."""
    items = _read_list(entry, report, where, known, _FILTER_KEYS)
    if items is None:
        return None
    return tuple(
        FilterConfig(item.values["name"], {k: v for k, v in item.values.items() if k != "name"})
        for item in items
    )


def read_rules(
    entry: _Entry | None, report: _Report, where: str, known: Known
) -> tuple[RuleConfig, ...] | None:
    """A mailbox's `rules:`; order defaults to (position + 1) * 10. None when it has problems."""
    items = _read_list(entry, report, where, known, _RULE_KEYS)
    if items is None:
        return None
    rules = []
    for position, item in enumerate(items):
        spec = {k: v for k, v in item.values.items() if k not in ("name", "order")}
        rules.append(RuleConfig(item.values["name"], item.values.get("order", default_order(position)), spec))
    return tuple(rules)


def default_order(position: int) -> int:
    return (position + 1) * 10


def _unprocessed(node: Node) -> str:
    if isinstance(node, ScalarNode) and str(node.value).strip().lower().startswith("forward"):
        from postroom.mailboxes.config_outgoing import forward_target

        return forward_target(node)
    return _action(UNPROCESSED)(node)


def read_mailbox_routing(
    entries: dict[str, _Entry], values: dict[str, Any], report: _Report, where: str, known: Known
) -> dict[str, Any]:
    """A mailbox's unmatched, unprocessed, filters and rules (``values``: its other keys read so far)."""
    out: dict[str, Any] = {}
    ctx = _Ctx(report, where, known)
    for key in ("unmatched", "unprocessed"):
        entry = entries.get(key)
        if entry is None or _is_null(entry.value):
            continue
        value = ctx.one(entry, key, _choice(UNMATCHED) if key == "unmatched" else _unprocessed)
        if value is not _BAD:
            out[key] = value
    move = out.get("unprocessed", "")
    problem = ""
    if move.startswith("move:") and values.get("protocol") == "pop3":
        problem = "pop3 can't move messages (it has no folders): use keep or delete"
    elif move == f"move:{values.get('folder', 'INBOX')}":
        problem = f"moves messages into {move[5:]!r}, the folder being read: they would be read again"
    if problem:
        ctx.add(entries["unprocessed"].key_node, "unprocessed", problem)
    filters = read_filters(entries.get("filters"), report, where, known)
    rules = read_rules(entries.get("rules"), report, where, known)
    if filters:
        out["filters"] = filters
    if rules:
        out["rules"] = rules
    return out


# --- dumping --------------------------------------------------------------------------------------------

KEY_ORDER = ("name", "order", "continue", *CONDITION_KEYS, *ACTION_KEYS)


def _canonical(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec's keys in the documented order (a database's JSON may not keep them as written)."""
    data = {key: spec[key] for key in KEY_ORDER if key in spec}
    if isinstance(data.get("keyword"), dict):
        keyword = data["keyword"]
        data["keyword"] = {key: keyword[key] for key in ("text", "regex", "in") if key in keyword}
    if data.get("mappings"):
        data["mappings"] = [{k: row[k] for k in _MAPPING_KEYS if k in row} for row in data["mappings"]]
    return data


def filter_to_dict(f: FilterConfig) -> dict[str, Any]:
    return _canonical({"name": f.name, **f.spec})


def rules_to_dicts(rules: Iterable[RuleConfig]) -> list[dict[str, Any]]:
    """Rules as the file writes them; an order left out when it is the default for its position."""
    out = []
    for position, rule in enumerate(rules):
        order = {} if rule.order == default_order(position) else {"order": rule.order}
        out.append(_canonical({"name": rule.name, **order, **rule.spec}))
    return out
