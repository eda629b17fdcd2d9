"""`postroom status`: each mailbox's health — last good cycle, failures, waiting, imported, failed."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from postroom.cli.output import console, print_json


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="the health of each mailbox")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def health() -> list[dict[str, Any]]:
    from django.db.models import Count, Q

    from postroom.mailboxes.models import DeliveryStatus, Mailbox

    rows = Mailbox.objects.annotate(
        imported=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.STORED)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        unprocessed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.UNPROCESSED)),
        held=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.HELD)),
    )
    return [
        {
            "mailbox": m.name,
            "enabled": m.enabled,
            "last_success": m.last_success_at.isoformat() if m.last_success_at else None,
            "last_cycle": m.last_cycle_at.isoformat() if m.last_cycle_at else None,
            "consecutive_failures": m.consecutive_failures,
            "last_error": m.last_error or None,
            "waiting_on_server": m.waiting_on_server,
            "imported": m.imported,
            "failed": m.failed,
            "unprocessed": m.unprocessed_count,  # skipped by a filter or rejected by a rule
            "held": m.held,  # kept for review: the sender opened too many records too fast
        }
        for m in rows
    ]


def _count(value: int | None) -> str:
    """A count, or a dash when it is not known (waiting: the server has not been listed yet)."""
    return "—" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    rows = health()
    if args.json:
        print_json(rows)
        return 0
    held = any(r["held"] for r in rows)  # a column only when some mail is held: 80 columns are few
    table = Table(
        "Mailbox", "Enabled", "Last success", "Failures", "Last error", "Waiting", "Imported", "Failed",
        "Unprocessed", *(["Held"] if held else []),
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r["mailbox"], "yes" if r["enabled"] else "no", (r["last_success"] or "never")[:19],
            str(r["consecutive_failures"]), r["last_error"] or "", _count(r["waiting_on_server"]),
            str(r["imported"]), str(r["failed"]), str(r["unprocessed"]), *([str(r["held"])] if held else []),
        )  # fmt: skip
    console.print(table)
    return 0
