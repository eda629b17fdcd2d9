"""Builders for test data: ParsedMessage values and raw mails, so tests say only what matters to them."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from postroom.mail.message import Address, ParsedMessage


def parsed(
    subject: str = "Hello",
    sender: str = "alice@example.com",
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    to: tuple[str, ...] = ("support@desk.test",),
    message_id: str | None = "m1@example.com",
) -> ParsedMessage:
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        from_=Address("", sender),
        to=tuple(Address("", a) for a in to),
        cc=(),
        reply_to=(),
        delivered_to=(),
        date=None,
        text="body",
        html=None,
        attachments=(),
        auto_submitted=False,
        bounce=False,
        body_sha256="0" * 64,
    )


def mail(
    subject: str = "Hello",
    sender: str = "Alice Example <alice@example.com>",
    to: str = "support@desk.test",
    body: str = "Please help.\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    attachments: tuple[tuple[str, bytes], ...] = (),
    cc: str | None = None,
) -> bytes:
    """A raw mail as a mail client would send it."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    m["Message-ID"] = message_id or make_msgid(domain="example.com")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    m.set_content(body)
    for name, data in attachments:
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(m)


def jobs_with_replies(n: int) -> list[bytes]:
    """n originals ("Job i"), each followed at once by a reply to it by its headers: a reply is often
    fetched in the same batch or chunk as its original, or in the next one."""
    raws = []
    for i in range(n):
        raws.append(mail(subject=f"Job {i}", message_id=f"job{i}@example.com"))
        raws.append(mail(subject=f"Re: Job {i}", in_reply_to=f"<job{i}@example.com>"))
    return raws
