"""`postroom parse` and `postroom ingest` as a mail server pipe would call them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database

CONFIG = """
mailboxes:
  - name: desk
    protocol: imap
    host: 127.0.0.1
    username: desk
    password: secret
    address: desk@example.com
"""


def test_parse_json_of_several_files_reports_bad_ones_and_goes_on(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(mail(subject="Grüße", attachments=(("a.pdf", b"%PDF-1.4 x"),)))
    result = cli("parse", "--json", str(good), str(tmp_path / "missing.eml"), str(good))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [("error" in x) for x in lines] == [False, True, False]
    assert lines[0]["subject"] == "Grüße" and lines[0]["from"]["address"] == "alice@example.com"
    assert lines[0]["attachments"][0]["filename"] == "a.pdf"
    assert lines[1]["file"].endswith("missing.eml")
    assert result.returncode == 1


def test_ingest_stores_once_and_pipes_twice_safely(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    cli("config", "load", str(config), check=True)
    raw = mail(subject="Pipe me")
    assert cli("ingest", "--mailbox", "desk", "-", input=raw).returncode == 0
    assert cli("ingest", "--mailbox", "desk", "-", input=raw).returncode == 0
    records = json.loads(cli("records", "list", "--json", check=True).stdout)
    assert [r["subject"] for r in records] == ["Pipe me"]
    shown = json.loads(cli("records", "show", str(records[0]["number"]), "--json", check=True).stdout)
    assert shown["messages"][0]["text"].strip() == "Please help."


def test_ingest_exits_75_when_it_cannot_store(cli: Cli) -> None:
    result = cli("ingest", "--mailbox", "desk", "-", input=mail(),
                 POSTROOM_DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")  # fmt: skip
    assert result.returncode == 75, result.stderr


def test_ingest_exits_75_for_unknown_mailbox(cli: Cli) -> None:
    assert cli("ingest", "--mailbox", "nope", "-", input=mail()).returncode == 75
