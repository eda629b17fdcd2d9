"""Content-Transfer-Encoding: base64, quoted-printable and uuencode back to bytes, whole parts at once."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

_fast_b64decode: Callable[[memoryview], bytes] | None
try:  # SIMD base64, several times faster on large attachments; same results as binascii's decoder.
    from pybase64 import b64decode as _fast_b64decode
except ImportError:  # pragma: no cover - the stdlib decoder is the reference behaviour
    _fast_b64decode = None

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Everything that is not base64 data: deleted in one C pass when a part is too broken for a2b_base64.
_NOT_B64 = bytes(sorted(set(range(256)) - set(_B64_ALPHABET)))
_NOT_B64_OR_PAD = _NOT_B64.replace(b"=", b"")
_PADDING_RUN = re.compile(rb"=+")
_UU_BEGIN = re.compile(rb"^begin[ \t]+[0-7]{3,4}[ \t]+(.*?)[ \t]*\r?$", re.M)


def decode(buf: bytes, start: int, end: int, encoding: str, defects: list[str]) -> tuple[bytes, str | None]:
    """The decoded bytes of ``buf[start:end]``, and the file name a uuencoded body names (else None).

    Works on offsets into the whole mail so that a large base64 part is decoded without being copied.
    """
    cte = encoding.strip().lower()
    if cte == "base64":
        return base64(buf, start, end, defects), None
    if cte == "quoted-printable":
        return binascii.a2b_qp(memoryview(buf)[start:end]), None
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return uudecode(buf[start:end], defects)
    if cte and cte not in ("7bit", "8bit", "binary", "7-bit", "8-bit"):
        defects.append(f"unknown Content-Transfer-Encoding {encoding!r}: kept as is")
    return buf[start:end], None


def base64(buf: bytes, start: int, end: int, defects: list[str]) -> bytes:
    """Tolerant base64: junk characters, missing padding and padded chunks glued together all decode."""
    try:
        data = memoryview(buf)[start:end]
        out = _fast_b64decode(data) if _fast_b64decode is not None else binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        out = None
    if out is not None and not _data_after_padding(buf, start, end):
        return out
    defects.append("broken base64 repaired")
    chunks = _PADDING_RUN.split(buf[start:end].translate(None, _NOT_B64_OR_PAD))
    return b"".join(_base64_chunk(chunk) for chunk in chunks)


def _data_after_padding(buf: bytes, start: int, end: int) -> bool:
    """True when '=' padding is followed by more base64 data (a2b_base64 stops at the first padding)."""
    at = buf.find(b"=", start, end)
    return at >= 0 and bool(buf[at:end].translate(None, _NOT_B64))


def _base64_chunk(chunk: bytes) -> bytes:
    usable = len(chunk) - len(chunk) % 4
    if len(chunk) % 4 == 1:  # one dangling character carries no full byte
        chunk = chunk[:usable]
    return binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4)) if chunk else b""


def uudecode(data: bytes, defects: list[str]) -> tuple[bytes, str | None]:
    """Decode a ``begin NNN name`` ... ``end`` block; lines with a wrong length still decode."""
    match = _UU_BEGIN.search(data)
    # Some senders (zammad's mail078) leave out the begin line and send only the encoded lines.
    name = match.group(1).decode("utf-8", "replace") or None if match else None
    out = bytearray()
    for line in data[match.end() if match else 0 :].splitlines():
        line = line.rstrip(b"\r")
        if line.strip() == b"end":
            break
        if not line:
            continue
        out += _uu_line(line, defects)
    return bytes(out), name


def _uu_line(line: bytes, defects: list[str]) -> bytes:
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders pad lines wrongly; the length byte says how much data the line really holds.
        nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
        try:
            return binascii.a2b_uu(line[:nbytes])
        except binascii.Error:
            if "broken uuencode line skipped" not in defects:
                defects.append("broken uuencode line skipped")
            return b""
