"""Every validation error names the file, line and key, and a file's problems are reported all at once."""

from __future__ import annotations

import pytest

from postroom.core.errors import ConfigError
from postroom.mailboxes.config_file import ConfigFileError
from tests.config.helpers import config_text, line_of, load, mailbox_lines, problems

WHERE = "mailboxes[0] (support)"

VALUE_ERRORS = [
    ("name", "'bad name'", "may contain only letters, digits, '_', '.' and '-', got 'bad name'"),
    ("protocol", "smtp", "must be one of imap, pop3, got 'smtp'"),
    ("protocol", "imaps", "must be one of imap, pop3, got 'imaps'; for IMAP over TLS use protocol: imap"),
    ("host", "imaps://mail.example.com", "give the host name only, without a scheme like 'imaps://'"),
    ("host", "mail.example.com:993", "give the port in the key 'port', not in the host"),
    ("host", "'mail example.com'", "must be a host name or IP address, got 'mail example.com'"),
    ("host", "'[::1]'", "write an IPv6 address without brackets, got '[::1]'"),
    ("port", "0", "must be between 1 and 65535, got 0"),
    ("port", "70000", "must be between 1 and 65535, got 70000"),
    ("port", "imap", "must be a whole number, got 'imap'"),
    ("port", "true", "must be a whole number, got 'true'"),
    ("security", "tls", "must be one of ssl, starttls, none, got 'tls'"),
    ("username", "''", "must not be empty"),
    ("username", "[a, b]", "must be text, got a list"),
    ("username", '"a\\u0007b"', "must not contain control characters (found U+0007)"),
    ("password", "''", "must not be empty"),
    ("password", '"a\\nb"', "must not contain line breaks or NUL characters"),
    ("ca_file", "{path: x}", "must be text, got a mapping"),
    ("folder", "''", "must not be empty"),
    ("address", "support", "must be an email address like support@example.com, got 'support'"),
    ("address", "'a@b@c.com'", "must be an email address"),
    ("address", "'Support <support@example.com>'", "give the bare address without a display name"),
    ("record_kind", "incident", "must be one of ticket, job, quote, task, case, got 'incident'"),
    ("after_import", "archive", "must be one of delete, move:FOLDER, mark_seen, keep, got 'archive'"),
    ("after_import", "move", "must be one of delete, move:FOLDER, mark_seen, keep, got 'move'; move needs"),
    ("after_import", "'move:'", "move needs a folder: move:FOLDER, e.g. move:Archive"),
    ("after_import", "move:INBOX", "moves messages into 'INBOX', the folder being read"),
    ("on_failure", "delete", "must be one of keep, move:FOLDER, got 'delete'"),
    ("interval", "5", "must be at least 10 seconds, got 5"),
    ("interval", "1.5", "must be a whole number, got '1.5'"),
    ("interval", "'60'", "must be a whole number, got '60'"),
    ("interval", "9999999", "must be at most 604800 seconds (a week), got 9999999"),
    ("enabled", "maybe", "must be true or false, got 'maybe'"),
    ("enabled", "1", "must be true or false, got '1'"),
    ("backfill", "0", "a number of days must be between 1 and 36500 (or all / none), got 0"),
    ("backfill", "forever", "must be all, none or a number of days, got 'forever'"),
    ("backfill", "[1]", "must be all, none or a number of days, got a list"),
    ("subject_reference_from_anyone", "yes please", "must be true or false, got 'yes please'"),
]


@pytest.mark.parametrize(("key", "value", "message"), VALUE_ERRORS)
def test_value_error_names_file_line_and_key(key: str, value: str, message: str) -> None:
    text = config_text(mailbox_lines(**{key: value}))
    where = "mailboxes[0]" if key == "name" else WHERE
    (problem,) = problems(text)
    assert problem.startswith(f"config.yaml:{line_of(text, key + ':')}: {where} key '{key}': {message}")


def test_the_documented_example() -> None:
    text = config_text(mailbox_lines(), mailbox_lines(name="billing", username="b", security="tls"))
    assert problems(text) == [
        "config.yaml:14: mailboxes[1] (billing) key 'security': must be one of ssl, starttls, none, got 'tls'"
    ]


