"""The command line end to end on Dovecot: config load/dump, import, a crash after commit, SIGTERM on run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.cli_helpers import closed_port
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = [pytest.mark.uses_database, pytest.mark.dovecot]


def write_config(path: Path, dovecot: Any, folder: str, **extra: str) -> Path:
    lines = [
        "mailboxes:",
        "  - name: desk",
        "    protocol: imap",
        f"    host: {dovecot.host}",
        f"    port: {dovecot.ports['imap']}",
        "    security: starttls",
        f"    ca_file: {dovecot.ca_file}",
        f"    username: {dovecot.user}",
        "    password_env: DESK_PASSWORD",
        f"    folder: {folder}",
        "    address: desk@example.com",
        "    backfill: all",
        "    interval: 10",
        *(f"    {k}: {v}" for k, v in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_config_load_is_idempotent_and_dump_masks(cli: Cli, tmp_path: Path, dovecot: Any) -> None:
    config = write_config(tmp_path / "c.yaml", dovecot, "INBOX")
    assert "added mailbox desk" in cli("config", "load", str(config), check=True).stdout
    assert cli("config", "load", str(config), check=True).stdout == ""
    dumped = cli("config", "dump", check=True).stdout
    assert "password_env: DESK_PASSWORD" in dumped
    (tmp_path / "d.yaml").write_text(dumped)
    assert cli("config", "load", str(tmp_path / "d.yaml"), check=True).stdout == ""
    (tmp_path / "empty.yaml").write_text("mailboxes: []\n")
    assert "disabled mailbox desk" in cli("config", "load", str(tmp_path / "empty.yaml"), check=True).stdout


def test_check_names_the_failed_step(cli: Cli, tmp_path: Path, dovecot: Any) -> None:
    cli("config", "load", str(write_config(tmp_path / "c.yaml", dovecot, "INBOX")), check=True)
    ok = cli("check", "desk", DESK_PASSWORD=dovecot.password)
    assert ok.returncode == 0 and "messages" in ok.stdout
    bad = cli("check", "desk", DESK_PASSWORD="wrong")
    assert bad.returncode != 0 and "login" in bad.stdout


CRASH_AFTER_FIRST = """
import os, django
django.setup()
from postroom.cli.dbsetup import ensure_schema
from postroom.mailboxes.models import Mailbox
from postroom.pipeline.runner import Hooks, run_cycle
ensure_schema()
# A hard crash right after the first commit (of one or both messages), before the server is told to delete.
run_cycle(Mailbox.objects.get(name="desk"), Hooks(on_message=lambda outcome: os._exit(3)))
"""


def test_crash_between_store_and_delete_imports_once(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    cli("config", "load", str(write_config(tmp_path / "c.yaml", dovecot, mailbox_folder)), check=True)
    dovecot.append([mail(subject="crash me"), mail(subject="second")], folder=mailbox_folder)
    env = {**cli_env, "DESK_PASSWORD": dovecot.password}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_FIRST], env=env, capture_output=True, timeout=120
    )
    assert crashed.returncode == 3, crashed.stderr.decode()
    assert dovecot.count(mailbox_folder) == 2  # stored, but not yet deleted
    stored = len(json.loads(cli("records", "list", "--json", check=True).stdout))
    assert stored >= 1
    result = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    # What was stored is only acknowledged now, never imported again; the rest is imported once.
    assert f"new records {2 - stored}," in result.stdout and "duplicates skipped 0" in result.stdout
    records = json.loads(cli("records", "list", "--json", check=True).stdout)
    assert sorted(r["subject"] for r in records) == ["crash me", "second"]
    assert dovecot.count(mailbox_folder) == 0


def test_run_stops_cleanly_on_sigterm_in_the_middle_of_an_import(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    cli("config", "load", str(write_config(tmp_path / "c.yaml", dovecot, mailbox_folder)), check=True)
    total = 2000
    dovecot.append([mail(subject=f"n{i}") for i in range(total)], folder=mailbox_folder)
    env = {**cli_env, "DESK_PASSWORD": dovecot.password}
    proc = subprocess.Popen(
        [sys.executable, "-m", "postroom.cli.main", "run", "--listen", f"127.0.0.1:{closed_port()}"],
        env=env,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while dovecot.count(mailbox_folder) == total and time.monotonic() < deadline:
        time.sleep(0.05)  # the first acknowledgements: the import is under way
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    left = dovecot.count(mailbox_folder)
    assert 0 < left < total, f"SIGTERM did not arrive in the middle of the import ({left} left)"
    imported = len(json.loads(cli("records", "list", "--json", "--limit", "5000", check=True).stdout))
    assert imported + left == total  # every message either stored (and gone) or still on the server
    cli("import", DESK_PASSWORD=dovecot.password, check=True)
    records = json.loads(cli("records", "list", "--json", "--limit", "5000", check=True).stdout)
    assert sorted(r["subject"] for r in records) == sorted(f"n{i}" for i in range(total))
    assert dovecot.count(mailbox_folder) == 0
