"""Field mappings: values pulled out of a mail into a record's ``fields`` (by label, form table or regex).

Pure Python (no Django). A rule's ``mappings:`` rows become ``Mapping`` values; ``check_mapping`` says
what is wrong with one (for the configuration loader); ``Extractor(mappings)`` compiles a rule set's
mappings once and ``extract(subject, text, html)`` runs them on each mail, returning an ``Extraction``:
the fields found, the required fields that are missing (the record then needs review; the mail is always
imported) and one note per mapping for dry runs. ``source`` and ``transform`` are read case-insensitively;
``None`` in a text attribute counts as empty (YAML's ``end:`` with nothing after it).

How a label is found (``start``):
- The label's words match case-insensitively, with any whitespace between them (several spaces,
  non-breaking spaces, or one line break: "Site\\nAddress:"); bold markers (``*``, ``_``) may surround
  it and a separator may follow: a colon (also a fullwidth one, and "Site Address :"), or a dash with a
  space after it ("Site Address - 12 High St"). The configured label's own trailing colon, dash and
  markers are ignored, so "Site Address:" and "Site Address" are the same label. The separator is
  optional because ``postroom.mail.html.to_text`` renders a label cell without colon as "Site Address
  12 High St".
- A label counts where it starts a line (after indentation, quote marks ``>``, bullets, ``|`` or bold
  markers). In the middle of a line it counts only with a separator after it and only after another label
  or a colon earlier on that line ("Name: Bob Phone: 0400"). So "Old Site Address: x" and "Emergency
  Contact Name: x" are not read as "Site Address" / "Contact Name"; when both "Emergency Contact Name"
  and "Contact Name" are labels each finds its own line. Only a label that starts a line may be split
  over two lines. In the subject a label with a separator may stand anywhere ("Fwd: Order 12 -
  Purchase Order: 7781").
- When a label occurs several times, the first occurrence with a separator wins; without any, the first
  (so "Contact name unknown" is only read when no "Contact Name:" follows).
- Labels are whole words: "Site Address" does not match "Site Addresses".

Where the value is:
- With ``end``: everything from the label to the first occurrence of ``end`` (matched like a label:
  case-insensitive, any whitespace, whole words where it starts/ends with a letter or digit), across lines
  if need be; other labels do not cut it. When ``end`` does not occur, the value is read as without it
  (the note says so). An ``end`` that is only whitespace means the end of the line.
- Otherwise: the rest of the label's line, cut short by a following label on the same line. When nothing
  follows the label on its line, the value is the next non-blank line — unless that line begins with a
  label (one of this extractor's, or any "Word Word:" pattern of up to five words).
- A value that runs to the end of its line continues onto the next line (at most 3 more lines) when that
  line is not blank, does not begin with a label, and one of these holds: the value so far ends with
  ``,`` ``&`` ``/`` or ``+`` (an address wrapped after "Unit 4,"); the next line is indented more than
  the label's line; or the line before it is 60 to 80 characters long (hard-wrapped plain text). Joined
  lines are separated by a space.
- Values are cleaned: whitespace runs become one space; surrounding whitespace, bold markers (``*``,
  ``_``) and ``|`` go; a leading ``:`` and trailing ``:`` ``;`` ``,`` go too. An empty value is missing.

Sources: ``body`` is the plain-text body (when it is blank and there is HTML, the text derived from the
HTML); ``subject`` the subject; ``html_table`` looks for a table cell whose whole text is the label (bold,
colon and required-field stars ignored; the first such cell wins; cells over 200 characters are never
labels) and takes the next cell in its row (cells holding only ":" or "-" are skipped). When the label
is in a header row — every cell of the row is a ``th``, or the next cell is itself one of this
extractor's labels — or is alone in its row, the value is the cell below it in the same column (colspans
counted). A label cell with an empty value cell gives an empty (missing) value: the table is believed.
With no HTML, or when no table cell holds the label, ``html_table`` reads the body text instead.
Only the first 1,000,000 characters of the body and of the HTML are searched.

``regex``: its named groups are the fields (``field`` is not used); it runs with IGNORECASE and MULTILINE
on the body or the subject (not on tables); the first match wins; a group that did not take part or is
empty is missing; ``required`` means every group is required; ``default`` and ``transform`` apply to
each group.

Transforms (on a found value; a value the transform can't read is missing and the note says why):
- ``trim``: the cleaning above (every value is trimmed anyway); ``lower`` / ``upper``.
- ``number``: the first number: ASCII digits, an optional sign (``-``, not after a letter: "PO-123" is
  123), currency symbols dropped. Spaces, apostrophes and commas before a group of three digits are
  thousands separators ("$1 234,50" and "$1,234.50" are 1234.50); a single dot is the decimal point
  ("1.234" is 1.234) unless a comma follows ("1.234,50" is 1234.50), several dots separate thousands
  ("1.234.567"); a single comma followed by other than three digits is a decimal comma ("12,5" is
  12.5). Digits are kept as written (no rounding, leading zeros stay).
- ``date``: to ``YYYY-MM-DD``, the first date in the value: ISO ("2026-03-04", also with "/" or "." and a
  time after), "4 March 2026" / "4th Mar 2026" / "4-Mar-2026", "March 4, 2026", or numeric "4/3/2026"
  (also "-" or "."). Numeric dates are day-first unless the second number is over 12 and the first is not
  ("3/14/2026" is 14 March). A two-digit year is 20YY. A date without a year is not a date.
- ``phone``: the first run of digits, spaces, dots, dashes and brackets holding at least 6 digits, kept as
  its digits, with a leading "+" if it has one ("Ph: (02) 9876 5432" is "0298765432").

Several mappings may fill the same field: the first that finds a value wins (a later one only fills it in
when earlier ones found nothing). When none does, the first ``default`` given is used as written (it is
not transformed; an explicit ``default: ""`` counts as given). A required field left without value or
default is in ``missing``, in mapping order. A mapping that ``check_mapping`` rejects is skipped (its note
says why) and, when required, its field (or its regex's groups) counts as missing. ``extract`` never
raises: should a bug raise inside it, the result has no fields, every required field missing, and a note.

Speed: all patterns are built in ``Extractor.__init__``. Per mail, the body is searched once for lines
that begin with a label (one pattern for all labels) and for colons (``str.find``); only those lines are
then searched for labels anywhere, since a label anywhere else does not count. Each ``end`` and each
regex is searched once, and the HTML parsed once when an ``html_table`` mapping needs it. A 6 KB body
with 20 mappings takes well under a millisecond.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from html.parser import HTMLParser

from postroom.mail.html import to_text

SOURCES = ("body", "subject", "html_table")
TRANSFORMS = ("trim", "lower", "upper", "number", "date", "phone")
REGEX_FLAGS = re.IGNORECASE | re.MULTILINE

SCAN_LIMIT = 1_000_000  # characters of the body and of the HTML that are searched
WRAP_WIDTHS = range(60, 81)  # a line this long was probably hard-wrapped: the value may continue
MAX_EXTRA_LINES = 3  # lines a wrapped value may continue onto
JOINERS = (",", "&", "/", "+")  # a value line ending so continues on the next line
MIN_PHONE_DIGITS = 6
_NOTE_WIDTH = 60


@dataclass(frozen=True, slots=True)
class Mapping:
    field: str = ""  # the record field; for a regex mapping, fields are named by the regex's groups
    start: str = ""  # the label, e.g. "Site Address:"
    end: str = ""  # text that ends the value; "" = end of line (a following label ends it too)
    source: str = "body"  # "body" | "subject" | "html_table"
    required: bool = False
    default: str | None = None
    transform: str = ""  # "" | "trim" | "lower" | "upper" | "number" | "date" | "phone"
    regex: str = ""  # a regex with named groups (then start/end are unused); source says where it runs


@dataclass(frozen=True, slots=True)
class Extraction:
    fields: dict[str, str]  # field -> value (after transform; default applied when missing and given)
    missing: tuple[str, ...]  # required fields not found (and without default), in mapping order
    notes: tuple[str, ...]  # one short sentence per mapping, for a dry run


# --- checking -------------------------------------------------------------------------------------------

_TEXT_ATTRIBUTES = ("field", "start", "end", "source", "transform", "regex")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _source(m: Mapping) -> str:
    return (_text(m.source) or "body").strip().lower()


def _transform(m: Mapping) -> str:
    return _text(m.transform).strip().lower()


def check_mapping(m: Mapping) -> list[str]:
    """What is wrong with one mapping, in words for the configuration loader; empty when it is fine."""
    problems: list[str] = []
    for name in _TEXT_ATTRIBUTES:
        value = getattr(m, name, None)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be text, not {type(value).__name__}")
    if not isinstance(m.required, bool):
        problems.append("required must be true or false")
    if m.default is not None and not isinstance(m.default, str):
        problems.append(f"default must be text, not {type(m.default).__name__} (quote it)")
    field, start, end, regex = _text(m.field), _text(m.start), _text(m.end), _text(m.regex)
    source, transform = _source(m), _transform(m)
    if source not in SOURCES:
        problems.append(f"source {m.source!r} is not one of {', '.join(SOURCES)}")
    if transform and transform not in TRANSFORMS:
        problems.append(f"transform {m.transform!r} is not one of {', '.join(TRANSFORMS)}")
    if regex:
        if start.strip():
            problems.append("give either start (a label) or regex, not both")
        if end.strip():
            problems.append("end is not used with regex (the regex says where the value ends)")
        if field.strip():
            problems.append("field is not used with regex: its named groups (?P<name>...) name the fields")
        if source == "html_table":
            problems.append("a regex runs on the body or the subject, not on html_table")
        try:
            compiled = re.compile(regex, REGEX_FLAGS)
        except (re.error, OverflowError, RecursionError, ValueError) as error:
            problems.append(f"regex {regex!r} does not compile: {error}")
        else:
            if not compiled.groupindex:
                problems.append(f"regex {regex!r} has no named groups: each (?P<name>...) fills field name")
    elif not start.strip():
        problems.append("a mapping needs start (a label such as 'Site Address:') or regex")
    else:
        if not _label_words(start):
            problems.append(f"start {start!r} has no words to look for")
        if not field.strip():
            problems.append(f"field is missing: which record field the value after {start!r} fills")
    return problems


# --- text helpers -------------------------------------------------------------------------------------

_ODD = re.compile(r"[\r\u2028\u2029\u00ad\u200b-\u200d\u2060\ufeff]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_LABEL_LEAD = " \t\n*_"
_LABEL_TRAIL = " \t\n*_:\uff1a-\u2013\u2014"
_VALUE_LEAD = " *_|:\uff1a"
_VALUE_TRAIL = " *_|:\uff1a;,"


def _normalize(text: str) -> str:
    """Line breaks as \\n; soft hyphens, zero-width spaces and byte-order marks gone."""
    if _ODD.search(text) is None:
        return text
    return _ODD.sub(lambda m: "\n" if m.group(0) in "\r\u2028\u2029" else "", text.replace("\r\n", "\n"))


def _clean(value: str) -> str:
    return " ".join(value.split()).lstrip(_VALUE_LEAD).rstrip(_VALUE_TRAIL)


def _label_words(label: str) -> list[str]:
    return label.lstrip(_LABEL_LEAD).rstrip(_LABEL_TRAIL).split()


def _label_key(label: str) -> str:
    return " ".join(_label_words(label)).casefold()


def _is_word_char(char: str) -> bool:
    return char.isalnum()


def _phrase(words: Sequence[str], gap: str, *, head: bool = True) -> str:
    """Words with ``gap`` between them, as whole words where the phrase starts/ends with a word char."""
    body = gap.join(re.escape(w) for w in words)
    lead = r"(?<![^\W_])" if head and _is_word_char(words[0][0]) else ""
    tail = r"(?![^\W_])" if _is_word_char(words[-1][-1]) else ""
    return lead + body + tail


# Between a label's words: horizontal whitespace with at most one line break, or just a line break.
_GAP = r"(?:[^\S\n]+(?:\n[^\S\n]*)?|\n[^\S\n]*)"
# After a label: closing bold markers and spaces, an optional separator, more markers and spaces.
_TAIL = re.compile(r"(?:[*_]|[^\S\n])*(?P<sep>[:\uff1a]|[-\u2013\u2014](?!\S))?(?:[*_]|[^\S\n])*")
# What may stand before a label that starts a line.
_PREFIX_CHARACTERS = frozenset(">*_|•·#-")
_LINE_PREFIX = re.compile(r"[^\S\n]*(?:[>*_|•·#-][^\S\n]*)*")
# Any "Word Word:" label starting a line (up to five words, the first starting with a letter).
_GENERIC_LABEL = re.compile(
    r"[^\S\n]*(?:[>*_|•·#-][^\S\n]*)*[^\W\d_][\w.'&/()#-]*(?:[^\S\n]+[\w.'&/()#-]+){0,4}"
    r"(?:[*_]|[^\S\n])*[:\uff1a](?!\S)"
)
_NON_SPACE = re.compile(r"\S")


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _indent(text: str, line_start: int) -> int:
    pos = line_start
    while pos < len(text) and text[pos] in " \t\xa0":
        pos += 1
    return pos - line_start


def _show(value: str) -> str:
    return repr(value if len(value) <= _NOTE_WIDTH else value[: _NOTE_WIDTH - 1] + "…")


# --- label scanning -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Occurrence:
    label: int  # index into the extractor's labels
    start: int  # where the label starts
    value: int  # where its value may start (after separator and markers)
    line: int  # where the label's line starts


@dataclass(slots=True)
class _Scan:
    """Every label of an extractor that counts in one text, found in one pass."""

    text: str
    occurrences: list[_Occurrence] = dataclass_field(default_factory=list)
    starts: list[int] = dataclass_field(default_factory=list)  # occurrences' starts, for bisect
    best: dict[int, _Occurrence] = dataclass_field(default_factory=dict)  # label -> the one that counts
    label_lines: set[int] = dataclass_field(default_factory=set)  # starts of lines that begin with a label

    def next_label(self, start: int, end: int) -> int | None:
        """Where the first label between start and end begins."""
        i = bisect.bisect_left(self.starts, start)
        if i < len(self.starts) and self.starts[i] < end:
            return self.starts[i]
        return None

    def begins_with_label(self, line_start: int) -> bool:
        return line_start in self.label_lines or _GENERIC_LABEL.match(self.text, line_start) is not None


@dataclass(frozen=True, slots=True)
class _Labels:
    """An extractor's labels as patterns: ``anywhere`` finds them all (a group each, longest first),
    ``first_line`` one that starts the text and ``after_newline`` one that starts a later line (the
    newline included: a literal first character makes the search quick); ``groups[n - 1]`` is the label
    of group n."""

    anywhere: re.Pattern[str]
    first_line: re.Pattern[str]
    after_newline: re.Pattern[str]
    groups: tuple[int, ...]

    @classmethod
    def build(cls, labels: list[list[str]]) -> _Labels | None:
        if not labels:
            return None
        order = sorted(range(len(labels)), key=lambda i: -len(" ".join(labels[i])))
        # Labels starting with a letter or digit share one leading boundary test (cheaper than one each).
        worded = [i for i in order if _is_word_char(labels[i][0][0])]
        others = [i for i in order if i not in worded]
        branches = []
        if worded:
            alternatives = "|".join(f"({_phrase(labels[i], _GAP, head=False)})" for i in worded)
            branches.append(rf"(?<![^\W_])(?:{alternatives})")
        if others:
            branches.append("|".join(f"({_phrase(labels[i], _GAP)})" for i in others))
        # Labels are tried only where the first character can start one; at line starts the prefix is
        # matched once (atomic, unless a label starts with a prefix character). The line patterns match
        # to the end of the line the label ends on.
        firsts = {words[0][0] for words in labels}
        alternation = rf"(?=[{''.join(re.escape(ch) for ch in sorted(firsts))}])(?:{'|'.join(branches)})"
        prefix = _LINE_PREFIX.pattern if firsts & _PREFIX_CHARACTERS else f"(?>{_LINE_PREFIX.pattern})"
        line = rf"{prefix}{alternation}[^\n]*"
        return cls(
            re.compile(alternation, re.IGNORECASE),
            re.compile(line, re.IGNORECASE),
            re.compile(rf"\n{line}", re.IGNORECASE),
            (*worded, *others),
        )


def _scan(labels: _Labels | None, text: str, *, anywhere: bool) -> _Scan:
    """The labels that count in ``text``, in order."""
    scan = _Scan(text)
    if labels is None or not text:
        return scan
    with_separator: set[int] = set()
    line = line_end = first_colon = prefix_end = -1
    line_has_label = False
    for begin, finish in [(0, len(text))] if anywhere else _stretches(labels, text):
        search_end = _line_end(text, finish + 1) if finish < len(text) else finish  # a label split in two
        pos = begin
        while (m := labels.anywhere.search(text, pos, search_end)) is not None and m.start() < finish:
            start = m.start()
            if start >= line_end:  # the first label on its line: what stands before labels there
                line = text.rfind("\n", 0, start) + 1
                line_end = _line_end(text, start)
                first_colon = _first_colon(text, line, line_end)
                prefix = _LINE_PREFIX.match(text, line, line_end)
                prefix_end = prefix.end() if prefix is not None else line
                line_has_label = False
            tail = _TAIL.match(text, m.end())
            assert tail is not None  # the tail pattern matches the empty string
            has_separator = tail.group("sep") is not None
            at_line_start = start <= prefix_end
            if not at_line_start and not (
                has_separator
                and (anywhere or line_has_label or 0 <= first_colon < start)
                and "\n" not in m.group(0)  # only a label starting a line may be split over two
            ):
                pos = start + 1  # a shorter label may start inside this one
                continue
            pos = m.end()
            label = labels.groups[(m.lastindex or 1) - 1]
            occurrence = _Occurrence(label, start, tail.end(), line)
            scan.occurrences.append(occurrence)
            scan.starts.append(start)
            if at_line_start:
                scan.label_lines.add(line)
            line_has_label = True
            if label not in scan.best or (has_separator and label not in with_separator):
                scan.best[label] = occurrence
                if has_separator:
                    with_separator.add(label)
    return scan


def _first_colon(text: str, start: int, end: int) -> int:
    found = [p for p in (text.find(":", start, end), text.find("\uff1a", start, end)) if p >= 0]
    return min(found) if found else -1


def _stretches(labels: _Labels, text: str) -> list[tuple[int, int]]:
    """Runs of whole lines where a label can count, as (start, end): lines that begin with a label or
    hold a colon (a label in the middle of a line needs one of them before it). Searching only these for
    labels anywhere is much quicker on prose than trying every word."""
    found = [
        (m.start() + (text[m.start()] == "\n"), m.end())
        for m in (labels.first_line.match(text), *labels.after_newline.finditer(text))
        if m is not None
    ]
    for colon in (":", "\uff1a"):  # str.find is much quicker than a pattern for this
        run_start = run_end = -2
        at = text.find(colon)
        while at >= 0:
            start, end = text.rfind("\n", 0, at) + 1, text.find("\n", at)
            if end < 0:
                end = len(text)
            if start != run_end + 1:  # not the line after the last one: a new run of colon lines
                if run_start >= 0:
                    found.append((run_start, run_end))
                run_start = start
            run_end = end
            at = text.find(colon, end)
        if run_start >= 0:
            found.append((run_start, run_end))
    found.sort()
    stretches: list[tuple[int, int]] = []
    for start, end in found:
        if stretches and start <= stretches[-1][1] + 1:
            stretches[-1] = (stretches[-1][0], max(end, stretches[-1][1]))
        else:
            stretches.append((start, end))
    return stretches


def _value_after(
    scan: _Scan, occurrence: _Occurrence, end: re.Pattern[str] | None, end_text: str
) -> tuple[str, str]:
    """The value after a label, cleaned, and a remark for the note ("" usually)."""
    text, start = scan.text, occurrence.value
    remark = ""
    if end is not None:
        found = end.search(text, start)
        if found is not None:
            return _clean(text[start : found.start()]), ""
        remark = f" (end {end_text!r} not found)"
    line_end = _line_end(text, start)
    cut = scan.next_label(start, line_end)
    if cut is not None:
        return _clean(text[start:cut]), remark
    base_indent = _indent(text, occurrence.line)
    parts = [text[start:line_end]]
    line = text.rfind("\n", 0, start) + 1  # the line the value starts on (a label may span two)
    if not _clean(parts[0]):
        blank = _NON_SPACE.search(text, line_end)
        if blank is None:
            return "", remark
        line = text.rfind("\n", 0, blank.start()) + 1
        if scan.begins_with_label(line):
            return "", remark
        line_end = _line_end(text, line)
        cut = scan.next_label(line, line_end)
        if cut is not None:
            return _clean(text[line:cut]), remark
        parts = [text[line:line_end]]
    for _ in range(MAX_EXTRA_LINES):
        if line_end >= len(text):
            break
        following = line_end + 1
        following_end = _line_end(text, following)
        if not text[following:following_end].strip() or scan.begins_with_label(following):
            break
        wrapped = (
            parts[-1].rstrip().endswith(JOINERS)
            or _indent(text, following) > base_indent
            or len(text[line:line_end].rstrip()) in WRAP_WIDTHS
        )
        if not wrapped:
            break
        cut = scan.next_label(following, following_end)
        parts.append(text[following : following_end if cut is None else cut])
        if cut is not None:
            break
        line, line_end = following, following_end
    return _clean(" ".join(parts)), remark


# --- HTML tables --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Cell:
    header: bool  # a th
    span: int  # colspan
    parts: list[str] = dataclass_field(default_factory=list)
    column: int = 0
    raw: str = ""  # the text, whitespace collapsed
    text: str = ""  # cleaned, as a value
    key: str = ""  # as a label


@dataclass(slots=True)
class _Table:
    rows: list[list[_Cell]] = dataclass_field(default_factory=list)
    cell: _Cell | None = None  # the open cell


_CELL_BREAKS = frozenset({"br", "p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})
_KEYED_CELL_LENGTH = 200  # longer cells are not labels


class _TableParser(HTMLParser):
    """Tables as rows of cells; text of a nested table belongs to its own cells only."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._break()
            table = _Table()
            self.tables.append(table)
            self._open.append(table)
        elif not self._open:
            return
        elif tag == "tr":
            self._open[-1].rows.append([])
            self._open[-1].cell = None
        elif tag in ("td", "th"):
            table = self._open[-1]
            if not table.rows:
                table.rows.append([])
            span = next((v for k, v in attrs if k == "colspan"), None) or ""
            cell = _Cell(tag == "th", _colspan(span))
            table.rows[-1].append(cell)
            table.cell = cell
        elif tag in _CELL_BREAKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._open:
                self._open.pop()
            self._break()
        elif not self._open:
            return
        elif tag in ("td", "th", "tr"):
            self._open[-1].cell = None
        elif tag in _CELL_BREAKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self._open and (cell := self._open[-1].cell) is not None:
            cell.parts.append(data)

    def _break(self) -> None:
        if self._open and (cell := self._open[-1].cell) is not None:
            cell.parts.append(" ")


