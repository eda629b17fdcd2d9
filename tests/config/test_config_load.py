"""Loading valid configuration files: values, defaults, merge keys and the sections kept for later issues."""

from __future__ import annotations

import dataclasses

import pytest

from postroom.core.errors import ConfigError
from postroom.mailboxes.config_file import (
    KEEP_STORED,
    ConfigFile,
    MailboxConfig,
    Settings,
    UserConfig,
    load_config_file,
    mailbox_to_dict,
)
from tests.config.helpers import config_text, load, mailbox_lines

FULL = """\
settings:
  reference_format: "(Case {number})"

users:
  - {name: Dana, email: dana@example.com}

mailboxes:
  - name: support
    protocol: imap
    host: mail.example.com
    port: 1993
    security: starttls
    username: support@example.com
    password_env: SUPPORT_PASSWORD
    ca_file: /etc/ssl/my-ca.pem
    folder: Tickets
    address: support@example.com
    record_kind: case
    after_import: move:Done
    on_failure: move:Failed
    interval: 300
    backfill: 30
    subject_reference_from_anyone: true
    enabled: true
  - name: jobs
    protocol: pop3
    host: pop.example.com
    username: jobs
    password: "0123"
    address: jobs@example.com
    after_import: mark_seen
"""


def test_every_key_is_read() -> None:
    config = load(FULL)
    assert config.settings == Settings(reference_format="(Case {number})")
    assert config.users == (UserConfig(name="Dana", email="dana@example.com"),)
    assert config.extra == {}
    assert config.mailboxes[0] == MailboxConfig(
        name="support",
        protocol="imap",
        host="mail.example.com",
        port=1993,
        security="starttls",
        username="support@example.com",
        password_env="SUPPORT_PASSWORD",
        ca_file="/etc/ssl/my-ca.pem",
        folder="Tickets",
        address="support@example.com",
        record_kind="case",
        after_import="move:Done",
        on_failure="move:Failed",
        interval=300,
        backfill=30,
        subject_reference_from_anyone=True,
        enabled=True,
    )


def test_defaults() -> None:
    config = load(config_text(mailbox_lines()))
    assert config.settings == Settings(reference_format="[#{number}]")
    assert (config.extra, config.users) == ({}, ())
    (box,) = config.mailboxes
    assert (box.port, box.security, box.folder, box.record_kind) == (993, "ssl", "INBOX", "ticket")
    assert (box.after_import, box.on_failure, box.interval, box.enabled) == ("delete", "keep", 60, True)
    assert (box.backfill, box.subject_reference_from_anyone) == ("all", False)
    assert (box.password, box.password_env, box.ca_file) == ("secret", None, None)


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [
        ("imap", "ssl", 993),
        ("imap", "starttls", 143),
        ("imap", "none", 143),
        ("pop3", "ssl", 995),
        ("pop3", "starttls", 110),
        ("pop3", "none", 110),
    ],
)
def test_default_port_follows_protocol_and_security(protocol: str, security: str, port: int) -> None:
    (box,) = load(config_text(mailbox_lines(protocol=protocol, security=security))).mailboxes
    assert box.port == port


def test_scalars_keep_their_text() -> None:
    """`password: 0123` is the text 0123, not the number 83; `username: yes` is "yes", not true."""
    (box,) = load(config_text(mailbox_lines(password="0123", username="yes"))).mailboxes
    assert (box.password, box.username) == ("0123", "yes")


def test_values_are_normalised() -> None:
    text = config_text(
        mailbox_lines(protocol="IMAP", security="SSL", folder="inbox", after_import="'move: Archive '")
    )
    (box,) = load(text).mailboxes
    assert (box.protocol, box.security, box.folder, box.after_import) == (
        "imap",
        "ssl",
        "INBOX",
        "move:Archive",
    )


def test_backfill_forms() -> None:
    for written, value in [("all", "all"), ("none", "none"), ("7", 7), ("'14'", 14)]:
        (box,) = load(config_text(mailbox_lines(backfill=written))).mailboxes
        assert box.backfill == value


def test_disabled_mailbox_needs_no_password() -> None:
    (box,) = load(config_text(mailbox_lines(password=None, enabled="false"))).mailboxes
    assert (box.enabled, box.password, box.password_env) == (False, None, None)


def test_optional_key_without_value_takes_its_default() -> None:
    (box,) = load(config_text(mailbox_lines(ca_file="", port="~", password="~", password_env="X"))).mailboxes
    assert (box.ca_file, box.port, box.password, box.password_env) == (None, 993, None, "X")


def test_merge_keys_share_settings_between_mailboxes() -> None:
    text = """\
mailboxes:
  - &server
    name: support
    protocol: imap
    host: mail.example.com
    username: desk@example.com
    password_env: DESK
    address: support@example.com
  - <<: *server
    name: sales
    folder: Sales
    address: sales@example.com
"""
    support, sales = load(text).mailboxes
    assert dataclasses.replace(support, name="sales", folder="Sales", address="sales@example.com") == sales


def test_empty_mailbox_list_and_empty_sections() -> None:
    text = "mailboxes: []\nfilters: []\nteams:\ncontacts: []\naccounts: []\n"
    assert load(text) == ConfigFile(mailboxes=())
    assert load("mailboxes:\n").mailboxes == ()


def test_mailbox_to_dict_has_every_field_by_name() -> None:
    (box,) = load(config_text(mailbox_lines(password="'********'"))).mailboxes
    data = mailbox_to_dict(box)
    assert list(data) == [f.name for f in dataclasses.fields(MailboxConfig)]
    assert data["password"] is KEEP_STORED
    assert MailboxConfig(**data) == box
    assert list(data)[:6] == ["name", "protocol", "host", "port", "security", "username"]


def test_load_config_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mailboxes.yaml"
    path.write_text(config_text(mailbox_lines(host="x")), encoding="utf-8")
    assert load_config_file(path).mailboxes[0].host == "x"
    path.write_bytes(b"mailboxes: []\n# \xff\n")
    with pytest.raises(ConfigError, match=r"mailboxes\.yaml: not UTF-8"):
        load_config_file(path)
    with pytest.raises(ConfigError, match=r"missing\.yaml: can't read"):
        load_config_file(tmp_path / "missing.yaml")
