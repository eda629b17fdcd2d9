"""`postroom reply` (answer a record by mail) and `postroom outbox` (what is queued, sent and failed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from postroom.cli.output import console, print_json
from postroom.core.errors import ConfigError


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("reply", help="email a record's requester from its mailbox's address")
    r.add_argument("number", type=int, help="the record's number")
    text = r.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the reply's text")
    text.add_argument("--text-file", type=Path, help="a file with the reply's text (- for stdin)")
    r.add_argument("--attach", type=Path, action="append", default=[], metavar="FILE", help="repeatable")
    r.add_argument("--cc", action="append", default=[], metavar="ADDRESS", help="repeatable")
    r.add_argument("--all", action="store_true", help="copy the record's other participants too")
    r.add_argument("--queue-only", action="store_true", help="queue it; let the service send it")
    r.set_defaults(handler=run_reply)
    o = sub.add_parser("outbox", help="list queued, sent and failed outgoing mail; `outbox send` sends")
    o.add_argument("action", nargs="?", choices=["list", "send"], default="list")
    o.add_argument("--json", action="store_true")
    o.add_argument("--status", choices=["queued", "sending", "sent", "failed"], help="only these")
    o.add_argument("--limit", type=int, default=100)
    o.add_argument(
        "--all", action="store_true", help="send: also what waits for its next attempt (after a fix)"
    )
    o.set_defaults(handler=run_outbox)


def _text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if str(args.text_file) == "-":
        return sys.stdin.read()
    try:
        return Path(args.text_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"can't read --text-file {args.text_file}: {exc.strerror}") from exc


def run_reply(args: argparse.Namespace) -> int:
    from postroom.outgoing.compose import FileToAttach
    from postroom.outgoing.outbox import send_due
    from postroom.outgoing.reply import queue_reply

    files = []
    for path in args.attach:
        try:
            files.append(FileToAttach(path.name, path.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"can't read --attach {path}: {exc.strerror}") from exc
    mail = queue_reply(args.number, _text(args), files, args.cc, everyone=args.all)
    to = ", ".join(mail.recipients)
    if args.queue_only:
        print(f"queued {mail.message_id} to {to} (outbox {mail.pk})")
        return 0
    send_due(only={mail.pk})
    mail.refresh_from_db()
    if mail.status == "sent":
        print(f"sent {mail.message_id} to {to} (outbox {mail.pk})")
    elif mail.status == "failed":
        print(f"failed: {mail.last_error} (outbox {mail.pk}; the reply stays on the record)")
        return 1
    else:
        print(f"queued {mail.message_id} to {to} (outbox {mail.pk}): not sent yet: {mail.last_error}")
    return 0


def run_outbox(args: argparse.Namespace) -> int:
    from postroom.outgoing.models import OutgoingMail
    from postroom.outgoing.outbox import send_due

    if args.action == "send":
        if args.all:
            from django.utils import timezone

            OutgoingMail.objects.filter(status="queued").update(next_attempt=timezone.now())
        summary = send_due()
        print(f"outbox: sent {summary.sent}, retrying {summary.retrying}, failed {summary.failed}")
        return 0
    rows = OutgoingMail.objects.select_related("mailbox").order_by("-id")
    if args.status:
        rows = rows.filter(status=args.status)
    items = [
        {
            "id": m.pk,
            "mailbox": m.mailbox.name,
            "kind": m.kind,
            "record": m.record_id,
            "message_id": m.message_id,
            "to": m.recipients,
            "status": m.status,
            "attempts": m.attempts,
            "next_attempt": m.next_attempt.isoformat() if m.status == "queued" else None,
            "sent": m.sent_at.isoformat() if m.sent_at else None,
            "error": m.last_error,
            "refused": m.refused,
            "created": m.created.isoformat(),
        }
        for m in rows[: args.limit]
    ]
    if args.json:
        print_json(items)
        return 0
    table = Table("ID", "Kind", "Record", "To", "Status", "Tries", "When", "Error")
    for i in items:
        when = i["sent"] or i["next_attempt"] or i["created"]
        table.add_row(
            str(i["id"]), i["kind"], str(i["record"] or ""), ", ".join(i["to"]), i["status"],
            str(i["attempts"]), when[:16], i["error"],
        )  # fmt: skip
    console.print(table)
    return 0
