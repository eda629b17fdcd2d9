"""Attachments as stored: a name for every file, the inline flag, hashes, and attached mails' subjects."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from functools import lru_cache

from postroom.mail.headers import Headers, read_block
from postroom.mail.message import Attachment
from postroom.mail.parts import Draft

# Extensions for parts without a name; mimetypes' answers for these are missing or odd (.ksh for text).
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "application/octet-stream": ".bin",
    "application/pdf": ".pdf",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/ms-tnef": ".dat",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
}
_CID_FILE_NAME = re.compile(r"^([\w.-]{1,100}\.[A-Za-z][A-Za-z0-9]{1,4})@")
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


def build(
    drafts: list[Draft], html: str | None, subject_of: Callable[[bytes], str]
) -> tuple[Attachment, ...]:
    """Final attachments in mail order. ``html`` is the raw HTML body: a cid: it names makes a file inline."""
    lowered_html = html.lower() if html and "cid:" in html.lower() else ""
    out = []
    for number, draft in enumerate(drafts, start=1):
        subject = subject_of(draft.data) if draft.is_mail else None
        out.append(
            Attachment(
                filename=draft.filename or _generated_name(draft, number, subject),
                content_type=draft.content_type,
                size=len(draft.data),
                sha256=hashlib.sha256(draft.data).hexdigest(),
                inline=_inline(draft, lowered_html),
                content_id=draft.content_id,
                data=draft.data,
                subject=subject,
            )
        )
    return tuple(out)


def _inline(draft: Draft, lowered_html: str) -> bool:
    if draft.disposition == "inline":
        return True
    if draft.content_id is None:
        return False
    if lowered_html and f"cid:{draft.content_id.lower()}" in lowered_html:
        return True
    return draft.in_related and draft.content_type.startswith("image/")


def _generated_name(draft: Draft, number: int, subject: str | None) -> str:
    # Outlook names inline images in their Content-ID: <image001.png@01D4...> is the file image001.png.
    cid_name = _CID_FILE_NAME.match(draft.content_id or "")
    if cid_name is not None:
        return cid_name.group(1)
    if subject and subject.strip():
        stem = _UNSAFE_IN_NAME.sub(" ", subject).strip()[:200]
        if stem:
            return f"{stem}.eml"
    return f"attachment-{number}{extension(draft.content_type)}"


@lru_cache(maxsize=256)
def extension(content_type: str) -> str:
    known = _EXTENSIONS.get(content_type)
    if known:
        return known
    guessed = mimetypes.guess_extension(content_type, strict=False)
    return guessed or (".txt" if content_type.startswith("text/") else ".bin")


def mail_subject(data: bytes, hints: Callable[[], list[str]]) -> str:
    """The decoded Subject of an attached mail ("" when it has none)."""
    found, _, _ = read_block(data, 0, min(len(data), 256 * 1024), top=True)
    return Headers(found, hints).decoded("subject") or ""
