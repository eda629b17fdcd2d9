"""Teams (departments) of users, customer accounts with their domains, contacts, and assignment state."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Account(models.Model):
    """A customer: records are made for it. Its domains link mail from unknown addresses to it."""

    name = models.CharField(max_length=255, unique=True)
    domains = models.JSONField(default=list)  # lower-cased, e.g. ["jmc.example.com"]
    # Listed in the configuration file (`accounts:`). One a rule's `customer:` made is not: `config load`
    # leaves it alone and `config dump` does not print it.
    configured = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """Someone outside the team who sends mail: a requester."""

    email = models.CharField(max_length=320, unique=True)  # lower-cased
    name = models.CharField(max_length=255, blank=True, default="")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    # Listed in the configuration file (`contacts:`); one an import made (`unknown_sender: accept`) is not.
    configured = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Team(models.Model):
    """A team or department: users who work its records, and contacts who may write to it."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    contacts = models.ManyToManyField(Contact, blank=True, related_name="teams")
    enabled = models.BooleanField(default=True)
    # Notifications (outgoing/notify.py): which events of the team's records mail their followers, and
    # whether every member follows the team's records.
    notify_events = models.JSONField(default=list, blank=True)
    notify_members = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoundRobin(models.Model):
    """Who of a team was given the last record by round-robin (or as a least-busy tie-break).

    One row per team, updated under a row lock in the transaction that stores the record, so concurrent
    imports and restarts carry on the rotation instead of starting it over.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, primary_key=True, related_name="rotation")
    last_user_id = models.BigIntegerField(null=True, blank=True)
    turns = models.BigIntegerField(default=0)
