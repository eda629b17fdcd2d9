"""`postroom records list`, the web list and the API at 100,000 records: first page, a deep page, one
mailbox, filters and text search — against a COUNT(*).

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
    web_and_api(count)


def web_and_api(count: int) -> None:
    """The agents' list page and the API, through Django's whole request handling, as an admin and as an
    agent of one team (whose visibility rules join teams, followers and participants)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from postroom.people.models import Team
    from postroom.people.tokens import create_token
    from postroom.records.models import Record

    users = get_user_model().objects
    boss = users.create_superuser("boss", "boss@x.test", "pw-boss")
    agent = users.create_user("ann", "ann@x.test", "pw-ann")
    team = Team.objects.create(name="Field")
    team.members.add(agent)
    Record.objects.filter(number__gt=count // 2).update(team=team)
    clients = {}
    for name in ("boss", "ann"):
        clients[name] = Client(SERVER_NAME="127.0.0.1")
        assert clients[name].login(username=name, password=f"pw-{name}")
    token = create_token(boss, "bench")
    api = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    for url in ("/", "/?q=x"):  # a figure of an error page would mean nothing
        assert clients["ann"].get(url).status_code == 200, url
    assert api.get("/api/records").status_code == 200
    page = count // 50 - 1
    timed("web list, admin (first 50)", lambda: clients["boss"].get("/"), repeat=10)
    timed("web list, agent of one team (first 50)", lambda: clients["ann"].get("/"), repeat=10)
    timed(
        f"web list, admin, page {page} (a deep page)",
        lambda: clients["boss"].get(f"/?page={page}"),
        repeat=10,
    )
    timed(
        "web list, admin, status=new&team=Field", lambda: clients["boss"].get("/?status=new&team=Field"), 10
    )
    timed("web list, admin, text search in subjects", lambda: clients["boss"].get("/?q=Subject+99999"), 5)
    timed("API /api/records (first 50)", lambda: api.get("/api/records"), repeat=10)


if __name__ == "__main__":
    main()
