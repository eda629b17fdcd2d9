"""Filters and import rules as plain data, built from their stored specs, with each condition's test.

A spec is the mapping the configuration file writes for one filter or rule (validated by the loader,
``mailboxes/config_rules.py``) and the database keeps as JSON (``mailboxes.models.Rule.spec``):

    from: [ADDRESS-PATTERN, ...]         the sender (an address, a glob like *@example.com, or regex:...)
    from_domain: [DOMAIN, ...]           the sender's domain is one of these (*.example.com: subdomains too)
    to / cc / delivered_to: [ADDRESS-PATTERN, ...]   one recipient (or Delivered-To/X-Original-To) matches
    keyword: {text: [PHRASE, ...] | regex: RE, in: [subject, body, headers]}   (in: subject and body
                                         by default; a phrase matches case-insensitively, as whole words)
    subject_contains / body_contains: [PHRASE-OR-regex:RE, ...]
    header: {NAME: PATTERN, ...}         the header is present and contains PATTERN ("*": present at all)
    has_attachment: true | false
Every condition given must hold; a list holds when one of its entries does. Rules also have actions
(see ``Actions``). Patterns are compiled once per rule set, never per message.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from postroom.mail.message import ParsedMessage
from postroom.routing.mappings import Extractor, Mapping

REGEX_PREFIX = "regex:"
KEYWORD_PLACES = ("subject", "body", "headers")
CONDITION_KEYS = (
    "from", "from_domain", "to", "cc", "delivered_to", "keyword", "subject_contains", "body_contains",
    "header", "has_attachment",
)  # fmt: skip
IMPORT_AS = ("ticket", "job", "quote", "task", "case", "job_and_quote", "note")
UNKNOWN_SENDER = ("accept", "as_owner", "reject")
PRIORITIES = ("low", "normal", "high", "urgent")


def compile_pattern(text: str, *, whole_words: bool = False, glob: bool = False) -> re.Pattern[str]:
    """One pattern of a spec: ``regex:RE``, a glob (addresses), or a phrase (case-insensitive)."""
    if text.startswith(REGEX_PREFIX):
        return re.compile(text[len(REGEX_PREFIX) :], re.IGNORECASE | re.MULTILINE)
    if glob:
        return re.compile(fnmatch.translate(text.lower()), re.IGNORECASE)
    phrase = r"\s+".join(re.escape(word) for word in text.split())
    if whole_words:
        phrase = (
            (r"\b" if re.match(r"\w", text) else "") + phrase + (r"\b" if re.search(r"\w$", text) else "")
        )
    return re.compile(phrase, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Check:
    """One condition tested on one message: shown by dry runs and kept on the message."""

    condition: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.condition}: {self.detail}"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@dataclass(frozen=True, slots=True)
class _AnyOf:
    """A list of patterns, with the spec's own text kept to explain a match."""

    texts: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    # For a phrase: (its longest word, a safe piece of it), lower-cased, that any match must contain —
    # a substring test in C that lets most mail skip the regex (most rules fail on most mail). The word
    # serves for ASCII text; for other text only the safe piece does (see _needle). None: run the regex.
    needles: tuple[tuple[str | None, str | None] | None, ...] = ()
    # (text, pattern, needle, is a regex) for each: what ``one`` walks for every rule and every mail
    _items: tuple[tuple[str, re.Pattern[str], tuple[str | None, str | None] | None, bool], ...] = ()

    def __post_init__(self) -> None:
        needles = self.needles or (None,) * len(self.texts)
        items = tuple(
            (text, pattern, needle, text.startswith(REGEX_PREFIX))
            for text, pattern, needle in zip(self.texts, self.patterns, needles, strict=True)
        )
        object.__setattr__(self, "_items", items)

    @classmethod
    def of(cls, value: Any, glob: bool = False, whole_words: bool = False) -> _AnyOf:
        texts = tuple(_as_list(value))
        patterns = tuple(compile_pattern(t, glob=glob, whole_words=whole_words) for t in texts)
        needles = tuple(None if glob or t.startswith(REGEX_PREFIX) else _needle(t) for t in texts)
        return cls(texts, patterns, needles)

    def first(
        self, values: Iterable[str], full: bool = False, lowered: Iterable[str] | None = None
    ) -> tuple[str, str] | None:
        """(value, pattern text) of the first value one pattern matches. ``full``: a glob must match the
        whole value (an address); a regex is searched, as regexes are everywhere else. ``lowered``: the
        values lower-cased, for the needles."""
        lows = iter(lowered) if lowered is not None else None
        for value in values:
            if (text := self.one(value, full, next(lows) if lows is not None else None)) is not None:
                return value, text
        return None

    def one(self, value: str, full: bool = False, low: str | None = None) -> str | None:
        """The text of the first pattern that matches ``value`` (``low``: it lower-cased), or None."""
        ascii_text = low is not None and low.isascii()
        for text, pattern, needle, regex in self._items:
            if needle is not None and low is not None:
                piece = needle[0] if ascii_text and needle[0] else needle[1]
                if piece is not None and piece not in low:
                    continue
            if full and not regex:
                if pattern.fullmatch(value) is not None:
                    return text
            elif pattern.search(value) is not None:
                return text
        return None


