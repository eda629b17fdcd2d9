"""The parts of IMAP parsed by hand: sequence sets, FETCH answers in either order, folder names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postroom.sources.imap_names import decode_name, encode_name, parse_list, quote
from postroom.sources.imap_wire import FetchData, _date, batches, parse_bodies, sequence_set


def test_sequence_sets_are_compact() -> None:
    assert sequence_set([9, 1, 2, 3, 7, 10, 3]) == "1:3,7,9:10"
    assert sequence_set([5]) == "5"


def test_batches_respect_count_and_bytes() -> None:
    sizes = {1: 10, 2: 10, 3: 50, 4: 10}
    assert list(batches([1, 2, 3, 4], 3, 1000, sizes)) == [[1, 2, 3], [4]]
    assert list(batches([1, 2, 3, 4], 100, 30, sizes)) == [[1, 2], [3], [4]]  # a big one still goes alone


def test_bodies_are_found_whether_uid_comes_before_or_after_the_literal() -> None:
    data: FetchData = [
        (b"1 (UID 7 BODY[] {3}", b"abc"),
        b")",
        b"4 (FLAGS (\\Seen))",  # an unsolicited flag change from another client
        (b"2 (BODY[] {3}", b"xyz"),
        b" UID 9)",
    ]
    assert parse_bodies(data) == {7: b"abc", 9: b"xyz"}


@pytest.mark.parametrize(
    ("name", "wire"),
    [("INBOX", "INBOX"), ("R&D", "R&-D"), ("Geprüft", "Gepr&APw-ft"), ("日本語", "&ZeVnLIqe-")],
)
def test_folder_names_use_modified_utf7(name: str, wire: str) -> None:
    assert encode_name(name) == wire
    assert decode_name(wire) == name


def test_quote_escapes_for_the_wire() -> None:
    assert quote('a "b"\\c') == '"a \\"b\\"\\\\c"'


def test_list_answers_give_selectable_names() -> None:
    data: FetchData = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\Noselect \\HasChildren) "/" "Parent"',
        b'(\\HasNoChildren) "/" "Gepr&APw-ft"',
        (b'(\\HasNoChildren) "/" {9}', b"Two words"),
    ]
    assert parse_list(data) == ["INBOX", "Geprüft", "Two words"]


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_internal_dates_read_as_strptime_reads_them(when: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    text = when.replace(microsecond=0, tzinfo=zone).strftime("%d-%b-%Y %H:%M:%S %z").encode()
    if text[0:1] == b"0" and when.day % 2:  # servers write the day as " 1" as well as "01"
        text = b" " + text[1:]
    assert _date(text) == datetime.strptime(text.decode().strip(), "%d-%b-%Y %H:%M:%S %z")


@pytest.mark.parametrize("text", [b"", b"31-Feb-2020 00:00:00 +0000", b"01-Xyz-2020 00:00:00 +0000", b"junk"])
def test_impossible_internal_dates_read_as_none(text: bytes) -> None:
    assert _date(text) is None
