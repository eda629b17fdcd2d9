"""The test Dovecot itself: it fails loudly when it cannot start, and its UIDVALIDITY reset keeps the mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sources.conftest import raw_mail
from tests.support.dovecot import DovecotServer

pytestmark = pytest.mark.dovecot


class _BrokenDovecot(DovecotServer):
    def _write_config(self) -> None:
        super()._write_config()
        with open(self.config_file, "a") as config:
            config.write("no_such_setting = 1\n")


def test_a_server_that_cannot_start_says_why_and_leaves_nothing_behind() -> None:
    server = _BrokenDovecot()
    with pytest.raises(RuntimeError, match="Unknown setting: no_such_setting"):
        server.start()
    assert not Path(server.workdir).exists()


def test_reset_uidvalidity_keeps_the_messages(dovecot: DovecotServer, mailbox_folder: str) -> None:
    raws = [raw_mail(1), raw_mail(2)]
    dovecot.append(raws, folder=mailbox_folder)
    with dovecot.imap() as conn:
        before = conn.status(mailbox_folder, "(UIDVALIDITY)")[1]
    dovecot.reset_uidvalidity(mailbox_folder)
    with dovecot.imap() as conn:
        after = conn.status(mailbox_folder, "(UIDVALIDITY)")[1]
    assert before != after and dovecot.list_raw(mailbox_folder) == raws
