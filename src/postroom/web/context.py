"""What every page's template knows of the person looking at it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from postroom.people.models import Role
from postroom.records.access import role_of


def person(request: HttpRequest) -> dict[str, Any]:
    return {"is_admin": role_of(getattr(request, "user", None)) == Role.ADMIN}
