"""Admin page for people: users (role, email, teams, password), teams (members, admins, what agents see,
notifications), and the contacts and accounts mail is linked to. The same checks as `postroom user add`
and the configuration file; `config dump` afterwards shows what was done here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from postroom.core.errors import ConfigError
from postroom.people.models import Account, Contact, Role, Team
from postroom.people.users import NOTIFY_EVENTS, save_account, save_contact, save_team, save_user
from postroom.records.access import role_of
from postroom.web.permissions import require_admin


@login_required
def people(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    users = get_user_model().objects.order_by("username").prefetch_related("teams")
    return render(request, "postroom/people.html", {
        "users": [(u, role_of(u) or "inactive") for u in users],
        "teams": Team.objects.filter(enabled=True).prefetch_related("members", "admins").order_by("name"),
        "contacts": Contact.objects.select_related("account").order_by("email")[:500],
        "accounts": Account.objects.order_by("name")[:500], "roles": Role.values, "events": NOTIFY_EVENTS,
    })  # fmt: skip


def _saved(what: str, name: str, save: Callable[[], tuple[Any, bool]]) -> HttpResponse:
    """Run one save and go back to the page saying what was done, or what was wrong."""
    try:
        _, created = save()
    except ConfigError as exc:
        return redirect("/people?" + urlencode({"problem": str(exc)}))
    return redirect("/people?" + urlencode({"done": f"{'added' if created else 'changed'} {what} {name}"}))


@login_required
@require_POST
def save_user_page(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    p = request.POST
    return _saved("user", p.get("name", ""), lambda: save_user(
        p.get("name", ""), p.get("email", ""), p.get("role", ""), p.getlist("teams"),
        p.get("password") or None,
    ))  # fmt: skip


@login_required
@require_POST
def save_team_page(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    p = request.POST
    return _saved("team", p.get("name", ""), lambda: save_team(
        p.get("name", ""), p.getlist("members"), p.getlist("admins"), p.get("agents_see", "team"),
        p.get("notify_members") == "1", p.getlist("events"),
    ))  # fmt: skip


@login_required
@require_POST
def save_account_page(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    p = request.POST
    domains = p.get("domains", "").replace(",", " ").split()
    return _saved("account", p.get("name", ""), lambda: save_account(p.get("name", ""), domains))


@login_required
@require_POST
def save_contact_page(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    p = request.POST
    return _saved("contact", p.get("email", ""), lambda: save_contact(
        p.get("email", ""), p.get("name", ""), p.get("account") or None
    ))  # fmt: skip
