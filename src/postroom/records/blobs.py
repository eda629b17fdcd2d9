"""Content-addressed file store for raw mails and attachments: each content is written once, by sha256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings

_made_dirs: set[Path] = set()


def blob_path(sha256: str) -> Path:
    return Path(settings.BLOB_DIR) / sha256[:2] / sha256[2:4] / sha256


def put(data: bytes | memoryview, sha256: str | None = None) -> str:
    """Store ``data`` unless the same content is there already; returns its sha256.

    Written to a temporary file and renamed, so a crash never leaves a half-written blob under its final
    name. Not fsynced here: the runner calls `durability.barrier()` before it lets the server forget a
    message, which makes every blob and the database durable at once instead of once per file.
    """
    digest = sha256 or hashlib.sha256(data).hexdigest()
    path = blob_path(digest)
    if path.exists():
        return digest
    if path.parent not in _made_dirs:  # 65,536 folders at most: remember them instead of asking each time
        path.parent.mkdir(parents=True, exist_ok=True)
        _made_dirs.add(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def read(sha256: str) -> bytes:
    return blob_path(sha256).read_bytes()
