"""The people sections of the configuration file (teams, accounts, contacts), checked against each other.

Also the readers the rules sections share with them: a value that is one item or a list, a name that must
be listed elsewhere in the file (with a suggestion), and ``Known``, what the file lists by name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from postroom.mailboxes.config_file import (
    _LABEL,
    AccountConfig,
    ContactConfig,
    TeamConfig,
    _address,
    _bounded_text,
    _choice,
    _describe,
    _entries,
    _Entry,
    _Invalid,
    _is_null,
    _line,
    _plain,
    _Report,
    _unknown_key,
)

# --- shared readers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What the file lists, by name, so teams and rules can refer to them. Read from what is written even
    where a section has problems, so one mistake (a bad email) is one problem, not one per reference."""

    users: frozenset[str] = frozenset()
    user_emails: dict[str, str] = field(default_factory=dict)  # lower-case email -> user name
    teams: frozenset[str] = frozenset()
    # The user members of each team read without problems (round-robin needs someone to assign to).
    team_users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    accounts: frozenset[str] = frozenset()
    contacts: frozenset[str] = frozenset()  # lower-case emails


def read_one_or_list(
    key: str,
    key_node: Node,
    node: Node,
    item: Callable[[Node], Any],
    report: _Report,
    where: str,
) -> list[Any] | None:
    """A value written as one item or a list of items (``from: a@x`` or ``from: [a@x, b@x]``): always a
    list. Each wrong item is reported on its own line as ``key[i]``; None when any was wrong."""
    if isinstance(node, SequenceNode):
        if not node.value:
            report.add(key_node, where, key, "must not be an empty list (leave the key out instead)")
            return None
        nodes, keys = node.value, [f"{key}[{i}]" for i in range(len(node.value))]
    elif isinstance(node, MappingNode):
        report.add(key_node, where, key, "must be text or a list, got a mapping")
        return None
    else:
        nodes, keys = [node], [key]
    values: list[Any] = []
    ok = True
    for item_key, item_node in zip(keys, nodes, strict=True):
        try:
            values.append(item(item_node))
        except _Invalid as exc:
            report.add(item_node if item_key != key else key_node, where, item_key, str(exc))
            ok = False
    return values if ok else None


def listed(value: str, names: Iterable[str], section: str, what: str) -> None:
    """Raise unless ``value`` is one of ``names`` (listed under ``section``), suggesting the closest."""
    names = sorted(names)
    if value in names:
        return
    guess = next((n for n in names if n.lower() == value.lower()), None) or next(
        iter(difflib.get_close_matches(value, names, n=1, cutoff=0.6)), None
    )
    hint = f"; did you mean {guess!r}?" if guess else f" ({section} lists {_few(names)})"
    raise _Invalid(f"no {what} {value!r} in {section}{hint}")


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:8])
    return (shown + (", ..." if len(names) > 8 else "")) if names else "none"


_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def domain(node: Node, *, wildcard: bool = False) -> str:
    """A mail domain, lower case; ``*.example.com`` (the domain and its subdomains) where ``wildcard``."""
    value = _bounded_text(255)(node).strip().lower().rstrip(".")
    if "@" in value:
        raise _Invalid(f"give the domain only (like example.com), not an address, got {node.value!r}")
    bare = value[2:] if wildcard and value.startswith("*.") else value
    if not _DOMAIN.fullmatch(bare):
        example = "example.com or *.example.com" if wildcard else "example.com"
        raise _Invalid(f"must be a domain like {example}, got {node.value!r}")
    return value


@dataclass
class _Item:
    """One entry of a list section as read: its valid values, and where it and its keys are."""

    node: MappingNode
    where: str
    values: dict[str, Any]
    entries: dict[str, _Entry]


_Reader = Callable[[_Entry, _Report, str, dict[str, Any]], None]


