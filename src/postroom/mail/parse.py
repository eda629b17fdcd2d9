"""The parse stage's entry point: raw bytes -> ParsedMessage, pure and never failing on real mail."""

from __future__ import annotations

import hashlib

from postroom.core.errors import ParseError
from postroom.mail import attachments, charsets, fields, flags
from postroom.mail.dsn import delivery_report
from postroom.mail.headers import Headers, read_block
from postroom.mail.html import sanitize, to_text
from postroom.mail.message import ParsedMessage
from postroom.mail.mime import Splitter
from postroom.mail.parts import Body, Walker

_DELIVERED_TO = ("delivered-to", "x-original-to", "envelope-to")


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one mail. Raises ParseError only for input that is not a mail at all."""
    raw = bytes(raw)  # the same object for bytes; a copy only for bytearray/memoryview input
    if not raw or raw.isspace():  # (raw.strip() would copy a large mail)
        raise ParseError("empty message")
    buf = _unix_newlines_if_cr_only(raw)
    defects: list[str] = []
    hints = _Hints(buf)
    found, body_start, notes = read_block(buf, 0, len(buf), top=True)
    if not found:
        raise ParseError("no header block: this is not a mail")
    defects += notes
    headers = Headers(found, hints)
    root = Splitter(buf, hints, defects).make(headers, body_start, len(buf), 0, "text/plain")
    body = Body()
    Walker(buf, defects).walk(root, body)
    return _assemble(raw, body_start, headers, body, hints, defects)


def _assemble(
    raw: bytes, body_start: int, headers: Headers, body: Body, hints: _Hints, defects: list[str]
) -> ParsedMessage:
    subject = headers.decoded("subject", defects) or ""
    sender = fields.sender(headers.all("from"))
    raw_html = "\n".join(body.htmls) if body.htmls else None
    text = _join(body.texts)
    if not text.strip() and raw_html is None and (body.tnef_text or body.tnef_html):
        # Outlook put the whole body into winmail.dat and sent an empty text part beside it.
        text, raw_html = body.tnef_text or "", body.tnef_html
    if not text.strip() and raw_html:
        text = to_text(raw_html)
    in_reply_to = fields.message_ids(headers.get("in-reply-to"))
    bounce = flags.is_bounce(body.report_types, body.has_delivery_status, sender, subject, text)
    return ParsedMessage(
        message_id=next(iter(fields.message_ids(headers.get("message-id"))), None),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=tuple(fields.message_ids(" ".join(headers.all("references")))),
        subject=subject,
        from_=sender,
        to=fields.addresses(", ".join(headers.all("to"))),
        cc=fields.addresses(", ".join(headers.all("cc"))),
        reply_to=fields.addresses(", ".join(headers.all("reply-to"))),
        delivered_to=_delivered_to(headers),
        date=fields.date(headers.get("date")),
        text=text,
        html=sanitize(raw_html) if raw_html is not None else None,
        attachments=attachments.build(
            body.drafts, raw_html, lambda data: attachments.mail_subject(data, hints)
        ),
        auto_submitted=flags.auto_submitted(headers, subject),
        bounce=bounce,
        body_sha256=hashlib.sha256(memoryview(raw)[body_start:]).hexdigest(),
        headers=headers.as_dict(),
        defects=tuple(dict.fromkeys(defects)),
        # Read only for a bounce, so other mail pays nothing; from the raw bytes (line ends untouched).
        delivery_report=delivery_report(raw) if bounce else None,
    )


def _join(texts: list[str]) -> str:
    """Several inline text parts read as one text, each starting on a new line."""
    if len(texts) <= 1:
        return texts[0] if texts else ""
    return "".join(t if t.endswith("\n") or i == len(texts) - 1 else t + "\n" for i, t in enumerate(texts))


def _delivered_to(headers: Headers) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in _DELIVERED_TO:
        for value in headers.all(name):
            address = value.strip().strip("<>").strip().lower()
            if address:
                seen.setdefault(address)
    return tuple(seen)


def _unix_newlines_if_cr_only(raw: bytes) -> bytes:
    """Old Mac mail ends lines with a bare CR; the splitter looks for LF, so such mail gets LF (same size)."""
    head = raw[:4096]
    if b"\n" in head or b"\r" not in head:
        return raw
    return raw.replace(b"\r", b"\n")


class _Hints:
    """The charsets a mail declares, looked up once and only when a raw 8-bit header needs a guess."""

    __slots__ = ("_buf", "_found")

    def __init__(self, buf: bytes) -> None:
        self._buf = buf
        self._found: list[str] | None = None

    def __call__(self) -> list[str]:
        if self._found is None:
            self._found = charsets.declared_charsets(self._buf)
        return self._found
