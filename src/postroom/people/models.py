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
    # Who sees its records (records/access.py): its administrators all of them; its other members all of
    # them ("team") or only those assigned to them ("assigned").
    admins = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="administers")
    agents_see = models.CharField(max_length=10, default="team")

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


class Role(models.TextChoices):
    ADMIN = "admin"  # everything: mailboxes, rules, people, every record
    AGENT = "agent"  # works records: those of their teams (as each team says) and those given to them
    REQUESTER = "requester"  # sees only their own records (by their email address)


class Profile(models.Model):
    """What Postroom knows of a login beyond Django's user: its role. A user without one is an agent."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)


class ApiToken(models.Model):
    """A token for the API (`Authorization: Bearer ...`): only its sha256 is stored; it is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)  # the first characters, to tell tokens apart in a list
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
