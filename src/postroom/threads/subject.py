"""Reading a subject: record references ([#1042], #1042) and reply/forward prefixes in many languages."""

from __future__ import annotations

import re
from functools import lru_cache

# Prefixes mail clients put in front of a subject, by language. Forward prefixes matter: a forwarded
# mail without In-Reply-To/References opens a new record even when the subject names one.
REPLY_PREFIXES = (
    "re", "aw", "sv", "vs", "antw", "antwort", "odp", "ynt", "réf", "ref", "rif", "r", "res", "rv",
    "atb", "vá", "ats", "odg", "回复", "答复", "返信",
)  # fmt: skip
FORWARD_PREFIXES = (
    "fwd", "fw", "wg", "tr", "enc", "doorst", "rv", "vb", "i", "pd", "fs", "vl", "πρθ", "转发", "転送",
)  # fmt: skip

# The colon may be the full-width one (U+FF1A) that CJK mail clients write.
_PREFIX = re.compile(r"^\s*(?P<word>[^\W\d_]{1,8}\.?)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*", re.UNICODE)
_BARE_REFERENCE = re.compile(r"(?<![\w&#])#(\d{1,12})\b")


def strip_prefixes(subject: str) -> tuple[str, list[str]]:
    """The subject without its leading reply/forward prefixes, and the prefixes found (lower-cased)."""
    found: list[str] = []
    rest = subject
    while True:
        m = _PREFIX.match(rest)
        if not m:
            return rest.strip(), found
        word = m.group("word").lower().rstrip(".")
        if word not in REPLY_PREFIXES and word not in FORWARD_PREFIXES and word != "réf":
            return rest.strip(), found
        found.append(word)
        rest = rest[m.end() :]


def is_forward(subject: str) -> bool:
    """True when the outermost prefix says "forwarded" (Fwd:, WG:, TR:, ...), not "reply" (Re:, AW:, ...)."""
    _, prefixes = strip_prefixes(subject)
    return bool(prefixes) and prefixes[0] in FORWARD_PREFIXES and prefixes[0] not in REPLY_PREFIXES


@lru_cache(maxsize=16)
def reference_regex(reference_format: str) -> re.Pattern[str]:
    """Turn a format such as "[#{number}]" or "(Case {number})" into a regex that finds the number."""
    if "{number}" not in reference_format:
        raise ValueError("reference_format must contain {number}")
    before, after = reference_format.split("{number}", 1)
    return re.compile(re.escape(before) + r"\s*(\d{1,12})\s*" + re.escape(after), re.IGNORECASE)


def find_references(subject: str, reference_format: str = "[#{number}]") -> list[int]:
    """Record numbers named in a subject: the configured form first, then bare #1042, without repeats."""
    numbers = [int(n) for n in reference_regex(reference_format).findall(subject)]
    numbers += [int(n) for n in _BARE_REFERENCE.findall(subject)]
    return list(dict.fromkeys(numbers))


def format_reference(number: int, reference_format: str = "[#{number}]") -> str:
    return reference_format.replace("{number}", str(number))
