"""Dumping a configuration: it reads back equal, passwords masked; loading the mask keeps the stored one."""

from __future__ import annotations

import pytest
import yaml

from postroom.mailboxes.config_file import (
    KEEP_STORED,
    MASK,
    KeepStored,
    dump_config,
    mailbox_to_dict,
    mask_password,
)
from tests.config.helpers import config_text, load, mailbox_lines
from tests.config.test_config_load import FULL


def test_round_trip() -> None:
    config = load(FULL.replace('password: "0123"', "password_env: JOBS"))
    text = dump_config(config)
    assert load(text) == config
    assert dump_config(load(text)) == text


def test_dump_is_readable_yaml_in_documented_order() -> None:
    text = dump_config(load(FULL))
    data = yaml.safe_load(text)
    assert list(data) == ["settings", "users", "mailboxes"]
    assert list(data["mailboxes"][0])[:6] == ["name", "protocol", "host", "port", "security", "username"]
    assert "\n  - name: support\n    protocol: imap\n" in text
    assert "ca_file" not in data["mailboxes"][1]  # keys without a value are left out


def test_literal_password_is_masked_and_password_env_shown() -> None:
    text = dump_config(load(FULL))
    assert "0123" not in text
    assert "    password: '********'\n" in text
    assert "    password_env: SUPPORT_PASSWORD\n" in text


def test_loading_the_mask_keeps_the_stored_password() -> None:
    config = load(FULL)
    reloaded = load(dump_config(config))
    assert reloaded.mailboxes[1].password is KEEP_STORED
    assert reloaded.mailboxes[0].password_env == "SUPPORT_PASSWORD"
    assert load(dump_config(reloaded)) == reloaded  # KEEP_STORED dumps as the mask again
    (box,) = load(config_text(mailbox_lines(password=f"'{MASK}'"))).mailboxes
    assert box.password is KEEP_STORED


def test_keep_stored_is_no_string() -> None:
    """So it can never reach a server as a password by mistake."""
    assert not isinstance(KEEP_STORED, str)
    assert isinstance(KEEP_STORED, KeepStored)
    assert repr(KEEP_STORED) == "KEEP_STORED"


@pytest.mark.parametrize(("password", "shown"), [("secret", MASK), (KEEP_STORED, MASK), (None, None)])
def test_mask_password(password: str | KeepStored | None, shown: str | None) -> None:
    assert mask_password(password) == shown


def test_mailbox_to_dict_keeps_the_password() -> None:
    (box,) = load(config_text(mailbox_lines())).mailboxes
    assert mailbox_to_dict(box)["password"] == "secret"


def test_values_that_look_like_other_types_survive() -> None:
    text = config_text(
        mailbox_lines(username="'true'", host="'12345'", folder="'null'", password=None, password_env="P")
    )
    config = load(text)
    assert load(dump_config(config)) == config
    assert config.mailboxes[0].username == "true"
