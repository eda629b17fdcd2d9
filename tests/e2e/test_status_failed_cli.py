"""`postroom status` after good and failing cycles; `postroom failed` and `reprocess` on a non-mail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.cli_helpers import dovecot_mailbox, load_config, mailbox_yaml
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database

NOT_A_MAIL = b"\x00\x01 not a mail"
PARSE_REASON = "could not parse: ParseError: no header block: this is not a mail"


def status(cli: Cli) -> dict[str, dict[str, Any]]:
    return {row["mailbox"]: row for row in json.loads(cli("status", "--json", check=True).stdout)}


def failed(cli: Cli) -> list[dict[str, Any]]:
    return json.loads(cli("failed", "--json", check=True).stdout)


@pytest.mark.dovecot
def test_status_shows_a_working_and_a_failing_mailbox(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    good = dovecot_mailbox("good", dovecot, mailbox_folder)
    # The same account on another folder (two mailboxes may not share one), with a wrong password.
    locked = dovecot_mailbox("locked", dovecot, "INBOX", password_env=None, password="wrong")
    load_config(cli, tmp_path, good, locked)
    dovecot.append([mail(subject="one"), mail(subject="two")], folder=mailbox_folder)
    before = status(cli)
    assert before["good"]["last_success"] is None and before["good"]["imported"] == 0

    first = cli("import", DESK_PASSWORD=dovecot.password)
    assert first.returncode == 1  # one mailbox failed; the other was imported all the same
    assert cli("ingest", "--mailbox", "good", "-", input=NOT_A_MAIL, check=True).returncode == 0
    cli("import", "--mailbox", "locked")

    rows = status(cli)
    assert rows["good"]["last_success"] is not None and rows["good"]["last_cycle"] is not None
    assert {k: rows["good"][k] for k in ("consecutive_failures", "last_error", "waiting_on_server")} == {
        "consecutive_failures": 0, "last_error": None, "waiting_on_server": 0,
    }  # fmt: skip
    assert (rows["good"]["imported"], rows["good"]["failed"], rows["good"]["enabled"]) == (2, 1, True)
    bad = rows["locked"]
    assert (bad["last_success"], bad["consecutive_failures"]) == (None, 2)
    assert (bad["imported"], bad["failed"]) == (0, 0)
    assert bad["last_error"].startswith("login: ")
    assert bad["waiting_on_server"] is None  # never listed: unknown, not zero

    table = cli("status", check=True).stdout
    assert "good" in table and "locked" in table and "never" in table and "login" in table


def test_failed_lists_a_mail_that_is_not_one_and_reprocess_retries_it(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    piped = cli("ingest", "--mailbox", "desk", "-", input=NOT_A_MAIL)
    assert piped.returncode == 0  # kept raw and marked failed: the mail server may forget it
    assert f"failed: {PARSE_REASON}" in piped.stderr
    (row,) = failed(cli)
    assert (row["mailbox"], row["reason"], row["size"], row["attempts"]) == ("desk", PARSE_REASON, 13, 1)
    assert row["source_key"].startswith("pipe:") and isinstance(row["id"], int)
    listing = cli("failed", check=True).stdout
    assert str(row["id"]) in listing and "could not parse" in listing

    again = cli("reprocess", str(row["id"]))
    assert again.returncode == 1  # still not a mail: it stays failed, one try more
    assert again.stdout.strip() == f"{row['id']}: failed — {PARSE_REASON}"
    assert [(r["id"], r["attempts"]) for r in failed(cli)] == [(row["id"], 2)]
    assert cli("reprocess", "--all").returncode == 1
    assert failed(cli)[0]["attempts"] == 3


def test_reprocess_of_an_unknown_id_or_of_nothing_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    unknown = cli("reprocess", "424242")
    assert unknown.returncode == 1
    expected = "postroom: no failed or held message with ID 424242 (see `postroom failed`)"
    assert unknown.stderr.strip() == expected
    nothing = cli("reprocess")
    assert nothing.returncode != 0 and "name a failed message's ID or say --all" in nothing.stderr
