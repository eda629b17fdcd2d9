"""Bytes -> text with the charset a mail declares, mending the mislabels that real mail carries."""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# Names mail software writes that Python does not know, or knows only as a narrower codec: a declared
# GB2312 mail is in practice GBK, Shift_JIS is Windows' cp932, and so on. Decoding with the superset
# gives the same text for correct input and the right text for the common extended characters.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "big5": "cp950",
    "x-big5": "cp950",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "unicode-1-1-utf-7": "utf-7",
    "utf7": "utf-7",
    "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-mac-cyrillic": "mac_cyrillic",
    "ansi_x3.4-1968": "ascii",
    "iso-ir-6": "ascii",
    "cp-850": "cp850",
    "cp-1251": "cp1251",
    "cp-1252": "cp1252",
}
# Labels that say "I don't know": treated like a missing charset, without complaint.
_UNKNOWN_LABELS = {"", "unknown", "unknown-8bit", "x-unknown", "default", "8bit", "x-user-defined", "none"}
# Declared as one of these, bytes 0x80-0x9F are not Latin-1 text but Windows-1252 (quotes, dashes, euro).
_LATIN1_FAMILY = {"iso8859-1", "ascii", "cp1252"}
# Windows' ISO-2022-JP (CP50220) carries NEC/IBM extensions (circled digits ...) in JIS X 0208 escapes;
# JIS X 0213 has them at the same code points, so such text is read by relabelling the escapes.
_JIS_X0213 = "postroom-iso2022-jp-x0213"
# When a CJK codec refuses the bytes, its siblings often take them (ISO-2022-JP labels on Shift_JIS ...).
_FAMILY = {
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext", _JIS_X0213, "cp932", "euc_jp"),
    "euc_jp": ("cp932", "euc_jis_2004"),
    "cp932": ("euc_jp", "shift_jis_2004"),
    "cp949": ("iso2022_kr",),
    "cp950": ("big5hkscs",),
    "gb18030": ("cp950",),
}
# Codecs whose ASCII bytes do not mean ASCII characters: never take the all-ASCII shortcut for them.
_NOT_ASCII_SAFE = re.compile(r"utf-(7|16|32)|hz|iso2022|cp(037|273|424|500|875|1026|1140)")
_C1 = re.compile(rb"[\x80-\x9f]")
_CHARSET_PARAM = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)


def _bad_utf8_as_cp1252(err: UnicodeError) -> tuple[str, int]:
    # Mostly-UTF-8 text with a few Latin bytes pasted in: read those bytes the way their writer meant.
    assert isinstance(err, UnicodeDecodeError)
    return cp1252(err.object[err.start : err.end]), err.end


def _c1_as_latin1(err: UnicodeError) -> tuple[str, int]:
    # The five bytes Windows-1252 leaves undefined (0x81, 0x8D, ...) are C1 controls in browsers too.
    assert isinstance(err, UnicodeDecodeError)
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("postroom-c1", _c1_as_latin1)
codecs.register_error("postroom-utf8-latin", _bad_utf8_as_cp1252)


@lru_cache(maxsize=512)
def codec_for(label: str | None) -> str | None:
    """Python's codec name for a charset label; None for a missing/unknown label (then we guess)."""
    name = (label or "").strip().strip("\"'").strip().lower()
    if name in _UNKNOWN_LABELS:
        return None
    name = _ALIASES.get(name, name)
    for candidate in (name, name.removeprefix("x-"), name.replace("_", "-")):
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        # base64, rot13, zlib ... are codecs too, but not text encodings.
        if getattr(info, "_is_text_encoding", True):
            return _ALIASES.get(info.name, info.name)
    return ""  # a label nobody knows: caller notes it


def cp1252(data: bytes) -> str:
    return data.decode("cp1252", "postroom-c1")


def guess(data: bytes) -> str:
    """No usable charset: UTF-8 where the bytes are UTF-8, Windows-1252 for the bytes that are not."""
    return data.decode("utf-8", "postroom-utf8-latin")


