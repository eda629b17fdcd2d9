"""`DATABASE_URL` names the database when `POSTROOM_DATABASE_URL` is unset: PostgreSQL, and no SQLite file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.e2e.cli_helpers import ingest, load_config, mailbox_yaml, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = [pytest.mark.uses_database, pytest.mark.postgres]


def _server() -> str:
    """The PostgreSQL server the suite uses (as scripts/test picks it), without a database name."""
    url = os.environ.get("POSTROOM_TEST_DATABASE_URL") or os.environ.get("POSTROOM_PG_URL")
    return (url or "postgres://postgres@127.0.0.1:5432/postroom").rsplit("/", 1)[0]


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards. PostgreSQL down fails the test in CI."""
    server = _server()
    try:
        admin = psycopg.connect(server + "/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {server}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"postroom_dburl_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_ingest_stores_in_database_url_when_postroom_database_url_is_unset(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path, fresh_database: str
) -> None:
    # `cli` reads cli_env at each call: from here on every command sees only DATABASE_URL.
    cli_env.pop("POSTROOM_DATABASE_URL", None)
    cli_env["DATABASE_URL"] = fresh_database
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    status, number = ingest(cli, "desk", mail(subject="Via DATABASE_URL"))
    assert status == "new"
    assert [(r["number"], r["subject"]) for r in records(cli)] == [(number, "Via DATABASE_URL")]
    with psycopg.connect(fresh_database) as conn:
        rows = conn.execute("SELECT number, subject FROM records_record").fetchall()
    assert rows == [(number, "Via DATABASE_URL")]
    data_dir = Path(cli_env["POSTROOM_DATA_DIR"])
    assert (data_dir / "blobs").is_dir()  # the data folder is in use (blobs) ...
    assert list(data_dir.glob("*.sqlite3*")) == []  # ... but no SQLite database was made there
