"""Applies a loaded configuration file to the database (idempotently) and reads it back for `config dump`."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from postroom.core.errors import ConfigError
from postroom.mailboxes import settings as site_settings
from postroom.mailboxes import sync_rules
from postroom.mailboxes.config_file import KEEP_STORED, ConfigFile, MailboxConfig, Settings, UserConfig
from postroom.mailboxes.config_outgoing import SmtpConfig
from postroom.mailboxes.models import Mailbox

# Mailbox fields copied as they are from the file (the password is handled on its own).
PLAIN_FIELDS = (
    "protocol", "host", "port", "security", "username", "folder", "address", "record_kind",
    "after_import", "on_failure", "interval", "enabled", "subject_reference_from_anyone", "unmatched",
    "unprocessed", "save_sent", "auto_reply",
)  # fmt: skip
SMTP_FIELDS = ("host", "port", "security", "username", "password_env", "ca_file")


def _wanted_smtp(m: MailboxConfig) -> dict[str, Any]:
    """The smtp_* columns (and from_name) for the file's `smtp:`; all empty when it has none."""
    smtp = m.smtp
    if smtp is None:
        return {"smtp_host": "", "smtp_port": None, "smtp_security": "starttls", "smtp_username": "",
                "smtp_password_env": "", "smtp_ca_file": "", "from_name": ""}  # fmt: skip
    values = {f"smtp_{name}": getattr(smtp, name) or "" for name in SMTP_FIELDS}
    values["smtp_port"] = smtp.port
    values["from_name"] = smtp.from_name
    return values


def _wanted(m: MailboxConfig) -> dict[str, Any]:
    values = {name: getattr(m, name) for name in PLAIN_FIELDS}
    values["password_env"] = m.password_env or ""
    values["ca_file"] = m.ca_file or ""
    values["backfill"] = str(m.backfill)
    values.update(_wanted_smtp(m))
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
    changed += _apply_smtp_password(m, row, created)
    if not changed and not created:
        return None
    row.save()
    return f"added mailbox {m.name}" if created else f"changed mailbox {m.name}: {', '.join(changed)}"


def _apply_smtp_password(m: MailboxConfig, row: Mailbox, created: bool) -> list[str]:
    password = m.smtp.password if m.smtp is not None else None
    if password is KEEP_STORED:
        if created or not row.smtp_password_encrypted:
            raise ConfigError(f"mailbox {m.name}: the smtp password is masked ('********'); write it")
        return []
    if isinstance(password, str):
        if row.stored_smtp_password() != password:
            row.set_smtp_password(password)
            return ["smtp password"]
        return []
    if row.smtp_password_encrypted:
        row.smtp_password_encrypted = ""
        return ["smtp password"]
    return []


def _apply_user(user: UserConfig) -> str | None:
    """The staff member named in the file, with its email; the loader has validated both."""
    from postroom.people.models import Profile

    row, created = get_user_model().objects.get_or_create(username=user.name, defaults={"email": user.email})
    role_changed = _role_of(row) != user.role
    if role_changed:
        Profile.objects.update_or_create(user=row, defaults={"role": user.role})
    if created:
        return f"added user {user.name}" + (f" ({user.role})" if user.role != "agent" else "")
    checks = (("email", row.email == user.email), ("active again", row.is_active), ("role", not role_changed))
    changed = [name for name, same in checks if not same]
    if not changed:
        return None
    row.email, row.is_active = user.email, True
    row.save(update_fields=["email", "is_active"])
    return f"changed user {user.name}: {', '.join(changed)}"


def _deactivate_users_left_out(names: list[str]) -> list[str]:
    """A user left out of the file stops being staff (may no longer join records by naming them); the row
    stays, like a mailbox's, for what they did."""
    changes = []
    for row in get_user_model().objects.exclude(username__in=names).exclude(email="").filter(is_active=True):
        row.is_active = False
        row.save(update_fields=["is_active"])
        changes.append(f"deactivated user {row.username} (not in the file)")
    return changes


def apply_config(config: ConfigFile) -> list[str]:
    """Make the database match the file; returns what changed (empty when it already matched)."""
    changes: list[str] = []
    with transaction.atomic():
        for key, value in asdict(config.settings).items():
            if site_settings.get(key) != value and site_settings.put(key, value):
                changes.append(f"{key} is {value}")
        for m in config.mailboxes:
            if change := _apply_mailbox(m):
                changes.append(change)
        names = [m.name for m in config.mailboxes]
        for row in Mailbox.objects.exclude(name__in=names).filter(enabled=True):
            row.enabled = False
            row.save(update_fields=["enabled", "updated"])
            changes.append(f"disabled mailbox {row.name} (not in the file; its records stay)")
        changes += [change for user in config.users if (change := _apply_user(user))]
        changes += _deactivate_users_left_out([u.name for u in config.users])
        changes += sync_rules.apply_people(config)
        changes += sync_rules.apply_routing(config)
    return changes


def current_config() -> ConfigFile:
    """The stored configuration as a ConfigFile (passwords as KEEP_STORED, so a dump masks them)."""
    mailboxes = []
    for row in Mailbox.objects.order_by("name"):
        values = {k: getattr(row, k) for k in PLAIN_FIELDS}
        values["smtp"] = _smtp_of(row)
        backfill: str | int = int(row.backfill) if row.backfill.isdigit() else row.backfill
        mailboxes.append(
            MailboxConfig(
                name=row.name,
                password=KEEP_STORED if row.password_encrypted else None,
                password_env=row.password_env or None,
                ca_file=row.ca_file or None,
                backfill=backfill,
                filters=sync_rules.read_filters(row),
                rules=sync_rules.read_rules(row),
                **values,
            )
        )
    users = tuple(
        UserConfig(name=u.username, email=u.email, role=_role_of(u))
        for u in get_user_model().objects.exclude(email="").filter(is_active=True).order_by("username")
    )
    settings = Settings(**{f.name: site_settings.get(f.name) for f in fields(Settings)})
    teams, accounts, contacts = sync_rules.read_people()
    return ConfigFile(
        tuple(mailboxes),
        settings,
        users=users,
        teams=teams,
        accounts=accounts,
        contacts=contacts,
        filters=sync_rules.read_filters(),
    )


def _smtp_of(row: Mailbox) -> SmtpConfig | None:
    if not row.smtp_host:
        return None
    return SmtpConfig(
        host=row.smtp_host,
        port=row.smtp_port,
        security=row.smtp_security,
        username=row.smtp_username,
        password=KEEP_STORED if row.smtp_password_encrypted else None,
        password_env=row.smtp_password_env or None,
        ca_file=row.smtp_ca_file or None,
        from_name=row.from_name,
    )


def _role_of(user: Any) -> str:
    from postroom.people.models import Profile

    if user.is_superuser:
        return "admin"
    return Profile.objects.filter(user=user).values_list("role", flat=True).first() or "agent"
