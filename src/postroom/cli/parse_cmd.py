"""`postroom parse FILE...`: shows what a message looks like to Postroom, without touching the database."""

from __future__ import annotations

import argparse
from pathlib import Path

from postroom.cli.output import console, print_json
from postroom.mail.message import Address, ParsedMessage


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("parse", help="print how Postroom reads one or more mail files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="JSON (one object per line for several files)")
    p.set_defaults(handler=run, needs_db=False)


def run(args: argparse.Namespace) -> int:
    from postroom.mail.parse import parse_message

    failures = 0
    for name in args.files:
        try:
            msg = parse_message(Path(name).read_bytes())
        except Exception as exc:  # one bad file gives an error object; the run goes on
            failures += 1
            error = f"{type(exc).__name__}: {exc}"
            if args.json:
                print_json({"file": name, "error": error}, lines=True)
            else:
                console.print(f"[red]{name}: {error}[/red]")
            continue
        if args.json:
            data = msg.as_json()
            if len(args.files) > 1:
                data = {"file": name, **data}
            print_json(data, lines=len(args.files) > 1)
        else:
            _show(name, msg)
    return 1 if failures else 0


def who(a: Address) -> str:
    return f"{a.name} <{a.address}>" if a.name else a.address


def _show(name: str, msg: ParsedMessage) -> None:
    console.rule(name)
    rows = [
        ("Subject", msg.subject),
        ("From", who(msg.from_) if msg.from_ else "(none)"),
        ("To", ", ".join(who(a) for a in msg.to)),
        ("Cc", ", ".join(who(a) for a in msg.cc)),
        ("Date", msg.date.isoformat() if msg.date else "(none)"),
        ("Message-ID", msg.message_id or "(none)"),
        ("In-Reply-To", msg.in_reply_to or ""),
        ("Auto-submitted", "yes" if msg.auto_submitted else "no"),
        ("Bounce", "yes" if msg.bounce else "no"),
    ]
    for label, value in rows:
        if value:
            console.print(f"[bold]{label}:[/bold] {value}", highlight=False)
    for att in msg.attachments:
        console.print(
            f"[bold]Attachment:[/bold] {att.filename} ({att.content_type}, {att.size} bytes)", highlight=False
        )
    for defect in msg.defects:
        console.print(f"[yellow]Note:[/yellow] {defect}", highlight=False)
    console.print()
    console.print(msg.text, highlight=False, markup=False)
