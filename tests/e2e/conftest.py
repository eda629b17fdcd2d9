"""End-to-end: the `postroom` command in subprocesses, with a data folder and database of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _postgres_database() -> Iterator[str | None]:
    """On the PostgreSQL run, a fresh database for each test; otherwise None (SQLite in the data folder)."""
    base = os.environ.get("POSTROOM_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    import psycopg

    server, name = base.rsplit("/", 1)[0], f"postroom_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    for db_url in _postgres_database():
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "POSTROOM_DATABASE_URL"}}
        env["POSTROOM_DATA_DIR"] = str(tmp_path / "data")
        env["DJANGO_SETTINGS_MODULE"] = "postroom.project.settings"
        if db_url:
            env["POSTROOM_DATABASE_URL"] = db_url
        yield env


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Cli:
    def run(*args: str, input: bytes | str | None = None, check: bool = False, **extra_env: str):  # type: ignore[no-untyped-def]
        env = {**cli_env, **extra_env}
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "postroom.cli.main", *args],
            input=data,
            capture_output=True,
            env=env,
            timeout=300,
        )
        result = subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )
        if check and result.returncode != 0:
            raise AssertionError(f"postroom {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    return run
