"""Batched commits: the server hears of a message only after the commit that holds it; errors undo a batch."""

from __future__ import annotations

import pytest

from postroom.pipeline.batch import Batch
from postroom.records.models import Record

pytestmark = pytest.mark.django_db


def _store(batch: Batch[int], subject: str) -> None:
    batch.open()
    batch.stored(subject, Record.objects.create(kind="ticket", subject=subject).number)


def test_on_commit_runs_after_the_commit_in_order_and_every_max_messages() -> None:
    seen: list[tuple[str, int]] = []
    batch: Batch[int] = Batch(lambda key, n: seen.append((key, n)), max_messages=3, max_seconds=60)
    for subject in ("a", "b"):
        _store(batch, subject)
    assert seen == []  # stored, not yet committed: nothing may be acknowledged
    _store(batch, "c")
    assert [key for key, _ in seen] == ["a", "b", "c"]
    _store(batch, "d")
    batch.commit()
    assert [key for key, _ in seen] == ["a", "b", "c", "d"]


def test_an_error_undoes_the_open_batch_and_acknowledges_none_of_it() -> None:
    seen: list[str] = []
    batch: Batch[int] = Batch(lambda key, n: seen.append(key), max_messages=100, max_seconds=60)
    _store(batch, "kept")
    batch.commit()
    with pytest.raises(RuntimeError):
        try:
            _store(batch, "lost 1")
            _store(batch, "lost 2")
            raise RuntimeError("the server went away")
        finally:
            batch.rollback()
    assert list(Record.objects.values_list("subject", flat=True)) == ["kept"] and seen == ["kept"]


def test_commit_if_idle_leaves_a_batch_opened_a_moment_ago() -> None:
    seen: list[str] = []
    batch: Batch[int] = Batch(lambda key, n: seen.append(key), max_seconds=60, idle_after=30)
    _store(batch, "fresh")
    batch.commit_if_idle()
    assert seen == []
    batch.idle_after = 0
    batch.commit_if_idle()
    assert seen == ["fresh"]
