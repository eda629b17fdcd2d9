"""`postroom check NAME`: connect, log in, open the folder, and say what was found or which step failed."""

from __future__ import annotations

import argparse

from postroom.cli.output import console
from postroom.core.errors import ConnectionStepError, PostroomError


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="check that a mailbox can be reached and read (and its smtp: server)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from postroom.mailboxes.models import Mailbox
    from postroom.mailboxes.server import server_settings
    from postroom.sources.diagnose import check

    mailbox = Mailbox.objects.filter(name=args.name).first()
    if mailbox is None:
        raise PostroomError(f"no mailbox named {args.name!r} (see `postroom config dump`)")
    settings = server_settings(mailbox)
    where = f"{settings.protocol} {settings.host}:{settings.port} ({settings.security})"
    try:
        report = check(settings)
    except ConnectionStepError as exc:
        console.print(
            f"[red]✗ {mailbox.name}: {where}: failed at step [bold]{exc.step}[/bold][/red]", highlight=False
        )
        console.print(f"  {exc.detail}", highlight=False, markup=False)
        if exc.hint:
            console.print(f"  hint: {exc.hint}", highlight=False, markup=False)
        return 2
    console.print(f"[green]✓ {mailbox.name}: {where}[/green]", highlight=False)
    console.print(f"  folder {settings.folder}: {report.message_count} messages", highlight=False)
    console.print(f"  capabilities: {' '.join(report.capabilities)}", highlight=False, markup=False)
    for key, value in report.details.items():
        console.print(f"  {key}: {value}", highlight=False, markup=False)
    return _check_smtp(mailbox)


def _check_smtp(mailbox: object) -> int:
    """The outgoing server too, when the mailbox sends: connect, TLS, login — no mail is sent."""
    from postroom.mailboxes.server import smtp_settings
    from postroom.outgoing.smtp import SendError, check

    settings = smtp_settings(mailbox)  # type: ignore[arg-type]
    if settings is None:
        return 0
    where = f"smtp {settings.host}:{settings.port} ({settings.security})"
    try:
        check(settings)
    except SendError as exc:
        console.print(f"[red]✗ {where}: failed[/red]", highlight=False)
        console.print(f"  {exc.reason}", highlight=False, markup=False)
        return 2
    login = f", logged in as {settings.username}" if settings.username else ""
    console.print(f"[green]✓ {where}{login}[/green]", highlight=False)
    return 0
