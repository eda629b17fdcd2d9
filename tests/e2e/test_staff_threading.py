"""Staff from `users:` may add to any record by naming it in a subject; anyone else opens a new record."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.cli_helpers import ingest, load_config, mailbox_yaml, record, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database

USERS = "users:\n  - {name: Dana, email: dana@staff.test}\n"


def test_a_staff_member_joins_by_subject_reference_and_a_stranger_does_not(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"), head=USERS)
    _, number = ingest(cli, "desk", mail(subject="Boiler broken", sender="Carl <carl@customer.test>"))
    assert number is not None
    subject = f"[#{number}] Boiler broken"  # no In-Reply-To/References: only the subject names the record

    # The address's case differs from the configuration's: addresses are compared in lower case.
    staff = ingest(cli, "desk", mail(subject=subject, sender="Dana <DANA@staff.test>", body="On my way.\n"))
    assert staff == ("added", number)
    stranger = ingest(cli, "desk", mail(subject=subject, sender="Eve <eve@elsewhere.test>"))
    assert stranger[0] == "new" and stranger[1] not in (None, number)

    joined = record(cli, number)
    assert [m["from"]["address"] for m in joined["messages"]] == ["carl@customer.test", "dana@staff.test"]
    assert joined["message_count"] == 2
    assert f"subject names record {number}" in joined["messages"][1]["why"]
    assert stranger[1] is not None
    opened = record(cli, stranger[1])
    assert opened["named_reference"] == number
    assert opened["requester"]["address"] == "eve@elsewhere.test"
    assert "not a participant" in opened["messages"][0]["why"]
    assert [r["number"] for r in records(cli)] == [stranger[1], number]


def test_without_the_user_in_the_configuration_the_same_mail_opens_a_new_record(
    cli: Cli, tmp_path: Path
) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    _, number = ingest(cli, "desk", mail(subject="Boiler broken", sender="carl@customer.test"))
    status, other = ingest(cli, "desk", mail(subject=f"[#{number}] Boiler broken", sender="dana@staff.test"))
    assert status == "new" and other != number
    assert other is not None and record(cli, other)["named_reference"] == number


def test_config_load_reports_every_bad_user_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("users:\n  - dana\n  - {name: Max}\n  - {name: Eve, email: eve@x.test, role: chief}\n"
                    "mailboxes: []\n")  # fmt: skip
    result = cli("config", "load", str(path))
    assert result.returncode == 78 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"postroom: configuration error: {path}:2: users[0]: must be a mapping (name: ..., email: ...), "
        "got text",
        f"{path}:3: users[1] (Max) key 'email': is required",
        f"{path}:4: users[2] (Eve) key 'role': must be one of admin, agent, requester, got 'chief'",
    ]
    assert "users:" not in cli("config", "dump", check=True).stdout


def test_a_user_left_out_of_the_file_is_no_longer_staff(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"), head=USERS)
    _, number = ingest(cli, "desk", mail(subject="Leak", sender="carl@customer.test"))
    changes = load_config(cli, tmp_path, mailbox_yaml("desk"))
    assert "deactivated user Dana (not in the file)" in changes
    assert "dana" not in cli("config", "dump", check=True).stdout.lower()
    status, other = ingest(cli, "desk", mail(subject=f"[#{number}] Leak", sender="dana@staff.test"))
    assert status == "new" and other != number
    assert "changed user Dana: active again" in load_config(cli, tmp_path, mailbox_yaml("desk"), head=USERS)
