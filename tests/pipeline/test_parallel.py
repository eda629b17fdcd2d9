"""The worker-process prepare stage and batched commits, on real cycles against the suite's Dovecot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.pipeline.conftest import MakeMailbox, cycle
from tests.support.builders import jobs_with_replies, mail

from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.pipeline import parallel, prepare
from postroom.pipeline.parallel import PreparePool
from postroom.records import blobs
from postroom.records.models import Attachment, Message, Record
from postroom.sources.base import FetchedMessage

pytestmark = pytest.mark.dovecot


def test_a_large_cycle_keeps_fetch_order_so_replies_join_their_records(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    dovecot.append(jobs_with_replies(40), folder=mailbox_folder)  # 80 mails: prepared by a worker process
    result = cycle(make_mailbox())
    assert (result.fetched, result.new_records, result.added, result.failed) == (80, 40, 40, 0)
    counts = dict(Record.objects.values_list("subject", "message_count"))
    assert counts == {f"Job {i}": 2 for i in range(40)}
    assert dovecot.count(mailbox_folder) == 0


def test_attachments_prepared_by_a_worker_are_in_the_blob_store(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox
) -> None:
    files = [(f"scan{i}.pdf", os.urandom(2000 + i)) for i in range(30)]
    dovecot.append([mail(subject=name, attachments=((name, data),)) for name, data in files],
                   folder=mailbox_folder)  # fmt: skip
    assert cycle(make_mailbox()).new_records == 30
    for name, data in files:
        stored = Attachment.objects.get(filename=name)
        assert (stored.size, blobs.read(stored.sha256)) == (len(data), data)
    for message in Message.objects.all():  # the raw mail too, written by the worker
        assert len(blobs.read(message.raw_sha256)) == message.raw_size


def test_a_mail_that_kills_the_worker_is_kept_failed_and_the_others_import(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = prepare.parse_message

    def dies_on_poison(raw: bytes) -> Any:
        if b"POISON" in raw:
            os._exit(9)  # what a crash in a C extension or the OOM killer looks like to the pool
        return real(raw)

    monkeypatch.setattr(prepare, "parse_message", dies_on_poison)
    monkeypatch.setattr(parallel, "RESTART_METHOD", "fork")  # so that restarted workers inherit it too
    raws = [mail(subject=f"fine {i}") for i in range(80)]  # more than a pool holds in flight
    raws.insert(12, mail(subject="POISON pill"))
    dovecot.append(raws, folder=mailbox_folder)
    result = cycle(make_mailbox(after_import="delete"))
    assert (result.new_records, result.failed) == (80, 1)
    failed = Delivery.objects.get(status=DeliveryStatus.FAILED)
    assert "parser process died" in failed.reason and b"POISON" in blobs.read(failed.raw_sha256)
    assert dovecot.count(mailbox_folder) == 1  # the failed one stays on the server


def test_pool_hands_back_results_in_order_and_prepares_large_mail_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "INLINE_BYTES", 5000)
    raws = [mail(subject=f"n{i}", body="x" * (9000 if i % 7 == 0 else 10) + "\n") for i in range(50)]
    with PreparePool(tmp_path, workers=1, depth=4) as pool:
        pool.start()
        out = list(pool.prepared(iter(FetchedMessage(f"k{i}", r) for i, r in enumerate(raws))))
    assert [key for key, _ in out] == [f"k{i}" for i in range(50)]
    assert [p.message.subject for _, p in out if p.message] == [f"n{i}" for i in range(50)]
    stored = [blobs.blob_path(p.raw.sha256, tmp_path).read_bytes() for _, p in out]
    assert stored == raws


def test_a_worker_killed_from_outside_is_replaced_and_no_mail_is_lost(tmp_path: Path) -> None:
    raws = [mail(subject=f"k{i}") for i in range(12)]
    with PreparePool(tmp_path, workers=2) as pool:
        pool.start()
        victim = pool._workers[0]._process
        os.kill(victim.pid or 0, 9)  # the OOM killer's way
        victim.join()
        out = list(pool.prepared(iter(FetchedMessage(f"k{i}", r) for i, r in enumerate(raws))))
    assert [p.message.subject for _, p in out if p.message] == [f"k{i}" for i in range(12)]
