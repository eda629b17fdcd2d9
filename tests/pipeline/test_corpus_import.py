"""Every mail of the shared corpus imports over IMAP, in one real cycle, without an exception: each ends
stored, as a duplicate, or (only the files that are not mails) kept as failed with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from tests.mail import corpus
from tests.mail.test_corpus_parses import MAIL_FILES, NOT_MAILS
from tests.pipeline.conftest import MakeMailbox, cycle

from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.records import blobs
from postroom.records.models import Message

pytestmark = [pytest.mark.corpus, pytest.mark.dovecot, pytest.mark.slow]


def test_the_whole_corpus_imports_in_one_cycle(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    raws = [corpus.read(relative) for relative in MAIL_FILES]
    dovecot.append(raws, folder=mailbox_folder)
    on_server = set(dovecot.list_raw(mailbox_folder))  # as Dovecot keeps them (bare LF become CRLF)
    result = cycle(make_mailbox(after_import="delete"))
    assert result.fetched == len(raws) and not result.error
    assert result.failed == len(NOT_MAILS)
    assert result.new_records + result.added + result.duplicates + result.failed + result.unprocessed == len(
        raws
    )
    failed = Delivery.objects.filter(status=DeliveryStatus.FAILED)
    assert all(d.reason.startswith("could not parse") for d in failed)
    # The corpus's bounces report on mail this installation never sent: they open no record (issue 4).
    unprocessed = Delivery.objects.filter(status=DeliveryStatus.UNPROCESSED)
    assert result.unprocessed == unprocessed.count() > 0
    assert all(d.reason.startswith("a delivery status notification") for d in unprocessed)
    assert Delivery.objects.count() == len(raws)
    # Each stored message kept its raw bytes exactly: the blob store holds what the server held.
    stored = {blobs.read(m.raw_sha256) for m in Message.objects.only("raw_sha256")}
    assert stored <= on_server and len(stored) == Message.objects.count()
    # Failed mail stays on the server, and so does unprocessed mail (the mailbox's `unprocessed: keep`).
    assert dovecot.count(mailbox_folder) == len(NOT_MAILS) + result.unprocessed
