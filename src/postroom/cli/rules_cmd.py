"""`postroom rules test`: a dry run of a mailbox's filters and rules on a mail file or on the mail now
waiting in the mailbox (read-only), saying which matched, why, and what importing would do."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from postroom.cli.output import console, print_json
from postroom.core.errors import PostroomError

DEFAULT_LIVE_LIMIT = 20


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rules", help="try a mailbox's filters and rules without importing")
    rsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    tp = rsub.add_parser(
        "test",
        help="dry run: which filter or rule a mail matches, and what importing it would do",
        description="Writes nothing: no record, no contact, no rotation turn; --live reads the mailbox "
        "read-only (IMAP EXAMINE and BODY.PEEK, POP3 without DELE).",
    )
    tp.add_argument("files", nargs="*", metavar="FILE.eml", help="mail files (raw RFC 5322)")
    tp.add_argument("--mailbox", metavar="NAME", required=True, help="whose rules to apply")
    tp.add_argument("--live", action="store_true", help="test the mail now in the mailbox instead of files")
    tp.add_argument(
        "--limit", type=int, default=DEFAULT_LIVE_LIMIT, metavar="N",
        help=f"with --live: the N newest messages (default {DEFAULT_LIVE_LIMIT})",
    )  # fmt: skip
    tp.add_argument("--json", action="store_true", help="one JSON object per mail")
    tp.set_defaults(handler=run_test)


def run_test(args: argparse.Namespace) -> int:
    from postroom.mailboxes.models import Mailbox

    mailbox = Mailbox.objects.filter(name=args.mailbox).first()
    if mailbox is None:
        raise PostroomError(f"no mailbox named {args.mailbox!r} (see `postroom config dump`)")
    if args.live == bool(args.files):
        raise PostroomError("give mail files, or --live to test the mail in the mailbox (not both)")
    if args.limit < 1:
        raise PostroomError("--limit must be at least 1")
    mails = _live(mailbox, args.limit) if args.live else _files(args.files)
    from postroom.pipeline.dry_run import explain
    from postroom.records.lookups import context_for

    context = context_for(mailbox)
    failures = 0
    for name, raw in mails:
        if isinstance(raw, Exception):
            failures += 1
            result: dict[str, Any] = {"outcome": "error", "reason": str(raw)}
        else:
            result = explain(mailbox, raw, context)
        if args.json:
            print_json({"mail": name, **result}, lines=True)
        else:
            _show(name, result)
    return 1 if failures else 0


def _files(names: list[str]) -> list[tuple[str, bytes | Exception]]:
    out: list[tuple[str, bytes | Exception]] = []
    for name in names:
        try:
            out.append((name, Path(name).read_bytes()))
        except OSError as exc:
            out.append((name, OSError(f"can't read {name}: {exc.strerror or exc}")))
    return out


def _live(mailbox: Any, limit: int) -> list[tuple[str, bytes | Exception]]:
    from postroom.mailboxes.server import server_settings
    from postroom.sources.registry import open_session

    try:
        with open_session(server_settings(mailbox), readonly=True) as session:
            keys = [m.key for m in session.list_messages()][-limit:]
            return [(m.key, m.raw) for m in session.fetch(keys)]
    except PostroomError:
        raise
    except Exception as exc:
        raise PostroomError(f"mailbox {mailbox.name}: {exc}") from exc


def _show(name: str, r: dict[str, Any]) -> None:
    console.rule(name)
    if r.get("subject") is not None:
        console.print(f"Subject: {r['subject']}  ·  From: {r.get('from') or '(none)'}", markup=False)
    for block in r.get("checks", ()):
        console.print(block, markup=False, highlight=False)
    outcome = r["outcome"]
    if outcome == "new":
        rec = r["record"]
        console.print(f"[bold green]→ new {rec['kind']}[/bold green]: {r['reason']}", highlight=False)
        shown = ("customer", "contact", "requester", "category", "team", "assignee", "priority", "rule")
        for key in shown:
            if rec.get(key):
                console.print(f"    {key}: {rec[key]}", markup=False, highlight=False)
        if rec.get("assign_reason"):
            console.print(f"    ({rec['assign_reason']})", markup=False, highlight=False)
        if rec["tags"]:
            console.print(f"    tags: {', '.join(rec['tags'])}", markup=False, highlight=False)
        for field, value in rec["fields"].items():
            console.print(f"    field {field}: {value}", markup=False, highlight=False)
        if rec["needs_review"]:
            console.print(f"    needs review: {rec['review_reason']}", markup=False, style="red")
    elif outcome == "added":
        console.print(
            f"[bold green]→ added to record {r['record']}[/bold green] as a {r['entry_type']}: {r['thread']}",
            highlight=False,
        )
    elif outcome == "unprocessed":
        console.print(
            f"[bold yellow]→ not imported[/bold yellow]: {r['reason']}; {r['then']}", highlight=False
        )
    elif outcome == "duplicate":
        console.print(f"→ duplicate: {r['reason']} (record {r['record']})", highlight=False)
    else:
        console.print(f"[bold red]→ {outcome}[/bold red]: {r['reason']}", highlight=False)
        sys.stdout.flush()
