"""When stored mail is safe on disk: relaxed commits during a cycle, one barrier before the server forgets.

A cycle commits once per message. Waiting for the disk at each of those commits buys nothing, because the
server still holds every message until the runner acknowledges it; what must be durable is everything
committed *before* an acknowledgement. So commits during a cycle don't wait (PostgreSQL's
synchronous_commit off; SQLite in WAL mode with synchronous=NORMAL), and :func:`barrier` makes all of it
durable at once: a sync of the blob files and SQLite's WAL, and on PostgreSQL one synchronous commit, which
waits for the WAL up to itself and so for every asynchronous commit before it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def relaxed_commits() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO ON")


def barrier() -> None:
    """Everything committed and every blob written so far is on disk when this returns."""
    os.sync()
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO ON")
            # A commit waits for WAL only when it wrote something: one row, written each time.
            cursor.execute(
                "INSERT INTO mailboxes_setting (key, value) VALUES ('durability_barrier', '0') "
                "ON CONFLICT (key) DO UPDATE SET value = mailboxes_setting.value"
            )
