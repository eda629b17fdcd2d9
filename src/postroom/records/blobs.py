"""Content-addressed file store for raw mails and attachments: each content is written once, by sha256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True, slots=True)
class StoredRaw:
    """A raw mail written to the blob store: what the database keeps of it."""

    sha256: str
    size: int


def blob_path(sha256: str, root: Path | str | None = None) -> Path:
    """Where a content lives; ``root`` defaults to the configured BLOB_DIR (a worker process passes it).

    ``<root>/ab/<sha256>``: 256 folders, made once, as git does. Stores written before 2026-12 used two
    levels (``ab/cd/<sha256>``); a content found only there is read from there.
    """
    path = _path(sha256, root)
    if not os.path.exists(path) and os.path.exists(legacy := _legacy_path(sha256, root)):
        return Path(legacy)
    return Path(path)


def _path(sha256: str, root: Path | str | None) -> str:
    base = os.fspath(root if root is not None else settings.BLOB_DIR)
    return f"{base}/{sha256[:2]}/{sha256}"


def _legacy_path(sha256: str, root: Path | str | None) -> str:
    base = os.fspath(root if root is not None else settings.BLOB_DIR)
    return f"{base}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def put(data: bytes | memoryview, sha256: str | None = None, root: Path | str | None = None) -> str:
    """Store ``data`` unless the same content is there already; returns its sha256.

    Written to a temporary file and renamed, so a crash never leaves a half-written blob under its final
    name. Not fsynced here: the runner calls `durability.barrier()` before it lets the server forget a
    message, which makes every blob and the database durable at once instead of once per file. Plain
    ``os`` calls on string paths: this runs for every mail and attachment, and pathlib and tempfile
    cost more than the write of a small mail.
    """
    digest = sha256 or hashlib.sha256(data).hexdigest()
    path = _path(digest, root)
    if os.path.exists(path):
        return digest
    folder = os.path.dirname(path)
    # Unique to this process and thread; O_EXCL refuses a leftover of a crashed writer with the same name.
    tmp = f"{folder}/.tmp-{os.getpid()}-{threading.get_ident()}-{digest[:16]}"
    fd = _create(tmp, folder)
    try:
        try:
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:])
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return digest


def _create(tmp: str, folder: str) -> int:
    """Open ``tmp`` for writing, making its folder when it is missing (asked only then: one call less)."""
    for _ in range(3):
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:  # a crashed writer's leftover
            os.unlink(tmp)
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)


def read(sha256: str) -> bytes:
    return blob_path(sha256).read_bytes()
