"""Applies the file's teams, accounts, contacts, filters and rules to the database and reads them back.

Called by sync.apply_config inside its transaction, after the mailboxes and users they refer to. Filters
and rules of the file replace the stored ones; teams left out are disabled; accounts and contacts left out
stay (records point at them) but are no longer `configured`, and ones an import made are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from postroom.mailboxes.config_file import (
    AccountConfig,
    ConfigFile,
    ContactConfig,
    FilterConfig,
    RuleConfig,
    TeamConfig,
)
from postroom.mailboxes.config_rules import KEY_ORDER
from postroom.mailboxes.models import Filter, Mailbox, Rule
from postroom.people.models import Account, Contact, Team


def apply_people(config: ConfigFile) -> list[str]:
    """Accounts, then contacts (of those accounts), then teams (of users and contacts)."""
    return _apply_accounts(config.accounts) + _apply_contacts(config.contacts) + _apply_teams(config.teams)


def apply_routing(config: ConfigFile) -> list[str]:
    """The global filters, and each mailbox's filters and rules (the mailboxes exist by now)."""
    changes = _replace(
        Filter.objects.filter(mailbox=None),
        [(f.name, position, f.spec) for position, f in enumerate(config.filters)],
        _Words("filter", "", "", ""),
        partial(Filter, mailbox=None),
        compare_order=False,
    )
    for m in config.mailboxes:
        box = Mailbox.objects.get(name=m.name)
        changes += _replace(
            Filter.objects.filter(mailbox=box),
            [(f.name, position, f.spec) for position, f in enumerate(m.filters)],
            _Words("filter", f" to mailbox {m.name}", f" of mailbox {m.name}", f" from mailbox {m.name}"),
            partial(Filter, mailbox=box),
            compare_order=False,
        )
        changes += _replace(
            Rule.objects.filter(mailbox=box),
            # The order they run in: by order, ties in file order (sorted() is stable).
            sorted(((r.name, r.order, r.spec) for r in m.rules), key=lambda row: row[1]),
            _Words("rule", f" to mailbox {m.name}", f" of mailbox {m.name}", f" from mailbox {m.name}"),
            partial(Rule, mailbox=box),
            compare_order=True,
        )
    return changes


# --- people -----------------------------------------------------------------------------------------------


def _apply_accounts(accounts: Sequence[AccountConfig]) -> list[str]:
    changes = []
    for a in accounts:
        row = Account.objects.filter(name=a.name).first()
        if row is None:
            Account.objects.create(name=a.name, domains=list(a.domains), configured=True)
            changes.append(f"added account {a.name}")
            continue
        changed = _differences(("domains", row.domains == list(a.domains)), ("configured", row.configured))
        if changed:
            row.domains, row.configured = list(a.domains), True
            row.save(update_fields=["domains", "configured"])
            changes.append(f"changed account {a.name}: {', '.join(changed)}")
    left_out = Account.objects.filter(configured=True).exclude(name__in=[a.name for a in accounts])
    for row in left_out:
        row.configured = False
        row.save(update_fields=["configured"])
        changes.append(f"unconfigured account {row.name} (not in the file; it stays for its records)")
    return changes


def _apply_contacts(contacts: Sequence[ContactConfig]) -> list[str]:
    accounts = {
        a.name: a for a in Account.objects.filter(name__in={c.account for c in contacts if c.account})
    }
    changes = []
    for c in contacts:
        account = accounts[c.account] if c.account else None
        row = Contact.objects.filter(email=c.email).select_related("account").first()
        if row is None:
            Contact.objects.create(email=c.email, name=c.name, account=account, configured=True)
            changes.append(f"added contact {c.email}")
            continue
        changed = _differences(
            ("name", row.name == c.name), ("account", row.account == account),
            ("configured", row.configured),
        )  # fmt: skip
        if changed:
            row.name, row.account, row.configured = c.name, account, True
            row.save(update_fields=["name", "account", "configured"])
            changes.append(f"changed contact {c.email}: {', '.join(changed)}")
    left_out = Contact.objects.filter(configured=True).exclude(email__in=[c.email for c in contacts])
    for row in left_out:
        row.configured = False
        row.save(update_fields=["configured"])
        changes.append(f"unconfigured contact {row.email} (not in the file; it stays for its records)")
    return changes


