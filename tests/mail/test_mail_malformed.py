"""Broken input: not-a-mail raises ParseError; broken MIME is read best-effort with defects noted."""

from __future__ import annotations

import pytest

from postroom.core.errors import ParseError
from postroom.mail.mime import MAX_DEPTH, MAX_PARTS
from postroom.mail.parse import parse_message
from tests.mail.builders import Entity, attachment, message, multipart, text


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n\r\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8,
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    ],
)
def test_not_a_mail_raises_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse_message(raw)


def test_headers_only_mail_has_empty_body() -> None:
    msg = parse_message(b"From: a@b.test\r\nSubject: only headers\r\n")
    assert msg.subject == "only headers" and msg.text == ""


def test_missing_end_boundary() -> None:
    raw = message(multipart("mixed", text("Body text\n"), attachment(b"data", filename="a.bin"), close=False))
    msg = parse_message(raw)
    assert msg.text == "Body text\n"
    assert [(a.filename, a.data) for a in msg.attachments] == [("a.bin", b"data")]
    assert "missing end boundary" in msg.defects


def test_wrong_boundary_is_found_from_the_body() -> None:
    raw = message(
        multipart(
            "mixed",
            text("Body text\n"),
            attachment(b"data", filename="a.bin"),
            boundary="real-boundary-123",
            declared_boundary="announced-boundary",
        )
    )
    msg = parse_message(raw)
    assert msg.text == "Body text\n" and [a.filename for a in msg.attachments] == ["a.bin"]
    assert "boundary not found in the body" in msg.defects


def test_multipart_without_boundary_parameter() -> None:
    root = multipart("mixed", text("Body text\n"), boundary="guessable-boundary")
    root.headers = [("Content-Type", "multipart/mixed")]
    msg = parse_message(message(root))
    assert msg.text == "Body text\n"
    assert "multipart without a boundary" in msg.defects


def test_multipart_whose_boundary_never_occurs_is_read_as_text() -> None:
    root = Entity([("Content-Type", 'multipart/mixed; boundary="nowhere"')], b"Just some text.\n")
    msg = parse_message(message(root))
    assert msg.text == "Just some text.\n" and msg.attachments == ()


def test_bad_content_type_defaults_to_text() -> None:
    msg = parse_message(message(Entity([("Content-Type", "garbage")], b"Hello\n")))
    assert msg.text == "Hello\n"
    assert "bad Content-Type 'garbage': read as text/plain" in msg.defects


def test_unknown_transfer_encoding_is_kept_as_is() -> None:
    msg = parse_message(message(text("Hello\n", encoding="x-strange")))
    assert msg.text == "Hello\n"
    assert "unknown Content-Transfer-Encoding 'x-strange': kept as is" in msg.defects


def test_part_without_headers_is_text() -> None:
    root = Entity(
        [("Content-Type", 'multipart/mixed; boundary="b"')], b"--b\nBody without part headers\n--b--\n"
    )
    assert parse_message(message(root)).text == "Body without part headers"


def test_deep_nesting_stops_at_the_limit() -> None:
    part = text("deep")
    for _ in range(MAX_DEPTH + 10):
        part = multipart("mixed", part)
    msg = parse_message(message(part))
    assert "MIME nested too deep or too many parts: rest kept as text" in msg.defects
    assert "deep" in msg.text


def test_boundary_that_prefixes_an_inner_boundary() -> None:
    inner = multipart("alternative", text("plain"), text("<p>html</p>", "html"), boundary="outer-1")
    msg = parse_message(
        message(multipart("mixed", inner, attachment(b"z", filename="z.bin"), boundary="outer"))
    )
    assert msg.text == "plain" and msg.html == "<p>html</p>"
    assert [a.filename for a in msg.attachments] == ["z.bin"]


def test_inner_boundary_that_extends_the_outer_closing_one() -> None:
    inner = multipart("alternative", text("plain"), text("<p>html</p>", "html"), boundary="b--inner")
    msg = parse_message(message(multipart("mixed", inner, attachment(b"z", filename="z.bin"), boundary="b")))
    assert (msg.text, msg.html) == ("plain", "<p>html</p>")
    assert [a.filename for a in msg.attachments] == ["z.bin"]


def test_thousands_of_parts_are_capped_without_losing_the_rest() -> None:
    parts = [attachment(b"x", filename=f"f{i}.bin", encoding="7bit") for i in range(MAX_PARTS + 500)]
    msg = parse_message(message(multipart("mixed", text("Body"), *parts)))
    assert "MIME nested too deep or too many parts: rest kept as text" in msg.defects
    assert len(msg.attachments) == MAX_PARTS - 1  # the root and the body part count too
    assert b"f2499.bin" in msg.attachments[-1].data  # the remainder is kept in the last part