@pytest.mark.parametrize("key", ["protocol", "host", "username", "address"])
def test_missing_required_key_is_reported_on_the_mailbox_line(key: str) -> None:
    text = "settings: {}\n" + config_text(mailbox_lines(**{key: None}))
    assert problems(text) == [f"config.yaml:3: {WHERE} key '{key}': is required"]


def test_missing_name() -> None:
    assert problems(config_text(mailbox_lines(name=None))) == [
        "config.yaml:2: mailboxes[0] key 'name': is required"
    ]


def test_required_key_without_value() -> None:
    text = config_text(mailbox_lines(host="~"))
    assert problems(text) == [f"config.yaml:4: {WHERE} key 'host': must be text, got nothing"]


def test_password_rules() -> None:
    neither = config_text(mailbox_lines(password=None))
    assert problems(neither) == [
        f"config.yaml:2: {WHERE} key 'password': is required: give password or password_env "
        "(or set enabled: false)"
    ]
    both = config_text(mailbox_lines(password_env="SUPPORT_PASSWORD"))
    assert problems(both) == [
        f"config.yaml:8: {WHERE} key 'password_env': give either password or password_env, not both"
    ]
    both_disabled = config_text(mailbox_lines(password_env="P", enabled="false"))
    assert "not both" in problems(both_disabled)[0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("$SUPPORT_PASSWORD", "give the variable's name without '$', got '$SUPPORT_PASSWORD'"),
        ("'${SUPPORT_PASSWORD}'", "give the variable's name without '$'"),
        ("1PASSWORD", "must be an environment variable name (letters, digits and '_'), got '1PASSWORD'"),
        ("'MY PASSWORD'", "must be an environment variable name"),
        ("MY-PASSWORD", "must be an environment variable name"),
    ],
)
def test_password_env_must_be_a_variable_name(value: str, message: str) -> None:
    text = config_text(mailbox_lines(password=None, password_env=value))
    (problem,) = problems(text)
    assert problem.startswith(f"config.yaml:7: {WHERE} key 'password_env': {message}")


def test_password_env_is_not_read_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    (box,) = load(config_text(mailbox_lines(password=None, password_env="NOT_SET_ANYWHERE"))).mailboxes
    assert box.password_env == "NOT_SET_ANYWHERE"


@pytest.mark.parametrize("key", ["verify", "verify_ssl", "insecure", "tls_verify", "check_hostname"])
def test_switching_verification_off_is_refused_with_an_explanation(key: str) -> None:
    (problem,) = problems(config_text(mailbox_lines(**{key: "false"})))
    assert problem == (
        f"config.yaml:8: {WHERE} key '{key}': certificate verification can't be switched off; for a server "
        "with a self-signed certificate, set ca_file to the path of the CA certificate (PEM) that signed it"
    )


@pytest.mark.parametrize(
    ("key", "guess"),
    [("hots", "host"), ("Port", "port"), ("user", "username"), ("server", "host"), ("intervall", "interval")],
)
def test_unknown_key_suggests_the_closest(key: str, guess: str) -> None:
    text = config_text(mailbox_lines(**{key: "x"}))
    assert problems(text) == [f"config.yaml:8: {WHERE} key '{key}': unknown key; did you mean '{guess}'?"]


def test_unknown_key_without_a_close_one_lists_the_keys() -> None:
    (problem,) = problems(config_text(mailbox_lines(colour="blue")))
    assert problem.startswith(
        f"config.yaml:8: {WHERE} key 'colour': unknown key (known keys: name, protocol,"
    )


def test_unknown_top_level_and_settings_keys() -> None:
    text = "setings: {}\nsettings:\n  reference_formt: x\nmailbox: []\nmailboxes: []\n"
    assert problems(text) == [
        "config.yaml:1: key 'setings': unknown key; did you mean 'settings'?",
        "config.yaml:3: settings key 'reference_formt': unknown key; did you mean 'reference_format'?",
        "config.yaml:4: key 'mailbox': unknown key; did you mean 'mailboxes'?",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("'#'", "must contain {number} exactly once, got '#'"),
        ("'{number}-{number}'", "must contain {number} exactly once"),
        ("'{number}'", "needs text around {number}"),
        ("[x]", "must be text, got a list"),
    ],
)
def test_reference_format(value: str, message: str) -> None:
    text = f"settings:\n  reference_format: {value}\nmailboxes: []\n"
    (problem,) = problems(text)
    assert problem.startswith(f"config.yaml:2: settings key 'reference_format': {message}")


