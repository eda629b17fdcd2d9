"""Parse workers fetching their own share over IMAP: order, fallbacks, dead workers (the suite's Dovecot)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.pipeline.conftest import MakeMailbox, cycle
from tests.support.builders import jobs_with_replies, mail
from tests.support.cutproxy import CutProxy

from postroom.pipeline import fetching, parallel
from postroom.pipeline.fetching import FetchingPool, chunked
from postroom.records.models import Message, Record
from postroom.sources import imap
from postroom.sources.base import FetchedMessage, ServerSettings
from postroom.sources.imap import open_imap

pytestmark = pytest.mark.dovecot


@pytest.fixture(autouse=True)
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTROOM_PARSE_WORKERS", "2")
    monkeypatch.setattr(fetching, "_refused", {})  # no server is remembered from another test
    monkeypatch.setattr(fetching, "CHUNK", 7)  # many chunks, so that the workers take turns often


@pytest.fixture
def fetched_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the messages the importing process fetches itself (the forked workers count in their own
    copy of this list, which the test never sees)."""
    seen: list[int] = []
    real = imap.ImapSession.fetch

    def counting(self: imap.ImapSession, keys: list[str]) -> Iterator[FetchedMessage]:
        for message in real(self, keys):
            seen.append(1)
            yield message

    monkeypatch.setattr(imap.ImapSession, "fetch", counting)
    return seen


def _records_are_whole(n: int) -> None:
    assert dict(Record.objects.values_list("subject", "message_count")) == {f"Job {i}": 2 for i in range(n)}


def test_workers_fetch_on_connections_of_their_own_and_replies_still_follow_their_originals(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, fetched_here: list[int]
) -> None:
    dovecot.append(jobs_with_replies(30), folder=mailbox_folder)
    with CutProxy(dovecot.host, dovecot.ports["imap"]) as proxy:
        result = cycle(make_mailbox(port=proxy.port, after_import="delete"))
    assert (result.fetched, result.new_records, result.added, result.failed) == (60, 30, 30, 0)
    _records_are_whole(30)
    assert proxy.connections == 3  # the importer's (listing, deleting) and one per worker
    assert fetched_here == []  # no raw mail went through the importing process
    assert dovecot.count(mailbox_folder) == 0


def test_workers_verify_tls_as_the_importer_does(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, fetched_here: list[int]
) -> None:
    dovecot.append(jobs_with_replies(12), folder=mailbox_folder)
    result = cycle(make_mailbox(security="ssl", after_import="delete"))  # the suite's CA, verified
    assert (result.fetched, result.new_records, result.added, result.failed) == (24, 12, 12, 0)
    assert fetched_here == []  # the workers' own TLS sessions fetched everything
    _records_are_whole(12)


def test_a_server_that_allows_one_connection_is_fetched_by_the_importer_and_remembered(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, fetched_here: list[int]
) -> None:
    dovecot.append(jobs_with_replies(15), folder=mailbox_folder)
    allowed = {1}  # the importer's own connection; the proxy refuses every other one
    with CutProxy(
        dovecot.host, dovecot.ports["imap"], limit_for=lambda n: None if n in allowed else 0
    ) as proxy:
        mailbox = make_mailbox(port=proxy.port, after_import="delete")
        result = cycle(mailbox)
        assert (result.fetched, result.new_records, result.added, result.failed) == (30, 15, 15, 0)
        _records_are_whole(15)
        assert proxy.refused >= 2 and len(fetched_here) == 30
        assert dovecot.count(mailbox_folder) == 0
        # The next cycle of this process fetches on the importer's connection at once: no worker tries.
        dovecot.append([mail(subject=f"later {i}") for i in range(25)], folder=mailbox_folder)
        refused_before = proxy.refused
        allowed.add(proxy.connections + proxy.refused + 1)
        assert cycle(mailbox).new_records == 25
        assert proxy.refused == refused_before and len(fetched_here) == 55


