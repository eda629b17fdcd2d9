"""POP3 mailboxes into records on the suite's real Dovecot."""

from __future__ import annotations

from typing import Any

import pytest
from tests.pipeline.conftest import MakeMailbox, cycle
from tests.support.builders import mail

from postroom.records.models import Record

pytestmark = pytest.mark.dovecot


@pytest.fixture
def pop3_inbox(dovecot: Any) -> Any:
    """POP3 reads the account's INBOX: start each test with it empty."""
    dovecot.clear("INBOX")
    yield dovecot
    dovecot.clear("INBOX")


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_pop3_import_deletes_after_storing(pop3_inbox: Any, make_mailbox: MakeMailbox, security: str) -> None:
    pop3_inbox.append([mail(subject="a"), mail(subject="b")], folder="INBOX")
    result = cycle(make_mailbox(protocol="pop3", security=security))
    assert (result.fetched, result.new_records) == (2, 2)
    assert pop3_inbox.count("INBOX") == 0


def test_pop3_keep_imports_once(pop3_inbox: Any, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(protocol="pop3", after_import="keep")
    pop3_inbox.append([mail()], folder="INBOX")
    assert cycle(mailbox).new_records == 1
    assert cycle(mailbox).fetched == 0
    assert pop3_inbox.count("INBOX") == 1 and Record.objects.count() == 1
