"""Installation-wide settings stored in the database (the configuration file's `settings:` section)."""

from __future__ import annotations

from typing import Any

from postroom.mailboxes.models import Setting

DEFAULTS: dict[str, Any] = {
    "reference_format": "[#{number}]",
    "auto_reply_limit": 5,
    "flood_records": 20,
    "flood_minutes": 120,
}


def get(key: str) -> Any:
    row = Setting.objects.filter(key=key).first()
    return row.value if row else DEFAULTS.get(key)


def put(key: str, value: Any) -> bool:
    """Store a setting; True when it changed."""
    row = Setting.objects.filter(key=key).first()
    if row and row.value == value:
        return False
    Setting.objects.update_or_create(key=key, defaults={"value": value})
    return True


def reference_format() -> str:
    return str(get("reference_format"))
