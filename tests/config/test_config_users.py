"""`users:` and `settings:` are checked like mailboxes (file, line, key, all at once); users become staff."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from postroom.mailboxes.config_file import ConfigFile, UserConfig, dump_config
from postroom.mailboxes.sync import apply_config, current_config
from tests.config.helpers import config_text, line_of, load, mailbox_lines, problems


def test_users_are_read_with_the_email_in_lower_case() -> None:
    config = load("users:\n  - {name: Dana, email: Dana@Staff.test}\n  - name: Max\n    email: m@x.test\n"
                  "mailboxes: []\n")  # fmt: skip
    assert config.users == (UserConfig("Dana", "dana@staff.test"), UserConfig("Max", "m@x.test"))


@pytest.mark.parametrize("empty", ["users:\n", "users: []\n", ""])
def test_no_users(empty: str) -> None:
    assert load(empty + "mailboxes: []\n").users == ()


def test_a_user_that_is_not_a_mapping_is_a_problem_not_a_crash() -> None:
    assert problems("mailboxes: []\nusers: [dana]\n") == [
        "config.yaml:2: users[0]: must be a mapping (name: ..., email: ...), got text"
    ]


def test_users_must_be_a_list() -> None:
    assert problems("users: {name: Dana, email: d@x.test}\nmailboxes: []\n") == [
        "config.yaml:1: key 'users': must be a list of users (- {name: ..., email: ...}), got a mapping"
    ]


def test_every_user_problem_is_reported_at_once_with_line_and_key() -> None:
    text = """\
users:
  - {name: Dana}
  - email: max@x.test
  - name: Eve
    email: eve@x.test
    role: boss
  - {name: Ann, mail: ann@x.test}
  - {name: Bo, email: 'Bo <bo@x.test>'}
  - {name: Dana, email: dana@x.test}
mailboxes: []
"""
    assert problems(text) == [
        "config.yaml:2: users[0] (Dana) key 'email': is required",
        "config.yaml:3: users[1] key 'name': is required",
        "config.yaml:6: users[2] (Eve) key 'role': must be one of admin, agent, requester, got 'boss'",
        "config.yaml:7: users[3] (Ann) key 'mail': unknown key; did you mean 'email'?",
        "config.yaml:7: users[3] (Ann) key 'email': is required",
        "config.yaml:8: users[4] (Bo) key 'email': give the bare address without a display name, "
        "got 'Bo <bo@x.test>'",
        "config.yaml:9: users[5] (Dana) key 'name': name 'Dana' is already used by users[0] (Dana) on line 2",
    ]


def test_user_and_mailbox_problems_come_together_in_file_order() -> None:
    text = config_text(mailbox_lines(security="tls"), head="users:\n  - {name: Dana, email: nope}\n")
    assert problems(text) == [
        "config.yaml:2: users[0] (Dana) key 'email': must be an email address like support@example.com, "
        "got 'nope'",
        f"config.yaml:{line_of(text, 'security')}: mailboxes[0] (support) key 'security': must be one of "
        "ssl, starttls, none, got 'tls'",
    ]


def test_data_dir_is_refused_with_the_environment_variable_to_use() -> None:
    text = 'settings:\n  reference_format: "[#{number}]"\n  data_dir: /var/lib/postroom\nmailboxes: []\n'
    (problem,) = problems(text)
    assert problem.startswith("config.yaml:3: settings key 'data_dir': the data folder can't be set")
    assert problem.endswith("set the environment variable POSTROOM_DATA_DIR instead")


def test_unknown_setting_names_line_and_key() -> None:
    assert problems("settings:\n  reference_fromat: x\nmailboxes: []\n") == [
        "config.yaml:2: settings key 'reference_fromat': unknown key; did you mean 'reference_format'?"
    ]


def test_users_dump_and_load_back_equal() -> None:
    config = ConfigFile(
        users=(UserConfig("Dana", "dana@staff.test"),),
    )
    text = dump_config(config)
    assert "users:\n  - name: Dana\n    email: dana@staff.test\n" in text
    assert load(text) == config


@pytest.mark.django_db
def test_loading_users_makes_staff_idempotently_and_reports_an_email_change() -> None:
    first = load("users:\n  - {name: Dana, email: DANA@staff.test}\nmailboxes: []\n")
    assert "added user Dana" in apply_config(first)
    assert apply_config(first) == []
    assert get_user_model().objects.get(username="Dana").email == "dana@staff.test"
    moved = load("users:\n  - {name: Dana, email: dana@new.test}\nmailboxes: []\n")
    assert apply_config(moved) == ["changed user Dana: email"]
    assert current_config().users == (UserConfig("Dana", "dana@new.test"),)
