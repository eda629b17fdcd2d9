"""Rules as forms: the list of a mailbox's rules in the order they apply (moved up and down, removed), and
one rule's conditions, actions and field-mapping rows as form fields. What a form makes is written as the
configuration file would have it and saved through the rules page's own path (rule_pages._save), so the
reader's checks and messages are the same as for the file and the text editor."""

from __future__ import annotations

from typing import Any

import yaml
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from postroom.mailboxes.models import Mailbox
from postroom.people.models import Team
from postroom.routing.mappings import SOURCES, TRANSFORMS
from postroom.routing.rules import IMPORT_AS, KEYWORD_PLACES, PRIORITIES, UNKNOWN_SENDER
from postroom.web.permissions import require_admin
from postroom.web.rule_pages import _save

LIST_KEYS = ("from", "from_domain", "to", "subject_contains", "body_contains", "tags")
TEXT_KEYS = ("import_as", "job_keyword", "customer", "category", "team", "priority", "note_type",
             "unknown_sender", "owner")  # fmt: skip
BLANK_MAPPINGS = 3


def _rules(name: str) -> list[dict[str, Any]]:
    from postroom.mailboxes.config_rules import rules_to_dicts
    from postroom.mailboxes.sync import current_config

    (box,) = [m for m in current_config().mailboxes if m.name == name]
    return rules_to_dicts(box.rules)