# ASCII letters that re.IGNORECASE also matches with a non-ASCII letter (K: Kelvin sign, s: long s,
# i: dotted and dotless I), where str.lower() would not find them: never part of a needle. Nor is
# whitespace (the phrase's words match across any run of it) or anything not ASCII.
_UNSAFE = re.compile(r"[^a-z0-9]|[iks]")


def _needle(phrase: str) -> tuple[str | None, str | None] | None:
    """(the phrase's longest word if ASCII, its longest run of at least three safe characters),
    lower-cased."""
    words = phrase.lower().split()
    if not words:
        return None
    word = max(words, key=len)
    runs = [run for run in _UNSAFE.split(phrase.lower()) if len(run) >= 3]
    return word if word.isascii() else None, max(runs, key=len) if runs else None


def _domain_matches(domain: str, wanted: str) -> bool:
    wanted = wanted.lower()
    if wanted.startswith("*."):
        return domain == wanted[2:] or domain.endswith(wanted[1:])
    return domain == wanted


class MailTexts:
    """A message's sender, subject, body and headers as conditions read them, each made (and lower-cased)
    once per message however many rules read it."""

    __slots__ = ("_lower", "_text", "msg", "sender")

    def __init__(self, msg: ParsedMessage) -> None:
        self.msg = msg
        self.sender = msg.from_.address if msg.from_ else ""
        self._text: dict[str, str] = {}
        self._lower: dict[str, str] = {}

    def text(self, place: str) -> str:
        if place not in self._text:
            msg = self.msg
            if place == "subject":
                value = msg.subject
            elif place == "body":
                value = msg.text
            else:
                value = "\n".join(f"{name}: {value}" for name, value in msg.headers.items())
            self._text[place] = value
        return self._text[place]

    def lower(self, place: str) -> str:
        if place not in self._lower:
            self._lower[place] = self.text(place).lower()
        return self._lower[place]

    def find(self, patterns: _AnyOf, place: str) -> tuple[str, str] | None:
        value = self.text(place)
        text = patterns.one(value, low=self.lower(place))
        return None if text is None else (value, text)


# Each kind of condition: ``match`` answers fast (a hit, or None), ``say`` explains a result in words —
# asked only for rules that matched and in dry runs, since most rules fail on most mail.


@dataclass(frozen=True, slots=True)
class _From:
    patterns: _AnyOf
    name = "from"

    def match(self, t: MailTexts) -> Any:
        if not t.sender or (text := self.patterns.one(t.sender, full=True)) is None:
            return None
        return t.sender, text

    def say(self, t: MailTexts, hit: Any) -> str:
        return _said(t.sender or "(no sender)", hit, self.patterns)


@dataclass(frozen=True, slots=True)
class _FromDomain:
    domains: tuple[str, ...]
    name = "from_domain"

    def match(self, t: MailTexts) -> Any:
        domain = t.sender.rpartition("@")[2]
        return domain if domain and any(_domain_matches(domain, d) for d in self.domains) else None

    def say(self, t: MailTexts, hit: Any) -> str:
        domain = t.sender.rpartition("@")[2] or "(no sender)"
        return f"{domain} {'is' if hit else 'is not'} in {', '.join(self.domains)}"


@dataclass(frozen=True, slots=True)
class _Recipient:
    name: str  # "to" | "cc" | "delivered_to"
    patterns: _AnyOf

    def match(self, t: MailTexts) -> Any:
        return self.patterns.first(_recipients(t.msg, self.name), full=True)

    def say(self, t: MailTexts, hit: Any) -> str:
        return _said(", ".join(_recipients(t.msg, self.name)) or "(none)", hit, self.patterns)


