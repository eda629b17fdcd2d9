"""`postroom records list` at 100,000 records: first page, a deep page and one mailbox, against a COUNT(*).

The reference is a bare `SELECT COUNT(*)` over the same table in the same run: listing a page should cost
about as much as that or less, whatever the table size. Usage:

    .venv/bin/python benchmarks/records_list_benchmark.py [--records 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def fill(count: int) -> None:
    from postroom.mailboxes.models import Mailbox
    from postroom.records.inserts import insert
    from postroom.records.models import Record

    boxes = [
        Mailbox.objects.create(name=n, protocol="imap", host="h", port=993, username=n, address=f"{n}@x.test")
        for n in ("support", "jobs")
    ]
    for start in range(0, count, 500):
        rows = [
            {"kind": "ticket", "subject": f"Subject {i}", "requester_address": f"c{i}@example.com",
             "mailbox": boxes[i % 2].pk, "message_count": 1}
            for i in range(start, min(start + 500, count))
        ]  # fmt: skip
        insert(Record, rows)


def timed(label: str, fn, repeat: int = 20) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    ms = (time.perf_counter() - start) / repeat * 1000
    print(f"  {label:52} {ms:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    count = parser.parse_args().records
    os.environ["POSTROOM_DATA_DIR"] = tempfile.mkdtemp(prefix="postroom-list-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.project.settings")
    import django

    django.setup()
    from django.db import connection

    from postroom.cli.dbsetup import ensure_schema
    from postroom.records.models import Record
    from postroom.records.views import list_records

    ensure_schema()
    fill(count)
    print(f"{Record.objects.count()} records ({connection.vendor})")
    timed("reference: SELECT COUNT(*)", lambda: Record.objects.count())
    timed("records list (first 50)", lambda: list_records(limit=50))
    timed(
        f"records list --offset {count - 100} (a deep page)",
        lambda: list_records(limit=50, offset=count - 100),
    )
    timed("records list --mailbox jobs (first 50)", lambda: list_records(mailbox="jobs", limit=50))


if __name__ == "__main__":
    main()