def test_structure_errors() -> None:
    assert problems("- a\n- b\n") == [
        "config.yaml:1: the file must be a mapping (settings:, mailboxes:), got a list"
    ]
    assert problems("settings: {}\n") == [
        "config.yaml:1: key 'mailboxes': is required (write 'mailboxes: []' to disable every mailbox)"
    ]
    assert problems("mailboxes: {name: x}\n") == [
        "config.yaml:1: key 'mailboxes': must be a list of mailboxes (- name: ...), got a mapping"
    ]
    assert problems("mailboxes:\n  - support\n") == [
        "config.yaml:2: mailboxes[0]: must be a mapping of keys (name: ..., host: ...), got text"
    ]
    assert problems("settings: 3\nmailboxes: []\n") == [
        "config.yaml:1: key 'settings': must be a mapping of keys, got a number"
    ]
    assert problems("# nothing yet\n") == ["config.yaml: the file is empty; it needs at least 'mailboxes:'"]


def test_duplicate_keys_are_errors() -> None:
    text = config_text([*mailbox_lines(port=993), "    port: 995"], head="settings: {}\nsettings: {}\n")
    assert problems(text) == [
        "config.yaml:2: key 'settings': duplicate key (first given on line 1)",
        f"config.yaml:11: {WHERE} key 'port': duplicate key (first given on line 10)",
    ]


def test_duplicate_names() -> None:
    text = config_text(mailbox_lines(), mailbox_lines(username="other"))
    assert problems(text) == [
        "config.yaml:8: mailboxes[1] (support) key 'name': "
        f"name 'support' is already used by {WHERE} on line 2"
    ]


def test_two_mailboxes_may_not_read_one_account_and_folder() -> None:
    second = mailbox_lines(name="sales", host="MAIL.Example.com", port=993, address="sales@example.com")
    assert problems(config_text(mailbox_lines(), second)) == [
        "config.yaml:8: mailboxes[1] (sales): reads the same account and folder as mailboxes[0] (support) on "
        "line 2 (host mail.example.com, port 993, username support@example.com, folder INBOX); two mailboxes "
        "would take each other's mail"
    ]


def test_account_is_protocol_independent() -> None:
    second = mailbox_lines(name="pop", protocol="pop3", port=993, enabled="false")
    assert (
        "reads the same account and folder as mailboxes[0] (support)"
        in problems(config_text(mailbox_lines(), second))[0]
    )


@pytest.mark.parametrize(
    "change", [{"folder": "Sales"}, {"username": "sales"}, {"port": 143, "security": "starttls"}]
)
def test_another_folder_user_or_port_is_another_account(change: dict[str, object]) -> None:
    second = mailbox_lines(name="sales", **change)
    assert len(load(config_text(mailbox_lines(), second)).mailboxes) == 2


def test_pop3_rules() -> None:
    text = config_text(
        mailbox_lines(protocol="pop3", folder="Archive", after_import="move:Done", on_failure="move:Failed")
    )
    assert problems(text) == [
        f"config.yaml:8: {WHERE} key 'folder': pop3 reads only INBOX (folders are for imap), got 'Archive'",
        f"config.yaml:9: {WHERE} key 'after_import': pop3 can't move messages (it has no folders): use one "
        "of delete, keep, mark_seen",
        f"config.yaml:10: {WHERE} key 'on_failure': pop3 can't move messages (it has no folders): use keep",
    ]


@pytest.mark.parametrize("action", ["delete", "keep", "mark_seen"])
def test_pop3_accepts_delete_keep_and_mark_seen(action: str) -> None:
    (box,) = load(config_text(mailbox_lines(protocol="pop3", folder="Inbox", after_import=action))).mailboxes
    assert (box.after_import, box.folder, box.port) == (action, "INBOX", 995)