def _apply_teams(teams: Sequence[TeamConfig]) -> list[str]:
    users = get_user_model().objects
    changes = []
    for t in teams:
        row, created = Team.objects.get_or_create(name=t.name)
        stored_users = set(row.members.values_list("username", flat=True))
        stored_contacts = set(row.contacts.values_list("email", flat=True))
        notify = (list(t.notify_events), t.notify_members)
        changed = _differences(
            ("enabled again", row.enabled), ("members", stored_users == set(t.users)),
            ("contacts", stored_contacts == set(t.contacts)),
            ("notify", (list(row.notify_events), row.notify_members) == notify),
        )  # fmt: skip
        if "notify" in changed:
            row.notify_events, row.notify_members = list(t.notify_events), t.notify_members
            row.save(update_fields=["notify_events", "notify_members"])
        stored_admins = set(row.admins.values_list("username", flat=True))
        if stored_admins != set(t.admins) or row.agents_see != t.agents_see:
            changed.append("access")
            row.admins.set(users.filter(username__in=t.admins))
            row.agents_see = t.agents_see
            row.save(update_fields=["agents_see"])
        if "enabled again" in changed:
            row.enabled = True
            row.save(update_fields=["enabled"])
        if "members" in changed:
            row.members.set(users.filter(username__in=t.users))
        if "contacts" in changed:
            row.contacts.set(Contact.objects.filter(email__in=t.contacts))
        if created:
            changes.append(f"added team {t.name}")
        elif changed:
            changes.append(f"changed team {t.name}: {', '.join(changed)}")
    for row in Team.objects.filter(enabled=True).exclude(name__in=[t.name for t in teams]):
        row.enabled = False
        row.save(update_fields=["enabled"])
        changes.append(f"disabled team {row.name} (not in the file; its records stay)")
    return changes


def _differences(*checks: tuple[str, bool]) -> list[str]:
    return [name for name, same in checks if not same]


# --- filters and rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    """How changes to one list are reported: "added rule X to mailbox M", "changed rule X of mailbox M"."""

    noun: str
    to: str
    of: str
    from_: str


_Row = tuple[str, int, dict[str, Any]]  # name, order, spec
_Make = Callable[..., Model]  # the model, its mailbox given: called with name=, order=, spec=


def _replace(
    stored: QuerySet[Any],
    wanted: list[_Row],
    words: _Words,
    make: _Make,
    compare_order: bool,
) -> list[str]:
    """Make the stored rows (in the order they run: order, then id) equal ``wanted`` (in the order they
    should run). When anything differs, every row is written again in that order, so ties run in file
    order; the report names each row added, changed or removed."""
    rows = list(stored.order_by("order", "id"))
    have = [(row.name, row.order, row.spec) for row in rows]
    if have == wanted:
        return []
    old = {name: (order, spec) for name, order, spec in have}
    new = {name: (order, spec) for name, order, spec in wanted}
    changes = [f"added {words.noun} {name}{words.to}" for name in new if name not in old]
    order_changed = False
    for name, (order, spec) in new.items():
        if name not in old:
            continue
        keys = _changed_keys(old[name][1], spec)
        if compare_order and old[name][0] != order:
            keys.insert(0, "order")
            order_changed = True
        if keys:
            changes.append(f"changed {words.noun} {name}{words.of}: {', '.join(keys)}")
    changes += [f"removed {words.noun} {name}{words.from_}" for name in old if name not in new]
    kept_before = [name for name, _, _ in have if name in new]
    kept_after = [name for name, _, _ in wanted if name in old]
    if kept_before != kept_after and not order_changed:
        changes.append(f"reordered {words.noun}s{words.of}")
    stored.delete()
    rows = [make(name=name, order=order, spec=spec) for name, order, spec in wanted]
    stored.model._default_manager.bulk_create(rows)
    return changes


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = [key for key in KEY_ORDER if old.get(key) != new.get(key)]
    return keys + sorted(key for key in {*old, *new} - set(KEY_ORDER) if old.get(key) != new.get(key))


# --- reading back -------------------------------------------------------------------------------------------


def read_people() -> tuple[tuple[TeamConfig, ...], tuple[AccountConfig, ...], tuple[ContactConfig, ...]]:
    """The configured accounts and contacts and the enabled teams (what the file listed), by name."""
    accounts = tuple(
        AccountConfig(row.name, tuple(row.domains)) for row in Account.objects.filter(configured=True)
    )
    contacts = tuple(
        ContactConfig(row.email, row.name, row.account.name if row.account else None)
        for row in Contact.objects.filter(configured=True).select_related("account")
    )
    teams = tuple(
        TeamConfig(
            row.name,
            tuple(sorted(user.username for user in row.members.all())),
            tuple(sorted(contact.email for contact in row.contacts.all())),
            tuple(row.notify_events),
            row.notify_members,
            tuple(sorted(user.username for user in row.admins.all())),
            row.agents_see,
        )
        for row in Team.objects.filter(enabled=True).prefetch_related("members", "contacts", "admins")
    )
    return teams, accounts, contacts


def read_filters(mailbox: Mailbox | None = None) -> tuple[FilterConfig, ...]:
    """The global filters, or a mailbox's, in the order they apply."""
    rows = Filter.objects.filter(mailbox=mailbox).order_by("order", "id")
    return tuple(FilterConfig(row.name, row.spec) for row in rows)


def read_rules(mailbox: Mailbox) -> tuple[RuleConfig, ...]:
    """A mailbox's rules in the order they run."""
    rows = Rule.objects.filter(mailbox=mailbox).order_by("order", "id")
    return tuple(RuleConfig(row.name, row.order, row.spec) for row in rows)
