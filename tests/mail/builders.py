"""Small raw mails for parser tests, built from parts so each test shows only what it is about."""

from __future__ import annotations

import base64
import binascii
import itertools
import struct
from dataclasses import dataclass, field

Header = tuple[str, str | bytes]
_boundaries = itertools.count(1)


@dataclass
class Entity:
    """One MIME entity: header fields and an already encoded body."""

    headers: list[Header]
    body: bytes
    children: list[Entity] = field(default_factory=list)

    def render(self, newline: bytes = b"\r\n") -> bytes:
        return _fields(self.headers, newline) + newline + self.body.replace(b"\n", newline)


def _fields(headers: list[Header], newline: bytes) -> bytes:
    out = b""
    for name, value in headers:
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        out += name.encode("ascii") + b": " + raw.replace(b"\n", newline) + newline
    return out


def text(
    body: str | bytes,
    subtype: str = "plain",
    charset: str | None = "utf-8",
    encoding: str = "8bit",
    headers: list[Header] | None = None,
) -> Entity:
    """A text part; ``body`` as str is encoded with ``charset``, bytes are taken as they are."""
    data = body if isinstance(body, bytes) else body.encode(charset or "utf-8")
    ctype = f"text/{subtype}" + (f"; charset={charset}" if charset else "")
    return Entity(
        [("Content-Type", ctype), ("Content-Transfer-Encoding", encoding), *(headers or [])],
        _encode(data, encoding),
    )


def attachment(
    data: bytes,
    content_type: str = "application/octet-stream",
    filename: str | None = "file.bin",
    disposition: str | None = "attachment",
    content_id: str | None = None,
    encoding: str = "base64",
    headers: list[Header] | None = None,
) -> Entity:
    fields: list[Header] = [("Content-Type", content_type + (f'; name="{filename}"' if filename else ""))]
    if disposition:
        fields.append(("Content-Disposition", disposition + (f'; filename="{filename}"' if filename else "")))
    if content_id:
        fields.append(("Content-ID", f"<{content_id}>"))
    fields.append(("Content-Transfer-Encoding", encoding))
    return Entity(fields + (headers or []), _encode(data, encoding))


def multipart(
    subtype: str,
    *children: Entity,
    boundary: str | None = None,
    close: bool = True,
    params: str = "",
    declared_boundary: str | None = None,
) -> Entity:
    """``close=False`` leaves out the end boundary; ``declared_boundary`` announces a different one."""
    boundary = boundary or f"=_boundary_{next(_boundaries)}"
    declared = boundary if declared_boundary is None else declared_boundary
    body = b"This is a multi-part message in MIME format.\n"
    for child in children:
        body += b"\n--" + boundary.encode() + b"\n" + child.render(b"\n")
    body += (b"\n--" + boundary.encode() + b"--\n") if close else b""
    return Entity(
        [("Content-Type", f'multipart/{subtype}; boundary="{declared}"{params}')], body, list(children)
    )


def attached_mail(inner: bytes, filename: str | None = None) -> Entity:
    fields: list[Header] = [("Content-Type", "message/rfc822")]
    if filename:
        fields.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    return Entity(fields, inner.replace(b"\r\n", b"\n"))


def message(
    root: Entity | None = None,
    *,
    subject: str | bytes | None = "Hello",
    sender: str | bytes | None = "Alice Example <alice@example.com>",
    to: str | None = "support@desk.test",
    date: str | None = "Mon, 02 Nov 2026 09:30:00 +0100",
    message_id: str | None = "<m1@example.com>",
    headers: list[Header] | None = None,
    newline: bytes = b"\r\n",
) -> bytes:
    """A whole mail: the usual top fields (None leaves one out), extra ``headers``, then the root part."""
    root = root or text("Please help.\n")
    top: list[Header] = [
        (n, v)
        for n, v in (
            ("From", sender),
            ("To", to),
            ("Subject", subject),
            ("Date", date),
            ("Message-ID", message_id),
        )
        if v is not None
    ]
    top += headers or []
    top += [("MIME-Version", "1.0"), *root.headers]
    return _fields(top, newline) + newline + root.body.replace(b"\n", newline)


def _encode(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(data)
    if encoding == "quoted-printable":
        return binascii.b2a_qp(data)
    return data


def tnef(files: list[tuple[str, bytes]], body: str | None = None) -> bytes:
    """A minimal TNEF stream (winmail.dat): a code page, an optional plain body, the files."""

    def attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
        return (
            struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)
        )

    out = struct.pack("<IH", 0x223E9F78, 1) + attribute(1, 0x9007, 6, struct.pack("<II", 1252, 0))
    if body is not None:
        out += attribute(1, 0x800C, 2, body.encode("cp1252"))
    for name, data in files:
        out += attribute(2, 0x9002, 6, b"\x01\x00" + b"\xff" * 4 + b"\x00" * 8)  # starts an attachment
        out += attribute(2, 0x8010, 1, name.encode("utf-8") + b"\x00")  # tnefparse reads titles as UTF-8
        out += attribute(2, 0x800F, 6, data)
    return out