def _colspan(value: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return 1
    return min(max(int(value), 1), 1000)


_TABLE_CELL = re.compile(r"<t[dh][\s>/]", re.IGNORECASE)
_SEPARATOR_CELL = frozenset(":\uff1a-\u2013\u2014")


@dataclass(slots=True)
class _Tables:
    cells: dict[str, tuple[_Table, int, int]]  # label key -> the first cell with that text

    @classmethod
    def parse(cls, html: str) -> _Tables:
        parser = _TableParser()
        if _TABLE_CELL.search(html, 0, SCAN_LIMIT):
            try:
                parser.feed(html[:SCAN_LIMIT])
                parser.close()
            except Exception:  # html.parser asserts on some broken declarations ("<![x"): keep what it read
                pass
        cells: dict[str, tuple[_Table, int, int]] = {}
        for table in parser.tables:
            for r, row in enumerate(table.rows):
                column = 0
                for c, cell in enumerate(row):
                    cell.column = column
                    column += cell.span
                    cell.raw = " ".join(_INVISIBLE.sub("", "".join(cell.parts)).split())
                    cell.text = _clean(cell.raw)
                    if cell.raw and len(cell.raw) <= _KEYED_CELL_LENGTH:
                        cell.key = _label_key(cell.raw)
                        if cell.key:
                            cells.setdefault(cell.key, (table, r, c))
        return cls(cells)

    def value(self, key: str, labels: frozenset[str]) -> str | None:
        """The value for the label cell ``key``: None when no cell holds the label."""
        found = self.cells.get(key)
        if found is None:
            return None
        table, r, c = found
        row = table.rows[r]
        below = r + 1 < len(table.rows)
        header = len(row) > 1 and all(cell.header for cell in row)
        following = c + 1
        while following < len(row) and row[following].raw and set(row[following].raw) <= _SEPARATOR_CELL:
            following += 1
        # a next cell that is itself a label (and a row below): labels over their values
        if not header and following < len(row) and not (below and row[following].key in labels):
            return row[following].text
        if below:
            column = row[c].column
            for cell in table.rows[r + 1]:
                if cell.column <= column < cell.column + cell.span:
                    return cell.text
        return ""


# --- transforms ---------------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?:(?<![\w.,])(?P<sign>[-\u2212+])[$€£¥]?[^\S\n]?)?"
    r"(?P<body>[0-9]+(?:[ ,.'\u00a0\u202f][0-9]+)*)"
)
_DIGIT_RUNS = re.compile(r"([^0-9])")
_GROUPING = frozenset(" '\u00a0\u202f")


