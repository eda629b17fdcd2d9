"""Property test: any valid configuration dumps to YAML that loads back equal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mailboxes.config_file import (
    KEEP_STORED,
    RECORD_KINDS,
    SECURITIES,
    AccountConfig,
    ConfigFile,
    MailboxConfig,
    Settings,
    UserConfig,
    dump_config,
    load_config_text,
)

_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20)
_WORD = st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)
_HOST = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True)
_ADDRESS = st.from_regex(r"[a-z0-9._%+-]{1,10}@[a-z0-9]{1,10}(\.[a-z]{2,5}){0,2}", fullmatch=True)
_ENV = st.from_regex(r"[A-Z_][A-Z0-9_]{0,15}", fullmatch=True)


def _inbox(folder: str) -> str:
    return "INBOX" if folder.upper() == "INBOX" else folder


_FOLDER = _TEXT.map(_inbox)
_MOVE_TARGET = _TEXT.map(str.strip).filter(bool).map(_inbox)


@st.composite
def mailboxes(draw: st.DrawFn) -> MailboxConfig:
    protocol = draw(st.sampled_from(("imap", "pop3")))
    folder = draw(_FOLDER) if protocol == "imap" else "INBOX"
    moves = [] if protocol == "pop3" else [f"move:{t}" for t in [draw(_MOVE_TARGET)] if t != folder]
    secret = draw(st.sampled_from(["none", "keep", "env"]))
    return MailboxConfig(
        name=draw(_WORD),
        protocol=protocol,
        host=draw(_HOST),
        port=draw(st.integers(1, 65535)),
        security=draw(st.sampled_from(SECURITIES)),
        username=draw(_TEXT),
        password=KEEP_STORED if secret == "keep" else None,
        password_env=draw(_ENV) if secret == "env" else None,
        ca_file=draw(st.none() | _TEXT),
        folder=folder,
        address=draw(_ADDRESS),
        record_kind=draw(st.sampled_from(RECORD_KINDS)),
        after_import=draw(st.sampled_from(["delete", "keep", "mark_seen", *moves])),
        on_failure=draw(st.sampled_from(["keep", *moves])),
        interval=draw(st.integers(10, 604800)),
        enabled=secret != "none" and draw(st.booleans()),
        backfill=draw(st.sampled_from(["all", "none"]) | st.integers(1, 36500)),
        subject_reference_from_anyone=draw(st.booleans()),
    )


def _account(m: MailboxConfig) -> tuple[str, int, str, str]:
    return (m.host.lower(), m.port, m.username, m.folder)


_FORMAT = st.tuples(_TEXT, st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=5)).filter(
    lambda t: "{number}" not in "".join(t)
)
_SETTINGS = st.builds(
    Settings,
    reference_format=_FORMAT.map(lambda t: t[0] + "{number}" + t[1]).filter(
        lambda f: f.replace("{number}", "").strip() and "{number}" not in f.replace("{number}", "", 1)
    ),
)
_USERS = st.lists(
    st.builds(UserConfig, name=_TEXT, email=_ADDRESS), max_size=3, unique_by=lambda u: u.name
).map(tuple)
_ACCOUNTS = st.lists(
    st.builds(AccountConfig, name=_TEXT, domains=st.lists(_HOST, max_size=2, unique=True).map(tuple)),
    max_size=3,
    unique_by=lambda a: a.name,
).filter(
    lambda accounts: len({d for a in accounts for d in a.domains}) == sum(len(a.domains) for a in accounts)
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(mailboxes(), max_size=5, unique_by=(lambda m: m.name, _account)),
    _SETTINGS,
    _ACCOUNTS,
    _USERS,
)
def test_dump_then_load_gives_the_same_configuration(
    boxes: list[MailboxConfig],
    config_settings: Settings,
    accounts: list[AccountConfig],
    users: tuple[UserConfig, ...],
) -> None:
    config = ConfigFile(
        mailboxes=tuple(boxes), settings=config_settings, accounts=tuple(accounts), users=users
    )
    text = dump_config(config)
    assert load_config_text(text, "dumped.yaml") == config