def decode(data: bytes, label: str | None, defects: list[str] | None = None) -> str:
    """Decode body or header bytes declared as ``label``; never raises. Workarounds go to ``defects``."""
    codec = codec_for(label)
    if data.isascii() and (not codec or not _NOT_ASCII_SAFE.match(codec)):
        if codec == "":
            _note(defects, f"unknown charset {label!r}: read as UTF-8")
        return data.decode("ascii")
    if codec is None:
        return guess(data)
    if codec == "":
        _note(defects, f"unknown charset {label!r}: read as UTF-8")
        return guess(data)
    if codec in _LATIN1_FAMILY:
        return _latin_family(data, codec, label, defects)
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    except LookupError:  # pragma: no cover - codec_for only returns names that exist
        return guess(data)
    return _fallback(data, codec, label, defects)


def _latin_family(data: bytes, codec: str, label: str | None, defects: list[str] | None) -> str:
    if codec == "cp1252":
        return cp1252(data)
    if codec == "ascii" or _C1.search(data):
        # 8-bit bytes under a US-ASCII label, or C1 bytes under Latin-1: the label is wrong. Valid UTF-8
        # is almost never an accident, so it wins; otherwise Windows-1252, Latin-1's real-world superset.
        try:
            text = data.decode("utf-8")
            _note(defects, f"declared {label} but is UTF-8")
            return text
        except UnicodeDecodeError:
            _note(defects, f"declared {label} but is Windows-1252")
            return cp1252(data)
    return data.decode("latin-1")


def _fallback(data: bytes, codec: str, label: str | None, defects: list[str] | None) -> str:
    """The declared codec refused the bytes: a sibling codec, then UTF-8, then the codec with U+FFFD."""
    if codec == "utf-8":
        _note(defects, "invalid UTF-8 bytes read as Windows-1252")
        return guess(data)
    for sibling in _FAMILY.get(codec, ()):
        if data.isascii() and not _NOT_ASCII_SAFE.match(sibling.replace("postroom-", "")):
            continue  # an 8-bit codec "fits" any 7-bit text without meaning anything
        try:
            text = _decode_as(data, sibling)
        except UnicodeDecodeError:
            continue
        _note(defects, f"declared {label} but is {sibling}")
        return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _note(defects, f"invalid {label} bytes replaced")
        return data.decode(codec, "replace")
    _note(defects, f"declared {label} but is UTF-8")
    return text


def _decode_as(data: bytes, codec: str) -> str:
    if codec == _JIS_X0213:
        return data.replace(b"\x1b$B", b"\x1b$(Q").replace(b"\x1b$@", b"\x1b$(Q").decode("iso2022_jp_2004")
    return data.decode(codec)


def _note(defects: list[str] | None, text: str) -> None:
    if defects is not None and text not in defects:
        defects.append(text)


def declared_charsets(raw: bytes) -> list[str]:
    """Every charset the mail declares anywhere, multi-byte ones first: hints for raw 8-bit headers."""
    seen: dict[str, None] = {}
    for match in _CHARSET_PARAM.finditer(raw):
        codec = codec_for(match.group(1).decode("ascii"))
        if codec and codec not in {"utf-8", "ascii"}:
            seen.setdefault(codec)
    wide = [c for c in seen if c in _FAMILY or c.startswith(("iso2022", "euc", "cp9", "big5", "gb"))]
    return wide + [c for c in seen if c not in wide]


def decode_header_bytes(data: bytes, hints: list[str]) -> str:
    """Raw 8-bit header bytes (no RFC 2047): UTF-8, else the first declared charset that fits."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for codec in hints:
        if codec in _LATIN1_FAMILY:
            continue  # always "fits": only the fallback below may win with a Latin guess
        for candidate in (codec, *_FAMILY.get(codec, ())):
            try:
                return _decode_as(data, candidate)
            except UnicodeDecodeError:
                continue
    return cp1252(data)
