"""Which parts of the MIME tree are the body (text, HTML) and which are attachments."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field

from postroom.mail import charsets, fields, tnef, transfer
from postroom.mail.mime import Part

_DELIVERY_STATUS = {"message/delivery-status", "message/global-delivery-status"}
_ATTACHED_MAIL = {"message/rfc822", "message/global"}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


@dataclass(slots=True)
class Draft:
    """An attachment before it gets its final name and inline flag."""

    data: bytes
    content_type: str
    filename: str | None  # as declared (decoded); None when the part names none
    disposition: str
    content_id: str | None
    in_related: bool = False
    is_mail: bool = False  # message/rfc822: named after its subject


@dataclass(slots=True)
class Body:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    report_types: set[str] = field(default_factory=set)
    has_delivery_status: bool = False
    tnef_text: str | None = None
    tnef_html: str | None = None

    def take(self, other: Body, *, texts: bool, htmls: bool) -> None:
        if texts:
            self.texts += other.texts
        if htmls:
            self.htmls += other.htmls
        self.drafts += other.drafts
        self.report_types |= other.report_types
        self.has_delivery_status |= other.has_delivery_status
        self.tnef_text = self.tnef_text or other.tnef_text
        self.tnef_html = self.tnef_html or other.tnef_html


@dataclass(slots=True)
class Walker:
    buf: bytes
    defects: list[str]

    def walk(self, part: Part, out: Body, related: bool = False) -> None:
        if part.is_multipart:
            subtype = part.content_type[10:]
            if subtype == "report":
                out.report_types.add(part.params.get("report-type", "").lower())
            if subtype == "alternative":
                self._alternative(part, out, related)
                return
            if subtype == "related":
                self._related(part, out)
                return
            for child in part.children:
                self.walk(child, out, related)
            return
        self._leaf(part, out, related)

    def _related(self, part: Part, out: Body) -> None:
        """RFC 2387: the root (named by start=, else the first part) is the body, the rest its resources."""
        start = _content_id(part.params.get("start"))
        root = next(
            (c for c in part.children if start and _content_id(c.headers.get("content-id")) == start),
            part.children[0] if part.children else None,
        )
        for child in part.children:
            if child is root or child.is_multipart:
                self.walk(child, out, related=True)
            else:
                self._leaf(child, out, related=True, resource=True)

    def _alternative(self, part: Part, out: Body, related: bool) -> None:
        """Text from the last alternative that has plain text, HTML from the last that has HTML."""
        branches = []
        for child in part.children:
            branch = Body()
            self.walk(child, branch, related)
            branches.append(branch)
        text_from = next((b for b in reversed(branches) if b.texts), None)
        html_from = next((b for b in reversed(branches) if b.htmls), None)
        for branch in branches:
            out.take(branch, texts=branch is text_from, htmls=branch is html_from)

    def _leaf(self, part: Part, out: Body, related: bool, resource: bool = False) -> None:
        ctype = part.content_type
        disposition, dparams = fields.content_value(part.headers.get("content-disposition"))
        name = _clean_name(dparams.get("filename") or part.params.get("name"))
        if ctype in _DELIVERY_STATUS:
            out.has_delivery_status = True
        data, uu_name = self.decoded(part)
        name = name or _clean_name(uu_name)
        attached = disposition == "attachment" or name is not None or resource
        if (ctype in ("text/plain", "text/html") and not attached) or part.unsplit:
            text = _normalize_newlines(self.text(part, data))
            (out.htmls if ctype == "text/html" else out.texts).append(text)
            return
        if tnef.is_tnef(ctype, name) and self._tnef(data, out):
            return
        content_id = _content_id(part.headers.get("content-id"))
        draft = Draft(data, ctype, name, disposition, content_id, related, ctype in _ATTACHED_MAIL)
        out.drafts.append(draft)

    def decoded(self, part: Part) -> tuple[bytes, str | None]:
        encoding = part.headers.get("content-transfer-encoding") or ""
        return transfer.decode(self.buf, part.start, part.end, encoding, self.defects)

    def text(self, part: Part, data: bytes) -> str:
        label = part.params.get("charset")
        if part.content_type == "text/html" and not _fits(data, label):
            # HTML often says its real charset in a <meta> tag when the MIME label is wrong or missing.
            meta = _META_CHARSET.search(data, 0, 4096)
            if meta is not None and _fits(data, meta.group(1).decode("ascii")):
                label = meta.group(1).decode("ascii")
        return charsets.decode(data, label, self.defects)

    def _tnef(self, data: bytes, out: Body) -> bool:
        """Replace winmail.dat by what it holds; False (keep it as it is) when it cannot be read."""
        try:
            content = tnef.unpack(data)
        except tnef.TnefError as exc:
            self.defects.append(f"winmail.dat could not be unpacked ({exc}): kept as is")
            return False
        for filename, payload in content.files:
            out.drafts.append(
                Draft(payload, _guess_type(filename), _clean_name(filename), "attachment", None)
            )
        out.tnef_text = out.tnef_text or content.text
        out.tnef_html = out.tnef_html or content.html
        return True


def _fits(data: bytes, label: str | None) -> bool:
    """True when ``label`` names a charset that decodes ``data`` without errors."""
    codec = charsets.codec_for(label)
    if not codec:
        return data.isascii()
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def _clean_name(name: str | None) -> str | None:
    """A file name safe to show and store: no directories, no control characters."""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c >= " " and c != "\x7f").strip()
    # Some charsets (windows-1258, Mac file names) give decomposed accents: store the composed form.
    return unicodedata.normalize("NFC", name) if name else None


def _content_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    return value or None


def _normalize_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
