"""`postroom ingest --mailbox NAME [FILE|-]`: one raw message from a mail server pipe; exit 75 to retry."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from postroom.cli.main import EX_NOINPUT, EX_TEMPFAIL
from postroom.core.errors import PostroomError


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ingest", help="import one raw message from a file or standard input (MTA pipe)")
    p.add_argument("--mailbox", required=True, metavar="NAME")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    p.set_defaults(handler=run)


def _read(name: str) -> bytes | None:
    """The message's bytes; None (said on stderr) when FILE can't be read: a mistake in the pipe's set-up."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        print(f"postroom: can't read the message file {name}: {exc.strerror or exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    from postroom.mailboxes.models import Mailbox
    from postroom.pipeline.ingest import ingest
    from postroom.records import durability

    raw = _read(args.file)
    if raw is None:
        return EX_NOINPUT
    mailbox = Mailbox.objects.filter(name=args.mailbox).first()
    if mailbox is None:
        # The mail server keeps the message and retries: a missing mailbox is usually a deploy in progress.
        print(f"postroom: no mailbox named {args.mailbox!r}", file=sys.stderr)
        return EX_TEMPFAIL
    if not raw.strip():
        where = "standard input" if args.file == "-" else args.file
        raise PostroomError(f"empty message: {where} held no mail ({len(raw)} bytes), nothing to import")
    try:
        # The same bytes piped twice are one delivery: the key is their hash.
        outcome = ingest(mailbox, "pipe:" + hashlib.sha256(raw).hexdigest(), raw)
        durability.barrier()  # the mail server deletes its copy once we exit 0
    except Exception as exc:  # whatever went wrong, the mail server keeps the message and retries
        print(f"postroom: could not store the message, try again later: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    where = f" (record {outcome.record})" if outcome.record else ""
    print(f"{outcome.status}{where}{': ' + outcome.reason if outcome.reason else ''}", file=sys.stderr)
    # A failed parse is stored raw with its reason (see `postroom failed`): that is a successful delivery.
    return 0
