"""Header blocks: finding them in raw bytes, unfolding lines, and giving values back as text."""

from __future__ import annotations

import re
from collections.abc import Callable

from postroom.mail import charsets
from postroom.mail.encoded_words import decode_words

_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:[ \t]*")
# A well-formed field with its continuation lines; most header blocks are nothing but these.
_CLEAN_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n")
_CLEAN_BLOCK = re.compile(rb"(?:[!-9;-~]+[ \t]*:[^\n]*\n(?:[ \t][^\n]*\n)*)+")
_BLANK_LINE = re.compile(rb"\n\r?\n")
_WSP = (0x20, 0x09)
# A message may start with a few lines of junk before its headers; past that it has no header block.
_MAX_SKIPPED = 8
# Header blocks longer than this are rare enough to take the careful, line-by-line path.
_MAX_CLEAN_BLOCK = 256 * 1024
# Broken continuation lines come in ones and twos (a wrapped token); more in a row means body text.
_MAX_STRAY = 50


class Headers:
    """The fields of one header block: names lower-cased, raw values unfolded, decoded on demand."""

    __slots__ = ("_fields", "_hints")

    def __init__(self, fields: dict[str, list[bytes]], hints: Callable[[], list[str]]) -> None:
        self._fields = fields
        # Charsets to try on raw 8-bit header bytes; computed only if such bytes show up.
        self._hints = hints

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def __bool__(self) -> bool:
        return bool(self._fields)

    def raw(self, name: str) -> bytes | None:
        values = self._fields.get(name)
        return values[0] if values else None

    def get(self, name: str) -> str | None:
        """The first value as text, encoded words left as they are (for structured fields)."""
        values = self._fields.get(name)
        return self.text(values[0]) if values else None

    def all(self, name: str) -> list[str]:
        return [self.text(v) for v in self._fields.get(name, ())]

    def decoded(self, name: str, defects: list[str] | None = None) -> str | None:
        """The first value as text with RFC 2047 encoded words decoded (Subject, Content-Description)."""
        value = self.get(name)
        return None if value is None else decode_words(value, defects)

    def text(self, raw: bytes) -> str:
        if raw.isascii():
            return raw.decode("ascii")
        return charsets.decode_header_bytes(raw, self._hints())

    def as_dict(self) -> dict[str, str]:
        """Every field decoded, repeats joined by newlines; the common all-ASCII, no-word case is cheap."""
        out = {}
        for name, values in self._fields.items():
            texts = [self._plain(v) for v in values]
            out[name] = texts[0] if len(texts) == 1 else "\n".join(texts)
        return out

    def _plain(self, raw: bytes) -> str:
        if raw.isascii() and b"=?" not in raw:
            return raw.decode("ascii")
        return decode_words(self.text(raw))


def read_block(
    buf: bytes, start: int, end: int, *, top: bool = False
) -> tuple[dict[str, list[bytes]], int, list[str]]:
    """Parse the header block at ``buf[start:end]``: (fields, offset where the body starts, defects).

    Lines that are neither fields nor continuations are tolerated the way mail readers do: before the
    first field of a message they are skipped (a stray "From " line, a pasted banner); between fields
    they are folded into the previous field; when no field follows them they start the body.
    """
    clean = _read_clean_block(buf, start, end)
    return clean if clean is not None else _read_careful_block(buf, start, end, top)


Entries = list[tuple[str, list[bytes]]]


def _read_careful_block(
    buf: bytes, start: int, end: int, top: bool
) -> tuple[dict[str, list[bytes]], int, list[str]]:
    """Line by line, for header blocks with odd lines (see read_block)."""
    entries: Entries = []
    defects: list[str] = []
    stray: tuple[int, int] | None = None  # (offset, pieces kept) when odd lines follow the last field
    skipped = 0
    pos = body = start
    while pos < end:
        nl = buf.find(b"\n", pos, end)
        nxt = end if nl < 0 else nl + 1
        line = buf[pos : end if nl < 0 else nl].rstrip(b"\r")
        body = nxt
        if not line.strip(b" \t") and not entries and top and skipped < _MAX_SKIPPED:
            skipped += 1  # blank lines before the headers (seen in saved and forwarded mail)
        elif not line or (not entries and not line.strip()):
            break
        elif line[0] in _WSP and entries:
            entries[-1][1].append(line)
        elif match := _FIELD.match(line):
            entries.append((match.group(1).decode("ascii").lower(), [line[match.end() :]]))
            stray = None
        elif entries:
            stray = stray or (pos, len(entries[-1][1]))
            if len(entries[-1][1]) - stray[1] >= _MAX_STRAY:
                break  # a long run of odd lines is a body that lost its blank line: stop reading it
            entries[-1][1].append(b" " + line)
        elif top and skipped < _MAX_SKIPPED:
            skipped += 1
            if not line.startswith(b"From "):
                defects.append("text before the first header line ignored")
        else:
            body = pos  # no header block: the body starts right here
            break
        pos = nxt
    return _finish(entries, body, stray, defects)


def _finish(
    entries: Entries, body: int, stray: tuple[int, int] | None, defects: list[str]
) -> tuple[dict[str, list[bytes]], int, list[str]]:
    if stray is not None:
        # The odd lines ran into the blank line: they were the body, not broken continuation lines.
        body, keep = stray
        del entries[-1][1][keep:]
        defects.append("no blank line after the header block")
    fields: dict[str, list[bytes]] = {}
    for name, pieces in entries:
        fields.setdefault(name, []).append(b"".join(pieces).strip())
    return fields, body, defects


def _read_clean_block(
    buf: bytes, start: int, end: int
) -> tuple[dict[str, list[bytes]], int, list[str]] | None:
    """The fast path: a header block made only of fields, ended by a blank line; None for anything else."""
    blank = _BLANK_LINE.search(buf, start, min(end, start + _MAX_CLEAN_BLOCK))
    if blank is None:
        return None
    block = buf[start : blank.start() + 1]
    if _CLEAN_BLOCK.fullmatch(block) is None:
        return None  # a line that is neither a field nor a continuation: the careful path decides
    fields: dict[str, list[bytes]] = {}
    for name, value in _CLEAN_FIELD.findall(block):
        if b"\n" in value:
            value = value.replace(b"\r\n", b"").replace(b"\n", b"")
        fields.setdefault(name.decode("ascii").lower(), []).append(value.strip())
    return fields, blank.end(), []
