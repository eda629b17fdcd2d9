"""Admin page for people: users (role, email, teams, password), teams (members, admins, what agents see,
notifications), and the contacts and accounts mail is linked to. The same checks as `postroom user add`
and the configuration file; `config dump` afterwards shows what was done here."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from postroom.core.errors import ConfigError
from postroom.people.models import Account, Contact, Role, Team
from postroom.people.users import NOTIFY_EVENTS, save_account, save_contact, save_team, save_user
from postroom.records.access import role_of


def _admin(request: HttpRequest) -> None:
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("only admins manage people")


@login_required
def people(request: HttpRequest) -> HttpResponse:
    _admin(request)
    users = get_user_model().objects.order_by("username").prefetch_related("teams")
    return render(request, "postroom/people.html", {
        "users": [(u, role_of(u) or "inactive") for u in users],
        "teams": Team.objects.filter(enabled=True).prefetch_related("members", "admins").order_by("name"),
        "contacts": Contact.objects.select_related("account").order_by("email")[:500],
        "accounts": Account.objects.order_by("name")[:500], "roles": Role.values, "events": NOTIFY_EVENTS,
    })  # fmt: skip


@login_required
@require_POST
def save_user_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    p = request.POST
    try:
        _, created = save_user(p.get("name", ""), p.get("email", ""), p.get("role", ""), p.getlist("teams"),
                               p.get("password") or None)  # fmt: skip
    except ConfigError as exc:
        return redirect("/people?" + urlencode({"problem": str(exc)}))
    return redirect(
        "/people?" + urlencode({"done": f"{'added' if created else 'changed'} user {p.get('name')}"})
    )


@login_required
@require_POST
def save_team_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    p = request.POST
    try:
        _, created = save_team(
            p.get("name", ""), p.getlist("members"), p.getlist("admins"), p.get("agents_see", "team"),
            p.get("notify_members") == "1", p.getlist("events"),
        )  # fmt: skip
    except ConfigError as exc:
        return redirect("/people?" + urlencode({"problem": str(exc)}))
    return redirect(
        "/people?" + urlencode({"done": f"{'added' if created else 'changed'} team {p.get('name')}"})
    )


@login_required
@require_POST
def save_account_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    p = request.POST
    try:
        _, created = save_account(p.get("name", ""), p.get("domains", "").replace(",", " ").split())
    except ConfigError as exc:
        return redirect("/people?" + urlencode({"problem": str(exc)}))
    return redirect(
        "/people?" + urlencode({"done": f"{'added' if created else 'changed'} account {p.get('name')}"})
    )


@login_required
@require_POST
def save_contact_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    p = request.POST
    try:
        _, created = save_contact(p.get("email", ""), p.get("name", ""), p.get("account") or None)
    except ConfigError as exc:
        return redirect("/people?" + urlencode({"problem": str(exc)}))
    return redirect(
        "/people?" + urlencode({"done": f"{'added' if created else 'changed'} contact {p.get('email')}"})
    )
