"""The IMAP source on the real Dovecot: exact bytes, no \\Seen, every after-import action, UIDVALIDITY."""

from __future__ import annotations

import imaplib

import pytest

from postroom.core.errors import ConfigError, TransientError
from postroom.sources.imap import ImapSession, open_imap
from postroom.sources.imap_names import encode_name
from tests.sources.conftest import ODD_MAILS, MakeSettings, raw_mail
from tests.support.cutproxy import CutProxy
from tests.support.dovecot import DovecotServer

pytestmark = pytest.mark.dovecot


def load(dovecot: DovecotServer, folder: str, count: int, body_lines: int = 3) -> list[bytes]:
    raws = [raw_mail(n, body_lines) for n in range(count)]
    dovecot.append(raws, folder=folder)
    return raws


def fetch_all(session: ImapSession) -> dict[str, bytes]:
    return {m.key: m.raw for m in session.fetch([r.key for r in session.list_messages()])}


def test_list_and_fetch_give_the_appended_bytes_and_leave_them_unseen(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    raws = load(dovecot, mailbox_folder, 3)
    with open_imap(settings_for()) as session:
        listed = session.list_messages()
        fetched = list(session.fetch([r.key for r in listed]))
        assert [r.key for r in listed] == [f"imap:{session.uidvalidity}:{uid}" for uid in (1, 2, 3)]
        assert (session.message_count, session.uidnext) == (3, 4)
    assert [m.raw for m in fetched] == raws
    assert [r.size for r in listed] == [len(raw) for raw in raws]
    assert all(r.internal_date is not None for r in listed)
    assert dovecot.flags(mailbox_folder) == [set(), set(), set()]


def test_a_large_folder_is_listed_a_page_at_a_time_and_nothing_is_missed(
    dovecot: DovecotServer,
    mailbox_folder: str,
    settings_for: MakeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from postroom.sources import imap

    monkeypatch.setattr(imap, "LIST_PAGE", 4)
    raws = load(dovecot, mailbox_folder, 11)
    with open_imap(settings_for()) as session:
        session.acknowledge([f"imap:{session.uidvalidity}:{uid}" for uid in (2, 7)], "delete")
        listed = session.list_messages()
        assert [r.key for r in listed] == [
            f"imap:{session.uidvalidity}:{uid}" for uid in (1, 3, 4, 5, 6, 8, 9, 10, 11)
        ]
        assert session.message_count == 9
    kept = [raw for n, raw in enumerate(raws, 1) if n not in (2, 7)]
    assert [r.size for r in listed] == [len(raw) for raw in kept]


def test_odd_mails_come_back_byte_for_byte(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    dovecot.append(ODD_MAILS.values(), folder=mailbox_folder)
    with open_imap(settings_for()) as session:
        assert list(fetch_all(session).values()) == list(ODD_MAILS.values())


def test_fetch_keeps_the_order_asked_and_skips_vanished_and_foreign_keys(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    raws = load(dovecot, mailbox_folder, 3)
    with open_imap(settings_for()) as session:
        prefix = f"imap:{session.uidvalidity}:"
        asked = [prefix + "3", prefix + "99", "imap:1:1", "pop3:abc", prefix + "1"]
        fetched = list(session.fetch(asked))
    assert [m.key for m in fetched] == [prefix + "3", prefix + "1"]
    assert [m.raw for m in fetched] == [raws[2], raws[0]]


def test_fetch_in_batches_returns_every_message(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    raws = load(dovecot, mailbox_folder, 250, body_lines=1)  # three batches of at most 100
    with open_imap(settings_for()) as session:
        assert list(fetch_all(session).values()) == raws


@pytest.mark.parametrize(
    ("action", "left", "flags"),
    [("delete", 1, [set()]), ("mark_seen", 3, [{"\\Seen"}, {"\\Seen"}, set()]), ("keep", 3, [set()] * 3)],
)
def test_acknowledge_changes_exactly_the_acknowledged_messages(
    dovecot: DovecotServer,
    mailbox_folder: str,
    settings_for: MakeSettings,
    action: str,
    left: int,
    flags: list[set[str]],
) -> None:
    raws = load(dovecot, mailbox_folder, 3)
    with open_imap(settings_for()) as session:
        keys = [r.key for r in session.list_messages()]
        session.acknowledge(keys[:2], action)
    assert dovecot.count(mailbox_folder) == left
    assert dovecot.flags(mailbox_folder) == flags
    assert dovecot.list_raw(mailbox_folder)[-1] == raws[2]


@pytest.mark.parametrize("server_moves", [True, False])
def test_move_creates_the_folder_and_moves_there(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings, server_moves: bool
) -> None:
    raws = load(dovecot, mailbox_folder, 3)
    archive = f"{mailbox_folder}-Archive"
    with open_imap(settings_for()) as session:
        if not server_moves:  # take the COPY + \Deleted + EXPUNGE road a server without MOVE/UIDPLUS needs
            session.capabilities = tuple(c for c in session.capabilities if c not in {"MOVE", "UIDPLUS"})
        keys = [r.key for r in session.list_messages()]
        session.acknowledge([keys[0], keys[2]], f"move:{archive}")
    assert dovecot.list_raw(archive) == [raws[0], raws[2]]
    assert dovecot.list_raw(mailbox_folder) == [raws[1]]


def test_move_to_a_folder_with_a_non_ascii_name(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    load(dovecot, mailbox_folder, 1)
    target = f"{mailbox_folder}/Erledigt & Geprüft"
    with open_imap(settings_for()) as session:
        session.acknowledge([r.key for r in session.list_messages()], f"move:{target}")
    assert dovecot.count(encode_name(target)) == 1  # stored under its modified UTF-7 name
    assert dovecot.count(mailbox_folder) == 0


def test_acknowledge_many_scattered_uids_in_compact_sets(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    raws = load(dovecot, mailbox_folder, 40, body_lines=1)
    with open_imap(settings_for()) as session:
        keys = [r.key for r in session.list_messages()]
        session.acknowledge([k for i, k in enumerate(keys) if i % 3 != 1], "delete")
    assert dovecot.list_raw(mailbox_folder) == [raw for i, raw in enumerate(raws) if i % 3 == 1]


@pytest.mark.parametrize("action", ["move:", "archive", "move:{folder}"])
def test_a_bad_action_is_a_config_error_and_touches_nothing(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings, action: str
) -> None:
    load(dovecot, mailbox_folder, 1)
    with open_imap(settings_for()) as session, pytest.raises(ConfigError):
        session.acknowledge([r.key for r in session.list_messages()], action.format(folder=mailbox_folder))
    assert dovecot.count(mailbox_folder) == 1


def test_read_only_session_examines_and_refuses_to_acknowledge(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    load(dovecot, mailbox_folder, 2)
    with open_imap(settings_for(), readonly=True) as session:
        assert len(fetch_all(session)) == 2
        with pytest.raises(RuntimeError, match="read-only"):
            session.acknowledge([r.key for r in session.list_messages()], "delete")
    assert dovecot.count(mailbox_folder) == 2


def test_new_uidvalidity_gives_new_keys_and_old_keys_are_ignored(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    raws = load(dovecot, mailbox_folder, 2)
    with open_imap(settings_for()) as session:
        old_keys = list(fetch_all(session))
    dovecot.reset_uidvalidity(mailbox_folder)
    with open_imap(settings_for()) as session:
        fetched = fetch_all(session)
        session.acknowledge(old_keys, "delete")
        assert list(session.fetch(old_keys)) == []
    assert set(fetched).isdisjoint(old_keys) and list(fetched.values()) == raws
    assert dovecot.count(mailbox_folder) == 2


def test_connection_cut_mid_fetch_raises_transient_and_a_new_session_gets_everything(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings
) -> None:
    raws = load(dovecot, mailbox_folder, 20, body_lines=100)  # ~4 KB each, ~80 KB in all
    with CutProxy(dovecot.host, dovecot.ports["imap"], cut_after_bytes=40_000) as proxy:
        settings = settings_for(port=proxy.port)
        with pytest.raises(TransientError) as caught, open_imap(settings) as session:
            fetch_all(session)
        assert isinstance(caught.value.__cause__, OSError | imaplib.IMAP4.abort)
        proxy.cut_after_bytes = None
        with open_imap(settings) as session:
            assert list(fetch_all(session).values()) == raws
        assert (proxy.connections, proxy.cuts) == (2, 1)