def _number(value: str) -> str | None:
    found = _NUMBER.search(value)
    if found is None:
        return None
    tokens = _DIGIT_RUNS.split(found.group("body"))
    groups, seps = tokens[0::2], tokens[1::2]
    for i, sep in enumerate(seps):  # a space or apostrophe only ever separates thousands
        if sep in _GROUPING and len(groups[i + 1]) != 3:
            groups, seps = groups[: i + 1], seps[:i]
            break
    while True:
        decimal = None
        if seps and seps[-1] in ".,":
            last = seps[-1]
            if seps.count(last) == 1 and (last == "." or len(groups[-1]) != 3 or "." in seps[:-1]):
                decimal = len(seps) - 1
        thousands = seps if decimal is None else seps[:decimal]
        if (
            len(set(thousands)) <= 1
            and all(len(g) == 3 for g in groups[1 : len(thousands) + 1])
            and (decimal is None or seps[decimal] not in thousands)
        ):
            break
        groups, seps = groups[:-1], seps[:-1]  # not one number: it ends before its last separator
    sign = "-" if found.group("sign") in ("-", "\u2212") else ""
    whole = "".join(groups[: len(thousands) + 1])
    return sign + whole + ("." + groups[-1] if decimal is not None else "")


_MONTH_NAMES = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTHS = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE = re.compile(
    rf"(?<![0-9])(?P<iy>[0-9]{{4}})[-/.](?P<im>[0-9]{{1,2}})[-/.](?P<id>[0-9]{{1,2}})(?![0-9])"
    rf"|(?<![0-9])(?P<na>[0-9]{{1,2}})(?P<ns>[-/.])(?P<nb>[0-9]{{1,2}})(?P=ns)(?P<ny>[0-9]{{4}}|[0-9]{{2}})"
    rf"(?![0-9])"
    rf"|(?<![^\W_])(?P<dd>[0-9]{{1,2}})(?:st|nd|rd|th)?[\s./-]*(?:of\s+)?(?P<dm>{_MONTH_NAMES})(?![^\W\d_])"
    rf"\.?,?[\s./-]*(?P<dy>[0-9]{{4}})(?![0-9])"
    rf"|(?<![^\W_])(?P<mm>{_MONTH_NAMES})(?![^\W\d_])\.?[\s/-]*(?P<md>[0-9]{{1,2}})(?:st|nd|rd|th)?"
    rf"(?![0-9])\.?,?[\s/-]*(?P<my>[0-9]{{4}})(?![0-9])",
    re.IGNORECASE | re.ASCII,  # ASCII: only ASCII letters match month names, as _MONTHS knows them
)


