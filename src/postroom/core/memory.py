"""Keeps the process's memory from creeping: large buffers go straight back to the system when freed.

glibc serves an allocation above its mmap threshold with mmap and returns it on free, but after such a
free it raises the threshold (up to 32 MB), so later mails of a few MB come from the heap, which seldom
shrinks. An importer handles mail of every size for weeks; a fixed threshold keeps its peak at what the
largest mails in hand need, not at what the mailbox ever held.
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold (a no-op elsewhere); True when it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # dlopen(NULL): the running program with the libc it is linked to (find_library runs ldconfig).
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # musl and others have no mallopt: nothing to tune
        return False
