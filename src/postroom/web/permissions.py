"""Who may use which page: admins manage mailboxes, rules, people and the quarantine; agents and admins
work records; requesters read their own. Which records anyone sees is records/access.py's."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from postroom.people.models import Role
from postroom.records.access import role_of


def require_admin(request: HttpRequest) -> None:
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("only admins may do this")


def require_worker(request: HttpRequest) -> None:
    if role_of(request.user) not in (Role.ADMIN, Role.AGENT):
        raise PermissionDenied("requesters read their records; agents work them")