def _date(value: str) -> str | None:
    for m in _DATE.finditer(value):
        if m.group("iy"):
            y, mo, d = int(m.group("iy")), int(m.group("im")), int(m.group("id"))
        elif m.group("na"):
            a, b, year = int(m.group("na")), int(m.group("nb")), m.group("ny")
            mo, d = (a, b) if b > 12 >= a else (b, a)  # day-first, unless only month-first can be right
            y = int(year) + (2000 if len(year) == 2 else 0)
        elif m.group("dd"):
            y, mo, d = int(m.group("dy")), _MONTHS[m.group("dm")[:3].lower()], int(m.group("dd"))
        else:
            y, mo, d = int(m.group("my")), _MONTHS[m.group("mm")[:3].lower()], int(m.group("md"))
        try:
            return date(y, mo, d).isoformat()
        except ValueError:
            continue
    return None


_PHONE_RUN = re.compile(r"[+(]*[0-9][0-9 ().\-\u2013\u00a0]*")


def _phone(value: str) -> str | None:
    for run in _PHONE_RUN.finditer(value):
        digits = "".join(ch for ch in run.group(0) if "0" <= ch <= "9")
        if len(digits) >= MIN_PHONE_DIGITS:
            return ("+" if run.group(0).lstrip("(").startswith("+") else "") + digits
    return None


