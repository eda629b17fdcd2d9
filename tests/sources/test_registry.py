"""The source registry: what each kind declares, and that opening goes through the declaration."""

from __future__ import annotations

import pytest

from postroom.core.errors import ConfigError
from postroom.sources import registry
from postroom.sources.imap import ImapSession
from postroom.sources.pop3 import Pop3Session
from tests.sources.conftest import MakeSettings
from tests.support.dovecot import DovecotServer


def test_each_kind_declares_its_usual_ports() -> None:
    imap, pop3 = registry.get("imap"), registry.get("pop3")
    assert [imap.default_port(s) for s in ("ssl", "starttls", "none")] == [993, 143, 143]
    assert [pop3.default_port(s) for s in ("ssl", "starttls", "none")] == [995, 110, 110]
    with pytest.raises(ConfigError, match="must be one of ssl, starttls, none"):
        imap.default_port("tls")


def test_only_the_password_is_secret_and_only_imap_has_a_folder() -> None:
    assert [kind.name for kind in registry.kinds()] == ["imap", "pop3"]
    assert all(kind.secret_settings() == ("password",) for kind in registry.kinds())
    assert "folder" in {s.name for s in registry.get("imap").settings}
    assert "folder" not in {s.name for s in registry.get("pop3").settings}


@pytest.mark.parametrize(
    ("protocol", "action", "ok"),
    [
        ("imap", "move:Archive", True),
        ("imap", "mark_seen", True),
        ("imap", "move:", False),
        ("imap", "delete:now", False),
        ("pop3", "delete", True),
        ("pop3", "mark_seen", True),
        ("pop3", "move:Archive", False),
    ],
)
def test_actions_are_validated_against_the_declaration(protocol: str, action: str, ok: bool) -> None:
    kind = registry.get(protocol)
    if ok:
        kind.validate_action(action)
    else:
        with pytest.raises(ConfigError, match=f"{protocol} supports"):
            kind.validate_action(action)


def test_an_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="protocol 'smtp': must be one of imap, pop3"):
        registry.get("smtp")


@pytest.mark.dovecot
@pytest.mark.parametrize(("protocol", "session_type"), [("imap", ImapSession), ("pop3", Pop3Session)])
def test_open_session_opens_the_declared_kind(
    pop3_inbox: DovecotServer, settings_for: MakeSettings, protocol: str, session_type: type
) -> None:
    with registry.open_session(settings_for(protocol, "ssl"), readonly=True) as session:
        assert isinstance(session, session_type)
        assert session.list_messages() == []  # this test's IMAP folder and the POP3 INBOX are empty
