"""Structured header fields: addresses, message ids, dates and MIME parameters (RFC 2231 included)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from postroom.mail import charsets
from postroom.mail.encoded_words import decode_words
from postroom.mail.message import Address

_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_BARE_ID = re.compile(r"[^\s<>,;\"']+@[^\s<>,;\"']+")
_PARAM = re.compile(r"""\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*?)\s*(?:;|$)""", re.S)
_QUOTED_PAIR = re.compile(r"\\(.)")
_SECTION = re.compile(r"^(.*?)\*(\d+)(\*?)$|^(.*?)(\*)$")
# Fast path for the usual shapes; anything else goes to the stdlib's full RFC 5322 address parser.
_SIMPLE_ADDRESS = re.compile(
    r"^\s*(?:\"?([^\"<>,;:\\()]*?)\"?\s*<([^<>\s,;\"()]+@[^<>\s,;\"()]+)>|([^<>\s,;\"()]+@[^<>\s,;\"()]+))\s*$"
)
# One entry of an address list: commas inside quotes, comments or angle brackets do not split.
_LIST_ITEM = re.compile(r"""(?:"(?:[^"\\]|\\.)*"?|\([^()]*\)?|<[^<>]*>?|[^,"(<]+|[(<])+""")
_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?.*?\?=")
_HIDDEN = re.compile(r"ewrd(\d+)x")


def addresses(value: str | None) -> tuple[Address, ...]:
    """Every address in an address-list header; entries without a usable address are left out."""
    if not value:
        return ()
    return tuple(Address(name, addr) for name, addr in _pairs(value) if addr)


def sender(values: list[str]) -> Address | None:
    """The From address: the first with a usable address (some mail has two From fields, or a From
    list); a From with no address at all keeps its name (or its text) with address ""."""
    fallback = None
    for value in values:
        pairs = _pairs(value)
        for name, addr in pairs:
            if addr:
                return Address(name, addr)
        if fallback is None and value.strip():
            name = next((n for n, _ in pairs if n), "") or _display_name(value)
            fallback = Address(name, "")
    return fallback


def _pairs(value: str) -> list[tuple[str, str]]:
    """(decoded display name, lower-cased address or "") for each entry of an address list."""
    # Encoded words may hide commas or quotes ("=?..?Q?Doe,_John?="): keep them out of the parsers' way.
    words: list[str] = []

    def hide(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"ewrd{len(words) - 1}x"

    if "=?" in value:
        value = _WORD.sub(hide, value)

    def name_of(raw: str) -> str:
        return _display_name(_HIDDEN.sub(lambda m: words[int(m.group(1))], raw) if words else raw)

    out = []
    for item in _LIST_ITEM.findall(value) if "," in value else [value]:
        simple = _SIMPLE_ADDRESS.match(item)
        if simple is None:
            out += [_named(*_split_glued(name_of(n), a)) for n, a in _parsed(item)]
        elif simple.group(3):
            out.append(("", simple.group(3).lower()))
        else:
            out.append(_named(name_of(simple.group(1) or ""), simple.group(2).lower()))
    return [(n, a) for n, a in out if n or a]


def _parsed(value: str) -> list[tuple[str, str]]:
    """The stdlib's full RFC 5322 parser, for entries with comments, groups or quoted specials."""
    try:
        return getaddresses([value])
    except Exception:  # the stdlib parser has raised on odd input in some versions; fall back to ids
        return [("", found) for found in _BARE_ID.findall(value)]


def _named(name: str, addr: str) -> tuple[str, str]:
    addr = addr.strip().lower() if "@" in addr else ""
    # A display name that only repeats the address says nothing (mail-parser drops it too).
    return ("" if name.lower() == addr else name), addr


def _split_glued(name: str, addr: str) -> tuple[str, str]:
    """``From: Test test@example.com`` (no angle brackets): the word with the @ is the address."""
    if " " not in addr or addr.startswith('"'):
        return name, addr
    words = addr.split()
    at = [w for w in words if "@" in w]
    if len(at) != 1:
        return name, addr
    return name or " ".join(w for w in words if w is not at[0]), at[0].strip("<>")


def _display_name(name: str) -> str:
    name = decode_words(name).strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    return name


def message_ids(value: str | None) -> list[str]:
    """The ids named in Message-ID / In-Reply-To / References, in order, without angle brackets."""
    if not value:
        return []
    found = _ANGLE_ID.findall(value)
    if not found:
        found = _BARE_ID.findall(value) or ([value.strip()] if " " not in value.strip() else [])
    seen: dict[str, None] = {}
    for item in found:
        seen.setdefault(item)
    return list(seen)


def date(value: str | None) -> datetime | None:
    """A timezone-aware date; None when missing or unparseable; a date without a zone is taken as UTC."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def content_value(value: str | None) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; a=b`` (or a disposition) into the lower-cased value and its parameters."""
    if not value:
        return "", {}
    main, _, rest = value.partition(";")
    return main.strip().lower(), params(rest) if rest else {}


def params(text: str, defects: list[str] | None = None) -> dict[str, str]:
    """MIME parameters, with RFC 2231 continuations/charsets joined and RFC 2047 words decoded."""
    plain: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM.finditer(text):
        name, value = match.group(1).lower(), _unquote(match.group(2))
        section = _SECTION.match(name)
        if section is None:
            plain.setdefault(name, value)
        elif section.group(1) is not None:
            sections.setdefault(section.group(1), []).append(
                (int(section.group(2)), bool(section.group(3)), value)
            )
        else:
            sections.setdefault(section.group(4), []).append((0, True, value))
    for name, parts in sections.items():
        plain[name] = _join_sections(sorted(parts, key=lambda p: p[0]), defects)
    for name in ("name", "filename"):
        if name in plain and "=?" in plain[name]:
            plain[name] = decode_words(plain[name], defects)
    return plain


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        if "\\" in value:
            value = _QUOTED_PAIR.sub(r"\1", value)
    return value


def _join_sections(parts: list[tuple[int, bool, str]], defects: list[str] | None) -> str:
    """RFC 2231: ``name*0*=utf-8''%E2%82%AC; name*1=...`` -> one decoded value."""
    label = None
    data = bytearray()
    for index, (_, encoded, value) in enumerate(parts):
        if encoded and index == 0 and value.count("'") >= 2:
            label, _, value = value.split("'", 2)
        if encoded:
            data += unquote_to_bytes(value)
        else:
            data += value.encode("utf-8", "surrogateescape")
    return charsets.decode(bytes(data), label or None, defects)