_TRANSFORM_FAILURES = {
    "number": "has no number",
    "date": "is not a date",
    "phone": f"has fewer than {MIN_PHONE_DIGITS} digits",
}


def _transformed(value: str, transform: str) -> str | None:
    if transform == "lower":
        return value.lower()
    if transform == "upper":
        return value.upper()
    if transform == "number":
        return _number(value)
    if transform == "date":
        return _date(value)
    if transform == "phone":
        return _phone(value)
    return value  # "" and "trim": already cleaned


# --- the extractor ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """One mapping, compiled."""

    mapping: Mapping
    field: str
    source: str
    transform: str
    label: int = -1  # index into the extractor's labels (a start mapping)
    key: str = ""  # the label as a table cell's key
    end: re.Pattern[str] | None = None
    regex: re.Pattern[str] | None = None
    groups: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class _Result:
    """What the mappings of one mail have found so far."""

    order: list[str] = dataclass_field(default_factory=list)  # fields in the order mappings name them
    found: dict[str, str] = dataclass_field(default_factory=dict)
    defaults: dict[str, str] = dataclass_field(default_factory=dict)
    required: list[str] = dataclass_field(default_factory=list)
    notes: list[str] = dataclass_field(default_factory=list)

    def offer(self, field: str, value: str | None, m: Mapping) -> str:
        """Record a field's value (None: missing); returns what the note should add."""
        if field not in self.order:
            self.order.append(field)
        if value is not None:
            if field in self.found:
                return " (not used: an earlier mapping set it)"
            self.found[field] = value
            return ""
        if isinstance(m.default, str):
            self.defaults.setdefault(field, m.default)
            return f", default {_show(m.default)}"
        if m.required is True:
            self.required.append(field)
            return " (required)"
        return ""

    def extraction(self) -> Extraction:
        fields = {}
        for name in self.order:
            if name in self.found:
                fields[name] = self.found[name]
            elif name in self.defaults:
                fields[name] = self.defaults[name]
        missing = tuple(dict.fromkeys(name for name in self.required if name not in fields))
        return Extraction(fields, missing, tuple(self.notes))


