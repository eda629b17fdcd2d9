"""The single-message entry point: duplicates per mailbox, participants, attachments stored once."""

from __future__ import annotations

import pytest
from tests.support.builders import mail

from postroom.mailboxes.models import Mailbox
from postroom.pipeline.ingest import ingest
from postroom.records import blobs
from postroom.records.models import Attachment, Record

pytestmark = pytest.mark.django_db


def box(name: str) -> Mailbox:
    return Mailbox.objects.create(
        name=name, protocol="imap", host="h", port=993, username=name, address=f"{name}@desk.test"
    )


def test_one_mail_to_two_mailboxes_makes_a_record_in_each() -> None:
    raw = mail(message_id="<both@example.com>")
    a, b = box("a"), box("b")
    assert ingest(a, "pipe:1", raw).status == "new"
    assert ingest(b, "pipe:1", raw).status == "new"
    assert ingest(a, "pipe:2", raw).status == "duplicate"
    assert Record.objects.count() == 2


def test_a_reply_by_headers_lands_in_its_own_mailbox_copy() -> None:
    a, b = box("a"), box("b")
    raw = mail(message_id="<orig@example.com>")
    first_a, first_b = ingest(a, "k", raw), ingest(b, "k", raw)
    reply = mail(subject="Re: Hello", in_reply_to="<orig@example.com>")
    assert ingest(b, "r", reply).record == first_b.record != first_a.record


def test_subject_reference_from_stranger_notes_it_on_a_new_record() -> None:
    a = box("a")
    first = ingest(a, "1", mail(subject="Printer"))
    stranger = ingest(a, "2", mail(subject=f"Re: [#{first.record}] Printer", sender="eve@evil.test"))
    assert stranger.status == "new"
    assert Record.objects.get(number=stranger.record).named_reference == first.record
    cc_person = ingest(a, "3", mail(subject=f"Re: [#{first.record}]", sender="alice@example.com"))
    assert (cc_person.status, cc_person.record) == ("added", first.record)


def test_attachment_content_is_stored_once_and_raw_is_kept() -> None:
    a = box("a")
    data = b"%PDF-1.4 the same file" * 100
    ingest(a, "1", mail(subject="one", attachments=(("x.pdf", data),)))
    ingest(a, "2", mail(subject="two", attachments=(("y.pdf", data),)))
    shas = set(Attachment.objects.values_list("sha256", flat=True))
    assert len(shas) == 1 and blobs.read(shas.pop()) == data
    message = Record.objects.get(subject="one").messages.get()
    assert blobs.read(message.raw_sha256).startswith(b"From:")
