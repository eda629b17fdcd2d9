"""The MIME splitter: raw bytes -> a tree of parts, found with bytes.find on boundaries, never copied."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from postroom.mail import fields
from postroom.mail.headers import Headers, read_block

# Limits that keep hostile mail (thousands of parts, endless nesting) from costing more than it is worth.
MAX_DEPTH = 40
MAX_PARTS = 2000
_BOUNDARY_GUESS = re.compile(rb"^--([ -~]{8,200}?)[ \t]*\r?$", re.M)


@dataclass(slots=True, eq=False)
class Part:
    headers: Headers
    content_type: str  # "text/plain", lower-cased
    params: dict[str, str]
    start: int  # the body, as offsets into the whole mail
    end: int
    children: list[Part] = field(default_factory=list)
    # multipart/* that could not be split is read as text: say so where it matters
    unsplit: bool = False

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/") and not self.unsplit


@dataclass(slots=True)
class Splitter:
    buf: bytes
    hints: Callable[[], list[str]]
    defects: list[str]
    count: int = 0

    def part(self, start: int, end: int, depth: int, default_type: str = "text/plain") -> Part:
        found, body, notes = read_block(self.buf, start, end, top=depth == 0)
        self.defects.extend(notes)
        return self.make(Headers(found, self.hints), body, end, depth, default_type)

    def make(self, headers: Headers, body: int, end: int, depth: int, default_type: str) -> Part:
        """A part whose header block is already read; splits it further if it is a multipart."""
        self.count += 1
        ctype, params = fields.content_value(headers.get("content-type"))
        if "/" not in ctype or " " in ctype:
            if ctype:
                self.defects.append(f"bad Content-Type {ctype!r}: read as {default_type}")
            ctype = default_type
        part = Part(headers, ctype, params, body, end)
        if ctype.startswith("multipart/"):
            if depth >= MAX_DEPTH or self.count >= MAX_PARTS:
                self.defects.append("MIME nested too deep or too many parts: rest kept as text")
                part.unsplit = True
            else:
                self._split(part, depth)
        return part

    def _split(self, part: Part, depth: int) -> None:
        delims = self._delimiters(part)
        if not delims:
            part.unsplit = True
            return
        child_type = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
        for (_, content_start, _), (line_start, _, _) in itertools.pairwise(delims):
            if self.count >= MAX_PARTS:
                # Thousands of parts: the rest stays together as one part, kept but not split further.
                self.defects.append("MIME nested too deep or too many parts: rest kept as text")
                part.children.append(self.part(content_start, part.end, depth + 1, child_type))
                return
            part.children.append(self.part(content_start, line_start, depth + 1, child_type))
        _, last_start, closing = delims[-1]
        if not closing:
            self.defects.append("missing end boundary")
            if last_start < part.end:
                part.children.append(self.part(last_start, part.end, depth + 1, child_type))

    def _delimiters(self, part: Part) -> list[tuple[int, int, bool]]:
        """Boundary lines as (where the CRLF before it starts, where the next part starts, closing?)."""
        boundary = part.params.get("boundary", "")
        if boundary:
            found = self._find(part, boundary.encode("utf-8", "surrogateescape"))
            if found:
                return found
            self.defects.append("boundary not found in the body")
        else:
            self.defects.append("multipart without a boundary")
        guess = _BOUNDARY_GUESS.search(self.buf, part.start, min(part.end, part.start + 8192))
        if guess is not None and guess.group(1).rstrip() != boundary:
            return self._find(part, guess.group(1).rstrip())
        return []

    def _find(self, part: Part, boundary: bytes) -> list[tuple[int, int, bool]]:
        buf, end = self.buf, part.end
        marker = b"--" + boundary
        out: list[tuple[int, int, bool]] = []
        at = buf.find(marker, part.start, end)
        while at >= 0:
            after = at + len(marker)
            # "--b--" closes only when the line ends there: "--b--x" may be a longer, nested boundary.
            closing = buf.startswith(b"--", after, end) and _line_ends(buf, after + 2, end)
            if (at == part.start or buf[at - 1] in b"\r\n") and (closing or _line_ends(buf, after, end)):
                out.append((_line_start(buf, at, part.start), _next_line(buf, after, end), closing))
                if closing:
                    break
            at = buf.find(marker, after, end)
        return out


def _line_ends(buf: bytes, at: int, end: int) -> bool:
    while at < end and buf[at] in b" \t":
        at += 1
    return at >= end or buf[at] in b"\r\n"


def _line_start(buf: bytes, at: int, floor: int) -> int:
    """Where the line break before a boundary starts: that CRLF belongs to the boundary, not the part."""
    if at > floor and buf[at - 1] == 0x0A:
        at -= 1
        if at > floor and buf[at - 1] == 0x0D:
            at -= 1
    elif at > floor and buf[at - 1] == 0x0D:
        at -= 1
    return at


def _next_line(buf: bytes, at: int, end: int) -> int:
    nl = buf.find(b"\n", at, end)
    return end if nl < 0 else nl + 1
