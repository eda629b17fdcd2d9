"""What a message needs before the database: its hash, its parse, and its bytes safe in the blob store.

Pure of the database, so it can run in a worker process (see ``pipeline/parallel.py``) while the main
process stores the previous messages. Blobs are written before the transaction that refers to them: an
orphan file after a crash is harmless, a row pointing at a missing file would not be.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from postroom.mail.message import ParsedMessage
from postroom.mail.parse import parse_message
from postroom.records import blobs
from postroom.records.blobs import StoredRaw


@dataclass(frozen=True, slots=True)
class Prepared:
    raw: StoredRaw
    # The parse, its attachments' bytes already written to the blob store (and dropped here, so handing
    # the result to another process copies no attachment). None when the mail could not be parsed.
    message: ParsedMessage | None
    error: str = ""  # why it could not be parsed


def prepare(raw: bytes, blob_root: Path | str | None = None) -> Prepared:
    """Hash, store raw, parse, store attachments. Never raises for bad mail; raises OSError for a bad disk."""
    raw_sha256 = hashlib.sha256(raw).hexdigest()
    blobs.put(raw, raw_sha256, blob_root)
    try:
        msg = parse_message(raw)
    except Exception as exc:  # a parser bug or hopeless input: the mail is kept raw, never dropped
        reason = f"could not parse: {type(exc).__name__}: {exc}"
        return Prepared(StoredRaw(raw_sha256, len(raw)), None, reason)
    for att in msg.attachments:
        blobs.put(att.data, att.sha256, blob_root)
    light = tuple(dataclasses.replace(att, data=b"") for att in msg.attachments)
    return Prepared(StoredRaw(raw_sha256, len(raw)), dataclasses.replace(msg, attachments=light))
