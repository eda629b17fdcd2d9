"""The plain, frozen result of parsing one mail: what every later stage reads instead of raw bytes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postroom.mail.dsn import DeliveryReport


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    address: str  # lower-cased local@domain; "" when the header held no usable address

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address}


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None
    # The decoded bytes. Kept on the object so the store can write them once; callers that only
    # describe the message (``postroom parse``) never print them.
    data: bytes = field(repr=False, compare=False)
    # For an attached mail (message/rfc822): its own decoded subject, shown beside the file name.
    subject: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "inline": self.inline,
            "content_id": self.content_id,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        return out


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    message_id: str | None  # without angle brackets
    in_reply_to: str | None  # the first id named, without angle brackets
    references: tuple[str, ...]
    subject: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    delivered_to: tuple[str, ...]
    date: datetime | None  # timezone-aware
    text: str
    html: str | None  # sanitized
    attachments: tuple[Attachment, ...]
    auto_submitted: bool
    bounce: bool
    # sha256 of the body bytes (everything after the header block): the same mail that reaches us by
    # two paths differs in Received/Delivered-To headers but not here.
    body_sha256: str
    # Headers kept for routing and audit, names lower-cased, values decoded; repeated headers joined by "\n".
    headers: dict[str, str] = field(default_factory=dict, compare=False)
    # What the parser had to work around (bad charset, broken MIME, ...): shown, never fatal.
    defects: tuple[str, ...] = ()
    # For a bounce: which message bounced, for whom and why (mail/dsn.py); None for any other mail.
    delivery_report: DeliveryReport | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of ``postroom parse --json``."""
        return {
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "subject": self.subject,
            "from": self.from_.as_dict() if self.from_ else None,
            "to": [a.as_dict() for a in self.to],
            "cc": [a.as_dict() for a in self.cc],
            "reply_to": [a.as_dict() for a in self.reply_to],
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "html": self.html,
            "attachments": [a.describe() for a in self.attachments],
            "auto_submitted": self.auto_submitted,
            "bounce": self.bounce,
            "defects": list(self.defects),
            "delivery_report": self.delivery_report.as_json() if self.delivery_report else None,
        }


__all__ = ["Address", "Attachment", "ParsedMessage", "asdict"]
