"""Admin page for a mailbox's rules and filters: edited as the configuration file writes them (every
condition, action and field mapping; the order is the order), validated by the file's own reader against
the rest of the configuration, and tested with the import's own dry run on an uploaded mail or on the
latest mail in the mailbox (read-only)."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from postroom.core.errors import PostroomError
from postroom.mailboxes.config_file import ConfigFileError, dump_config, load_config_text
from postroom.mailboxes.models import Mailbox
from postroom.web.permissions import require_admin

LIVE_LIMIT = 10


def _section(name: str) -> str:
    """The mailbox's `rules:` and `filters:` as the file writes them (what `config dump` prints)."""
    from postroom.mailboxes.config_rules import filter_to_dict, rules_to_dicts
    from postroom.mailboxes.sync import current_config

    (box,) = [m for m in current_config().mailboxes if m.name == name]
    data: dict[str, Any] = {}
    if box.filters:
        data["filters"] = [filter_to_dict(f) for f in box.filters]
    data["rules"] = rules_to_dicts(box.rules)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def _replaced(name: str, text: str) -> str:
    """The whole configuration as a file, with this mailbox's rules and filters replaced by ``text``; the
    reader then checks team, user and account names against everything else, as `config load` would."""
    from postroom.mailboxes.sync import current_config

    section = yaml.safe_load(text) if text.strip() else {}
    if not isinstance(section, dict):
        raise ValueError("write `rules:` (and `filters:`) as in the configuration file")
    unknown = sorted(set(section) - {"rules", "filters"})
    if unknown:
        raise ValueError(f"only rules: and filters: belong here, not {unknown[0]}:")
    config = current_config()
    document = yaml.safe_load(dump_config(config))
    for box in document["mailboxes"]:
        if box["name"] == name:
            box.pop("rules", None)
            box.pop("filters", None)
            box.update({k: v for k, v in section.items() if v})
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


@login_required
def rules_page(request: HttpRequest, name: str) -> HttpResponse:
    require_admin(request)
    mailbox = get_object_or_404(Mailbox, name=name)
    context: dict[str, Any] = {"mailbox": mailbox, "problems": [], "results": [], "saved": []}
    text = request.POST.get("rules", "") if request.method == "POST" else _section(name)
    context["text"] = text
    if request.method == "POST" and request.POST.get("action") == "save":
        context["problems"], context["saved"] = _save(name, text)
    elif request.method == "POST" and request.POST.get("action") == "test":
        context["results"] = _test(mailbox, request)
    status = 400 if context["problems"] else 200
    return render(request, "postroom/rules.html", context, status=status)


def _save(name: str, text: str) -> tuple[list[str], list[str]]:
    from postroom.mailboxes import sync_rules

    try:
        config = load_config_text(_replaced(name, text), "rules")
    except (ConfigFileError, ValueError, yaml.YAMLError) as exc:
        problems = exc.problems if isinstance(exc, ConfigFileError) else [str(exc)]
        # Line numbers are of the whole generated file: keep only what names this mailbox (and the key).
        return [p.split(": ", 1)[-1] if p.startswith("rules:") else p for p in problems], []
    only = dataclasses.replace(config, mailboxes=tuple(m for m in config.mailboxes if m.name == name),
                               filters=config.filters)  # fmt: skip
    with transaction.atomic():
        changes = sync_rules.apply_routing(only)
    return [], changes or ["nothing changed"]


def _test(mailbox: Mailbox, request: HttpRequest) -> list[dict[str, Any]]:
    from postroom.cli.rules_cmd import _live
    from postroom.pipeline.dry_run import explain
    from postroom.records.lookups import context_for

    mails: list[tuple[str, bytes | Exception]] = []
    for upload in request.FILES.getlist("eml"):
        mails.append((upload.name or "upload.eml", upload.read()))
    if request.POST.get("live") == "1":
        try:
            mails += _live(mailbox, LIVE_LIMIT)
        except PostroomError as exc:
            mails.append(("the mailbox", exc))
    if not mails:
        return [{"mail": "", "outcome": "error", "reason": "upload a .eml file or tick 'latest mail'"}]
    context = context_for(mailbox)
    return [
        {"mail": name, "outcome": "error", "reason": str(raw)} if isinstance(raw, Exception)
        else {"mail": name, **explain(mailbox, raw, context)}
        for name, raw in mails
    ]  # fmt: skip


def _with_global_filters(text: str) -> str:
    """The whole configuration as a file with its global `filters:` replaced by ``text``."""
    from postroom.mailboxes.sync import current_config

    section = yaml.safe_load(text) if text.strip() else {}
    if not isinstance(section, dict) or set(section) - {"filters"}:
        raise ValueError("write `filters:` as in the configuration file (global filters only)")
    document = yaml.safe_load(dump_config(current_config()))
    document.pop("filters", None)
    if section.get("filters"):
        document["filters"] = section["filters"]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


@login_required
def global_filters_page(request: HttpRequest) -> HttpResponse:
    """The filters every mailbox applies before its own, edited as the file writes them."""
    require_admin(request)
    from postroom.mailboxes import sync_rules
    from postroom.mailboxes.config_rules import filter_to_dict
    from postroom.mailboxes.sync import current_config

    problems: list[str] = []
    saved: list[str] = []
    if request.method == "POST":
        text = request.POST.get("filters", "")
        try:
            config = load_config_text(_with_global_filters(text), "filters")
        except (ConfigFileError, ValueError, yaml.YAMLError) as exc:
            problems = exc.problems if isinstance(exc, ConfigFileError) else [str(exc)]
        else:
            with transaction.atomic():
                saved = sync_rules.apply_routing(config) or ["nothing changed"]
    else:
        filters = [filter_to_dict(f) for f in current_config().filters]
        text = (
            yaml.safe_dump({"filters": filters}, sort_keys=False, allow_unicode=True)
            if filters
            else "filters:\n"
        )
    return render(request, "postroom/filters.html", {"text": text, "problems": problems, "saved": saved},
                  status=400 if problems else 200)  # fmt: skip
