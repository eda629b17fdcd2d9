"""Property tests: label extraction finds each generated value, in text and in HTML tables; never raises."""

from __future__ import annotations

import html as html_entities
import re
from collections.abc import Callable
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postroom.mail.html import sanitize, to_text
from postroom.routing.mappings import Extractor, Mapping

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_WORD = st.text(st.characters(categories=("Lu", "Ll"), max_codepoint=127), min_size=2, max_size=8)
LABEL = st.lists(_WORD, min_size=1, max_size=3).map(" ".join)

# Value characters: letters, digits, punctuation and symbols (no spaces, controls or invisible ones);
# a value is words of them joined by single spaces, not starting or ending with what cleaning strips.
_VALUE_CHAR = st.one_of(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), st.characters(categories=("L", "N", "P", "S"))
)
_VALUE = (
    st.lists(st.text(_VALUE_CHAR, min_size=1, max_size=10), min_size=1, max_size=6)
    .map(" ".join)
    .filter(lambda v: v[0] not in "*_|:：" and v[-1] not in "*_|:：;,")  # noqa: RUF001
)


def _contains(value: str, label: str) -> bool:
    return re.search(r"\s+".join(map(re.escape, label.split())), value, re.IGNORECASE) is not None


@st.composite
def pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Distinct labels (compared case-insensitively), each with a value holding no label."""
    labels = draw(st.lists(LABEL, min_size=1, max_size=6, unique_by=str.casefold))
    return [
        (label, draw(_VALUE.filter(lambda v: not any(_contains(v, other) for other in labels))))
        for label in labels
    ]


def field(i: int) -> str:
    return f"f{i}"


def mappings(labels: list[str], source: str = "body") -> list[Mapping]:
    return [Mapping(field(i), f"{label}:", source=source) for i, label in enumerate(labels)]


CASES: tuple[Callable[[str], str], ...] = (str, str.upper, str.lower, str.title, str.swapcase)


@st.composite
def written(draw: st.DrawFn, label: str, value: str) -> str:
    """One "Label: value" line with random case, spacing and indentation."""
    case = draw(st.sampled_from(CASES))
    gaps = [draw(st.sampled_from([" ", "  ", "\xa0", " \t"])) for _ in label.split()]
    words = [case(word) for word in label.split()]
    written_label = "".join(w + g for w, g in zip(words, gaps, strict=True)).rstrip(" \t\xa0")
    indent = draw(st.sampled_from(["", " ", "  ", "\t"]))
    before, after = draw(st.sampled_from(["", " ", "  "])), draw(st.sampled_from(["", " ", "   "]))
    trailing = draw(st.sampled_from(["", " ", "  "]))
    return f"{indent}{written_label}{before}:{after}{value}{trailing}"


@given(st.data(), pairs())
@SETTINGS
def test_label_value_lines_in_any_order_give_each_value(
    data: st.DataObject, items: list[tuple[str, str]]
) -> None:
    order = data.draw(st.permutations(range(len(items))))
    lines = []
    for i in order:
        lines.extend([""] * data.draw(st.integers(0, 2)))
        lines.append(data.draw(written(*items[i])))
    text = "Hello,\n\n" + "\n".join(lines) + "\n\nThanks"
    result = Extractor(mappings([label for label, _ in items])).extract("", text, None)
    assert result.fields == {field(i): v for i, (_, v) in enumerate(items)}, text


@given(pairs(), st.sampled_from(["<td><b>{}</b></td>", "<td>{}:</td>", "<th>{}</th>"]))
@SETTINGS
def test_the_html_table_form_gives_the_same_values_as_the_text_form(
    items: list[tuple[str, str]], label_cell: str
) -> None:
    labels = [label for label, _ in items]
    text_form = "\n".join(f"{label}: {value}" for label, value in items)
    from_text = Extractor(mappings(labels)).extract("", text_form, None).fields
    rows = "".join(
        f"<tr>{label_cell.format(html_entities.escape(label))}<td>{html_entities.escape(value)}</td></tr>"
        for label, value in items
    )
    html = sanitize(f"<p>Form</p><table>{rows}</table>")
    text = to_text(html)
    from_table = Extractor(mappings(labels, "html_table")).extract("", text, html).fields
    assert from_table == from_text == {field(i): v for i, (_, v) in enumerate(items)}
    if ":" in label_cell:  # to_text writes "Label: value" lines, which the body source reads too
        assert Extractor(mappings(labels)).extract("", text, html).fields == from_text


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)  # surrogates too
SOUP = st.lists(
    st.sampled_from(
        [
            "Site Address", "Site", "Address", "Contact Name", ":", " : ", "-", " - ", "*", "**", "_", "\n",
            "\n\n", " ", "\xa0", "\t", "\r\n", "Emergency ", "4/3/2026", "$1,234.50", "(02) 9876 5432", ",",
            "<table>", "</table>", "<tr>", "<td>", "</td>", "<th>", "<b>", "<br>", "<![x", "&amp;", "&#0;",
            "colspan=", "end", "\ud800", "\x00", "Name: ", "Phone:", "|", ">",
        ]
    ),
    max_size=60,
).map("".join)  # fmt: skip
EXTRACTOR = Extractor(
    [
        Mapping("site", "Site Address:", required=True),
        Mapping("name", "Contact Name", source="html_table", transform="upper"),
        Mapping("phone", "Phone:", source="subject", transform="phone", default="none"),
        Mapping("due", "Site", end="end", transform="date", required=True),
        Mapping("amount", "Address", transform="number"),
        Mapping(regex=r"^(?P<first>\w+)(?:.*(?P<last>\d+))?", transform="lower", required=True),
        Mapping("bad", "Name", transform="unknown"),
    ]
)


@given(st.one_of(ANY_TEXT, SOUP), st.one_of(ANY_TEXT, SOUP), st.one_of(st.none(), ANY_TEXT, SOUP))
@SETTINGS
def test_extraction_never_raises(subject: str, text: str, html: str | None) -> None:
    result = EXTRACTOR.extract(subject, text, html)
    assert len(result.notes) == 7
    assert not any(note.startswith("mappings could not run") for note in result.notes)
    assert all(isinstance(v, str) for v in result.fields.values())
    assert set(result.missing) <= {"site", "due", "first", "last", "bad"}
    assert not set(result.missing) & set(result.fields)


@given(st.integers(0, 10**9), st.integers(0, 99), st.sampled_from([",", " ", "'"]))
@SETTINGS
def test_number_reads_grouped_amounts(whole: int, cents: int, grouping: str) -> None:
    """Such as "$1,234.50", "$1 234.50", "1.234,50 EUR", "1 234,50 EUR": all 1234.50."""
    grouped = f"{whole:,}"
    dot_decimal = f"${grouped.replace(',', grouping)}.{cents:02d}"
    comma_decimal = f"{grouped.replace(',', '.' if grouping == ',' else grouping)},{cents:02d} EUR"
    extractor = Extractor([Mapping("n", "Amount:", transform="number")])
    for amount in (dot_decimal, comma_decimal):
        result = extractor.extract("", f"Amount: {amount}", None)
        assert result.fields == {"n": f"{whole}.{cents:02d}"}, amount


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
@SETTINGS
def test_date_reads_the_usual_formats(day: date) -> None:
    month = day.strftime("%B")
    written_dates = [
        day.isoformat(),
        f"{day.day} {month} {day.year}",
        f"{day.day} {month[:3]} {day.year}",
        f"{month} {day.day}, {day.year}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year}",
    ]
    extractor = Extractor([Mapping("d", "Due:", transform="date")])
    for written_date in written_dates:
        result = extractor.extract("", f"Due: {written_date}", None)
        assert result.fields == {"d": day.isoformat()}, written_date
