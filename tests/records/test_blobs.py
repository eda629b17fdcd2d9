"""The content-addressed blob store: layout, one copy per content, stores of the earlier two-level layout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from postroom.records import blobs


def test_a_content_is_written_once_under_its_hash_in_one_of_256_folders(tmp_path: Path) -> None:
    data = b"raw mail bytes\r\n"
    digest = blobs.put(data, None, tmp_path)
    assert digest == hashlib.sha256(data).hexdigest()
    path = tmp_path / digest[:2] / digest
    assert path.read_bytes() == data and blobs.blob_path(digest, tmp_path) == path
    mtime = path.stat().st_mtime_ns
    assert blobs.put(data, digest, tmp_path) == digest  # the same content again: not rewritten
    assert path.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [digest[:2]]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_leftover_temporary_file_of_a_crashed_writer_is_replaced(tmp_path: Path) -> None:
    data = b"attachment"
    digest = hashlib.sha256(data).hexdigest()
    folder = tmp_path / digest[:2]
    folder.mkdir()
    (folder / f".tmp-{os.getpid()}-{__import__('threading').get_ident()}-{digest[:16]}").write_bytes(b"half")
    blobs.put(data, digest, tmp_path)
    assert (folder / digest).read_bytes() == data
    assert [p.name for p in folder.iterdir()] == [digest]


def test_blobs_of_the_earlier_two_level_layout_are_still_read(tmp_path: Path) -> None:
    data = b"stored before the layout changed"
    digest = hashlib.sha256(data).hexdigest()
    old = tmp_path / digest[:2] / digest[2:4] / digest
    old.parent.mkdir(parents=True)
    old.write_bytes(data)
    assert blobs.blob_path(digest, tmp_path) == old
    assert blobs.blob_path(digest, tmp_path).read_bytes() == data
