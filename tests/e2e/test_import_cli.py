"""`postroom import` on Dovecot: the summary line's exact format, and `backfill: <days>` on a first cycle.

The backfill plan itself (``pipeline.backfill.plan_backfill``) is tested here at unit level too, beside the
cycle that applies it: which keys are left (and why), which are imported as archive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.cli_helpers import dovecot_mailbox, load_config, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail

from postroom.mailboxes.models import Mailbox
from postroom.pipeline.backfill import plan_backfill
from postroom.sources.base import RemoteMessage

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def summary_line(stdout: str, name: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith(f"{name}: ")]
    return line


# --- the import summary -----------------------------------------------------------------------------------


@pytest.mark.uses_database
@pytest.mark.dovecot
def test_summary_line_counts_each_outcome_in_the_documented_format(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    load_config(cli, tmp_path, dovecot_mailbox("desk", dovecot, mailbox_folder))
    original = mail(subject="Printer", message_id="<printer@customer.test>")
    reply = mail(subject="Re: Printer", in_reply_to="<printer@customer.test>", body="Still broken.\n")
    not_a_mail = b"This is not a mail, just text.\r\n"
    dovecot.append([original, reply, original, not_a_mail], folder=mailbox_folder)
    result = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    assert summary_line(result.stdout, "desk") == (
        "desk: fetched 4, new records 1, added to existing 1, duplicates skipped 1, failed 1"
    )
    again = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    assert summary_line(again.stdout, "desk") == (
        "desk: fetched 0, new records 0, added to existing 0, duplicates skipped 0, failed 0"
    )
    assert dovecot.count(mailbox_folder) == 1  # the failed one is kept (on_failure: keep)


# --- backfill: a number of days ---------------------------------------------------------------------------


def first_cycle(backfill: str) -> Mailbox:
    return Mailbox(name="desk", backfill=backfill, backfill_done=False)


def test_plan_leaves_mail_older_than_the_window_and_imports_the_rest_as_archive() -> None:
    fresh = [
        RemoteMessage("imap:7:1", internal_date=NOW - timedelta(days=40)),
        RemoteMessage("imap:7:2", internal_date=NOW - timedelta(days=29, hours=23)),
        RemoteMessage("imap:7:3", internal_date=NOW - timedelta(days=30)),  # on the edge: still inside
        RemoteMessage("imap:7:4", internal_date=NOW - timedelta(days=30, seconds=1)),
        RemoteMessage("pop3:abc"),  # no arrival date (POP3): imported rather than lost
    ]
    plan = plan_backfill(first_cycle("30"), fresh, NOW)
    assert plan.skip == {"imap:7:1", "imap:7:4"}
    assert plan.archive == {"imap:7:2", "imap:7:3", "pop3:abc"}
    assert plan.reason == "older than the backfill window of 30 days"


def test_plan_with_days_when_everything_is_recent_skips_nothing() -> None:
    fresh = [RemoteMessage("imap:7:1", internal_date=NOW - timedelta(hours=1))]
    plan = plan_backfill(first_cycle("1"), fresh, NOW)
    assert (plan.skip, plan.archive) == (frozenset(), {"imap:7:1"})


def test_plan_after_the_first_cycle_imports_everything_as_live_mail() -> None:
    mailbox = Mailbox(name="desk", backfill="30", backfill_done=True)
    old = [RemoteMessage("imap:7:1", internal_date=NOW - timedelta(days=400))]
    plan = plan_backfill(mailbox, old, NOW)
    assert (plan.skip, plan.archive) == (frozenset(), frozenset())


@pytest.mark.uses_database
@pytest.mark.dovecot
def test_first_cycle_with_days_records_old_mail_as_skipped_and_leaves_it_on_the_server(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    load_config(cli, tmp_path, dovecot_mailbox("desk", dovecot, mailbox_folder, backfill=30))
    dovecot.create_folder(mailbox_folder)
    with dovecot.imap() as conn:  # IMAP APPEND with an arrival date (INTERNALDATE) 40 days ago
        old_date = datetime.now(UTC) - timedelta(days=40)
        conn.append(mailbox_folder, None, old_date, mail(subject="last month"))
    dovecot.append([mail(subject="this week")], folder=mailbox_folder)

    first = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    assert summary_line(first.stdout, "desk") == (
        "desk: fetched 1, new records 1, added to existing 0, duplicates skipped 0, failed 0, "
        "left by backfill 1"
    )
    assert [(r["subject"], r["archive"]) for r in records(cli)] == [("this week", True)]
    assert dovecot.count(mailbox_folder) == 1  # the old one stays; the imported one was deleted

    # Recorded as skipped: later cycles neither import it nor count it again.
    dovecot.append([mail(subject="today")], folder=mailbox_folder)
    second = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    assert summary_line(second.stdout, "desk") == (
        "desk: fetched 1, new records 1, added to existing 0, duplicates skipped 0, failed 0"
    )
    assert [(r["subject"], r["archive"]) for r in records(cli)] == [("today", False), ("this week", True)]
    assert dovecot.count(mailbox_folder) == 1