def _write(name: str, rules: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    from postroom.mailboxes.config_rules import filter_to_dict
    from postroom.mailboxes.sync import current_config

    (box,) = [m for m in current_config().mailboxes if m.name == name]
    data: dict[str, Any] = {"rules": rules}
    if box.filters:
        data["filters"] = [filter_to_dict(f) for f in box.filters]
    return _save(name, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _in_sequence(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list's own order becomes the order they apply in (explicit orders would fight a move)."""
    return [{k: v for k, v in r.items() if k != "order"} for r in rules]


@login_required
def rule_list(request: HttpRequest, name: str) -> HttpResponse:
    require_admin(request)
    mailbox = get_object_or_404(Mailbox, name=name)
    rules = _rules(name)
    problems: list[str] = []
    if request.method == "POST":
        index = int(request.POST.get("index", "-1"))
        action = request.POST.get("action")
        if 0 <= index < len(rules):
            if action == "up" and index > 0:
                rules[index - 1], rules[index] = rules[index], rules[index - 1]
            elif action == "down" and index < len(rules) - 1:
                rules[index + 1], rules[index] = rules[index], rules[index + 1]
            elif action == "remove":
                rules.pop(index)
            problems, _ = _write(name, _in_sequence(rules))
            if not problems:
                return redirect(f"/mailboxes/{name}/rules/list")
    shown = [{"index": i, "name": r["name"], "summary": _summary(r)} for i, r in enumerate(_rules(name))]
    return render(
        request, "postroom/rule_list.html", {"mailbox": mailbox, "rules": shown, "problems": problems}
    )


def _summary(rule: dict[str, Any]) -> str:
    parts = [f"{k}: {v if not isinstance(v, list) else ', '.join(map(str, v))}" for k, v in rule.items()
             if k not in ("name", "order", "mappings")]  # fmt: skip
    if rule.get("mappings"):
        parts.append(f"{len(rule['mappings'])} field mapping(s)")
    return "; ".join(parts)


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def rule_from_form(post: Any) -> dict[str, Any]:
    """The rule a form describes, as the file writes it (empty fields left out)."""
    rule: dict[str, Any] = {"name": post.get("name", "").strip()}
    if post.get("continue") == "1":
        rule["continue"] = True
    for key in LIST_KEYS:
        if values := _split(post.get(key, "")):
            rule[key] = values if len(values) > 1 else values[0]
    if words := _split(post.get("keyword", "")):
        places = [p for p in post.getlist("keyword_in") if p in KEYWORD_PLACES]
        rule["keyword"] = {"text": words, **({"in": places} if places else {})}
    if post.get("has_attachment") in ("yes", "no"):
        rule["has_attachment"] = post["has_attachment"] == "yes"
    for key in TEXT_KEYS:
        if value := post.get(key, "").strip():
            rule[key] = value
    if post.get("require_access") == "1":
        rule["require_access"] = True
    if (how := post.get("assign_how")) in ("user", "round_robin", "least_busy") and post.get(
        "assign_to", ""
    ).strip():
        rule["assign"] = {how: post["assign_to"].strip()}
    mappings = []
    for i in range(int(post.get("mapping_rows", "0") or 0)):
        field = post.get(f"m{i}_field", "").strip()
        if not field:
            continue
        row: dict[str, Any] = {"field": field}
        for key in ("start", "end", "default"):
            if value := post.get(f"m{i}_{key}", ""):
                row[key] = value
        if (source := post.get(f"m{i}_source", "body")) != "body":
            row["source"] = source
        if post.get(f"m{i}_required") == "1":
            row["required"] = True
        if transform := post.get(f"m{i}_transform", ""):
            row["transform"] = transform
        mappings.append(row)
    if mappings:
        rule["mappings"] = mappings
    return rule


def _as_form(rule: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"name": rule.get("name", ""), "continue": bool(rule.get("continue"))}
    for key in LIST_KEYS:
        v = rule.get(key)
        values[key] = ", ".join(v) if isinstance(v, list) else (v or "")
    keyword = rule.get("keyword")
    if isinstance(keyword, dict):
        values["keyword"] = ", ".join(keyword.get("text") or [])
        values["keyword_in"] = list(keyword.get("in") or [])
    values["has_attachment"] = {True: "yes", False: "no"}.get(rule.get("has_attachment"), "")  # type: ignore[arg-type]
    for key in TEXT_KEYS:
        values[key] = rule.get(key, "")
    values["require_access"] = bool(rule.get("require_access"))
    if isinstance(rule.get("assign"), dict):
        ((values["assign_how"], values["assign_to"]),) = rule["assign"].items()
    values["mappings"] = list(rule.get("mappings") or []) + [{} for _ in range(BLANK_MAPPINGS)]
    # Keys the form has no field for (regex keywords, headers, cc...): kept as they are on save.
    values["other"] = {k: v for k, v in rule.items() if k in ("cc", "delivered_to", "header", "order")
                       or (k == "keyword" and isinstance(v, dict) and "regex" in v)}  # fmt: skip
    return values


@login_required
def rule_edit(request: HttpRequest, name: str, index: int | None = None) -> HttpResponse:
    require_admin(request)
    mailbox = get_object_or_404(Mailbox, name=name)
    rules = _rules(name)
    if index is not None and not 0 <= index < len(rules):
        return redirect(f"/mailboxes/{name}/rules/list")
    current = rules[index] if index is not None else {}
    context: dict[str, Any] = {
        "mailbox": mailbox, "index": index, "problems": [], "import_as": IMPORT_AS, "priorities": PRIORITIES,
        "unknown_sender": UNKNOWN_SENDER, "sources": SOURCES, "transforms": TRANSFORMS,
        "places": KEYWORD_PLACES,
        "teams": Team.objects.filter(enabled=True).values_list("name", flat=True),
    }  # fmt: skip
    if request.method != "POST":
        context["v"] = _as_form(current)
        return render(request, "postroom/rule_form.html", context)
    rule = rule_from_form(request.POST)
    kept = _as_form(current)["other"]
    rule.update({k: v for k, v in kept.items() if k not in rule})
    if index is None:
        rules.append(rule)
    else:
        rules[index] = rule
    problems, _ = _write(name, rules)
    if not problems:
        return redirect(f"/mailboxes/{name}/rules/list")
    context.update(problems=problems, v=_as_form(rule))
    return render(request, "postroom/rule_form.html", context, status=400)