def _read_items(
    entry: _Entry | None,
    report: _Report,
    section: str,
    shape: str,
    keys: dict[str, _Reader],
    required: tuple[str, ...],
    synonyms: dict[str, str],
    label: str = "name",
) -> list[_Item] | None:
    """The entries of a top-level list section; None when the section itself is not a list."""
    if entry is None or _is_null(entry.value):
        return []
    if not isinstance(entry.value, SequenceNode):
        message = f"must be a list of {section} (- {{{shape}}}), got {_describe(entry.value)}"
        report.add(entry.key_node, "", section, message)
        return None
    items = []
    for index, node in enumerate(entry.value.value):
        where = f"{section}[{index}]"
        if not isinstance(node, MappingNode):
            report.add(node, where, None, f"must be a mapping ({shape}), got {_describe(node)}")
            continue
        shown = written(node, label)
        where += f" ({shown})" if shown else ""
        entries = _entries(node, report, where)
        values: dict[str, Any] = {}
        for key, item in entries.items():
            reader = keys.get(key)
            if reader is None:
                report.add(item.key_node, where, key, _unknown_key(key, list(keys), synonyms))
            elif not _is_null(item.value) or key in required:
                reader(item, report, where, values)
        for key in required:
            if key not in entries:
                report.add(node, where, key, "is required")
        items.append(_Item(node, where, values, entries))
    return items


def written(node: Node, key: str) -> str:
    """The text a mapping gives for ``key`` as written (to name an entry in messages), or ""."""
    if not isinstance(node, MappingNode):
        return ""
    entry = _plain(node).get(key)
    if entry is None or not isinstance(entry.value, ScalarNode) or _is_null(entry.value):
        return ""
    return str(entry.value.value)


def _written_in(entry: _Entry | None, key: str) -> list[str]:
    if entry is None or not isinstance(entry.value, SequenceNode):
        return []
    return [value for node in entry.value.value if (value := written(node, key))]


def scalar(reader: Callable[[Node], Any]) -> _Reader:
    """A key read by one value reader (raising _Invalid) into ``values[key]``."""

    def read(entry: _Entry, report: _Report, where: str, values: dict[str, Any]) -> None:
        try:
            values[entry.key] = reader(entry.value)
        except _Invalid as exc:
            report.add(entry.key_node, where, entry.key, str(exc))

    return read


def _check_unique(items: list[_Item], key: str, report: _Report, fold: bool = False) -> None:
    """A name (or email) is one entry: a second one with it would quietly replace the first."""
    seen: dict[str, _Item] = {}
    for item in items:
        value = item.values.get(key)
        if value is None:
            continue
        folded = value.lower() if fold else value
        if folded in seen:
            first = seen[folded]
            message = f"{key} {value!r} is already used by {first.where} on line {_line(first.node)}"
            report.add(item.entries[key].key_node, item.where, key, message)
        else:
            seen[folded] = item


# --- the sections ---------------------------------------------------------------------------------------


@dataclass
class People:
    """The three sections as read (None: the section has problems) and the names the file lists."""

    teams: tuple[TeamConfig, ...] | None
    accounts: tuple[AccountConfig, ...] | None
    contacts: tuple[ContactConfig, ...] | None
    known: Known


def read_people(entries: dict[str, _Entry], report: _Report) -> People:
    """teams:, accounts: and contacts: of the file (its top-level entries), checked against users:."""
    users = entries.get("users")
    user_emails = {email.lower(): name for name, email in _users_written(users)}
    known = Known(
        users=frozenset(_written_in(users, "name")),
        user_emails=user_emails,
        teams=frozenset(_written_in(entries.get("teams"), "name")),
        accounts=frozenset(_written_in(entries.get("accounts"), "name")),
        contacts=frozenset(e.lower() for e in _written_in(entries.get("contacts"), "email")),
    )
    accounts = _read_accounts(entries.get("accounts"), report)
    contacts = _read_contacts(entries.get("contacts"), report, known)
    teams, team_users = _read_teams(entries.get("teams"), report, known)
    known = replace(known, team_users=team_users)
    return People(teams, accounts, contacts, known)


def _users_written(entry: _Entry | None) -> list[tuple[str, str]]:
    if entry is None or not isinstance(entry.value, SequenceNode):
        return []
    return [(written(node, "name"), written(node, "email")) for node in entry.value.value]


# accounts ---------------------------------------------------------------------------------------------------


