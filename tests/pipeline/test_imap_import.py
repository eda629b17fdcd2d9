"""IMAP mailboxes into records on the suite's real Dovecot: each after-import action, exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from tests.pipeline.conftest import MakeMailbox, cycle
from tests.support.builders import mail

from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.pipeline.runner import Hooks, run_cycle
from postroom.records.models import Message, Record

pytestmark = pytest.mark.dovecot


def test_import_opens_records_and_deletes_on_server(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    dovecot.append([mail(subject=f"Boiler {i}") for i in range(3)], folder=mailbox_folder)
    result = cycle(make_mailbox())
    assert (result.fetched, result.new_records, result.duplicates, result.failed) == (3, 3, 0, 0)
    assert sorted(Record.objects.values_list("subject", flat=True)) == ["Boiler 0", "Boiler 1", "Boiler 2"]
    assert dovecot.count(mailbox_folder) == 0


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_import_over_tls_verifies_with_the_given_ca(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, security: str
) -> None:
    dovecot.append([mail()], folder=mailbox_folder)
    assert cycle(make_mailbox(security=security)).new_records == 1


def test_rerun_imports_nothing_twice(dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(after_import="keep")
    dovecot.append([mail(subject="once")], folder=mailbox_folder)
    assert cycle(mailbox).new_records == 1
    again = cycle(mailbox)
    assert (again.fetched, again.new_records) == (0, 0)
    assert Record.objects.count() == 1 and dovecot.count(mailbox_folder) == 1


def test_move_after_import(dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox) -> None:
    dovecot.append([mail(), mail()], folder=mailbox_folder)
    cycle(make_mailbox(after_import=f"move:{mailbox_folder}-done"))
    assert dovecot.count(mailbox_folder) == 0
    assert dovecot.count(f"{mailbox_folder}-done") == 2


def test_mark_seen_after_import(dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox) -> None:
    dovecot.append([mail(), mail()], folder=mailbox_folder)
    mailbox = make_mailbox(after_import="mark_seen")
    cycle(mailbox)
    assert all("\\Seen" in flags for flags in dovecot.flags(mailbox_folder))
    assert cycle(mailbox).fetched == 0


def test_keep_leaves_mail_unseen(dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox) -> None:
    dovecot.append([mail()], folder=mailbox_folder)
    cycle(make_mailbox(after_import="keep"))
    assert dovecot.flags(mailbox_folder) == [set()]


def test_reply_by_headers_joins_its_record(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox()
    dovecot.append([mail(subject="Leak", message_id="<first@example.com>")], folder=mailbox_folder)
    cycle(mailbox)
    reply = mail(subject="Re: Leak", sender="Plumber <p@other.test>", in_reply_to="<first@example.com>")
    dovecot.append([reply], folder=mailbox_folder)
    result = cycle(mailbox)
    assert (result.new_records, result.added) == (0, 1)
    record = Record.objects.get()
    assert record.message_count == 2 and record.messages.count() == 2


def test_same_message_delivered_twice_is_stored_once(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    raw = mail(message_id="<twice@example.com>")
    dovecot.append([raw, b"Received: from relay.test by mx.test; Mon, 2 Nov 2026 09:31:00 +0000\r\n" + raw],
                   folder=mailbox_folder)  # fmt: skip
    result = cycle(make_mailbox())
    assert (result.new_records, result.duplicates) == (1, 1)
    assert Message.objects.count() == 1
    assert dovecot.count(mailbox_folder) == 0  # a duplicate is acknowledged like any stored message


def test_uidvalidity_change_imports_nothing_again(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(after_import="keep")
    dovecot.append([mail(), mail()], folder=mailbox_folder)
    cycle(mailbox)
    dovecot.reset_uidvalidity(mailbox_folder)
    again = cycle(mailbox)
    assert (again.fetched, again.new_records, again.duplicates) == (2, 0, 2)
    assert Record.objects.count() == 2


def test_unparseable_mail_is_kept_failed_and_left_on_server(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    dovecot.append([b"\x00\x01\x02 not a mail at all \xff\xfe", mail(subject="fine")], folder=mailbox_folder)
    result = cycle(make_mailbox())
    assert (result.new_records, result.failed) == (1, 1)
    failed = Delivery.objects.get(status=DeliveryStatus.FAILED)
    assert failed.reason and failed.raw_size > 0
    assert dovecot.count(mailbox_folder) == 1  # the failed one stays, the good one is gone


def test_failing_mailbox_does_not_hold_up_others(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    bad = make_mailbox(folder="INBOX")
    bad.set_password("wrong")
    bad.save()
    good = make_mailbox()
    dovecot.append([mail()], folder=mailbox_folder)
    failed = run_cycle(bad)
    assert failed.error.startswith("login:")
    assert cycle(good).new_records == 1
    bad.refresh_from_db()
    assert bad.consecutive_failures >= 1 and bad.last_error


def test_a_cycle_goes_page_by_page_and_replies_on_a_later_page_join_their_records(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postroom.sources import imap

    monkeypatch.setattr(imap, "LIST_PAGE", 7)
    raws = [mail(subject=f"Job {i}", message_id=f"job{i}@example.com") for i in range(12)]
    raws += [mail(subject=f"Re: Job {i}", in_reply_to=f"<job{i}@example.com>") for i in range(12)]
    dovecot.append(raws, folder=mailbox_folder)
    totals: list[int] = []
    mailbox = make_mailbox(after_import="delete")
    mailbox.refresh_from_db()
    result = run_cycle(mailbox, Hooks(on_total=totals.append))
    assert (result.fetched, result.new_records, result.added, result.waiting) == (24, 12, 12, 0)
    assert dict(Record.objects.values_list("subject", "message_count")) == {f"Job {i}": 2 for i in range(12)}
    assert totals == [24, 24, 24, 24]  # four pages; what was not listed yet counted as new each time
    assert dovecot.count(mailbox_folder) == 0


def test_a_stopped_cycle_counts_the_pages_it_did_not_list_as_waiting(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postroom.sources import imap

    monkeypatch.setattr(imap, "LIST_PAGE", 5)
    dovecot.append([mail(subject=f"n{i}") for i in range(12)], folder=mailbox_folder)
    hooks = Hooks()
    hooks.on_message = lambda outcome: hooks.stop.set()  # Ctrl-C during the first page
    mailbox = make_mailbox(after_import="delete")
    mailbox.refresh_from_db()
    result = run_cycle(mailbox, hooks)
    assert result.interrupted and result.fetched + result.waiting == 12
    assert Record.objects.count() == result.new_records >= 1
    assert dovecot.count(mailbox_folder) == 12 - result.fetched
