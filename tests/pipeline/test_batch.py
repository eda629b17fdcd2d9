"""Batched commits: the server hears of a message only after the commit that holds it; errors undo a batch."""

from __future__ import annotations

import pytest

from postroom.pipeline.batch import Batch
from postroom.records.models import Record

pytestmark = pytest.mark.django_db


def _store(subjects: list[str]) -> list[int]:
    return [Record.objects.create(kind="ticket", subject=s).number for s in subjects]


def _batch(seen: list[str], **limits: float) -> Batch[str, int]:
    return Batch(_store, lambda subject, number: seen.append(subject), **limits)  # type: ignore[arg-type]


def test_on_commit_runs_after_the_commit_in_order_and_every_max_messages() -> None:
    seen: list[str] = []
    batch = _batch(seen, group_size=2, max_messages=3, max_seconds=60)
    for subject in ("a", "b", "c"):
        batch.add(subject)
    assert seen == [] and Record.objects.count() == 2  # a group of two stored, nothing committed yet
    batch.add("d")  # the second group makes four stored: more than three, so the batch commits
    assert seen == ["a", "b", "c", "d"]
    batch.add("e")
    batch.commit()
    assert seen == ["a", "b", "c", "d", "e"]


def test_an_error_undoes_the_open_batch_and_acknowledges_none_of_it() -> None:
    seen: list[str] = []
    batch = _batch(seen, group_size=1, max_messages=100, max_seconds=60)
    batch.add("kept")
    batch.commit()
    with pytest.raises(RuntimeError):
        try:
            batch.add("lost 1")
            batch.add("lost 2")
            raise RuntimeError("the server went away")
        finally:
            batch.rollback()
    assert list(Record.objects.values_list("subject", flat=True)) == ["kept"] and seen == ["kept"]


def test_commit_if_idle_stores_the_group_but_leaves_a_batch_opened_a_moment_ago() -> None:
    seen: list[str] = []
    batch = _batch(seen, max_seconds=60, idle_after=30)
    batch.add("fresh")
    batch.commit_if_idle()
    assert seen == [] and Record.objects.count() == 1
    batch.idle_after = 0
    batch.commit_if_idle()
    assert seen == ["fresh"]
