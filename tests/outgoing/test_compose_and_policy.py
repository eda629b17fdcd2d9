"""Composing outgoing mail and deciding whether an auto-reply may go: pure, no servers."""

from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postroom.mail.parse import parse_message
from postroom.outgoing.compose import (
    Outgoing,
    fill_template,
    make_message_id,
    record_of_message_id,
    reply_subject,
    thread_references,
)
from postroom.outgoing.policy import auto_reply_refusal, is_robot_address
from tests.support.builders import mail

SECRET = "test-secret"


def test_our_message_ids_name_their_record_and_cannot_be_forged() -> None:
    mid = make_message_id(1042, "desk.example.com", SECRET)
    assert mid.endswith("@desk.example.com") and record_of_message_id(mid, SECRET) == 1042
    assert record_of_message_id(mid, "another installation") is None
    forged = mid.replace("pr-1042-", "pr-1043-", 1)
    assert record_of_message_id(forged, SECRET) is None
    assert record_of_message_id("CAK1234@mail.gmail.com", SECRET) is None
    assert make_message_id(1042, "desk.example.com", SECRET) != mid  # each one is new


@given(st.integers(min_value=1, max_value=10**15))
def test_every_record_number_round_trips_through_its_message_id(number: int) -> None:
    assert record_of_message_id(make_message_id(number, "d.test", SECRET), SECRET) == number


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Boiler broken", "Re: [#7] Boiler broken"),
        ("Re: [#7] Boiler broken", "Re: [#7] Boiler broken"),
        ("AW: RE: Boiler broken [#7]", "Re: [#7] Boiler broken"),
        ("", "Re: [#7]"),
    ],
)
def test_reply_subject_has_one_re_and_the_reference_once(subject: str, expected: str) -> None:
    assert reply_subject(subject, "[#7]") == expected


def test_references_keep_the_root_the_latest_and_our_own_id_last() -> None:
    chain = tuple(f"m{i}@x" for i in range(40))
    refs = thread_references("parent@x", chain, "ours@desk")
    assert refs[0] == "m0@x" and refs[-2:] == ("parent@x", "ours@desk") and len(refs) == 21


def test_templates_fill_known_placeholders_and_leave_other_braces_alone() -> None:
    text = fill_template("Hi {requester}, {reference} {unknown} {", {"requester": "Ann", "reference": "[#1]"})
    assert text == "Hi Ann, [#1] {unknown} {"


def test_an_automatic_mail_carries_rfc_3834_headers_and_parses_back() -> None:
    out = Outgoing(
        from_address="desk@desk.test", from_name="Desk, Plumbing", to=("ann@x.test",),
        subject="Re: [#1] Ünïcode",
        text="Grüße\n", message_id="pr-1-x@desk.test", in_reply_to="a@x.test", references=("a@x.test",),
        auto_submitted="auto-replied",
    )  # fmt: skip
    raw = out.render()
    parsed = parse_message(raw)
    assert parsed.auto_submitted and parsed.subject == "Re: [#1] Ünïcode" and parsed.text.strip() == "Grüße"
    assert parsed.from_ is not None and parsed.from_.name == "Desk, Plumbing"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["X-Auto-Response-Suppress"] == "All" and msg["In-Reply-To"] == "<a@x.test>"


def _parsed(sender: str, extra: bytes = b"") -> object:
    raw = mail("Hello", sender=sender)
    return parse_message(raw.replace(b"Subject:", extra + b"Subject:", 1) if extra else raw)


@pytest.mark.parametrize(
    ("sender", "extra", "why"),
    [
        ("ann@x.test", b"Auto-Submitted: auto-replied\r\n", "automatic mail"),
        ("ann@x.test", b"Precedence: list\r\n", "automatic mail"),
        ("ann@x.test", b"List-Id: <news.x.test>\r\n", "automatic mail"),
        ("MAILER-DAEMON@x.test", b"", "robot"),
        ("no-reply@x.test", b"", "robot"),
        ("notifications-noreply@x.test", b"", "robot"),
        ("desk@desk.test", b"", "our own"),
    ],
)
def test_no_auto_reply_to_automatic_mail_robots_or_ourselves(sender: str, extra: bytes, why: str) -> None:
    refusal = auto_reply_refusal(_parsed(sender, extra), frozenset({"desk@desk.test"}), 0, 5)  # type: ignore[arg-type]
    assert refusal is not None and why in refusal


def test_auto_submitted_no_is_a_person_and_the_hourly_limit_holds() -> None:
    person = _parsed("ann@x.test", b"Auto-Submitted: no\r\n")
    assert auto_reply_refusal(person, frozenset(), 4, 5) is None  # type: ignore[arg-type]
    refusal = auto_reply_refusal(person, frozenset(), 5, 5)  # type: ignore[arg-type]
    assert refusal is not None and "limit 5" in refusal
    assert not is_robot_address("noreen@x.test") and not is_robot_address("rooted@x.test")


def test_notification_recipients_leave_out_the_actor_and_who_had_the_mail() -> None:
    from postroom.outgoing.notify import Event, recipients

    followers = ["Dana@desk.test", "max@desk.test", "eve@desk.test", ""]
    event = Event(1, "new_message", "dana@desk.test", "from Dana", already_have=frozenset({"MAX@desk.test"}))
    assert recipients(event, followers, ()) == ["eve@desk.test"]  # no team events given: every event
    assert recipients(event, followers, ("status_change",)) == []
    status = Event(1, "status_change", "", "open -> closed")
    assert recipients(status, followers, ("status_change",)) == [
        "dana@desk.test",
        "eve@desk.test",
        "max@desk.test",
    ]