@dataclass(frozen=True, slots=True)
class _Keyword:
    patterns: _AnyOf
    places: tuple[str, ...]
    name = "keyword"

    def match(self, t: MailTexts) -> Any:
        for place in self.places:
            if (hit := t.find(self.patterns, place)) is not None:
                return place, hit[1]
        return None

    def say(self, t: MailTexts, hit: Any) -> str:
        if hit:
            return f"{hit[1]!r} found in the {hit[0]}"
        return f"none of {_listed(self.patterns)} in the {', '.join(self.places)}"


@dataclass(frozen=True, slots=True)
class _Contains:
    name: str  # "subject_contains" | "body_contains"
    patterns: _AnyOf

    def match(self, t: MailTexts) -> Any:
        return t.find(self.patterns, "subject" if self.name == "subject_contains" else "body")

    def say(self, t: MailTexts, hit: Any) -> str:
        place = "subject" if self.name == "subject_contains" else "body"
        return f"{place} {'contains' if hit else 'contains none of'} {_quoted(hit, self.patterns)}"


@dataclass(frozen=True, slots=True)
class _Header:
    header: str  # lower-cased
    text: str
    pattern: re.Pattern[str] | None  # None: present at all ("*")

    @property
    def name(self) -> str:
        return f"header {self.header}"

    def match(self, t: MailTexts) -> Any:
        value = t.msg.headers.get(self.header)
        if value is None or (self.pattern is not None and self.pattern.search(value) is None):
            return None
        return value

    def say(self, t: MailTexts, hit: Any) -> str:
        value = t.msg.headers.get(self.header)
        if value is None:
            return "not in the message"
        return f"{_short(value)!r} {'matches' if hit else 'does not match'} {self.text!r}"


@dataclass(frozen=True, slots=True)
class _HasAttachment:
    wanted: bool
    name = "has_attachment"

    def match(self, t: MailTexts) -> Any:
        count = sum(1 for a in t.msg.attachments if not a.inline)
        return count if (count > 0) == self.wanted else None

    def say(self, t: MailTexts, hit: Any) -> str:
        count = sum(1 for a in t.msg.attachments if not a.inline)
        return f"{count} attachment{'s' if count != 1 else ''}"


def _recipients(msg: ParsedMessage, key: str) -> list[str]:
    if key == "delivered_to":
        extra = msg.headers.get("x-original-to", "").split("\n")
        return [a.strip().lower() for a in (*msg.delivered_to, *extra) if a.strip()]
    return [a.address for a in (msg.to if key == "to" else msg.cc) if a.address]


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _listed(patterns: _AnyOf) -> str:
    return ", ".join(repr(t) for t in patterns.texts)


def _quoted(hit: tuple[str, str] | None, patterns: _AnyOf) -> str:
    return repr(hit[1]) if hit else _listed(patterns)


def _said(value: str, hit: tuple[str, str] | None, patterns: _AnyOf) -> str:
    if hit is not None:
        return f"{hit[0]} matches {hit[1]!r}"
    return f"{_short(value)} matches none of {_listed(patterns)}"


@dataclass(frozen=True, slots=True)
class Conditions:
    """What must hold for a filter or rule to apply: every part. Built with ``Conditions.from_spec``."""

    parts: tuple[Any, ...] = ()

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Conditions:
        parts: list[Any] = []
        if spec.get("from") is not None:
            parts.append(_From(_AnyOf.of(spec["from"], glob=True)))
        if spec.get("from_domain") is not None:
            parts.append(_FromDomain(tuple(d.lower() for d in _as_list(spec["from_domain"]))))
        for key in ("to", "cc", "delivered_to"):
            if spec.get(key) is not None:
                parts.append(_Recipient(key, _AnyOf.of(spec[key], glob=True)))
        if (kw := spec.get("keyword")) is not None:
            if isinstance(kw, str):
                kw = {"text": kw}
            texts = _as_list(kw.get("text")) + ([REGEX_PREFIX + kw["regex"]] if kw.get("regex") else [])
            places = tuple(_as_list(kw.get("in")) or ["subject", "body"])
            parts.append(_Keyword(_AnyOf.of(texts, whole_words=True), places))
        for key in ("subject_contains", "body_contains"):
            if spec.get(key) is not None:
                parts.append(_Contains(key, _AnyOf.of(spec[key])))
        for name, text in (spec.get("header") or {}).items():
            text = str(text)
            parts.append(_Header(name.lower(), text, None if text == "*" else compile_pattern(text)))
        if spec.get("has_attachment") is not None:
            parts.append(_HasAttachment(bool(spec["has_attachment"])))
        return cls(tuple(parts))

    def test(
        self, msg: ParsedMessage, stop_early: bool = True, texts: MailTexts | None = None
    ) -> tuple[bool, list[Check]]:
        """Whether every condition holds, with each one's check in words. With ``stop_early`` (an import)
        a rule that fails returns at its first failed condition with no checks; a dry run passes False to
        see every condition and why each held or failed. ``texts``: shared by the rules of one message."""
        t = texts or MailTexts(msg)
        hits = []
        for part in self.parts:
            hit = part.match(t)
            if hit is None and stop_early:
                return False, []
            hits.append(hit)
        checks = [Check(p.name, h is not None, p.say(t, h)) for p, h in zip(self.parts, hits, strict=True)]
        return all(h is not None for h in hits), checks


