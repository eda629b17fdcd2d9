"""`postroom webhook add|list|remove|send`: the webhooks other systems take records by, scriptable."""

from __future__ import annotations

import argparse
import os
import urllib.parse
from typing import Any

from rich.table import Table

from postroom.cli.output import console, print_json
from postroom.core.errors import ConfigError, PostroomError

EVENTS = ("record_created", "message_added", "status_changed")  # postroom.hooks.models.HookEvent


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser("webhook", help="signed POSTs to other systems on record events; `webhook send` sends")
    wsub = w.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = wsub.add_parser("add", help="add a webhook, or change one (URL, events, secret)")
    a.add_argument("name")
    a.add_argument("url", help="http:// or https:// (certificates are verified)")
    a.add_argument("--events", required=True, metavar="EV[,EV...]", help=f"of {', '.join(EVENTS)}")
    a.add_argument(
        "--secret-env",
        metavar="VAR",
        help="the environment variable holding the signing secret (a new one: required)",
    )
    a.add_argument(
        "--disabled", action="store_true", help="keep it, but send it nothing (add again to enable)"
    )
    a.set_defaults(handler=run_add)
    ls = wsub.add_parser("list", help="the webhooks, with their queued, sent and failed deliveries")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    rm = wsub.add_parser("remove", help="remove a webhook and its deliveries")
    rm.add_argument("name")
    rm.set_defaults(handler=run_remove)
    s = wsub.add_parser("send", help="deliver what is due now; `postroom run` does this continuously")
    s.add_argument("--all", action="store_true", help="also what waits for its next attempt (after a fix)")
    s.set_defaults(handler=run_send)


def _events(text: str) -> list[str]:
    events = list(dict.fromkeys(e.strip() for e in text.split(",") if e.strip()))
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise ConfigError(f"--events: {unknown[0] if unknown else text!r} is not one of {', '.join(EVENTS)}")
    return events


def _url(text: str) -> str:
    url = text.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"URL {url!r}: must be http:// or https:// with a host name")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("URL: no user or password in it (the signature tells the receiver it is Postroom)")
    if len(url) > 2000:
        raise ConfigError("URL: at most 2000 characters")
    return url


def run_add(args: argparse.Namespace) -> int:
    from django.db import transaction

    from postroom.hooks.models import Webhook
    from postroom.mailboxes.secrets import encrypt

    url, events = _url(args.url), _events(args.events)
    secret = None
    if args.secret_env:
        secret = os.environ.get(args.secret_env)
        if not secret:
            raise ConfigError(f"--secret-env: {args.secret_env} is not set (or empty)")
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().filter(name=args.name).first()
        if hook is None and secret is None:
            raise ConfigError("--secret-env: a new webhook needs a signing secret")
        hook = hook or Webhook(name=args.name)
        created = hook.pk is None
        hook.url, hook.events, hook.enabled = url, events, not args.disabled
        if secret is not None:
            hook.secret_encrypted = encrypt(secret)  # never stored in clear
        hook.save()
    state = "disabled" if args.disabled else ", ".join(events)
    print(f"{'added' if created else 'changed'} webhook {args.name} ({url}; {state})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from django.db.models import Count

    from postroom.hooks.models import Webhook, WebhookDelivery

    counts: dict[int, dict[str, int]] = {}
    for row in WebhookDelivery.objects.values("webhook_id", "status").annotate(n=Count("id")).order_by():
        counts.setdefault(row["webhook_id"], {})[row["status"]] = row["n"]
    rows: list[dict[str, Any]] = [
        {
            "name": h.name,
            "url": h.url,
            "events": list(h.events),
            "enabled": h.enabled,
            "created": h.created.isoformat(),
            "deliveries": {
                s: counts.get(h.pk, {}).get(s, 0) for s in ("queued", "sending", "sent", "failed")
            },
        }
        for h in Webhook.objects.order_by("name")
    ]
    if args.json:
        print_json(rows)
        return 0
    table = Table("Name", "URL", "Events", "Enabled", "Queued", "Sent", "Failed")
    for r in rows:
        d = r["deliveries"]
        table.add_row(
            r["name"], r["url"], ", ".join(r["events"]), "yes" if r["enabled"] else "no",
            str(d["queued"] + d["sending"]), str(d["sent"]), str(d["failed"]),
        )  # fmt: skip
    console.print(table)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from postroom.hooks.models import Webhook

    gone, _ = Webhook.objects.filter(name=args.name).delete()
    if not gone:
        raise PostroomError(f"no webhook {args.name!r} (see `postroom webhook list`)")
    print(f"removed webhook {args.name}")
    return 0


def run_send(args: argparse.Namespace) -> int:
    from postroom.hooks.models import HookStatus, WebhookDelivery
    from postroom.hooks.sender import deliver_due

    if args.all:
        from django.utils import timezone

        WebhookDelivery.objects.filter(status=HookStatus.QUEUED).update(next_attempt=timezone.now())
    summary = deliver_due()
    print(f"webhooks: sent {summary.sent}, retrying {summary.retrying}, failed {summary.failed}")
    for error in dict.fromkeys(summary.errors):
        print(f"  {error}")
    return 0
