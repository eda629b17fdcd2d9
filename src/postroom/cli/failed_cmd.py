"""`postroom failed` and `postroom reprocess`: the messages kept raw because they could not be imported."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from postroom.cli.output import console, print_json
from postroom.core.errors import PostroomError


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "failed", help="list messages that could not be imported or are held for review, with the reason"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_failed)
    r = sub.add_parser("reprocess", help="try failed messages again, or let a held one through")
    r.add_argument("id", nargs="?", type=int, help="a failed or held message's ID (from `postroom failed`)")
    r.add_argument("--all", action="store_true", help="every failed message")
    r.set_defaults(handler=run_reprocess)


def run_failed(args: argparse.Namespace) -> int:
    from postroom.mailboxes.models import Delivery, DeliveryStatus

    rows: list[dict[str, Any]] = [
        {
            "id": d.pk,
            "status": d.status,
            "mailbox": d.mailbox.name,
            "source_key": d.source_key,
            "reason": d.reason,
            "size": d.raw_size,
            "attempts": d.attempts,
            "received": d.created.isoformat(),
        }
        for d in Delivery.objects.filter(status__in=(DeliveryStatus.FAILED, DeliveryStatus.HELD))
        .select_related("mailbox")
        .order_by("pk")
    ]
    if args.json:
        print_json(rows)
        return 0
    table = Table("ID", "Status", "Mailbox", "Received", "Size", "Tries", "Reason")
    for r in rows:
        table.add_row(
            str(r["id"]), r["status"], r["mailbox"], r["received"][:16], str(r["size"]), str(r["attempts"]),
            r["reason"],
        )  # fmt: skip
    console.print(table)
    return 0


def run_reprocess(args: argparse.Namespace) -> int:
    from postroom.pipeline.reprocess import reprocess_failed

    if not args.all and args.id is None:
        raise PostroomError("name a failed message's ID or say --all")
    outcomes = reprocess_failed(None if args.all else args.id)
    for delivery_id, outcome in outcomes:
        where = f" record {outcome.record}" if outcome.record else ""
        print(f"{delivery_id}: {outcome.status}{where}{' — ' + outcome.reason if outcome.reason else ''}")
    return 0 if all(o.status != "failed" for _, o in outcomes) else 1