def _account_domains(entry: _Entry, report: _Report, where: str, values: dict[str, Any]) -> None:
    domains = read_one_or_list(entry.key, entry.key_node, entry.value, domain, report, where)
    if domains is None:
        return
    seen: set[str] = set()
    for index, value in enumerate(domains):
        if value in seen:
            node = entry.value.value[index] if isinstance(entry.value, SequenceNode) else entry.value
            report.add(node, where, f"domains[{index}]", f"{value!r} is listed twice")
            return
        seen.add(value)
    values["domains"] = tuple(domains)


_ACCOUNT_KEYS: dict[str, _Reader] = {"name": scalar(_bounded_text(255)), "domains": _account_domains}
_ACCOUNT_SYNONYMS = {"domain": "domains", "customer": "name", "company": "name"}


def _read_accounts(entry: _Entry | None, report: _Report) -> tuple[AccountConfig, ...] | None:
    before = len(report.problems)
    items = _read_items(
        entry, report, "accounts", "name: ..., domains: [...]", _ACCOUNT_KEYS, ("name",), _ACCOUNT_SYNONYMS
    )
    if items is None:
        return None
    _check_unique(items, "name", report)
    _check_domains_unique(items, report)
    if len(report.problems) != before:
        return None
    return tuple(AccountConfig(**item.values) for item in items)


def _check_domains_unique(items: list[_Item], report: _Report) -> None:
    """A domain links mail from unknown addresses to one account: two accounts can't both claim it."""
    owners: dict[str, _Item] = {}
    for item in items:
        for domain_name in item.values.get("domains", ()):
            first = owners.setdefault(domain_name, item)
            if first is not item:
                message = (
                    f"{domain_name!r} is already a domain of {first.where} on line {_line(first.node)}; "
                    "mail from it would belong to two accounts"
                )
                report.add(item.entries["domains"].key_node, item.where, "domains", message)


# contacts ---------------------------------------------------------------------------------------------------


def _contact_account(known: Known) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _bounded_text(255)(node)
        listed(value, known.accounts, "accounts:", "account")
        return value

    return read


def _read_contacts(entry: _Entry | None, report: _Report, known: Known) -> tuple[ContactConfig, ...] | None:
    keys: dict[str, _Reader] = {
        "name": scalar(_bounded_text(255)),
        "email": scalar(lambda node: _address(node).lower()),
        "account": scalar(_contact_account(known)),
    }
    synonyms = {"mail": "email", "e-mail": "email", "address": "email", "customer": "account",
                "company": "account"}  # fmt: skip
    before = len(report.problems)
    items = _read_items(
        entry, report, "contacts", "name: ..., email: ..., account: ...", keys, ("email",), synonyms, "email"
    )
    if items is None:
        return None
    _check_unique(items, "email", report, fold=True)
    if len(report.problems) != before:
        return None
    return tuple(ContactConfig(**item.values) for item in items)


# teams ------------------------------------------------------------------------------------------------------


def _team_members(known: Known) -> _Reader:
    def member(node: Node) -> tuple[str, str]:
        value = _bounded_text(320)(node)
        if value in known.users:
            return ("user", value)
        if value.lower() in known.contacts:
            return ("contact", value.lower())
        if (user := known.user_emails.get(value.lower())) is not None:
            raise _Invalid(f"{value!r} is the email of user {user!r}: list users by name ({user})")
        raise _Invalid(
            f"{value!r} is neither a user (a name in users:) nor a contact (an email in contacts:)"
        )

    def read(entry: _Entry, report: _Report, where: str, values: dict[str, Any]) -> None:
        members = read_one_or_list(entry.key, entry.key_node, entry.value, member, report, where)
        if members is None:
            return
        seen: set[tuple[str, str]] = set()
        for index, value in enumerate(members):
            if value in seen:
                node = entry.value.value[index] if isinstance(entry.value, SequenceNode) else entry.value
                report.add(node, where, f"members[{index}]", f"{value[1]!r} is listed twice")
                return
            seen.add(value)
        values["users"] = tuple(name for kind, name in members if kind == "user")
        values["contacts"] = tuple(email for kind, email in members if kind == "contact")

    return read


