"""Messages stored as one group decide exactly as if they came one by one: duplicates, replies and
subject references to records that the same group opens or joins."""

from __future__ import annotations

import pytest
from tests.pipeline.test_ingest import box
from tests.support.builders import mail

from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.pipeline.group import Item
from postroom.pipeline.ingest import ingest, ingest_group
from postroom.pipeline.prepare import prepare
from postroom.records.lookups import context_for
from postroom.records.models import Message, Record

pytestmark = pytest.mark.django_db


def group(mailbox, raws: list[bytes], first: int = 0):  # type: ignore[no-untyped-def]
    items = [Item(f"imap:1:{first + i}", prepare(raw)) for i, raw in enumerate(raws)]
    return ingest_group(context_for(mailbox), items)


def test_a_reply_joins_the_record_its_original_opens_in_the_same_group() -> None:
    mailbox = box("desk")
    original = mail(subject="Boiler", message_id="<b1@example.com>")
    reply = mail(subject="Re: Boiler", in_reply_to="<b1@example.com>", sender="bob@example.com")
    opened, added = group(mailbox, [original, reply])
    assert (opened.status, added.status, added.record) == ("new", "added", opened.record)
    record = Record.objects.get()
    assert record.message_count == 2
    why = Message.objects.get(subject="Re: Boiler").explanation["thread"]
    assert why == f"In-Reply-To/References names a message on record {record.number}"


def test_the_same_mail_twice_in_one_group_is_stored_once() -> None:
    raw = mail(message_id="<twice@example.com>")
    first, second = group(box("desk"), [raw, raw])
    assert (first.status, second.status, second.record) == ("new", "duplicate", first.record)
    assert Message.objects.count() == 1
    assert Delivery.objects.get(status=DeliveryStatus.DUPLICATE).reason.startswith("same as the mail under")


def test_someone_added_in_cc_earlier_in_the_group_may_name_the_record() -> None:
    mailbox = box("desk")
    number = ingest(mailbox, "pipe:1", mail(subject="Leak", sender="alice@example.com")).record
    looping_in = mail(subject=f"Re: [#{number}] Leak", sender="alice@example.com", cc="bob@example.com")
    from_bob = mail(subject=f"Re: [#{number}] Leak", sender="bob@example.com")
    from_eve = mail(subject=f"Re: [#{number}] Leak", sender="eve@example.com")
    outcomes = group(mailbox, [looping_in, from_bob, from_eve])
    assert [(o.status, o.record == number) for o in outcomes] == [
        ("added", True), ("added", True), ("new", False),
    ]  # fmt: skip
    assert Record.objects.get(number=outcomes[2].record).named_reference == number


def test_a_key_stored_meanwhile_by_another_worker_stores_the_rest_one_by_one() -> None:
    mailbox = box("desk")
    Delivery.objects.create(mailbox=mailbox, source_key="imap:1:1", status=DeliveryStatus.STORED)
    outcomes = group(mailbox, [mail(subject="a"), mail(subject="b"), mail(subject="c")])
    assert [o.status for o in outcomes] == ["new", "known", "new"]
    assert sorted(Record.objects.values_list("subject", flat=True)) == ["a", "c"]


def test_unparseable_mail_in_a_group_is_kept_failed_beside_the_others() -> None:
    outcomes = group(box("desk"), [mail(subject="fine"), b"\x00\x01 not a mail"])
    assert [o.status for o in outcomes] == ["new", "failed"]
    assert Delivery.objects.get(status=DeliveryStatus.FAILED).reason.startswith("could not parse")


def test_nul_characters_in_a_mail_are_stored_as_replacement_characters() -> None:
    """PostgreSQL keeps no NUL in text or JSON; one broken mail must not stop the cycle."""
    raw = mail(subject="Broken", sender="Nul\x00Name <nul@example.com>", body="before\x00after\n")
    raw = raw.replace(b"Subject: Broken", b"Subject: Bro\x00ken")
    [outcome] = group(box("desk"), [raw])
    assert outcome.status == "new"
    message = Message.objects.get()
    assert "\x00" not in message.subject + message.text and "\ufffd" in message.text
