"""`postroom import`: one import cycle over the enabled mailboxes, with progress and a summary per mailbox."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING

from postroom.cli import output
from postroom.core.errors import PostroomError
from postroom.pipeline.runner import CycleResult, Hooks, run_cycle

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger("postroom.import")


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="run one import cycle over the enabled mailboxes")
    p.add_argument("--mailbox", metavar="NAME", help="only this mailbox")
    p.set_defaults(handler=run)


def selected_mailboxes(name: str | None) -> list:  # type: ignore[type-arg]
    from postroom.mailboxes.models import Mailbox

    if name:
        mailbox = Mailbox.objects.filter(name=name).first()
        if mailbox is None:
            raise PostroomError(f"no mailbox named {name!r} (see `postroom config dump`)")
        if not mailbox.enabled:
            raise PostroomError(f"mailbox {name} is disabled (enabled: false in the configuration)")
        return [mailbox]
    return list(Mailbox.objects.filter(enabled=True))


def summary(r: CycleResult) -> str:
    line = (
        f"{r.mailbox}: fetched {r.fetched}, new records {r.new_records}, added to existing {r.added}, "
        f"duplicates skipped {r.duplicates}, failed {r.failed}"
    )
    if r.unprocessed:
        line += f", unprocessed {r.unprocessed}"
    if r.held:
        line += f", held for review {r.held}"
    if r.skipped:
        line += f", left by backfill {r.skipped}"
    if r.waiting:
        line += f", still waiting on the server {r.waiting}"
    if r.error:
        line += f" — ERROR: {r.error}"
    return line


def _hooks(progress: Progress | None, name: str) -> Hooks:
    if progress is None:
        done = [0]

        def log_line(outcome: object) -> None:
            done[0] += 1
            if done[0] % 100 == 0:
                log.info("%s: %d messages imported so far", name, done[0])

        return Hooks(
            on_total=lambda n: log.info("%s: %d new messages on the server", name, n), on_message=log_line
        )
    task = progress.add_task(name, total=None)
    return Hooks(
        on_total=lambda n: progress.update(task, total=n),
        on_message=lambda o: progress.advance(task),
    )


def _progress_bar() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=output.err_console, transient=True,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    mailboxes = selected_mailboxes(args.mailbox)
    if not mailboxes:
        print("no enabled mailboxes: load a configuration with `postroom config load FILE`", file=sys.stderr)
        return 1
    progress = _progress_bar() if output.is_terminal() else None
    with progress or nullcontext():
        # run_cycle records a failing mailbox and returns: it never holds up the others.
        results = [run_cycle(mailbox, _hooks(progress, mailbox.name)) for mailbox in mailboxes]
    for r in results:
        print(summary(r))
    return 1 if any(r.error for r in results) else 0
