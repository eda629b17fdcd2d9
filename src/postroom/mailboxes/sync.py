"""Applies a loaded configuration file to the database (idempotently) and reads it back for `config dump`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from postroom.core.errors import ConfigError
from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.config_file import KEEP_STORED, ConfigFile, MailboxConfig, Settings
from postroom.mailboxes.models import Mailbox

# Mailbox fields copied as they are from the file (the password is handled on its own).
PLAIN_FIELDS = (
    "protocol", "host", "port", "security", "username", "folder", "address", "record_kind",
    "after_import", "on_failure", "interval", "enabled", "subject_reference_from_anyone",
)  # fmt: skip


def _wanted(m: MailboxConfig) -> dict[str, Any]:
    values = {name: getattr(m, name) for name in PLAIN_FIELDS}
    values["password_env"] = m.password_env or ""
    values["ca_file"] = m.ca_file or ""
    values["backfill"] = str(m.backfill)
    return values


def _apply_mailbox(m: MailboxConfig) -> str | None:
    row = Mailbox.objects.filter(name=m.name).first()
    created = row is None
    row = row or Mailbox(name=m.name)
    changed = [k for k, v in _wanted(m).items() if getattr(row, k) != v]
    for key in changed:
        setattr(row, key, _wanted(m)[key])
    if m.password is KEEP_STORED:
        if created or not row.password_encrypted:
            raise ConfigError(f"mailbox {m.name}: the password is masked ('********'); write the password")
    elif isinstance(m.password, str):
        if row.stored_password() != m.password:
            row.set_password(m.password)
            changed.append("password")
    elif row.password_encrypted:
        row.password_encrypted = ""
        changed.append("password")
    if not changed and not created:
        return None
    row.save()
    return f"added mailbox {m.name}" if created else f"changed mailbox {m.name}: {', '.join(changed)}"


def _apply_users(users: list[dict[str, Any]]) -> list[str]:
    changes = []
    User = get_user_model()
    for entry in users or []:
        name, email = str(entry.get("name", "")).strip(), str(entry.get("email", "")).strip().lower()
        if not name or not email:
            raise ConfigError(f"users: each user needs a name and an email, got {entry!r}")
        user, created = User.objects.get_or_create(username=name, defaults={"email": email})
        if not created and user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        if created or user.email != email:
            changes.append(f"{'added' if created else 'changed'} user {name}")
    return changes


def apply_config(config: ConfigFile) -> list[str]:
    """Make the database match the file; returns what changed (empty when it already matched)."""
    changes: list[str] = []
    with transaction.atomic():
        if site_settings.put("reference_format", config.settings.reference_format):
            changes.append(f"reference_format is {config.settings.reference_format}")
        for m in config.mailboxes:
            if change := _apply_mailbox(m):
                changes.append(change)
        names = [m.name for m in config.mailboxes]
        for row in Mailbox.objects.exclude(name__in=names).filter(enabled=True):
            row.enabled = False
            row.save(update_fields=["enabled", "updated"])
            changes.append(f"disabled mailbox {row.name} (not in the file; its records stay)")
        changes += _apply_users(config.extra.get("users", []))
    return changes


def current_config() -> ConfigFile:
    """The stored configuration as a ConfigFile (passwords as KEEP_STORED, so a dump masks them)."""
    mailboxes = []
    for row in Mailbox.objects.order_by("name"):
        values = {k: getattr(row, k) for k in PLAIN_FIELDS}
        backfill: str | int = int(row.backfill) if row.backfill.isdigit() else row.backfill
        mailboxes.append(
            MailboxConfig(
                name=row.name,
                password=KEEP_STORED if row.password_encrypted else None,
                password_env=row.password_env or None,
                ca_file=row.ca_file or None,
                backfill=backfill,
                **values,
            )
        )
    users = [{"name": u.username, "email": u.email} for u in get_user_model().objects.exclude(email="")]
    extra = {"users": users} if users else {}
    return ConfigFile(tuple(mailboxes), Settings(reference_format=site_settings.reference_format()), extra)
