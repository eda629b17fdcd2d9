"""`postroom records list|show`: filtering by mailbox, paging newest first, option checks, the JSON shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.cli_helpers import ingest, load_config, mailbox_yaml, record, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database

# The keys issue 2 names, and the documented extras (README, "Records as JSON").
RECORD_KEYS = {"number", "kind", "status", "subject", "requester", "mailbox", "created", "message_count"}
LIST_EXTRAS = {"archive"}
# What the rules set (issue 3): on `records show`.
ROUTING_KEYS = {
    "customer", "category", "team", "assignee", "priority", "tags", "fields", "needs_review", "rule",
}  # fmt: skip
SHOW_EXTRAS = {"archive", "named_reference", "contact", "review_reason", "followers"} | ROUTING_KEYS
MESSAGE_KEYS = {"direction", "message_id", "from", "subject", "date", "text", "attachments"}
MESSAGE_EXTRAS = {"why", "because", "entry_type", "rule"}  # and "outbox" on a message we sent


def test_list_filters_by_mailbox_and_pages_newest_first(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"), mailbox_yaml("jobs", record_kind="job"))
    for box, subject in [("desk", "d1"), ("jobs", "j1"), ("desk", "d2"), ("jobs", "j2"), ("desk", "d3")]:
        assert ingest(cli, box, mail(subject=subject))[0] == "new"
    everything = records(cli)
    assert [r["subject"] for r in everything] == ["d3", "j2", "d2", "j1", "d1"]
    assert [r["number"] for r in everything] == sorted((r["number"] for r in everything), reverse=True)
    desk = records(cli, "--mailbox", "desk")
    assert [(r["subject"], r["mailbox"], r["kind"]) for r in desk] == [
        ("d3", "desk", "ticket"), ("d2", "desk", "ticket"), ("d1", "desk", "ticket"),
    ]  # fmt: skip
    assert [r["subject"] for r in records(cli, "--mailbox", "jobs", "--offset", "1")] == ["j1"]
    assert [r["subject"] for r in records(cli, "--limit", "2")] == ["d3", "j2"]
    assert [r["subject"] for r in records(cli, "--limit", "2", "--offset", "2")] == ["d2", "j1"]
    paged = records(cli, "--mailbox", "desk", "--limit", "1", "--offset", "2")
    assert [r["subject"] for r in paged] == ["d1"]
    assert records(cli, "--offset", "5") == []


def test_list_of_an_unknown_mailbox_is_an_error_not_an_empty_list(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    result = cli("records", "list", "--mailbox", "dsek")
    assert result.returncode == 1
    assert "no mailbox named 'dsek'" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-1"], "argument --limit: must be between 1 and 10000, got -1"),
        (["--limit", "0"], "argument --limit: must be between 1 and 10000, got 0"),
        (["--limit", "10001"], "argument --limit: must be between 1 and 10000, got 10001"),
        (["--limit", "ten"], "argument --limit: must be a whole number, got 'ten'"),
        (["--offset", "-1"], "argument --offset: must be at least 0, got -1"),
    ],
)
def test_list_options_out_of_range_are_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    result = cli("records", "list", *args)
    assert result.returncode == 2
    assert f"postroom records list: error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_keys_are_the_issues_plus_the_documented_extras(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    _, number = ingest(cli, "desk", mail(subject="Invoice", attachments=(("a.pdf", b"%PDF-1.4 x"),)))
    (listed,) = records(cli)
    assert set(listed) == RECORD_KEYS | LIST_EXTRAS
    assert set(listed["requester"]) == {"name", "address"}
    assert (listed["number"], listed["message_count"], listed["archive"]) == (number, 1, False)
    assert number is not None
    shown = record(cli, number)
    assert set(shown) == RECORD_KEYS | {"messages"} | SHOW_EXTRAS
    assert {k: shown[k] for k in RECORD_KEYS} == {k: listed[k] for k in RECORD_KEYS}
    (message,) = shown["messages"]
    assert set(message) == MESSAGE_KEYS | MESSAGE_EXTRAS
    assert set(message["from"]) == {"name", "address"}
    (attachment,) = message["attachments"]
    assert set(attachment) == {"filename", "size", "sha256"}
    assert (attachment["filename"], attachment["size"]) == ("a.pdf", 10)
    assert (message["direction"], message["subject"], shown["named_reference"]) == ("in", "Invoice", None)
    assert message["why"]  # says why it opened a new record


def test_show_of_a_missing_record_is_an_error(cli: Cli) -> None:
    result = cli("records", "show", "999999")
    assert result.returncode == 1 and "no record 999999" in result.stderr
