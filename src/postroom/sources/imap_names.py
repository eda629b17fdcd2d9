"""IMAP folder names on the wire: modified UTF-7 (RFC 3501 5.1.3), quoting, and LIST responses."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

_LIST = re.compile(rb'\((?P<flags>[^)]*)\) (?P<sep>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def encode_name(name: str) -> str:
    """Modified UTF-7: printable ASCII stays, "&" becomes "&-", the rest "&" + base64(UTF-16) + "-"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_name(wire: str) -> str:
    def shifted(match: re.Match[str]) -> str:
        body = match[1]
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        return base64.b64decode(padded).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", shifted, wire)


def quote(name: str) -> str:
    """The folder as an IMAP quoted string (imaplib sends arguments exactly as given)."""
    return quote_string(encode_name(name))


def quote_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_list(data: Sequence[bytes | tuple[bytes, bytes] | None]) -> list[str]:
    """Selectable folder names from a LIST response (names sent as literals arrive as tuples)."""
    names = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # `(flags) "/" {5}` then the name as a literal
            head, literal = item
            flags, name = head, literal
        else:
            match = _LIST.match(item)
            if not match:
                continue
            flags, name = match["flags"], _unquote(match["name"])
        if b"\\noselect" not in flags.lower() and b"\\nonexistent" not in flags.lower():
            names.append(decode_name(name.decode("utf-8", "replace")))
    return names


def _unquote(value: bytes) -> bytes:
    if value.startswith(b'"') and value.endswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", value[1:-1])
    return value
