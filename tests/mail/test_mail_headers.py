"""Header fields: addresses, ids, dates, delivered-to, the headers dict, missing headers, body hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from postroom.mail.message import Address
from postroom.mail.parse import parse_message
from tests.mail.builders import message, text


def test_addresses_names_and_lists() -> None:
    raw = message(
        sender='"Müller, Bernd" <Bernd.Mueller@Example.COM>',
        to="Charlie Brown <charlie@example.com>, dave@example.com, undisclosed-recipients:;",
        headers=[
            ("Cc", "=?iso-8859-1?Q?B=FCrling,=20Andreas?= <smith@example.com>, x@y.test (Comment, here)"),
            ("Reply-To", "alice@example.com <bob@example.com>"),
        ],
    )
    msg = parse_message(raw)
    assert msg.from_ == Address("Müller, Bernd", "bernd.mueller@example.com")
    assert msg.to == (Address("Charlie Brown", "charlie@example.com"), Address("", "dave@example.com"))
    assert msg.cc == (Address("Bürling, Andreas", "smith@example.com"), Address("Comment, here", "x@y.test"))
    assert msg.reply_to == (Address("alice@example.com", "bob@example.com"),)


def test_from_without_usable_address_keeps_its_name() -> None:
    assert parse_message(message(sender="MAILER-DAEMON (Mail Delivery System)")).from_ == Address(
        "Mail Delivery System", ""
    )
    # Two From fields, the first without an address: the one with an address wins.
    raw = message(sender="[??????]", headers=[("From", "=?utf-8?B?6YO955C5?= <a@b.test>")])
    assert parse_message(raw).from_ == Address("都琹", "a@b.test")


def test_display_name_that_repeats_the_address_is_dropped() -> None:
    raw = message(sender="=?UTF-8?B?bm90aWZpY2FjY2lvbkBiYnZhLm14?=\n\t<notificaccion@bbva.mx>")
    assert parse_message(raw).from_ == Address("", "notificaccion@bbva.mx")


def test_message_ids_and_references() -> None:
    raw = message(
        message_id="<ABC.123@Example.com>",
        headers=[
            ("In-Reply-To", "<first@x> (sent by Bob) <second@x>"),
            ("References", "<root@x>\n <first@x> <root@x>"),
        ],
    )
    msg = parse_message(raw)
    assert msg.message_id == "ABC.123@Example.com"  # ids are case-sensitive: kept as sent
    assert msg.in_reply_to == "first@x"
    assert msg.references == ("root@x", "first@x")


def test_message_id_without_brackets() -> None:
    assert parse_message(message(message_id="20180802145828.58E7@mail.test")).message_id == (
        "20180802145828.58E7@mail.test"
    )


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        (
            "Mon, 02 Nov 2026 09:30:00 +0100",
            datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("Wed,  31 Jul 2020 11:38:04 +0900 (JST)", datetime(2020, 7, 31, 2, 38, 4, tzinfo=UTC)),
        ("Mon, 02 Nov 2026 09:30:00 -0000", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),  # naive -> UTC
        ("2 Nov 2026 09:30:00", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),  # no zone -> UTC
        ("not a date", None),
        ("Mon, 99 Foo 2026 99:99:99 +0100", None),
    ],
)
def test_dates(value: str, wanted: datetime | None) -> None:
    got = parse_message(message(date=value)).date
    assert got == wanted
    assert got is None or got.tzinfo is not None


def test_missing_from_date_message_id_and_subject() -> None:
    msg = parse_message(message(sender=None, date=None, message_id=None, subject=None))
    assert (msg.from_, msg.date, msg.message_id, msg.subject) == (None, None, None, "")
    assert msg.text == "Please help.\n"


def test_delivered_to_collects_the_envelope_headers() -> None:
    raw = message(
        headers=[
            ("Delivered-To", "Support@Desk.test"),
            ("X-Original-To", "<sales@desk.test>"),
            ("Envelope-To", "support@desk.test"),
        ]
    )
    assert parse_message(raw).delivered_to == ("support@desk.test", "sales@desk.test")


def test_headers_dict_is_lower_cased_decoded_and_joins_repeats() -> None:
    raw = message(subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?=", headers=[("Received", "a"), ("Received", "b\n\tc")])
    headers = parse_message(raw).headers
    assert headers["subject"] == "Grüße"
    assert headers["received"] == "a\nb\tc"
    assert headers["message-id"] == "<m1@example.com>"


def test_body_sha256_ignores_the_header_block() -> None:
    one = message(headers=[("Received", "from relay1")])
    two = message(headers=[("Received", "from relay2"), ("Delivered-To", "x@y.test")])
    first, second = parse_message(one), parse_message(two)
    assert first.body_sha256 == second.body_sha256
    assert first.body_sha256 == hashlib.sha256(one.split(b"\r\n\r\n", 1)[1]).hexdigest()
    assert first.body_sha256 != parse_message(message(text("Other text.\n"))).body_sha256


def test_header_continuation_without_indent_is_folded_back() -> None:
    """zammad mail054: an unindented line inside the header block belongs to the field before it."""
    raw = (
        b'From: a@b.test\nSubject: s\nContent-Type: multipart/alternative;\nboundary="XX"\nX-Later: 1\n\n'
        b"--XX\nContent-Type: text/plain\n\nsome text\n--XX--\n"
    )
    msg = parse_message(raw)
    assert msg.text == "some text" and msg.headers["x-later"] == "1"


def test_junk_before_the_headers_is_skipped() -> None:
    raw = (
        b"From someone@x Mon Jan 1 00:00:00 2024\n---- Original message ----\n"
        b"From: a@b.test\nSubject: s\n\nbody\n"
    )
    msg = parse_message(raw)
    assert msg.subject == "s" and msg.text == "body\n"
    assert "text before the first header line ignored" in msg.defects


def test_cr_only_line_endings() -> None:
    raw = message(newline=b"\r").replace(b"\r\n", b"\r")
    msg = parse_message(raw)
    assert msg.subject == "Hello" and msg.text == "Please help.\n"
    assert msg.from_ == Address("Alice Example", "alice@example.com")
