"""Dropped connections, backfill and failed mail: nothing lost, nothing doubled."""

from __future__ import annotations

from typing import Any

import pytest
from tests.pipeline.conftest import MakeMailbox, cycle
from tests.support.builders import mail
from tests.support.cutproxy import CutProxy

from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.pipeline.reprocess import reprocess_failed
from postroom.pipeline.runner import run_cycle
from postroom.records.models import Message, Record

pytestmark = pytest.mark.dovecot


def test_connection_cut_mid_fetch_then_rerun_imports_each_once(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    big = b"x" * 200_000
    dovecot.append(
        [mail(subject=f"m{i}", attachments=(("f.bin", big),)) for i in range(6)], folder=mailbox_folder
    )
    with CutProxy(dovecot.host, dovecot.ports["imap"], cut_after_bytes=600_000) as proxy:
        mailbox = make_mailbox(port=proxy.port, after_import="delete")
        first = run_cycle(mailbox)
        assert first.error, "the cut must surface as a failed cycle"
        assert proxy.cuts == 1
        proxy.cut_after_bytes = None
        second = cycle(mailbox)
    assert first.new_records + second.new_records == 6
    assert Message.objects.count() == 6 and dovecot.count(mailbox_folder) == 0


def test_backfill_none_leaves_old_mail_and_imports_new(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    dovecot.append([mail(subject="old")], folder=mailbox_folder)
    mailbox = make_mailbox(backfill="none", backfill_done=False)
    assert cycle(mailbox).skipped == 1
    dovecot.append([mail(subject="new")], folder=mailbox_folder)
    result = cycle(mailbox)
    assert (result.new_records, result.skipped) == (1, 0)
    assert list(Record.objects.values_list("subject", "archive")) == [("new", False)]
    assert dovecot.count(mailbox_folder) == 1  # "old" is still there, untouched


def test_backfill_all_marks_existing_mail_archive(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    dovecot.append([mail(subject="old")], folder=mailbox_folder)
    mailbox = make_mailbox(backfill="all", backfill_done=False)
    cycle(mailbox)
    dovecot.append([mail(subject="new")], folder=mailbox_folder)
    cycle(mailbox)
    assert dict(Record.objects.values_list("subject", "archive")) == {"old": True, "new": False}


def test_failed_mail_is_reprocessed_from_its_raw_copy(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postroom.pipeline import prepare

    def broken_parser(raw: bytes) -> Any:
        raise ValueError("parser bug")

    monkeypatch.setattr(prepare, "parse_message", broken_parser)  # a cycle of one parses in-process
    mailbox = make_mailbox(after_import="delete")
    dovecot.append([mail(subject="later")], folder=mailbox_folder)
    assert cycle(mailbox).failed == 1
    assert dovecot.count(mailbox_folder) == 1  # left on the server
    monkeypatch.undo()
    [(_, outcome)] = reprocess_failed(None)
    assert outcome.status == "new"
    assert Delivery.objects.get().status == DeliveryStatus.STORED
    cycle(mailbox)  # the next cycle applies the after-import action it had held back
    assert dovecot.count(mailbox_folder) == 0 and Record.objects.get().subject == "later"


def test_stored_mail_still_on_the_server_is_acknowledged_again(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    """An acknowledgement the server lost (a POP3 QUIT that never arrived), or keep switched to delete."""
    mailbox = make_mailbox(after_import="keep")
    dovecot.append([mail(subject="kept")], folder=mailbox_folder)
    cycle(mailbox)
    assert Delivery.objects.get().acknowledged and dovecot.count(mailbox_folder) == 1
    mailbox.after_import = "delete"
    mailbox.save()
    again = cycle(mailbox)
    assert (again.fetched, dovecot.count(mailbox_folder), Record.objects.count()) == (0, 0, 1)


def test_on_failure_move_puts_failed_mail_aside(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    quarantine = f"{mailbox_folder}-failed"
    dovecot.append([b"\x00\x01 not a mail \xff", mail(subject="fine")], folder=mailbox_folder)
    result = cycle(make_mailbox(on_failure=f"move:{quarantine}"))
    assert (result.new_records, result.failed) == (1, 1)
    assert (dovecot.count(mailbox_folder), dovecot.count(quarantine)) == (0, 1)
    assert Delivery.objects.get(status=DeliveryStatus.FAILED).acknowledged
