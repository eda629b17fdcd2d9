"""The bits of IMAP we read and write ourselves: UID sequence sets and the FETCH answers of imaplib."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')

# What imaplib returns for a FETCH: plain lines, and (line up to the literal, literal bytes) tuples.
FetchData = Sequence[bytes | tuple[bytes, bytes] | None]


def sequence_set(uids: list[int]) -> str:
    """Compact UID set: [1, 2, 3, 7, 9, 10] -> "1:3,7,9:10"."""
    ordered = sorted(set(uids))
    runs: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            runs.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    runs.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(runs)


def batches(uids: list[int], count: int, max_bytes: int, sizes: Mapping[int, int]) -> Iterator[list[int]]:
    """Consecutive slices of ``uids`` of at most ``count`` messages and (sizes known) about ``max_bytes``."""
    batch: list[int] = []
    held = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= count or held + size > max_bytes):
            yield batch
            batch, held = [], 0
        batch.append(uid)
        held += size
    if batch:
        yield batch


def parse_bodies(data: FetchData) -> dict[int, bytes]:
    """UID -> BODY[] bytes from a ``UID FETCH (UID BODY.PEEK[])`` answer, whatever order the server used.

    The UID usually comes before the literal, but a server may send it after (in the trailing line);
    unsolicited FETCH lines (flag changes by other clients) carry no literal and are ignored.
    """
    bodies: dict[int, bytes] = {}
    waiting: bytes | None = None  # a body whose UID is still to come
    for item in data:
        if isinstance(item, tuple):
            head, literal = item
            match = _UID.search(head)
            if match:
                bodies[int(match[1])] = literal
                waiting = None
            else:
                waiting = literal
        elif isinstance(item, bytes) and waiting is not None:
            match = _UID.search(item)
            if match:
                bodies[int(match[1])] = waiting
            waiting = None
    return bodies


def parse_listing(data: FetchData) -> list[tuple[int, int | None, datetime | None]]:
    """(uid, size, internal date) in UID order from a ``UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE)``."""
    found: dict[int, tuple[int, int | None, datetime | None]] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not line:
            continue
        uid, size, date = _UID.search(line), _SIZE.search(line), _DATE.search(line)
        if uid:
            found[int(uid[1])] = (
                int(uid[1]),
                int(size[1]) if size else None,
                _date(date[1]) if date else None,
            )
    return [found[uid] for uid in sorted(found)]


_INTERNALDATE = re.compile(rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)\s*")
_MONTHS = {
    month: number
    for number, month in enumerate(b"jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}


def _date(value: bytes) -> datetime | None:
    """An INTERNALDATE ("01-Dec-2026 16:15:31 +0000"). By hand: strptime takes ten times longer, which
    shows when a folder lists tens of thousands of messages."""
    match = _INTERNALDATE.fullmatch(value)
    month = _MONTHS.get(match[2].lower()) if match else None
    if match is None or month is None:
        return None
    day, _, year, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    try:
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second),
            tzinfo=timezone(-offset if sign == b"-" else offset),
        )  # fmt: skip
    except ValueError:  # 31-Feb, hour 25, an offset of a day or more
        return None
