"""`postroom webhook add|list|send|remove`: a mail piped in reaches a real HTTP receiver, signed, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.cli_helpers import ingest, load_config, mailbox_yaml
from tests.e2e.conftest import Cli
from tests.hooks import Receiver
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database

SECRET = "whsec-e2e-9f8e7d6c5b4a"


def test_a_webhook_added_by_command_gets_the_imported_mail_signed(cli: Cli, tmp_path: Path) -> None:
    receiver = Receiver().start()
    try:
        load_config(cli, tmp_path, mailbox_yaml("desk"))
        added = cli("webhook", "add", "crm", receiver.url, "--events", "record_created,status_changed",
                    "--secret-env", "CRM_SECRET", check=True, CRM_SECRET=SECRET)  # fmt: skip
        assert added.stdout.strip() == f"added webhook crm ({receiver.url}; record_created, status_changed)"
        again = cli("webhook", "add", "crm", receiver.url, "--events", "record_created", check=True)
        assert again.stdout.startswith("changed webhook crm")  # the secret is kept
        listed = cli("webhook", "list", "--json", check=True).stdout
        (hook,) = json.loads(listed)
        assert hook["name"] == "crm" and hook["url"] == receiver.url and hook["events"] == ["record_created"]
        assert SECRET not in listed and SECRET not in cli("webhook", "list", check=True).stdout
        outcome, number = ingest(cli, "desk", mail(subject="Quote please", sender="Bo <bo@customer.test>"))
        assert outcome == "new"
        assert json.loads(cli("webhook", "list", "--json", check=True).stdout)[0]["deliveries"] == {
            "queued": 1, "sending": 0, "sent": 0, "failed": 0,
        }  # fmt: skip
        sent = cli("webhook", "send", check=True)
        assert sent.stdout.startswith("webhooks: sent 1, retrying 0, failed 0"), sent.stdout
        (got,) = receiver.requests
        assert got.verifies(SECRET) and got.headers["X-Postroom-Event"] == "record_created"
        body = got.json
        assert body["record"]["number"] == number and body["record"]["subject"] == "Quote please"
        assert body["message"]["from"] == {"name": "Bo", "address": "bo@customer.test"}
        assert body["id"] == got.headers["X-Postroom-Delivery"]
        assert cli("webhook", "send", check=True).stdout.startswith("webhooks: sent 0")
        assert len(receiver.requests) == 1
        assert json.loads(cli("webhook", "list", "--json", check=True).stdout)[0]["deliveries"]["sent"] == 1
        assert cli("webhook", "remove", "crm", check=True).stdout.strip() == "removed webhook crm"
        assert json.loads(cli("webhook", "list", "--json", check=True).stdout) == []
        gone = cli("webhook", "remove", "crm")
        assert gone.returncode == 1 and "no webhook 'crm'" in gone.stderr
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["file:///etc/passwd", "--events", "record_created", "--secret-env", "S"],
            "must be http:// or https://",
        ),
        (
            ["http://127.0.0.1:9/h", "--events", "record_deleted", "--secret-env", "S"],
            "'record_deleted' is not one",
        ),
        (["http://127.0.0.1:9/h", "--events", "record_created"], "a new webhook needs a signing secret"),
        (
            ["https://u:pw@crm.test/h", "--events", "record_created", "--secret-env", "S"],
            "no user or password",
        ),
        (
            ["http://127.0.0.1:9/h", "--events", "record_created", "--secret-env", "UNSET_VAR_X"],
            "UNSET_VAR_X is not set",
        ),
    ],
)
def test_webhook_add_problems_are_clear(cli: Cli, args: list[str], problem: str) -> None:
    result = cli("webhook", "add", "crm", *args, S="a-secret")
    assert result.returncode != 0 and problem in result.stderr, result.stderr
