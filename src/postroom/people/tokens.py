"""API tokens: made once and shown once; only their sha256 is stored, so a copy of the database gives none."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from postroom.people.models import ApiToken

PREFIX = "pr_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: Any, name: str) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, digest=_digest(token), prefix=token[:11])
    return token


def user_for_token(token: str) -> Any | None:
    """The active user a token belongs to; None for an unknown token or an inactive user."""
    if not token.startswith(PREFIX):
        return None
    row = ApiToken.objects.select_related("user").filter(digest=_digest(token)).first()
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used is None or (now - row.last_used).total_seconds() > 60:  # not a write per request
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
    return row.user