@dataclass(frozen=True, slots=True)
class Assign:
    how: str  # "user" | "round_robin" | "least_busy"
    target: str  # a user name, or a team name


@dataclass(frozen=True, slots=True)
class Actions:
    """What a rule does to the mail it matches; empty values leave the record's defaults."""

    import_as: str = ""  # one of IMPORT_AS; "" = the mailbox's record_kind
    job_keyword: re.Pattern[str] | None = None
    customer: str = ""
    category: str = ""
    team: str = ""
    priority: str = ""
    tags: tuple[str, ...] = ()
    note_type: str = ""
    assign: Assign | None = None
    mappings: tuple[Mapping, ...] = ()
    unknown_sender: str = ""  # one of UNKNOWN_SENDER; "": import, the sender stays a plain address
    owner: str = ""  # as_owner: the user records are made in the name of
    require_access: bool = False
    # None: the rule says nothing (the mailbox's auto-reply applies); {}: none; else {template, subject}.
    auto_reply: dict[str, str] | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Actions:
        assign = None
        if (a := spec.get("assign")) is not None:
            how, target = next(iter(a.items()))
            assign = Assign(how, str(target))
        keyword = spec.get("job_keyword") or "job"
        return cls(
            import_as=spec.get("import_as", ""),
            job_keyword=compile_pattern(keyword, whole_words=True)
            if spec.get("import_as") == "job_and_quote"
            else None,
            customer=spec.get("customer", ""),
            category=spec.get("category", ""),
            team=spec.get("team", ""),
            priority=spec.get("priority", ""),
            tags=tuple(_as_list(spec.get("tags"))),
            note_type=spec.get("note_type", ""),
            assign=assign,
            mappings=tuple(Mapping(**row) for row in spec.get("mappings") or ()),
            unknown_sender=spec.get("unknown_sender", ""),
            owner=spec.get("owner", ""),
            require_access=bool(spec.get("require_access", False)),
            auto_reply=_auto_reply(spec.get("auto_reply")),
        )


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    conditions: Conditions
    scope: str = "global"  # "global" | the mailbox's name


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    order: int
    conditions: Conditions
    actions: Actions
    continues: bool = False  # `continue: true`: later rules run too
    extractor: Extractor = field(default_factory=lambda: Extractor(()))

    @classmethod
    def from_spec(cls, name: str, order: int, spec: dict[str, Any]) -> Rule:
        actions = Actions.from_spec(spec)
        return cls(
            name, order, Conditions.from_spec(spec), actions, bool(spec.get("continue", False)),
            Extractor(actions.mappings),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Everything routing needs to know about one mailbox, compiled once per cycle."""

    mailbox: str
    record_kind: str
    filters: tuple[Filter, ...] = ()
    rules: tuple[Rule, ...] = ()
    unmatched: str = "import"  # "import" (as record_kind) | "unprocessed"

    @classmethod
    def build(
        cls,
        mailbox: str,
        record_kind: str,
        filters: Iterable[tuple[str, str, dict[str, Any]]] = (),
        rules: Iterable[tuple[str, int, dict[str, Any]]] = (),
        unmatched: str = "import",
    ) -> RuleSet:
        """From stored rows: filters as (name, scope, spec), rules as (name, order, spec)."""
        return cls(
            mailbox,
            record_kind,
            tuple(Filter(name, Conditions.from_spec(spec), scope) for name, scope, spec in filters),
            tuple(sorted((Rule.from_spec(n, o, s) for n, o, s in rules), key=lambda r: r.order)),
            unmatched,
        )


def _auto_reply(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return dict(value) if value else {}
