"""Admin pages for mailboxes: the list with each one's health, and a form to add or edit one that checks
the connection on save the way `postroom check` does.

The form is validated by the configuration file's own reader (a mailbox is written out as the YAML it
would be in the file and read back), so the browser and `postroom config load` accept and refuse exactly
the same things, with the same messages.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from postroom.core.errors import ConfigError, ConnectionStepError
from postroom.mailboxes.config_file import ConfigFileError, load_config_text
from postroom.mailboxes.models import Mailbox
from postroom.web.permissions import require_admin

FIELDS = ("name", "protocol", "host", "port", "security", "ca_file", "username", "password", "folder",
          "address", "record_kind", "after_import", "interval")  # fmt: skip
SMTP_FIELDS = ("host", "port", "security", "ca_file", "username", "password", "from_name")
_PROBLEM = re.compile(r"key '([\w.]+)': (.*)$")


@login_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    from postroom.cli.status_cmd import health

    return render(request, "postroom/mailboxes.html", {"mailboxes": health()})


def _form_values(post: Any, row: Mailbox | None) -> dict[str, Any]:
    values = {key: post.get(key, "").strip() for key in FIELDS}
    values["enabled"] = post.get("enabled") == "1"
    smtp = {key: post.get(f"smtp_{key}", "").strip() for key in SMTP_FIELDS}
    return {"box": values, "smtp": smtp}


def _stored(row: Mailbox | None) -> dict[str, Any]:
    """An existing mailbox as `config dump` writes it (passwords masked: loading keeps them), without its
    rules and filters, which this form leaves alone; so what the form does not show is kept as it is."""
    if row is None:
        return {}
    from postroom.mailboxes.config_file import _dump_mailbox
    from postroom.mailboxes.sync import current_config

    (current,) = [m for m in current_config().mailboxes if m.name == row.name]
    data = _dump_mailbox(current)
    data.pop("rules", None)
    data.pop("filters", None)
    return data


def _as_yaml(values: dict[str, Any], row: Mailbox | None) -> str:
    """The mailbox as the file would have it: what is stored, with the form's fields over it (an empty
    field: its default; an empty password: the stored one)."""
    box = _stored(row)
    for key, value in values["box"].items():
        if key == "password":
            if value:
                box["password"] = value
                box.pop("password_env", None)
        elif value in ("", None):
            box.pop(key, None)
        else:
            box[key] = int(value) if key in ("port", "interval") and str(value).isdigit() else value
    box["enabled"] = values["box"]["enabled"]
    smtp = dict(box.pop("smtp", None) or {})
    for key, value in values["smtp"].items():
        if key == "password":
            if value:
                smtp["password"] = value
                smtp.pop("password_env", None)
        elif value:
            smtp[key] = int(value) if key == "port" and value.isdigit() else value
        else:
            smtp.pop(key, None)
    if smtp.get("host"):
        box["smtp"] = smtp
    elif any(k in values["smtp"] and values["smtp"][k] for k in SMTP_FIELDS):
        box["smtp"] = smtp  # fields without a host: the reader says host is required
    return yaml.safe_dump({"mailboxes": [box]}, sort_keys=False)


def _problems(exc: ConfigFileError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in exc.problems:
        found = _PROBLEM.search(line)
        key = found.group(1).replace(".", "_") if found else "general"
        out.setdefault(key, []).append(found.group(2) if found else line.split(": ", 1)[-1])
    return out


def _shared_account(config_box: Any, row: Mailbox | None) -> str | None:
    others = Mailbox.objects.filter(
        host__iexact=config_box.host, port=config_box.port, username=config_box.username,
        folder=config_box.folder,
    )  # fmt: skip
    if row is not None:
        others = others.exclude(pk=row.pk)
    other = others.first()
    return f"mailbox {other.name} already reads this account and folder" if other else None


def _check(row: Mailbox) -> tuple[bool, list[str]]:
    """`postroom check` for the saved settings: (passed, lines to show)."""
    from postroom.mailboxes.server import server_settings, smtp_settings
    from postroom.outgoing.smtp import SendError
    from postroom.outgoing.smtp import check as check_smtp
    from postroom.sources.diagnose import check, explain

    try:
        report = check(server_settings(row))
        lines = [f"{row.protocol} {row.host}:{row.port}: {report.message_count} messages in {row.folder}"]
    except ConnectionStepError as exc:
        return False, explain(exc).splitlines()
    except ConfigError as exc:
        return False, [str(exc)]
    try:
        smtp = smtp_settings(row)
        if smtp is not None:
            check_smtp(smtp)
            lines.append(f"smtp {smtp.host}:{smtp.port}: connected and logged in")
    except (SendError, ConfigError) as exc:
        return False, [*lines, getattr(exc, "reason", str(exc))]
    return True, lines


@login_required
def mailbox_edit(request: HttpRequest, name: str | None = None) -> HttpResponse:
    require_admin(request)
    from postroom.mailboxes.sync import _apply_mailbox

    row = get_object_or_404(Mailbox, name=name) if name else None
    kinds = ("ticket", "job", "quote", "task", "case")
    context: dict[str, Any] = {"row": row, "problems": {}, "check": None, "kinds": kinds}
    if request.method != "POST":
        context["values"] = _initial(row)
        return render(request, "postroom/mailbox_form.html", context)
    values = _form_values(request.POST, row)
    context["values"] = {**values["box"], **{f"smtp_{k}": v for k, v in values["smtp"].items()}}
    try:
        config = load_config_text(_as_yaml(values, row), "form")
    except ConfigFileError as exc:
        context["problems"] = _problems(exc)
        return render(request, "postroom/mailbox_form.html", context, status=400)
    box = config.mailboxes[0]
    if row is not None and box.name != row.name:
        context["problems"] = {"name": ["a mailbox's name can't change (its records name it)"]}
        return render(request, "postroom/mailbox_form.html", context, status=400)
    if shared := _shared_account(box, row):
        context["problems"] = {"general": [shared]}
        return render(request, "postroom/mailbox_form.html", context, status=400)
    save_disabled = request.POST.get("save_disabled") == "1"
    with transaction.atomic():
        _apply_mailbox(box)
        saved = Mailbox.objects.get(name=box.name)
        if save_disabled and saved.enabled:
            saved.enabled = False
            saved.save(update_fields=["enabled", "updated"])
    passed, lines = _check(saved)
    if not passed and saved.enabled:
        saved.enabled = False  # saved, but it does not import until it passes (or is switched on)
        saved.save(update_fields=["enabled", "updated"])
        lines.append("saved disabled: it imports once the check passes (save again) or you switch it on")
    context.update(row=saved, check={"passed": passed, "lines": lines})
    context["values"] = _initial(saved)
    return render(request, "postroom/mailbox_form.html", context, status=200 if passed else 409)


def _initial(row: Mailbox | None) -> dict[str, Any]:
    if row is None:
        return {"protocol": "imap", "security": "ssl", "folder": "INBOX", "record_kind": "ticket",
                "after_import": "delete", "interval": "60", "enabled": True,
                "smtp_security": "starttls"}  # fmt: skip
    values: dict[str, Any] = {k: getattr(row, k) for k in FIELDS if k != "password"}
    values["enabled"] = row.enabled
    values.update(smtp_host=row.smtp_host, smtp_port=row.smtp_port or "", smtp_security=row.smtp_security,
                  smtp_username=row.smtp_username, smtp_from_name=row.from_name,
                  smtp_ca_file=row.smtp_ca_file)  # fmt: skip
    return values


@login_required
def mailbox_toggle(request: HttpRequest, name: str) -> HttpResponse:
    """One switch: importing on or off for a mailbox, at any time."""
    require_admin(request)
    if request.method != "POST":
        raise PermissionDenied("use the form")
    row = get_object_or_404(Mailbox, name=name)
    row.enabled = request.POST.get("enabled") == "1"
    row.save(update_fields=["enabled", "updated"])
    return redirect("/mailboxes")
