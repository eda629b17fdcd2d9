"""What a delivery status notification says: which message bounced, for whom, with which status and why."""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from typing import Any

from postroom.mail import charsets, fields

# Only the start of a mail is parsed. A report puts its human text and its status part first and the
# returned mail last, and of that mail only its header block is wanted: a bounced 20 MB attachment is
# never read. (compat32 because it never raises on broken header fields; policy=default parses each
# field as it is read and has raised on odd ones in the past.)
_MAX_INPUT = 1024 * 1024
# Each text is scanned for at most this much. The regular expressions below are linear, but some lines
# are looked at more than once (a recipient's paragraph, the groups of fields), and a bounce is read on
# every import: a cap keeps one pathological part (a megabyte with no newline, a returned mail pasted
# inline) from costing more than a normal report. Every report we know says what it has to say in the
# first few kilobytes.
_MAX_TEXT = 256 * 1024
_MAX_PARTS = 200  # MIME parts looked at; a report has three or four
_MAX_RECIPIENTS = 500
# Lines longer than this are never taken for a recipient line (real ones are short): the address
# patterns then never run over a huge line, where a regular expression can backtrack quadratically.
_MAX_LINE = 1000

ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})

_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status", "text/delivery-status"}
_HEADER_TYPES = {
    "message/rfc822",
    "message/global",
    "message/rfc822-headers",
    "message/global-headers",
    "message/partial",  # (some gateways return the header block as a first fragment)
    "text/rfc822-headers",
    "text/rfc822-header",
    "text/global-headers",
}
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")

