"""`postroom records list|show`: the records and their messages, as tables or JSON."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.table import Table

from postroom.cli.output import console, print_json
from postroom.core.errors import PostroomError

MAX_LIMIT = 10_000


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]; anything else is a usage error naming the option."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("records", help="list, show and change records")
    rsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    lp = rsub.add_parser("list", help="list records, newest first")
    lp.add_argument("--mailbox", metavar="NAME")
    limit_help = f"at most N records (1 to {MAX_LIMIT}; default 50)"
    lp.add_argument("--limit", type=_whole_number(1, MAX_LIMIT), default=50, metavar="N", help=limit_help)
    offset_help = "skip the N newest records first"
    lp.add_argument("--offset", type=_whole_number(0), default=0, metavar="N", help=offset_help)
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(handler=run_list)
    ap = rsub.add_parser("assign", help="give a record to a user (its followers are told)")
    ap.add_argument("number", type=int)
    ap.add_argument("user", nargs="?", help="a user's name; left out: to nobody")
    ap.add_argument("--as", dest="by", metavar="USER", help="who makes the change (not told of it)")
    ap.set_defaults(handler=run_change)
    tp = rsub.add_parser("status", help="change a record's status (its followers are told)")
    tp.add_argument("number", type=int)
    tp.add_argument("status", choices=["new", "open", "pending", "closed"])
    tp.add_argument("--as", dest="by", metavar="USER", help="who makes the change (not told of it)")
    tp.set_defaults(handler=run_change)
    fp = rsub.add_parser("follow", help="a user follows a record: told by mail of what happens on it")
    fp.add_argument("number", type=int)
    fp.add_argument("user")
    fp.add_argument("--stop", action="store_true", help="stop following")
    fp.set_defaults(handler=run_change)
    sp = rsub.add_parser("show", help="one record with its messages")
    sp.add_argument("number", type=int)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(handler=run_show)


def run_list(args: argparse.Namespace) -> int:
    from postroom.mailboxes.models import Mailbox
    from postroom.records.views import list_records

    if args.mailbox and not Mailbox.objects.filter(name=args.mailbox).exists():
        raise PostroomError(f"no mailbox named {args.mailbox!r} (see `postroom config dump`)")
    rows = list_records(mailbox=args.mailbox, limit=args.limit, offset=args.offset)
    if args.json:
        print_json(rows)
        return 0
    table = Table("Number", "Kind", "Status", "Subject", "Requester", "Mailbox", "Created", "Msgs")
    for r in rows:
        table.add_row(
            str(r["number"]), r["kind"], r["status"], r["subject"], r["requester"]["address"],
            r["mailbox"] or "", r["created"][:16], str(r["message_count"]),
        )  # fmt: skip
    console.print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from postroom.records.views import show_record

    record = show_record(args.number)
    if record is None:
        raise PostroomError(f"no record {args.number}")
    if args.json:
        print_json(record)
        return 0
    console.rule(f"#{record['number']} {record['subject']}")
    console.print(
        f"{record['kind']} · {record['status']} · from {record['requester']['address']} · "
        f"mailbox {record['mailbox']} · {record['message_count']} messages",
        highlight=False,
    )
    _print_routing(record)
    for m in record["messages"]:
        console.rule(f"{m['direction']} · {m['date'] or ''} · {m['from']['address']}", style="dim")
        console.print(f"[bold]Subject:[/bold] {m['subject']}", highlight=False)
        if m.get("why"):
            console.print(f"[dim]{m['why']}[/dim]", highlight=False, markup=False)
        for line in m.get("because") or ():
            console.print(f"  {line}", style="dim", highlight=False, markup=False)
        console.print(m["text"], markup=False, highlight=False)
        for a in m["attachments"]:
            console.print(f"[bold]Attachment:[/bold] {a['filename']} ({a['size']} bytes)", highlight=False)
    return 0


def _print_routing(record: dict[str, object]) -> None:
    """The record's routed values, one line each, only those set."""
    shown = ("customer", "contact", "category", "team", "assignee", "priority", "rule")
    for key in shown:
        if record.get(key) and not (key == "priority" and record[key] == "normal"):
            console.print(f"[bold]{key}:[/bold] {record[key]}", highlight=False)
    if record.get("tags"):
        console.print(f"[bold]tags:[/bold] {', '.join(record['tags'])}", highlight=False)  # type: ignore[arg-type]
    fields = record.get("fields") or {}
    for name, value in fields.items():  # type: ignore[attr-defined]
        console.print(f"{name}: {value}", highlight=False, markup=False)
    if record.get("needs_review"):
        console.print(f"[bold red]needs review:[/bold red] {record['review_reason']}", highlight=False)


def run_change(args: argparse.Namespace) -> int:
    from postroom.records import changes

    if args.action == "assign":
        print(changes.assign(args.number, args.user, args.by))
    elif args.action == "status":
        print(changes.set_status(args.number, args.status, args.by))
    else:
        print(changes.follow(args.number, args.user, on=not args.stop))
    return 0
