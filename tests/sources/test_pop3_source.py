"""The POP3 source against the real Dovecot: exact bytes, deletions committed by QUIT, what POP3 cannot do."""

from __future__ import annotations

import poplib

import pytest

from postroom.core.errors import ConfigError, TransientError
from postroom.sources.pop3 import Pop3Session, open_pop3
from tests.sources.conftest import ODD_MAILS, MakeSettings, raw_mail
from tests.support.cutproxy import CutProxy
from tests.support.dovecot import DovecotServer

pytestmark = pytest.mark.dovecot


def load(server: DovecotServer, count: int, body_lines: int = 3) -> list[bytes]:
    raws = [raw_mail(n, body_lines) for n in range(count)]
    server.append(raws, folder="INBOX")
    return raws


def fetch_all(session: Pop3Session) -> dict[str, bytes]:
    return {m.key: m.raw for m in session.fetch([r.key for r in session.list_messages()])}


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_list_and_fetch_give_the_appended_bytes(
    pop3_inbox: DovecotServer, settings_for: MakeSettings, security: str
) -> None:
    raws = load(pop3_inbox, 3)
    with open_pop3(settings_for("pop3", security)) as session:
        listed = session.list_messages()
        fetched = list(session.fetch([r.key for r in reversed(listed)]))
    assert all(r.key.startswith("pop3:") and len(r.key) == len("pop3:") + 16 for r in listed)
    assert [m.raw for m in fetched] == raws[::-1]  # dot-stuffed lines come back as they were
    assert [r.size for r in listed] == [len(raw) for raw in raws]


def test_odd_mails_come_back_byte_for_byte(pop3_inbox: DovecotServer, settings_for: MakeSettings) -> None:
    pop3_inbox.append(ODD_MAILS.values(), folder="INBOX")
    with open_pop3(settings_for("pop3")) as session:
        assert list(fetch_all(session).values()) == list(ODD_MAILS.values())


def test_delete_is_committed_at_quit(pop3_inbox: DovecotServer, settings_for: MakeSettings) -> None:
    raws = load(pop3_inbox, 3)
    with open_pop3(settings_for("pop3")) as session:
        keys = list(fetch_all(session))
        session.acknowledge(keys[:2], "delete")
        assert pop3_inbox.count("INBOX") == 3  # only marked until QUIT
        assert [m.key for m in session.fetch(keys)] == keys[2:], "a marked message is not fetched again"
    assert pop3_inbox.list_raw("INBOX") == [raws[2]]


def test_deletions_of_stored_mail_are_committed_when_the_cycle_fails_later(
    pop3_inbox: DovecotServer, settings_for: MakeSettings
) -> None:
    load(pop3_inbox, 2)
    with pytest.raises(LookupError), open_pop3(settings_for("pop3")) as session:
        session.acknowledge(list(fetch_all(session))[:1], "delete")
        raise LookupError("the cycle fails after the first message was stored and acknowledged")
    assert pop3_inbox.count("INBOX") == 1


def test_deletions_are_rolled_back_when_the_connection_breaks(
    pop3_inbox: DovecotServer, settings_for: MakeSettings
) -> None:
    load(pop3_inbox, 5, body_lines=200)  # ~5 KB each
    proxy = CutProxy(pop3_inbox.host, pop3_inbox.ports["pop3"], cut_after_bytes=12_000)
    with proxy, pytest.raises(TransientError), open_pop3(settings_for("pop3", port=proxy.port)) as session:
        keys = [r.key for r in session.list_messages()]
        session.acknowledge(keys[:1], "delete")
        list(session.fetch(keys[1:]))  # the connection drops during the third RETR: no QUIT is possible
    assert pop3_inbox.count("INBOX") == 5


def test_connection_cut_mid_fetch_raises_transient_and_a_new_session_gets_everything(
    pop3_inbox: DovecotServer, settings_for: MakeSettings
) -> None:
    raws = load(pop3_inbox, 10, body_lines=200)
    with CutProxy(pop3_inbox.host, pop3_inbox.ports["pop3"], cut_after_bytes=20_000) as proxy:
        settings = settings_for("pop3", port=proxy.port)
        with pytest.raises(TransientError) as caught, open_pop3(settings) as session:
            fetch_all(session)
        assert isinstance(caught.value.__cause__, OSError | poplib.error_proto)
        proxy.cut_after_bytes = None
        with open_pop3(settings) as session:
            assert list(fetch_all(session).values()) == raws


@pytest.mark.parametrize("action", ["keep", "mark_seen"])
def test_keep_and_mark_seen_leave_the_mailbox_as_it_was(
    pop3_inbox: DovecotServer, settings_for: MakeSettings, action: str
) -> None:
    raws = load(pop3_inbox, 2)
    with open_pop3(settings_for("pop3")) as session:
        session.acknowledge(list(fetch_all(session)), action)
    assert pop3_inbox.list_raw("INBOX") == raws  # (Dovecot itself flags what RETR read \Seen for IMAP)


def test_move_is_a_config_error(pop3_inbox: DovecotServer, settings_for: MakeSettings) -> None:
    load(pop3_inbox, 1)
    with open_pop3(settings_for("pop3")) as session, pytest.raises(ConfigError, match="POP3 cannot move"):
        session.acknowledge(list(fetch_all(session)), "move:Archive")
    assert pop3_inbox.count("INBOX") == 1


def test_a_folder_other_than_inbox_is_a_config_error(settings_for: MakeSettings) -> None:
    with pytest.raises(ConfigError, match="POP3 reads only INBOX"):
        open_pop3(settings_for("pop3", folder="Archive"))


def test_new_uidvalidity_gives_new_keys(pop3_inbox: DovecotServer, settings_for: MakeSettings) -> None:
    raws = load(pop3_inbox, 2)
    with open_pop3(settings_for("pop3")) as session:
        old = fetch_all(session)
    pop3_inbox.reset_uidvalidity("INBOX")
    with open_pop3(settings_for("pop3")) as session:
        new = fetch_all(session)
    assert set(new).isdisjoint(old) and list(new.values()) == raws


def test_mail_removed_by_another_client_yields_nothing_and_the_session_goes_on(
    pop3_inbox: DovecotServer, settings_for: MakeSettings
) -> None:
    raws = load(pop3_inbox, 2)
    with open_pop3(settings_for("pop3")) as session:
        keys = [r.key for r in session.list_messages()]
        pop3_inbox.clear("INBOX")  # e.g. a person reading the same account by IMAP deletes everything
        assert list(session.fetch(keys)) == []
        session.acknowledge(keys, "delete")
    pop3_inbox.append(raws, folder="INBOX")
    with open_pop3(settings_for("pop3")) as session:
        assert list(fetch_all(session).values()) == raws