# An enhanced status code (RFC 3463). Not inside a dotted number (an IP address, a version), but after
# an SMTP reply code ("550-5.1.1") or a qmail "#" ("(#5.5.0)").
_STATUS_CODE = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# "Name: value" at the start of a line (the names of RFC 3464 and RFC 5322 fields).
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,76})[ \t]*:[ \t]*(.*)")
_SEPARATORS = re.compile(r"[\s,;]+")
# Plain-text bounces: "<user@example.com>: host ... said: 550 5.1.1 ..." (Postfix, qmail), and Sendmail's
# "<user@example.com>... User unknown" or a bare "<user@example.com>" above its "(reason: ...)" line.
_LINE_RECIPIENT = re.compile(
    r"(?:<([^<>\s@]+@[^<>\s@]+)>(?::|\.\.\.|(?=[ \t]*$))"  # <user@example.com>: or ... or alone
    r"|\"([^\"\s@]+@[^\"\s@]+)\":"  # "user@example.com": (GMX)
    r"|([^<>\s@:\"]+@[^<>\s@:\"]+):)"  # user@example.com: (OpenSMTPD)
    r"[ \t]*(.*)"
)
# What a recipient line must name: an ordinary address, with a dotted domain.
_PLAIN_ADDRESS = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.I)
# Exim: the failed address alone on an indented line, the reason on the more indented lines below it
# (without angle brackets: an indented "<x@y>" is a Message-ID in a folded References field).
_INDENTED_RECIPIENT = re.compile(r"([ \t]+)([^<>\s@]+@[^<>\s@]+?):?[ \t]*")
# What a one-line notice says before the address it names last.
_ONE_LINE_FAILURE = re.compile(r"fail|unable|undeliver|not deliver|reject|unknown|full", re.I)
# Where a plain-text bounce starts quoting the returned mail (qmail, Exim, Sendmail, Postfix, Courier,
# Exchange, Lotus): recipients are looked for above it, the returned Message-ID below it.
_RETURNED_MARKER = re.compile(
    r"^[ \t>-]*(?:"
    r"below (?:this line )?is a copy of|this is a copy of (?:the|your) message|message headers follow|"
    r"(?:the )?headers? of the (?:original|returned) message|"
    r"(?:the )?(?:original|unsent|returned) message(?: headers?)?"
    r"(?: follows?| (?:is|are) (?:attached|below)|[ \t]*[:.-]|[ \t]*$)"
    r")",
    re.I | re.M,
)
_MESSAGE_ID_LINE = re.compile(r"^[ \t]*Message-ID[ \t]*:[ \t]*(?:\n[ \t]+)?(<[^<>\n]+>|\S+@\S+)", re.I | re.M)
# How a plain-text bounce says whether it gave up or will try again.
_GAVE_UP = re.compile(
    r"permanent(?:ly)? (?:fatal )?(?:error|failure|failed)|given up|giving up|could ?n[o']t be delivered|"
    r"(?:was|were) not delivered|undeliverable|delivery (?:to the following recipients? )?(?:has )?failed|"
    r"(?:address|recipient)\(?e?s?\)? failed|does not exist|unknown user|user unknown",
    re.I,
)
# A text that says none of this is no failure notice: its addresses are not taken for recipients.
_TROUBLE = re.compile(r"deliver|fail|error|reject|bounce|returned|not exist|unknown|mailbox", re.I)
_STILL_TRYING = re.compile(
    r"transient non-fatal|has not yet been delivered|not (?:yet )?been delivered yet|will be retried|"
    r"will (?:continue to )?(?:re)?try|delivery attempts will continue|still (?:being )?retr|"
    r"delayed|delivery delay",
    re.I,
)


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    """One recipient a report speaks of (the failed ones, and in a delay or success notice the others)."""

    address: str  # lower-cased, without the "rfc822;" type; "" when the report names none we can read
    status: str  # the enhanced status code, e.g. "5.1.1"; "" when unknown
    action: str  # failed | delayed | delivered | relayed | expanded; "" when unknown
    diagnostic: str  # the Diagnostic-Code (or the plain-text reason), unfolded; "" when absent

    @property
    def permanent(self) -> bool:
        """Delivery to this recipient failed for good: action failed, or a 5.x.x status not marked as
        delayed, delivered, relayed or expanded."""
        return self.action == "failed" or (self.action == "" and self.status.startswith("5"))

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "status": self.status,
            "action": self.action,
            "diagnostic": self.diagnostic,
            "permanent": self.permanent,
        }


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a bounce or delay notice says about the mail it returns."""

    original_message_id: str | None  # the Message-ID of the mail that bounced, without angle brackets
    recipients: tuple[FailedRecipient, ...]

    @property
    def permanent(self) -> bool:
        """True when delivery failed for good to at least one recipient (a delay notice is not)."""
        return any(r.permanent for r in self.recipients)

    def as_json(self) -> dict[str, Any]:
        return {
            "original_message_id": self.original_message_id,
            "permanent": self.permanent,
            "recipients": [r.as_json() for r in self.recipients],
        }


def delivery_report(raw: bytes) -> DeliveryReport | None:
    """Read a delivery status notification (RFC 3464, or a common plain-text bounce); None when the mail
    is not one. Never raises: a broken report gives what could be read from it."""
    try:
        return _read(bytes(raw[:_MAX_INPUT]))
    except Exception:  # a last guard: malformed input must never cost the import of the message
        return None


def _read(raw: bytes) -> DeliveryReport | None:
    return _report(message_from_bytes(raw, policy=compat32), nested=False)


def _report(root: Message, nested: bool) -> DeliveryReport | None:
    own_ids = set(fields.message_ids(_header(root, "message-id")))
    report_type = str(root.get_param("report-type") or "").strip().lower()
    reported = root.get_content_type() == "multipart/report" and report_type.endswith("delivery-status")
    status_texts: list[str] = []
    texts: list[str] = []
    returned_ids: list[str] = []
    returned: list[Message] = []
    for part in _leaves(root):
        ctype = part.get_content_type()
        if ctype in _STATUS_TYPES:
            status_texts.append(_status_text(part))
        elif ctype in _HEADER_TYPES:
            returned_ids += _returned_ids(part)
            payload = part.get_payload()
            if isinstance(payload, list):
                returned += [m for m in payload if isinstance(m, Message)]
        elif part.get_content_maintype() in ("text", "multipart") and ctype != "text/html":
            texts.append(_text(part))  # (a multipart here is one whose boundary never came: its text)
    said = _said(texts)
    recipients = _recipients_in_groups(status_texts, said, strict=True)
    if not recipients:
        # A status part we could not split off (a lost boundary, a wrong Content-Type), still in the text.
        recipients = _recipients_in_groups(texts, said, strict=False)
    if not recipients:
        recipients = _recipients_in_prose(texts, said)
    if not recipients:
        recipients = _failed_recipients_header(root, said)
    if not (recipients or status_texts or reported):
        if returned and not nested:
            # A gateway that wraps the bounce it got in a mail of its own: read the one inside.
            return _report(returned[0], nested=True)
        return None
    original = next((i for i in returned_ids if i not in own_ids), None)
    if original is None:
        original = _id_in_texts(texts + status_texts, own_ids)
    return DeliveryReport(original, tuple(recipients[:_MAX_RECIPIENTS]))


def _leaves(root: Message) -> Iterator[Message]:
    """The parts that are not multipart containers, in order; a returned message is one leaf."""
    stack = [root]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
        else:
            yield part


def _header(part: Message, name: str) -> str:
    return next(_headers(part, name), "")


def _headers(part: Message, name: str) -> Iterator[str]:
    """A field's values, 8-bit text kept (``get`` turns compat32's undecodable bytes into U+FFFD)."""
    for key, value in part.raw_items():
        if key.lower() == name:
            yield _clean(value)


def _clean(value: Any) -> str:
    """A header value as text: compat32 keeps the bytes it could not decode as surrogates; they are
    read as UTF-8 here (RFC 6532 fields, a global DSN's addresses)."""
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _text(part: Message) -> str:
    """A leaf's decoded text, at most _MAX_TEXT of it, its lines ending in LF (the patterns that look at
    line starts know no other line end)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        text = "\n\n".join(_entity_text(m) for m in payload if isinstance(m, Message))[:_MAX_TEXT]
    else:
        text = charsets.decode(_decoded(part)[:_MAX_TEXT], part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decoded(part: Message) -> bytes:
    """A part's body bytes (``get_payload(decode=True)``: the stdlib's ``get_payload()`` would turn 8-bit
    bytes into U+FFFD). Quoted-printable is decoded here, its line ends made LF first: the stdlib's
    decoder knows only LF and CRLF, and a CR-only mail's soft line breaks cut its text short."""
    if _header(part, "content-transfer-encoding").strip().lower() == "quoted-printable":
        payload = str(part.get_payload())[: _MAX_TEXT * 3]  # (quoted-printable is ASCII)
        return quopri.decodestring(payload.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8"))
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _entity_text(entity: Message) -> str:
    """A parsed entity written back as text: its fields, a blank line, its body."""
    lines = [f"{name}: {_clean(value)}" for name, value in entity.raw_items()]
    if isinstance(entity.get_payload(), str):
        body = charsets.decode(_decoded(entity)[:_MAX_TEXT], entity.get_content_charset())
        if body.strip():
            lines += ["", body]
    return "\n".join(lines)


def _status_text(part: Message) -> str:
    """The text of a delivery-status part. The stdlib splits message/delivery-status into its groups of
    fields; an encoded one (base64 from some gateways) it splits wrongly, so that one is decoded here."""
    text = _text(part)
    encoding = _header(part, "content-transfer-encoding").strip().lower()
    if not isinstance(part.get_payload(), list):
        return text  # not split by the stdlib: _text has decoded it already
    if encoding == "base64":
        try:
            data = base64.b64decode(re.sub(r"[^A-Za-z0-9+/]", "", text[:_MAX_TEXT]) + "==")
        except (binascii.Error, ValueError):
            return text
        return charsets.decode(data, part.get_content_charset() or "utf-8")
    if encoding == "quoted-printable":
        return charsets.decode(quopri.decodestring(text.encode("utf-8")), part.get_content_charset())
    return text


def _returned_ids(part: Message) -> list[str]:
    """The Message-ID of a returned mail or returned header block."""
    payload = part.get_payload()
    if isinstance(payload, list):
        entities = [m for m in payload if isinstance(m, Message)]
    else:
        entities = [HeaderParser(policy=compat32).parsestr(_text(part))]
    found = [i for m in entities for i in _ids(_header(m, "message-id"))]
    if not found:  # the header block did not start where the part did (a blank line, a "From " line)
        found = [i for text in map(_entity_text, entities) for i in _ids_in(text)]
    return found


def _ids_in(text: str) -> list[str]:
    return [i for value in _MESSAGE_ID_LINE.findall(text[:_MAX_TEXT]) for i in _ids(value)]


def _ids(value: str | None) -> list[str]:
    """Ids as the header names them; a cut-off one ("<" at the end of a truncated bounce) is none."""
    return [i for i in fields.message_ids(value) if i and "<" not in i and ">" not in i]


def _id_in_texts(texts: list[str], own_ids: set[str]) -> str | None:
    """A Message-ID line in the text: below the "copy of the message follows" line when there is one."""
    for text in texts:
        marker = _RETURNED_MARKER.search(text)
        for start in ([marker.start()] if marker else []) + [0]:
            for found in _ids_in(text[start:]):
                if found not in own_ids:
                    return found
    return None


def _groups(text: str, strict: bool) -> list[dict[str, str]]:
    """The blank-line separated groups of "Name: value" fields, names lower-cased, folded values joined
    (the line break dropped, as RFC 5322 unfolding does). A repeated name starts a new group, for the
    reports that forget the blank line between recipients. Outside a status part (``strict`` false) a line
    that is not a field ends the group: prose is not fields."""
    groups: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in text[:_MAX_TEXT].splitlines():
        if not line.strip():
            if current:
                groups.append(current)
            current, last = {}, None
            continue
        if line[0] in " \t":
            if last is not None:
                last.append(line)
            continue
        match = _FIELD.match(line)
        if match is None:
            last = None
            if not strict and current:
                groups.append(current)
                current = {}
            continue
        name = match.group(1).lower()
        if name in current:
            groups.append(current)
            current = {}
        last = current[name] = [match.group(2)]
    if current:
        groups.append(current)
    return [{name: "".join(value) for name, value in group.items()} for group in groups]


def _recipients_in_groups(texts: list[str], said: dict[str, str], strict: bool) -> list[FailedRecipient]:
    found = []
    for text in texts:
        for group in _groups(text, strict):
            who = next((group[f] for f in _RECIPIENT_FIELDS if f in group), None)
            if who is None or (not strict and "action" not in group and "status" not in group):
                continue
            diagnostic = _unfold(group.get("diagnostic-code", ""))
            address = _address(who)
            found.append(
                FailedRecipient(
                    address=address,
                    status=_status(group.get("status", ""), diagnostic, said.get(address, "")),
                    action=_action(group.get("action", "")),
                    diagnostic=diagnostic,
                )
            )
    return found


def _unfold(value: str) -> str:
    return re.sub(r"[\r\n]+", "", value).strip()


def _address(value: str) -> str:
    """ "rfc822; <User@Example.com>" -> "user@example.com"; whatever stands there when it is no address."""
    value = _unfold(value[:_MAX_LINE])
    kind, semicolon, rest = value.partition(";")
    if semicolon and "@" not in kind:
        value = rest
    return next(_addresses_in(value), None) or value.strip().strip("<>").strip().lower()


def _addresses_in(text: str) -> Iterator[str]:
    """The plain addresses among the words of a text, lower-cased. Word by word rather than one search
    over the text, which backtracks over every long run of characters without an "@"."""
    for word in _SEPARATORS.split(text):
        if "@" in word:
            word = word.strip("<>()[]\"'.:")
            if _PLAIN_ADDRESS.fullmatch(word):
                yield word.lower()


def _action(value: str) -> str:
    word = value.strip().split(maxsplit=1)[0].lower() if value.strip() else ""
    return word if word in ACTIONS else ""


def _status(value: str, diagnostic: str, text_says: str) -> str:
    """The Status field's code. When it says only "5.0.0" (other or undefined) or nothing, the code the
    remote server gave is the better answer, if it is of the same class: the one in the Diagnostic-Code,
    else the one the report's text gives beside the address."""
    stated = _code(value)
    if stated and not stated.endswith(".0.0"):
        return stated
    for said in (_code(diagnostic), text_says):
        if said and (not stated or said[0] == stated[0]):
            return said
    return stated


def _code(text: str) -> str:
    match = _STATUS_CODE.search(text)
    return ".".join(match.groups()) if match else ""


def _said(texts: list[str]) -> dict[str, str]:
    """address -> the status code the report's text gives on a line that names it (OpenSMTPD writes
    "user@example.com: 550 5.7.26 ..." above its status part, Gmail "550 5.1.1 <user@example.com>...")."""
    found: dict[str, str] = {}
    for text in texts:
        marker = _RETURNED_MARKER.search(text)
        for line in text[: marker.start() if marker else _MAX_TEXT].splitlines():
            if "@" not in line or len(line) > _MAX_LINE:
                continue
            code = _code(line)
            if code:
                for address in _addresses_in(line):
                    found.setdefault(address, code)
    return found


def _failed_recipients_header(root: Message, said: dict[str, str]) -> list[FailedRecipient]:
    """Exim and Gmail name the recipients they gave up on in X-Failed-Recipients."""
    named = ",".join(_headers(root, "x-failed-recipients"))
    unique = dict.fromkeys(_addresses_in(named[:_MAX_TEXT]))
    return [FailedRecipient(a, said.get(a, ""), "failed", "") for a in unique]


def _recipients_in_prose(texts: list[str], said: dict[str, str]) -> list[FailedRecipient]:
    """Best effort for plain-text bounces: the recipient lines of Postfix, qmail, Sendmail and Exim. The
    code is the one in the recipient's paragraph, else one beside the address elsewhere in the text, else,
    for a single recipient, the one code the whole notice gives."""
    found: dict[str, FailedRecipient] = {}
    for text in texts:
        marker = _RETURNED_MARKER.search(text)
        head = text[: marker.start()] if marker else text
        gave_up, trying = bool(_GAVE_UP.search(head)), bool(_STILL_TRYING.search(head))
        if not (gave_up or trying or _TROUBLE.search(head)):
            continue  # a text that does not say delivery failed or is late: its addresses are no recipients
        codes = {".".join(m.groups()) for m in _STATUS_CODE.finditer(head)}
        paragraphs = list(_paragraphs(head.splitlines()))
        for address, reason in paragraphs[:_MAX_RECIPIENTS]:
            status = _code(reason) or said.get(address, "")
            if not status and len(paragraphs) == 1 and len(codes) == 1:
                status = next(iter(codes))
            if status.startswith("5") or (gave_up and not (trying and status.startswith("4"))):
                action = "failed"
            elif trying:
                action = "delayed"
            else:
                action = ""
            earlier = found.get(address)
            if earlier is None or (not earlier.status and status):
                found[address] = FailedRecipient(address, status, action, reason)
    return list(found.values())[:_MAX_RECIPIENTS]


def _paragraphs(lines: list[str]) -> Iterator[tuple[str, str]]:
    """(address, reason) for each recipient line and the lines under it: up to a blank line or the next
    recipient line; under an indented address (Exim), the lines indented deeper."""
    address, reason, indent = "", [], ""
    for line in lines:
        deeper = len(line) - len(line.lstrip()) > len(indent)
        if address and indent and line.strip() and deeper:
            reason.append(line)
            continue
        short = len(line) <= _MAX_LINE
        at_start = _LINE_RECIPIENT.match(line) if short else None
        indented = _INDENTED_RECIPIENT.fullmatch(line) if short and not at_start else None
        trailing = _trailing_recipient(line) if short and not (at_start or indented) else None
        if trailing:
            if address:
                yield address, _joined(reason)
            yield trailing
            address, reason, indent = "", [], ""
        elif at_start or indented:
            if address:
                yield address, _joined(reason)
            if at_start:
                address = (at_start.group(1) or at_start.group(2) or at_start.group(3)).lower()
                reason, indent = [at_start.group(4)], ""
            else:
                assert indented is not None
                address, reason, indent = indented.group(2).lower(), [], indented.group(1)
            if not _PLAIN_ADDRESS.fullmatch(address):  # a Message-ID in a folded header, binary noise
                address, reason, indent = "", [], ""
        elif address and line.strip() and not indent:
            reason.append(line)
        elif address:
            yield address, _joined(reason)
            address, reason, indent = "", [], ""
    if address:
        yield address, _joined(reason)


def _trailing_recipient(line: str) -> tuple[str, str] | None:
    """A one-line notice that names the address last: "Delivery failed 10 attempts: info@example.net"."""
    said, colon, who = line.rpartition(":")
    who = who.strip().strip("<>.").strip()
    if colon and "@" in who and _PLAIN_ADDRESS.fullmatch(who) and _ONE_LINE_FAILURE.search(said):
        return who.lower(), _joined([said])
    return None


def _joined(lines: list[str]) -> str:
    return " ".join(" ".join(line.split()) for line in lines if line.strip())
