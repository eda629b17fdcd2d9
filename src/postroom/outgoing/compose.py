"""Builds the mail Postroom sends — replies, auto-replies, notifications, forwards — as bytes; pure.

Our Message-IDs carry the record they belong to, signed: ``<pr-1042-3f9c2a71d0-…@desk.example.com>``.
A reply whose client kept only our id (in References, where we repeat it because some providers rewrite
the Message-ID of relayed mail) still finds its record, and nobody can forge an id that joins a record
they could not join otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from postroom.threads.subject import strip_prefixes

SIGNATURE_CHARS = 10
_OURS = re.compile(r"pr-(\d{1,18})-([0-9a-f]{" + str(SIGNATURE_CHARS) + r"})-[0-9a-z]+@")


def _signature(record: int, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"postroom-message-id:{record}".encode(), hashlib.sha256)
    return mac.hexdigest()[:SIGNATURE_CHARS]


def make_message_id(record: int, domain: str, secret: str) -> str:
    """A new Message-ID (without angle brackets) naming ``record`` (0 when the mail is on no record)."""
    return f"pr-{record}-{_signature(record, secret)}-{secrets.token_hex(8)}@{domain or 'postroom.invalid'}"


def record_of_message_id(message_id: str, secret: str) -> int | None:
    """The record one of our Message-IDs names; None for anybody else's id or a forged signature."""
    match = _OURS.match(message_id)
    if match is None:
        return None
    record = int(match.group(1))
    if record == 0 or not hmac.compare_digest(match.group(2), _signature(record, secret)):
        return None
    return record


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class FileToAttach:
    filename: str
    data: bytes
    content_type: str = ""  # guessed from the name when empty


@dataclass(frozen=True)
class Outgoing:
    """One mail to send, as plain data; ``render()`` makes its bytes."""

    from_address: str
    from_name: str
    to: tuple[str, ...]
    subject: str
    text: str
    message_id: str
    cc: tuple[str, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    # RFC 3834: "auto-replied" for auto-replies, "auto-generated" for notifications; "" for a person's mail.
    auto_submitted: str = ""
    attachments: tuple[FileToAttach, ...] = ()
    attached_mail: bytes | None = None  # forwarding: the original, whole, as message/rfc822
    date: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra_headers: tuple[tuple[str, str], ...] = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.lower() for a in (*self.to, *self.cc) if a))

    def render(self) -> bytes:
        msg = EmailMessage(policy=SMTP)
        msg["From"] = formataddr((self.from_name, self.from_address)) if self.from_name else self.from_address
        msg["To"] = ", ".join(self.to)
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(self.date)
        msg["Message-ID"] = f"<{self.message_id}>"
        if self.in_reply_to:
            msg["In-Reply-To"] = f"<{self.in_reply_to}>"
        if self.references:
            msg["References"] = " ".join(f"<{r}>" for r in self.references)
        if self.auto_submitted:
            msg["Auto-Submitted"] = self.auto_submitted
            # Exchange and Outlook send no out-of-office or other automatic answer to this mail.
            msg["X-Auto-Response-Suppress"] = "All"
        for name, value in self.extra_headers:
            msg[name] = value
        if self.attached_mail is not None:
            return self._with_attached_mail(msg)
        msg.set_content(self.text)
        for att in self.attachments:
            ctype = att.content_type or mimetypes.guess_type(att.filename)[0] or "application/octet-stream"
            maintype, _, subtype = ctype.partition("/")
            msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
        return msg.as_bytes(policy=SMTP)

    def _with_attached_mail(self, head: EmailMessage) -> bytes:
        """The original goes out exactly as it came in, headers and all, as message/rfc822 (which may not
        be base64-encoded: RFC 2046 5.2.1). The stdlib re-encodes such a part, so it is joined by hand."""
        assert self.attached_mail is not None
        boundary = f"postroom-{secrets.token_hex(12)}"
        head["MIME-Version"] = "1.0"
        head["Content-Type"] = f'multipart/mixed; boundary="{boundary}"'
        text = EmailMessage(policy=SMTP)
        text.set_content(self.text)
        del text["MIME-Version"]
        headers = b"".join(SMTP.fold_binary(name, value) for name, value in head.items()) + b"\r\n"
        original = self.attached_mail.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        cte = "7bit" if original.isascii() else "8bit"
        return b"".join([
            headers,
            f"--{boundary}\r\n".encode(), text.as_bytes(policy=SMTP),
            f"\r\n--{boundary}\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: {cte}\r\n"
            'Content-Disposition: attachment; filename="original.eml"\r\n\r\n'.encode(),
            original if original.endswith(b"\r\n") else original + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ])  # fmt: skip


def reply_subject(subject: str, reference: str) -> str:
    """``Re: [#1042] subject``: one Re:, the reference once, whatever the original carried."""
    bare, _ = strip_prefixes(subject)
    bare = bare.replace(reference, "").strip()
    bare = re.sub(r"\s{2,}", " ", bare)
    return f"Re: {reference} {bare}".rstrip()


def thread_references(parent_id: str, parent_references: tuple[str, ...], own_id: str) -> tuple[str, ...]:
    """References of a reply: the parent's chain, the parent, and our own new id last (see the module
    docstring); the chain is capped so that a long thread never grows the header without bound."""
    chain = [r for r in parent_references if r] + ([parent_id] if parent_id else [])
    chain = list(dict.fromkeys(chain))
    if len(chain) > 20:
        chain = chain[:1] + chain[-19:]  # RFC 5322: keep the first (the thread's root) and the latest
    return (*chain, own_id)


def fill_template(template: str, values: dict[str, str]) -> str:
    """``{number}``, ``{subject}``, ``{requester}``, ``{department}``, ``{reference}`` filled in; any other
    brace text is left as written (a template is written by an admin, not code: no format-string errors)."""

    def one(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return re.sub(r"\{(\w+)\}", one, template)
