"""RFC 2047 encoded words (=?charset?B|Q?...?=) to text, including the broken forms mailers send."""

from __future__ import annotations

import binascii
import re

from postroom.mail import charsets

# Tolerant on purpose: spaces inside a Q word, an empty charset and words glued to text all occur.
_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?(.*?)\?=", re.S)
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def decode_words(value: str, defects: list[str] | None = None) -> str:
    """Decode every encoded word in ``value``.

    Adjacent words in the same charset are joined as bytes before decoding, so a multi-byte character
    split across two words comes out whole; whitespace between two encoded words is dropped (RFC 2047).
    """
    if "=?" not in value:
        return value
    pieces: list[str | tuple[str, bytearray]] = []
    pos = 0
    for match in _WORD.finditer(value):
        between = value[pos : match.start()]
        last = pieces[-1] if pieces else None
        if between and not (isinstance(last, tuple) and between.isspace()):
            pieces.append(between)
            last = None
        label, data = _word_bytes(match)
        if isinstance(last, tuple) and last[0] == label:
            last[1].extend(data)
        else:
            pieces.append((label, bytearray(data)))
        pos = match.end()
    if pos == 0:
        return value
    pieces.append(value[pos:])
    return "".join(p if isinstance(p, str) else _text(p[0], bytes(p[1]), defects) for p in pieces)


def _word_bytes(match: re.Match[str]) -> tuple[str, bytes]:
    label = match.group(1).split("*", 1)[0].lower()  # RFC 2231 adds *language to the charset
    text = match.group(3).encode("utf-8", "surrogateescape")
    if match.group(2) in "qQ":
        return label, binascii.a2b_qp(text, header=True)
    text = _B64_JUNK.sub(b"", text)
    if len(text) % 4 == 1:
        text = text[:-1]
    try:
        return label, binascii.a2b_base64(text + b"=" * (-len(text) % 4))
    except binascii.Error:
        return label, b""


def _text(label: str, data: bytes, defects: list[str] | None) -> str:
    return charsets.decode(data, label or None, defects)
