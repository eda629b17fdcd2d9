"""What routing may know about senders: users, contacts, account domains and team membership — read-only.

Users and account domains are few (staff, configured customers): read once per cycle. Contacts may be
many: asked once per group of messages for all their senders (``prefetch``, one query), and not at all
while there are none — contacts made during the cycle are remembered as they are made.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from postroom.people.models import Account, Contact, Team
from postroom.records.inserts import fetch, table
from postroom.routing.engine import Sender


class Directory:
    def __init__(self) -> None:
        # Account domains are few (a configured list): read once per cycle.
        self._domains: dict[str, str] = {}
        for name, domains in Account.objects.values_list("name", "domains"):
            for domain in domains or ():
                self._domains.setdefault(str(domain).lower(), name)
        users = get_user_model().objects.filter(is_active=True).exclude(email="")
        self._users: dict[str, str] = {}
        for username, email in users.values_list("username", "email"):
            self._users.setdefault(email.lower(), username)
        self._any_contacts = Contact.objects.exists()
        self._contacts: dict[str, tuple[int, str | None]] = {}
        self._asked: set[str] = set()
        self._made: set[str] = set()  # contacts this cycle made (kept across groups)
        self._teams: dict[str, tuple[frozenset[str], frozenset[int]]] = {}

    def start_group(self, addresses: Iterable[str]) -> None:
        """Forget the last group's senders (memory stays flat however long the cycle) and ask for these."""
        self._asked = set(self._made)
        self._contacts = {a: c for a, c in self._contacts.items() if a in self._made}
        self.prefetch(addresses)

    def prefetch(self, addresses: Iterable[str]) -> None:
        wanted = sorted({a for a in addresses if a and a not in self._asked})
        self._asked.update(wanted)
        if not self._any_contacts:
            return
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = fetch(
                f"SELECT c.email, c.id, a.name FROM {table(Contact)} c LEFT JOIN {table(Account)} a"
                f" ON a.id = c.account_id WHERE c.email IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for email, pk, account in rows:
                self._contacts[email] = (pk, account)

    def sender(self, address: str, name: str = "") -> Sender:
        if not address:
            return Sender("", name)
        self.prefetch([address])
        contact = self._contacts.get(address)
        account = contact[1] if contact and contact[1] else self._domain_account(address)
        return Sender(
            address,
            name,
            user=self._users.get(address),
            contact=contact[0] if contact else None,
            account=account,
        )

    def remember_contact(self, address: str, pk: int, account: str | None) -> None:
        """A contact the store just made: later mail of the same cycle finds it."""
        self._contacts[address] = (pk, account)
        self._made.add(address)
        self._any_contacts = True

    def rolled_back(self) -> None:
        """A savepoint that made contacts was undone: forget them (looked up or made again when needed;
        forgetting one that survived costs only that lookup)."""
        for address in self._made:
            self._contacts.pop(address, None)
        self._made.clear()

    def in_team(self, team: str, sender: Sender) -> bool:
        if team not in self._teams:
            row = Team.objects.filter(name=team, enabled=True).first()
            if row is None:
                self._teams[team] = (frozenset(), frozenset())
            else:
                users = frozenset(u.lower() for u in row.members.values_list("email", flat=True) if u)
                self._teams[team] = (users, frozenset(row.contacts.values_list("id", flat=True)))
        emails, contacts = self._teams[team]
        return sender.address in emails or (sender.contact is not None and sender.contact in contacts)

    def _domain_account(self, address: str) -> str | None:
        domain = address.rpartition("@")[2]
        while domain:
            if domain in self._domains:
                return self._domains[domain]
            domain = domain.partition(".")[2] if "." in domain else ""
        return None
