"""Turns the names a routing decision carries into the rows a record points at, making the missing ones.

A rule's ``customer:`` names an account that may not exist yet ("every mail from jmcptyltd@gmail.com
becomes a job for customer JMC PTY Ltd"): it is made on first use. An unknown sender under
``unknown_sender: accept`` becomes a contact (of the account its domain belongs to). Both are written in
the transaction that stores the record; a concurrent import that made the same row first is reused.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from postroom.people.directory import Directory
from postroom.people.models import Account, Contact, Team
from postroom.routing.engine import Sender


class Links:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._accounts: dict[str, int] = {}
        self._teams: dict[str, int | None] = {}
        self._users: dict[str, tuple[str, str] | None] = {}

    def account(self, name: str) -> int:
        if name not in self._accounts:
            self._accounts[name] = _get_or_make(Account, name=name).pk
        return self._accounts[name]

    def contact(self, sender: Sender, make: bool) -> int | None:
        if sender.contact is not None or not (make and sender.address):
            return sender.contact
        found = self.directory.sender(sender.address)  # made by an earlier message of this cycle?
        if found.contact is not None:
            return found.contact
        account = self.account(sender.account) if sender.account else None
        row = _get_or_make(
            Contact, email=sender.address, defaults={"name": sender.name, "account_id": account}
        )
        self.directory.remember_contact(sender.address, row.pk, sender.account)
        return int(row.pk)

    def team(self, name: str) -> int | None:
        if name not in self._teams:
            self._teams[name] = Team.objects.filter(name=name).values_list("id", flat=True).first()
        return self._teams[name]

    def user(self, name: str) -> tuple[str, str] | None:
        """(display name, email) of a user, for records made in their name."""
        if name not in self._users:
            rows = get_user_model().objects.filter(username=name)
            found = rows.values_list("first_name", "last_name", "username", "email").first()
            if found is None:
                self._users[name] = None
            else:
                first, last, username, email = found
                self._users[name] = (f"{first} {last}".strip() or username, email)
        return self._users[name]


def _get_or_make(model: type[Account] | type[Contact], defaults: dict[str, object] | None = None, **key: str):  # type: ignore[no-untyped-def]
    found = model.objects.filter(**key).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():  # a savepoint: losing a race must not undo the group's work
            return model.objects.create(**key, **(defaults or {}))
    except IntegrityError:
        return model.objects.get(**key)