def test_a_worker_cut_off_mid_fetch_leaves_the_rest_to_the_importer_and_nothing_is_doubled(
    dovecot: Any, mailbox_folder: str, make_mailbox: MakeMailbox, fetched_here: list[int]
) -> None:
    big = os.urandom(30_000)
    dovecot.append(
        [mail(subject=f"Scan {i}", attachments=(("scan.pdf", big + bytes([i])),)) for i in range(40)],
        folder=mailbox_folder,
    )
    # The importer's own connection is whole; a worker's is cut in its second order of seven of these
    # mails (about 290 KB each): the worker says so and connects again for its next order.
    with CutProxy(
        dovecot.host, dovecot.ports["imap"], limit_for=lambda n: None if n == 1 else 450_000
    ) as proxy:
        result = cycle(make_mailbox(port=proxy.port, after_import="delete"))
    assert proxy.cuts >= 1
    assert (result.fetched, result.new_records, result.failed) == (40, 40, 0)
    assert sorted(Record.objects.values_list("subject", flat=True)) == sorted(f"Scan {i}" for i in range(40))
    assert Message.objects.count() == 40
    assert 0 < len(fetched_here) < 40  # the workers fetched some before they were cut off
    assert dovecot.count(mailbox_folder) == 0


def _settings(dovecot: Any, folder: str) -> ServerSettings:
    return ServerSettings(
        "imap", dovecot.host, dovecot.ports["imap"], "none", dovecot.user, dovecot.password, folder
    )


def _fetch_here(source: ServerSettings) -> Any:
    def fetch(keys: list[str]) -> Iterator[FetchedMessage]:
        if keys:
            with open_imap(source, readonly=True) as session:
                yield from list(session.fetch(keys))

    return fetch


def test_keys_no_longer_on_the_server_are_passed_over_in_order(
    dovecot: Any, mailbox_folder: str, tmp_path: Path
) -> None:
    dovecot.append([mail(subject=f"n{i}") for i in range(20)], folder=mailbox_folder)
    source = _settings(dovecot, mailbox_folder)
    with open_imap(source, readonly=True) as session:
        keys = [r.key for r in session.list_messages()]
    gone = f"imap:{keys[0].split(':')[1]}:999999"
    asked = [*keys[:5], gone, *keys[5:]]
    with FetchingPool(source, tmp_path, 2, _fetch_here(source)) as pool:
        out = list(pool.prepared(chunked(asked, [None] * len(asked), count=4)))
    assert [key for key, _ in out] == keys
    assert [p.message.subject for _, p in out if p.message] == [f"n{i}" for i in range(20)]


def test_a_worker_killed_from_outside_is_replaced_and_no_mail_is_lost_or_doubled(
    dovecot: Any, mailbox_folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "RESTART_METHOD", "fork")  # a replacement starts at once
    dovecot.append([mail(subject=f"k{i}") for i in range(30)], folder=mailbox_folder)
    source = _settings(dovecot, mailbox_folder)
    with open_imap(source, readonly=True) as session:
        keys = [r.key for r in session.list_messages()]
    with FetchingPool(source, tmp_path, 2, _fetch_here(source)) as pool:
        pool.start()
        victim = pool._workers[1]._process
        os.kill(victim.pid or 0, signal.SIGKILL)  # the OOM killer's way
        victim.join()
        out = list(pool.prepared(chunked(keys, [None] * len(keys), count=4)))
    assert [key for key, _ in out] == keys
    assert [p.message.subject for _, p in out if p.message] == [f"k{i}" for i in range(30)]


def test_chunks_hold_a_few_messages_and_a_bounded_size_and_a_large_mail_goes_alone() -> None:
    keys = [f"k{i}" for i in range(9)]
    sizes: list[int | None] = [10, 10, 10, 10, 10, 500, 10, None, 10]
    assert chunked(keys, sizes, count=3, max_bytes=100) == [
        ["k0", "k1", "k2"], ["k3", "k4"], ["k5"], ["k6", "k7", "k8"],
    ]  # fmt: skip
    assert chunked([], [], count=3) == []
    assert [len(c) for c in chunked([f"k{i}" for i in range(30)], [1] * 30, count=8, small_first=2)] == [
        2, 2, 8, 8, 8, 2,
    ]  # fmt: skip
