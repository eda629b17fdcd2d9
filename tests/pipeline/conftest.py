"""Builders for pipeline tests: a Mailbox row pointing at the suite's Dovecot, and a cycle runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.models import Mailbox
from postroom.pipeline.runner import CycleResult, run_cycle

MakeMailbox = Callable[..., Mailbox]


@pytest.fixture
def make_mailbox(dovecot: Any, mailbox_folder: str, db: None) -> MakeMailbox:
    """A mailbox on the suite's Dovecot, reading this test's own folder; keywords override any field.

    These tests import many mails from one sender; the flood limit (20 new records per sender in two
    hours by default) is raised out of their way here and tested on its own in tests/e2e/test_outgoing.py.
    """
    counter = iter(range(1, 1000))
    site_settings.put("flood_records", 100_000)

    def make(protocol: str = "imap", security: str = "none", **fields: Any) -> Mailbox:
        port_key = {("imap", "ssl"): "imaps", ("pop3", "ssl"): "pop3s"}.get((protocol, security), protocol)
        values: dict[str, Any] = {
            "name": f"box{next(counter)}",
            "protocol": protocol,
            "host": dovecot.host,
            "port": dovecot.ports[port_key],
            "security": security,
            "username": dovecot.user,
            "folder": mailbox_folder if protocol == "imap" else "INBOX",
            "address": "support@desk.test",
            "ca_file": str(dovecot.ca_file),
            "backfill": "all",
            "backfill_done": True,
        }
        values.update(fields)
        mailbox = Mailbox(**values)
        mailbox.set_password(dovecot.password)
        mailbox.save()
        return mailbox

    return make


def cycle(mailbox: Mailbox) -> CycleResult:
    mailbox.refresh_from_db()
    result = run_cycle(mailbox)
    assert not result.error, result.error
    return result