_PLACES = {"body": "the body", "subject": "the subject"}


class Extractor:
    """A rule set's mappings, compiled once (every pattern built here), then run on each mail."""

    def __init__(self, mappings: Sequence[Mapping]) -> None:
        keys: dict[str, int] = {}
        labels: list[list[str]] = []
        plans: list[_Plan] = []
        for m in mappings:
            problems = check_mapping(m)
            field, source, transform = _text(m.field).strip(), _source(m), _transform(m)
            if problems:
                groups = _groups(_text(m.regex)) if _text(m.regex) else ()
                plans.append(_Plan(m, field, source, transform, groups=groups, problems=tuple(problems)))
            elif _text(m.regex):
                regex = re.compile(m.regex, REGEX_FLAGS)
                plans.append(_Plan(m, field, source, transform, regex=regex, groups=_groups(m.regex)))
            else:
                words = _label_words(m.start)
                key = " ".join(words).casefold()
                if key not in keys:
                    keys[key] = len(keys)
                    labels.append(words)
                plans.append(_Plan(m, field, source, transform, keys[key], key, _end_pattern(m.end)))
        self._plans = tuple(plans)
        self._keys = frozenset(keys)
        self._labels = _Labels.build(labels)

    def extract(self, subject: str, text: str, html: str | None) -> Extraction:
        if not self._plans:
            return Extraction({}, (), ())
        try:
            return self._extract(subject, text, html)
        except Exception as error:  # a bug here must not cost the mail: say so, and ask for review
            required = (p.field for p in self._plans if p.mapping.required is True and p.field)
            groups = (g for p in self._plans if p.mapping.required is True for g in p.groups)
            note = f"mappings could not run on this mail: {type(error).__name__}: {error}"
            return Extraction({}, tuple(dict.fromkeys([*required, *groups])), (note,))

    def _extract(self, subject: str, text: str, html: str | None) -> Extraction:
        subject = _normalize(subject[:SCAN_LIMIT] if isinstance(subject, str) else "")
        body = text if isinstance(text, str) else ""
        html = html if isinstance(html, str) and html.strip() else None
        if (not body or body.isspace()) and html is not None:
            try:
                body = to_text(html[:SCAN_LIMIT])
            except Exception:  # e.g. lone surrogates, which nh3 cannot take
                body = ""
        sources = {"body": _normalize(body[:SCAN_LIMIT]), "subject": subject}
        scans: dict[str, _Scan] = {}
        tables: _Tables | None = None
        result = _Result()

        def scan(source: str) -> _Scan:
            if source not in scans:
                scans[source] = _scan(self._labels, sources[source], anywhere=source == "subject")
            return scans[source]

        for plan in self._plans:
            if plan.problems:
                result.notes.append(self._skipped(plan, result))
                continue
            if plan.regex is not None:
                result.notes.append(self._run_regex(plan, sources[plan.source], result))
                continue
            raw: str | None = None
            place = _PLACES.get(plan.source, "the body")
            if plan.source == "html_table":
                if html is None:
                    place = "the body (no HTML)"
                else:
                    if tables is None:
                        tables = _Tables.parse(html)
                    raw = tables.value(plan.key, self._keys)
                    place = "an HTML table" if raw is not None else "the body (not in an HTML table)"
            remark = ""
            if raw is None:
                found = scan("subject" if plan.source == "subject" else "body")
                occurrence = found.best.get(plan.label)
                if occurrence is not None:
                    raw, remark = _value_after(found, occurrence, plan.end, plan.mapping.end)
            result.notes.append(self._note(plan, raw, place, remark, result))
        return result.extraction()

    @staticmethod
    def _skipped(plan: _Plan, result: _Result) -> str:
        names = plan.groups or ((plan.field,) if plan.field else ())
        added = [result.offer(name, None, plan.mapping) for name in names]
        why = "; ".join(plan.problems)
        return f"{', '.join(names) or 'mapping'}: skipped, {why}{added[0] if added else ''}"

    @staticmethod
    def _note(plan: _Plan, raw: str | None, place: str, remark: str, result: _Result) -> str:
        m, name = plan.mapping, plan.field
        where = f"after {m.start!r} in {place}{remark}"
        if raw is None:
            return f"{name}: not found{result.offer(name, None, m)}"
        if not raw:
            return f"{name}: nothing {where}{result.offer(name, None, m)}"
        value = _transformed(raw, plan.transform)
        if value is None:
            failure = _TRANSFORM_FAILURES[plan.transform]
            return f"{name}: {_show(raw)} {where} {failure}{result.offer(name, None, m)}"
        changed = f" ({plan.transform} from {_show(raw)})" if value != raw else ""
        return f"{name}: {_show(value)} {where}{changed}{result.offer(name, value, m)}"

    @staticmethod
    def _run_regex(plan: _Plan, text: str, result: _Result) -> str:
        assert plan.regex is not None
        m = plan.mapping
        names = ", ".join(plan.groups)
        place = _PLACES.get(plan.source, "the body")
        match = plan.regex.search(text)
        if match is None:
            offered = [result.offer(group, None, m) for group in plan.groups]
            return f"{names}: the regex did not match {place}{offered[0] if offered else ''}"
        shown = []
        for group in plan.groups:
            raw = _clean(match.group(group) or "")
            value = _transformed(raw, plan.transform) if raw else None
            added = result.offer(group, value, m)
            if value is not None:
                changed = f" ({plan.transform} from {_show(raw)})" if value != raw else ""
                shown.append(f"{group} {_show(value)}{changed}{added}")
            elif raw:
                shown.append(f"{group} {_show(raw)} {_TRANSFORM_FAILURES[plan.transform]}{added}")
            else:
                shown.append(f"{group} not found{added}")
        return f"{names}: the regex matched in {place}: {'; '.join(shown)}"


def _groups(regex: str) -> tuple[str, ...]:
    """A regex's group names in order; none when it does not compile."""
    try:
        index = re.compile(regex, REGEX_FLAGS).groupindex
    except (re.error, OverflowError, RecursionError, ValueError):
        return ()
    return tuple(sorted(index, key=index.__getitem__))


def _end_pattern(end: str) -> re.Pattern[str] | None:
    words = _text(end).split()
    if not words:
        return None
    return re.compile(_phrase(words, r"\s+"), re.IGNORECASE)
