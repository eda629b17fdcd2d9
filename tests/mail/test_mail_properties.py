"""Property tests: parse_message raises nothing but ParseError, on any bytes and on mutated real mails."""

from __future__ import annotations

from email.charset import QP, Charset
from email.header import Header

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from postroom.core.errors import ParseError
from postroom.mail.message import ParsedMessage
from postroom.mail.parse import parse_message
from tests.mail import corpus
from tests.mail.builders import attached_mail, attachment, message, multipart, text, tnef

SEEDS = [
    message(),
    message(
        multipart(
            "alternative",
            text("Grüße\n", encoding="quoted-printable"),
            text("<p>x<img src='cid:a'></p>", "html"),
        )
    ),
    message(
        multipart(
            "mixed",
            text("Hi"),
            attachment(bytes(range(256)), "image/png", "a.png", content_id="a"),
            attached_mail(message(subject="inner")),
        )
    ),
    message(
        multipart(
            "mixed",
            text(""),
            attachment(tnef([("f.txt", b"x")], body="b"), "application/ms-tnef", "winmail.dat"),
        )
    ),
    message(
        multipart(
            "report", text("failed"), text("Status: 5.1.1", "plain"), params="; report-type=delivery-status"
        ),
        subject="=?utf-8?B?5pel5pys6Kqe?= =?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=",
    ),
]
# Bytes that matter to a MIME parser, so mutations hit the interesting places often.
_SPECIAL = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b"\r",
        b"--",
        b"=?",
        b"?=",
        b":",
        b";",
        b'"',
        b"=",
        b"\x00",
        b"\xff",
        b"boundary=",
        b"Content-Type: multipart/mixed; boundary=x\n",
        b"\n\n",
        b"begin 644 ",
    ]
)


def _check(raw: bytes) -> None:
    try:
        msg = parse_message(raw)
    except ParseError:
        return
    assert isinstance(msg, ParsedMessage)
    msg.as_json()  # every field is plain data
    assert all(a.size == len(a.data) for a in msg.attachments)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
@example(b"")
@example(b"From: a@b\n\n")
@example(b'Content-Type: multipart/mixed; boundary=""\n\n--\n--\n')
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "truncate"]))
        if action == "insert":
            raw[at:at] = draw(st.one_of(_SPECIAL, st.binary(max_size=8)))
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 40))]
        elif action == "flip" and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        elif action == "truncate":
            del raw[at:]
    return bytes(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_mails(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200), st.text(max_size=400))
def test_any_header_text(subject: str, sender: str, body: str) -> None:
    raw = message(
        text(body),
        subject=subject.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogatepass"),
        sender=sender.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogatepass"),
    )
    _check(raw)


_PRINTABLE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=120)


@settings(max_examples=200, deadline=None)
@given(_PRINTABLE, st.sampled_from(["utf-8", "iso-2022-jp", "gb18030"]), st.sampled_from(["b", "q"]))
def test_encoded_subjects_round_trip(subject: str, charset: str, encoding: str) -> None:
    """Whatever the stdlib encodes (folded, split into many encoded words), we decode back."""
    subject = subject.strip()
    assume_encodable = charset == "utf-8" or _encodable(subject, charset)
    if not subject or not assume_encodable:
        return
    folded = Header(subject, Charset(charset) if encoding == "b" else _q_charset(charset)).encode(
        linesep="\r\n"
    )
    assert parse_message(message(subject=folded.encode("ascii"))).subject == subject


def _encodable(value: str, charset: str) -> bool:
    try:
        value.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _q_charset(name: str) -> Charset:
    charset = Charset(name)
    charset.header_encoding = QP
    return charset


CORPUS_SEEDS = corpus.files(
    "zammad/test/data/mail/mail0[0-4]*.box", "flanker/tests/fixtures/messages/bounce/*.eml"
)


@pytest.mark.corpus
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_SEEDS), st.data())
def test_mutated_corpus_mails(relative: str, data: st.DataObject) -> None:
    raw = bytearray(corpus.read(relative))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw)))
        if data.draw(st.booleans()):
            raw[at:at] = data.draw(st.one_of(_SPECIAL, st.binary(max_size=8)))
        else:
            del raw[at : at + data.draw(st.integers(1, 200))]
    _check(bytes(raw))