def test_moving_into_the_folder_being_read_is_refused() -> None:
    (problem,) = problems(config_text(mailbox_lines(folder="Jobs", on_failure="move:Jobs")))
    assert problem == (
        f"config.yaml:9: {WHERE} key 'on_failure': moves messages into 'Jobs', the folder being read: they "
        "would be read again"
    )


def test_yaml_syntax_error_gives_line_and_column() -> None:
    text = "mailboxes:\n  - name: support\n    host: a: b\n"
    (problem,) = problems(text)
    assert problem == (
        "config.yaml:3:12: YAML syntax error: mapping values are not allowed here; "
        "quote a value that contains ': ' (like 'move: Archive')"
    )


def test_yaml_syntax_error_with_context_and_tabs() -> None:
    (problem,) = problems("mailboxes:\n  - name: 'support\n")
    assert problem.startswith("config.yaml:3:1: YAML syntax error: found unexpected end of stream")
    assert "(while scanning a quoted scalar on line 2)" in problem
    (problem,) = problems("mailboxes:\n\t- name: x\n")
    assert problem.startswith("config.yaml:2:1: YAML syntax error:")
    assert problem.endswith("; indent with spaces, not tabs")


def test_every_problem_in_the_file_is_reported_at_once() -> None:
    text = "settings:\n  reference_format: '#'\n" + config_text(
        mailbox_lines(security="tls", interval=1, hots="x"),
        mailbox_lines(name="support", protocol="pop3", folder="Other"),
        mailbox_lines(name="ok", username="ok"),
        mailbox_lines(name="nopass", username="n", password=None, address="nope"),
    )
    with pytest.raises(ConfigFileError) as info:
        load(text)
    lines = str(info.value).splitlines()
    assert lines == info.value.problems
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"config.yaml:{n}" for n in (2, 10, 11, 12, 13, 19, 26, 30)
    ]
    assert "mailboxes[0] (support) key 'hots': unknown key" in lines[3]
    assert "mailboxes[1] (support) key 'name': name 'support' is already used" in lines[4]
    assert "mailboxes[1] (support) key 'folder': pop3 reads only INBOX" in lines[5]
    assert "mailboxes[3] (nopass) key 'password': is required" in lines[6]
    assert "mailboxes[3] (nopass) key 'address': must be an email address" in lines[7]
    assert isinstance(info.value, ConfigError)


def test_one_mistake_is_one_problem() -> None:
    """An invalid protocol doesn't also report pop3 rules, a missing port or a shared account."""
    text = config_text(mailbox_lines(protocol="pop", folder="X"), mailbox_lines(name="b", protocol="pop"))
    assert [p.split("key ")[1][:12] for p in problems(text)] == ["'protocol': ", "'protocol': "]


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("    password: ********", "quote a value that starts with '*' (like password: '********')"),
        ("    password: & secret", "quote a value that starts with '&'"),
        ("    password: @home", "quote a value that starts with a special character like '@', '`' or '%'"),
    ],
)
def test_yaml_syntax_errors_hint_at_quoting(line: str, hint: str) -> None:
    (problem,) = problems(f"mailboxes:\n  - name: support\n{line}\n")
    assert problem.startswith("config.yaml:3:")
    assert problem.endswith(hint)


def test_unreadable_extra_section_is_one_line() -> None:
    assert problems("teams: &t [*t]\nmailboxes: []\n") == [
        "config.yaml:1: teams[0]: must be a mapping (name: ..., members: [...]), got a list"
    ]


def test_keys_must_be_words_and_merges_mappings() -> None:
    assert problems("[a]: y\nmailboxes:\n  - <<: 5\n    name: a\n    enabled: false\n") == [
        "config.yaml:1: a key must be a plain word, got a list",
        "config.yaml:3: mailboxes[0] (a) key '<<': can only merge a mapping (an &anchor of one)",
        *[f"config.yaml:3: mailboxes[0] (a) key '{key}': is required" for key in ("protocol", "host")],
        *[f"config.yaml:3: mailboxes[0] (a) key '{key}': is required" for key in ("username", "address")],
    ]
