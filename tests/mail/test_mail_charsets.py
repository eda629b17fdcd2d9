"""Charsets: declared ones decode right, the usual mislabels are mended, headers decode the broken forms."""

from __future__ import annotations

import base64

import pytest

from postroom.mail.parse import parse_message
from tests.mail.builders import message, text

SAMPLES = {
    "ISO-2022-JP": "日本語のメールです。①",
    "Shift_JIS": "お世話になっております。",
    "EUC-JP": "日本語",
    "GB2312": "中文邮件，谢谢",  # noqa: RUF001
    "GBK": "中文郵件 镕",  # 镕 is GBK-only: a GB2312 label on GBK text must still work
    "Big5": "繁體中文郵件",
    "KOI8-R": "Привет, как дела?",
    "windows-1251": "Сергей",
    "ISO-8859-15": "Preis: 5 €",
    "ISO-8859-2": "Příliš žluťoučký kůň",
    "UTF-8": "Grüße — ✓",
    "UTF-16": "UTF-16 Grüße",
}


@pytest.mark.parametrize("charset", sorted(SAMPLES))
def test_declared_charsets_decode(charset: str) -> None:
    body = SAMPLES[charset]
    codec = {"ISO-2022-JP": "iso2022_jp_2004", "GBK": "gbk"}.get(charset, charset)
    data = body.encode(codec)
    if charset == "ISO-2022-JP":  # Windows writes the circled digit in plain JIS X 0208 escapes (CP50220)
        data = data.replace(b"\x1b$(Q", b"\x1b$B")
    label = "GB2312" if charset == "GBK" else charset
    msg = parse_message(message(text(data, charset=label, encoding="base64")))
    assert msg.text == body


def test_latin1_label_with_windows_1252_bytes() -> None:
    data = "“Quoted” – 10 €".encode("cp1252")  # noqa: RUF001
    msg = parse_message(message(text(data, charset="iso-8859-1")))
    assert msg.text == "“Quoted” – 10 €"  # noqa: RUF001
    assert "declared iso-8859-1 but is Windows-1252" in msg.defects


def test_latin1_label_on_plain_latin1_stays_latin1() -> None:
    msg = parse_message(message(text("Grüße, Señor".encode("latin-1"), charset="latin-1")))
    assert msg.text == "Grüße, Señor" and msg.defects == ()


def test_us_ascii_label_with_8bit_bytes() -> None:
    assert parse_message(message(text("café".encode(), charset="us-ascii"))).text == "café"
    assert parse_message(message(text("café".encode("cp1252"), charset="us-ascii"))).text == "café"


@pytest.mark.parametrize(
    ("data", "wanted"), [("Grüße".encode(), "Grüße"), ("Grüße".encode("cp1252"), "Grüße")]
)
def test_missing_charset_guesses_utf8_then_windows_1252(data: bytes, wanted: str) -> None:
    assert parse_message(message(text(data, charset=None))).text == wanted


def test_unknown_charset_is_read_as_utf8_with_a_note() -> None:
    msg = parse_message(message(text("Grüße".encode(), charset="x-klingon")))
    assert msg.text == "Grüße"
    assert "unknown charset 'x-klingon': read as UTF-8" in msg.defects


def test_python_alias_charset_names_work() -> None:
    assert parse_message(message(text("Grüße".encode("latin-1"), charset="l1"))).text == "Grüße"
    assert parse_message(message(text("Grüße".encode("cp1252"), charset="cp-1252"))).text == "Grüße"


def test_invalid_utf8_bytes_are_read_as_windows_1252_not_lost() -> None:
    data = "Grüße ".encode() + "und Grüße".encode("cp1252")
    msg = parse_message(message(text(data, charset="utf-8")))
    assert msg.text == "Grüße und Grüße"
    assert "invalid UTF-8 bytes read as Windows-1252" in msg.defects


def test_codecs_that_are_not_text_encodings_are_not_used() -> None:
    msg = parse_message(message(text(b"aGVsbG8=", charset="base64")))
    assert msg.text == "aGVsbG8="


def _subject(raw_subject: bytes) -> str:
    return parse_message(message(subject=raw_subject)).subject


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [
        (b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?Q?M=FCnchen?=", "Grüße aus München"),
        (b"=?UTF-8?B?5pel5pys6Kqe?= =?UTF-8?B?44Gu5Lu25ZCN?=", "日本語の件名"),  # adjacent words join
        (b"=?utf-8?B?5pel5pys?= =?utf-8?B?6Kqe?=", "日本語"),  # split in the middle of a character
        (b"=?utf-8?q?=E6=97?= =?utf-8?q?=A5?=", "日"),  # Q words split mid-character
        (b"=?utf-8?B?R3LDvMOfZQ?=", "Grüße"),  # missing base64 padding
        (b"=??Q?caf=C3=A9?=", "café"),  # missing charset
        (b"=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),  # RFC 2231 language suffix
        (b"Re:=?utf-8?q?_Gr=C3=BC=C3=9Fe?=", "Re: Grüße"),  # glued to text
        ("Grüße raw".encode(), "Grüße raw"),  # raw 8-bit UTF-8
        ("Grüße raw".encode("latin-1"), "Grüße raw"),  # raw Latin-1
        (b"=?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=", "日本語"),
        (b"=?koi8-r?B?8NLJ18XU?=", "Привет"),
        (b"plain  subject  ", "plain  subject"),
    ],
)
def test_subject_decoding(raw: bytes, wanted: str) -> None:
    assert _subject(raw) == wanted


def test_raw_8bit_header_uses_the_charset_the_mail_declares() -> None:
    """Raw GBK in Subject (not valid UTF-8): the mail's declared gb2312 reads it (zammad mail046)."""
    subject = "转发：整体提升企业服务水平"  # noqa: RUF001
    raw = message(text("正文".encode("gbk"), charset="gb2312"), subject=subject.encode("gbk"))
    assert parse_message(raw).subject == subject


def test_encoded_word_labelled_iso_2022_jp_holding_shift_jis() -> None:
    word = base64.b64encode("ツール".encode("cp932")).decode()
    assert _subject(f"=?ISO-2022-JP?B?{word}?=".encode()) == "ツール"