def _read_teams(
    entry: _Entry | None, report: _Report, known: Known
) -> tuple[tuple[TeamConfig, ...] | None, dict[str, tuple[str, ...]]]:
    keys: dict[str, _Reader] = {
        "name": scalar(_bounded_text(100)), "members": _team_members(known), "notify": _team_notify,
        "admins": _team_admins(known), "agents_see": scalar(_choice(("team", "assigned"))),
    }  # fmt: skip
    synonyms = {"users": "members", "member": "members", "staff": "members", "contacts": "members",
                "department": "name"}  # fmt: skip
    before = len(report.problems)
    items = _read_items(entry, report, "teams", "name: ..., members: [...]", keys, ("name",), synonyms)
    if items is None:
        return None, {}
    _check_unique(items, "name", report)
    team_users = {
        item.values["name"]: item.values.get("users", ())
        for item in items
        if "name" in item.values and ("members" not in item.entries or "users" in item.values)
    }
    if len(report.problems) != before:
        return None, team_users
    teams = tuple(
        TeamConfig(
            item.values["name"], item.values.get("users", ()), item.values.get("contacts", ()),
            item.values.get("notify_events", ()), item.values.get("notify_members", False),
            item.values.get("admins", ()), item.values.get("agents_see", "team"),
        )
        for item in items
    )  # fmt: skip
    return teams, team_users


# --- dumping --------------------------------------------------------------------------------------------


def team_to_dict(team: TeamConfig) -> dict[str, Any]:
    members = [*team.users, *team.contacts]
    data: dict[str, Any] = {"name": team.name, **({"members": members} if members else {})}
    notify: dict[str, Any] = {}
    if team.notify_events:
        notify["events"] = list(team.notify_events)
    if team.notify_members:
        notify["members"] = True
    if team.admins:
        data["admins"] = list(team.admins)
    if team.agents_see != "team":
        data["agents_see"] = team.agents_see
    return {**data, **({"notify": notify} if notify else {})}


def _team_admins(known: Known) -> _Reader:
    """`admins: [user names]`: they see every record of the team."""

    def admin(node: Node) -> str:
        value = _bounded_text(150)(node)
        if value not in known.users:
            raise _Invalid(f"{value!r} is not a user (a name in users:)")
        return value

    def read(entry: _Entry, report: _Report, where: str, values: dict[str, Any]) -> None:
        names = read_one_or_list(entry.key, entry.key_node, entry.value, admin, report, where)
        if names is not None:
            values["admins"] = tuple(dict.fromkeys(names))

    return read


NOTIFY_EVENTS = ("new_record", "new_message", "assignment", "status_change")


def _team_notify(entry: _Entry, report: _Report, where: str, values: dict[str, Any]) -> None:
    """`notify: {events: [...], members: true}`: which events mail the followers of the team's records."""
    from postroom.mailboxes.config_file import _bool, _choice, _describe, _entries, _Invalid

    if not isinstance(entry.value, MappingNode):
        report.add(entry.key_node, where, "notify", f"must be a mapping (events: [...], members: true), "
                   f"got {_describe(entry.value)}")  # fmt: skip
        return
    for key, item in _entries(entry.value, report, f"{where}.notify").items():
        if key == "events":
            events = read_one_or_list(
                "notify.events", item.key_node, item.value, _choice(NOTIFY_EVENTS), report, where
            )
            if events is not None:
                values["notify_events"] = tuple(dict.fromkeys(events))
        elif key == "members":
            try:
                values["notify_members"] = _bool(item.value)
            except _Invalid as exc:
                report.add(item.key_node, where, "notify.members", str(exc))
        else:
            report.add(item.key_node, where, f"notify.{key}", _unknown_key(key, ["events", "members"], {}))


def account_to_dict(account: AccountConfig) -> dict[str, Any]:
    return {"name": account.name, **({"domains": list(account.domains)} if account.domains else {})}


def contact_to_dict(contact: ContactConfig) -> dict[str, Any]:
    data = {"name": contact.name or None, "email": contact.email, "account": contact.account}
    return {key: value for key, value in data.items() if value is not None}
