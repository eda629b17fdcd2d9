"""Outlook's winmail.dat (application/ms-tnef): the real attachments and body inside, via tnefparse."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tnefparse import TNEF

TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}

# tnefparse logs every odd attribute it meets at WARNING; the parser reports problems as defects instead.
logging.getLogger("tnefparse").setLevel(logging.ERROR)


class TnefError(Exception):
    """The TNEF stream could not be read; the caller keeps winmail.dat as it is."""


@dataclass(frozen=True, slots=True)
class TnefContent:
    files: tuple[tuple[str, bytes], ...]  # (file name, possibly "", data)
    text: str | None
    html: str | None


def is_tnef(content_type: str, filename: str | None) -> bool:
    return content_type in TNEF_TYPES or (filename or "").lower() == "winmail.dat"


def unpack(data: bytes) -> TnefContent:
    try:
        parsed = TNEF(data)
        files = tuple((_name(a), bytes(a.data or b"")) for a in parsed.attachments)
        text = _text(parsed.body, parsed.codepage)
        html = _text(parsed.htmlbody, parsed.codepage)
    except Exception as exc:  # a third-party parser on untrusted bytes: any failure means "can't read"
        raise TnefError(f"{type(exc).__name__}: {exc}") from exc
    return TnefContent(files, text, html)


def _name(attachment: object) -> str:
    name = attachment.long_filename() or getattr(attachment, "name", "") or ""  # type: ignore[attr-defined]
    if isinstance(name, bytes):
        name = name.decode("cp1252", "replace")
    return name.strip("\x00").strip()


def _text(value: str | bytes | None, codepage: str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            text = value.decode(codepage or "cp1252")
        except (LookupError, UnicodeDecodeError):
            text = value.decode("cp1252", "replace")
    else:
        text = value
    text = text.strip("\x00").replace("\r\n", "\n")
    return text if text.strip() else None
