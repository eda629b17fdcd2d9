"""Field mappings: labels, values, HTML form tables, regexes, transforms, required/default and notes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from postroom.mail.html import sanitize, to_text
from postroom.routing.mappings import SOURCES, TRANSFORMS, Extraction, Extractor, Mapping, check_mapping

WORK_ORDER_FIELDS = {
    "site_address": "Unit 4, 12 High St",
    "contact_name": "Jane Smith",
    "contact_phone": "0298765432",
    "purchase_order": "PO-7781",
}

PLAIN_WORK_ORDER = """Hi team,

Please book the job below.

Site Address: Unit 4,
12 High St
*Contact Name:* Jane Smith
Contact Phone:  (02) 9876 5432
Purchase Order: PO-7781

Thanks,
Dispatch
"""

HTML_WORK_ORDER = """<html><head><style>td {color: red}</style></head><body>
<p>Please book the job below.</p>
<table border="1" cellpadding="4">
  <tr><td><b>Site Address</b></td><td>Unit 4,<br>12 High St</td></tr>
  <tr><td><b>Contact Name</b></td><td>Jane&nbsp;Smith</td></tr>
  <tr><td><b>Contact Phone</b></td><td>(02) 9876 5432</td></tr>
  <tr><td><b>Purchase Order</b></td><td>PO-7781</td></tr>
</table>
<p>Thanks,<br>Dispatch</p>
</body></html>"""


def work_order_mappings(source: str) -> list[Mapping]:
    return [
        Mapping("site_address", "Site Address:", source=source, required=True),
        Mapping("contact_name", "Contact Name:", source=source),
        Mapping("contact_phone", "Contact Phone:", source=source, transform="phone"),
        Mapping("purchase_order", "Purchase Order:", source=source, required=True),
    ]


def extract(
    mappings: list[Mapping], text: str = "", subject: str = "", html: str | None = None
) -> Extraction:
    return Extractor(mappings).extract(subject, text, html)


def value(start: str, text: str, **options: object) -> str | None:
    """The value after one label in a plain-text body, None when missing."""
    return extract([Mapping("f", start, **options)], text).fields.get("f")  # type: ignore[arg-type]


# --- the work order --------------------------------------------------------------------------------------


def test_plain_text_work_order() -> None:
    result = extract(work_order_mappings("body"), PLAIN_WORK_ORDER)
    assert result.fields == WORK_ORDER_FIELDS
    assert result.missing == ()


@pytest.mark.parametrize("source", ["body", "html_table"])
def test_html_only_work_order_gives_the_same_values(source: str) -> None:
    html = sanitize(HTML_WORK_ORDER)
    text = to_text(html)  # what the parser derives for an HTML-only mail
    assert "Site Address Unit 4," in text  # to_text writes a label cell without colon this way
    result = extract(work_order_mappings(source), text, html=html)
    assert result.fields == WORK_ORDER_FIELDS
    assert result.missing == ()


@pytest.mark.parametrize(
    "label_cell",
    [
        "<td><b>{}</b></td>",
        "<td><strong>{}:</strong></td>",
        "<th>{}</th>",
        "<td>{} *</td>",  # a required-field star
        "<td><b>{}</b></td><td>:</td>",  # a separator cell
    ],
)
def test_html_table_label_cell_variants(label_cell: str) -> None:
    rows = "".join(
        f"<tr>{label_cell.format(label)}<td>{cell}</td></tr>"
        for label, cell in [
            ("Site Address", "Unit 4,<br>12 High St"),
            ("Contact Name", "Jane Smith"),
            ("Contact Phone", "(02) 9876 5432"),
            ("Purchase Order", "PO-7781"),
        ]
    )
    html = sanitize(f"<table>{rows}</table>")
    for source in ("body", "html_table"):
        assert extract(work_order_mappings(source), to_text(html), html=html).fields == WORK_ORDER_FIELDS


def test_work_order_notes() -> None:
    html = sanitize(HTML_WORK_ORDER)
    result = extract(work_order_mappings("html_table"), to_text(html), html=html)
    assert result.notes == (
        "site_address: 'Unit 4, 12 High St' after 'Site Address:' in an HTML table",
        "contact_name: 'Jane Smith' after 'Contact Name:' in an HTML table",
        "contact_phone: '0298765432' after 'Contact Phone:' in an HTML table (phone from '(02) 9876 5432')",
        "purchase_order: 'PO-7781' after 'Purchase Order:' in an HTML table",
    )


# --- finding labels --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Site Address: 12 High St",
        "SITE ADDRESS: 12 High St",
        "site address:12 High St",
        "Site Address : 12 High St",
        "Site   Address:   12 High St   ",
        "Site\xa0Address:\xa012 High St",
        "\tSite Address:\t12 High St",
        "*Site Address:* 12 High St",
        "**Site Address**: 12 High St",
        "**Site Address:** **12 High St**",
        "__Site Address__: 12 High St",
        "_Site Address:_ 12 High St",
        "Site Address*: 12 High St",
        "Site Address - 12 High St",
        "Site Address – 12 High St",  # noqa: RUF001 (an en dash)
        "Site Address：12 High St",  # noqa: RUF001 (a fullwidth colon)
        "Site Address 12 High St",
        "> Site Address: 12 High St",
        "- Site Address: 12 High St",
        "• Site Address: 12 High St",
        "| Site Address | 12 High St |",
        "Site\nAddress: 12 High St",
        "Site \n  Address: 12 High St",
    ],
)
def test_label_variants(line: str) -> None:
    assert value("Site Address:", f"Hello\n{line}\nThanks") == "12 High St"


@pytest.mark.parametrize("start", ["Site Address:", "Site Address", "site address :", "**Site Address:**"])
def test_configured_label_variants(start: str) -> None:
    assert value(start, "Site Address: 12 High St") == "12 High St"


@pytest.mark.parametrize(
    "text",
    [
        "Old Site Address: 12 High St",
        "Please check the site address: 12 High St",
        "Site Addresses: 12 High St",
        "Website Address: 12 High St",
        "Site\n\nAddress: 12 High St",  # a blank line is not a label wrapped over two lines
        "SiteAddress: 12 High St",
    ],
)
def test_label_not_found_inside_other_text(text: str) -> None:
    assert value("Site Address:", text) is None


def test_emergency_contact_name_is_not_contact_name() -> None:
    text = "Emergency Contact Name: Bob Jones\nContact Name: Jane Smith\n"
    mappings = [Mapping("contact", "Contact Name:"), Mapping("emergency", "Emergency Contact Name:")]
    assert extract(mappings, text).fields == {"contact": "Jane Smith", "emergency": "Bob Jones"}
    reversed_text = "Contact Name: Jane Smith\nEmergency Contact Name: Bob Jones\n"
    assert extract(mappings, reversed_text).fields == {"contact": "Jane Smith", "emergency": "Bob Jones"}
    # with only the shorter label configured, the emergency contact's line is still not it
    assert value("Contact Name:", text) == "Jane Smith"
    assert value("Contact Name:", "Emergency Contact Name: Bob Jones") is None


def test_an_occurrence_with_a_separator_wins() -> None:
    text = "Contact name unknown at first\nContact Name: Jane Smith"
    assert value("Contact Name:", text) == "Jane Smith"
    assert value("Contact Name:", "Contact name unknown at first") == "unknown at first"
    assert value("Ref:", "Ref: 1\nRef: 2") == "1"


def test_a_following_label_on_the_same_line_ends_the_value() -> None:
    mappings = [Mapping("name", "Name:"), Mapping("phone", "Phone:"), Mapping("job", "Job:")]
    assert extract(mappings, "Name: Bob Phone: 0400").fields == {"name": "Bob", "phone": "0400"}
    assert extract(mappings, "Name - Bob Phone - 0400").fields == {"name": "Bob", "phone": "0400"}
    assert extract(mappings, "**Name:** Bob   **Phone:** 0400").fields == {"name": "Bob", "phone": "0400"}
    # an unknown label before it is enough for a label in the middle of a line
    assert extract(mappings[1:2], "Ref: 12 Phone: 0400").fields == {"phone": "0400"}
    # without a separator a label in the middle of a line is just text
    assert extract(mappings, "Name: Bob Phone 0400").fields == {"name": "Bob Phone 0400"}


def test_labels_in_the_middle_of_a_line_are_not_split_over_lines() -> None:
    mappings = [Mapping("a", "Notes:"), Mapping("b", "Site Address:")]
    text = "Notes: call at the Site\nAddress: 12 High St"
    assert extract(mappings, text).fields == {"a": "call at the Site"}


@pytest.mark.parametrize(
    ("start", "text"),
    [
        ("P.O. #:", "P.O. #: 1234"),
        ("#Ref:", "#Ref: 1234"),
        ("Straße:", "STRASSE: 1234\nStraße: 1234"),
        ("Job No.", "job no. 1234"),
    ],
)
def test_labels_with_punctuation_and_other_letters(start: str, text: str) -> None:
    assert value(start, text) == "1234"


# --- where the value is ----------------------------------------------------------------------------------


def test_value_on_the_next_line() -> None:
    assert value("Site Address:", "Site Address:\n12 High St\n") == "12 High St"
    assert value("Site Address:", "Site Address:\n\n   12 High St\n") == "12 High St"
    assert value("Site Address:", "**Site Address:**\n*12 High St*") == "12 High St"
    # not when the next line is another label, known or not
    mappings = [Mapping("site", "Site Address:"), Mapping("name", "Contact Name:")]
    assert extract(mappings, "Site Address:\nContact Name: Jane").fields == {"name": "Jane"}
    assert value("Site Address:", "Site Address:\nAccess Notes: via lane") is None
    assert value("Site Address:", "Site Address:\n\n") is None
    assert value("Site Address:", "Site Address:") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Site Address: Unit 4,\n12 High St\nThanks", "Unit 4, 12 High St"),  # ends with a comma
        ("Site Address: Smith &\nSons Yard\nThanks", "Smith & Sons Yard"),
        ("Site Address: 12 High St\n    Springfield\nThanks", "12 High St Springfield"),  # indented
        ("Site Address:\n  12 High St\n  Springfield\n\nThanks", "12 High St Springfield"),
        (
            "Site Address: The old warehouse behind the railway station, loading bay\n"  # 72 characters
            "number three\nThanks",
            "The old warehouse behind the railway station, loading bay number three",
        ),
        ("Site Address: 12 High St\nThanks", "12 High St"),  # not wrapped
        ("Site Address: Unit 4,\n\n12 High St", "Unit 4"),  # a blank line ends it
        ("Site Address: Unit 4,\nNotes: rear door", "Unit 4"),  # so does a label
        ("Site Address: a,\nb,\nc,\nd,\ne,\nf", "a, b, c, d"),  # at most three more lines
        # a label in the middle of a line needs a colon or label before it on that same line
        ("Site Address: Unit 4,\n12 High St Phone: 0400", "Unit 4, 12 High St Phone: 0400"),
        ("Site Address: Unit 4,\n12 High St; Ref: 1 Phone: 0400", "Unit 4, 12 High St; Ref: 1"),
    ],
)
def test_wrapped_values(text: str, expected: str) -> None:
    mappings = [Mapping("site", "Site Address:"), Mapping("phone", "Phone:")]
    assert extract(mappings, text).fields["site"] == expected


def test_end_text() -> None:
    assert value("Order", "Order 12345 for 12 High St", end="for") == "12345"
    assert value("Order", "Order 12345 FOR 12 High St", end="for") == "12345"
    assert value("Order", "Order 12345 forthwith for site", end="for") == "12345 forthwith"  # whole words
    description = "Description:\nThe gate is broken.\nPlease fix it.\n\nKind regards\nDispatch"
    assert value("Description:", description, end="Kind Regards") == "The gate is broken. Please fix it."
    # other labels do not cut a value that has an end
    assert value("Name:", "Name: Bob Phone: 0400, thanks", end=",") == "Bob Phone: 0400"
    assert value("Name:", "Name: Bob", end="   ") == "Bob"  # whitespace only: the end of the line


def test_end_text_not_found_reads_to_the_end_of_the_line() -> None:
    result = extract([Mapping("order", "Order", end="for")], "Order 12345\nnext line")
    assert result.fields == {"order": "12345"}
    assert result.notes == ("order: '12345' after 'Order' in the body (end 'for' not found)",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name:   Jane    Smith  ", "Jane Smith"),
        ("Name: **Jane Smith**", "Jane Smith"),
        ("Name: Jane Smith,", "Jane Smith"),
        ("Name: Jane Smith;", "Jane Smith"),
        ("Name: : Jane Smith :", "Jane Smith"),
        ("Name: Jane\u200bSmith", "JaneSmith"),
        ("Name: Jane Smith\r\nPhone: 1", "Jane Smith"),
        ("Name: Jane Smith.", "Jane Smith."),
    ],
)
def test_values_are_cleaned(text: str, expected: str) -> None:
    assert value("Name:", text) == expected


@pytest.mark.parametrize("text", ["Name:", "Name: ", "Name: :", "Name: **", "Name: ,"])
def test_empty_values_are_missing(text: str) -> None:
    result = extract([Mapping("name", "Name:", required=True)], text)
    assert result.fields == {}
    assert result.missing == ("name",)
    assert result.notes == ("name: nothing after 'Name:' in the body (required)",)


# --- sources ---------------------------------------------------------------------------------------------


def test_subject_source() -> None:
    mappings = [
        Mapping("po", "Purchase Order:", source="subject"),
        Mapping("site", "Site:", source="subject"),
    ]
    result = extract(mappings, "Purchase Order: from the body", subject="Fwd: Job 12 - Purchase Order: 7781")
    assert result.fields == {"po": "7781"}
    assert result.notes[0] == "po: '7781' after 'Purchase Order:' in the subject"
    subject_po = extract([Mapping("po", "PO", source="subject")], subject="PO 7781 urgent")
    assert subject_po.fields == {"po": "7781 urgent"}
    # a label in the middle of the subject needs a separator
    assert extract([Mapping("po", "PO", source="subject")], subject="New PO 7781").fields == {}


def test_body_source_uses_the_html_when_the_text_is_blank() -> None:
    html = sanitize("<p><b>Purchase Order:</b> PO-1</p>")
    assert extract([Mapping("po", "Purchase Order:")], " \n", html=html).fields == {"po": "PO-1"}


def test_html_table_header_rows() -> None:
    html = sanitize(
        "<table><tr><th>Due</th><th>Priority</th><th>Trade</th></tr>"
        "<tr><td>4/3/2026</td><td>High</td><td>Plumber</td></tr></table>"
    )
    mappings = [
        Mapping("due", "Due:", source="html_table", transform="date"),
        Mapping("trade", "Trade", source="html_table"),
    ]
    assert extract(mappings, to_text(html), html=html).fields == {"due": "2026-03-04", "trade": "Plumber"}
    # labels in plain cells over their values: the next cell is another label
    html = sanitize(
        "<table><tr><td>Due</td><td>Trade</td></tr><tr><td>5/3/2026</td><td>Tiler</td></tr></table>"
    )
    assert extract(mappings, to_text(html), html=html).fields == {"due": "2026-03-05", "trade": "Tiler"}


def test_html_table_label_alone_in_its_row_has_the_value_below() -> None:
    html = sanitize(
        "<table><tr><td><strong>Site Address</strong></td></tr><tr><td>12 High St</td></tr>"
        "<tr><td><strong>Contact Name</strong></td></tr><tr><td>Jane Smith</td></tr></table>"
    )
    mappings = [
        Mapping("site", "Site Address:", source="html_table"),
        Mapping("name", "Contact Name:", source="html_table"),
    ]
    assert extract(mappings, to_text(html), html=html).fields == {"site": "12 High St", "name": "Jane Smith"}


def test_html_table_columns_follow_colspan() -> None:
    html = sanitize(
        "<table><tr><th colspan='2'>Job</th><th>Trade</th></tr>"
        "<tr><td>12</td><td>x</td><td>Plumber</td></tr></table>"
    )
    result = extract([Mapping("trade", "Trade", source="html_table")], to_text(html), html=html)
    assert result.fields == {"trade": "Plumber"}


def test_html_table_empty_value_cell_is_missing_and_not_read_from_the_body() -> None:
    html = sanitize(
        "<table><tr><td>Purchase Order</td><td></td></tr></table><p>Purchase Order: from text</p>"
    )
    result = extract(
        [Mapping("po", "Purchase Order", source="html_table", required=True)], to_text(html), html=html
    )
    assert result.fields == {}
    assert result.missing == ("po",)
    assert result.notes == ("po: nothing after 'Purchase Order' in an HTML table (required)",)


def test_html_table_falls_back_to_the_body() -> None:
    mapping = Mapping("po", "Purchase Order:", source="html_table")
    html = sanitize("<p>Purchase Order: PO-9</p><table><tr><td>Other</td><td>x</td></tr></table>")
    result = extract([mapping], to_text(html), html=html)
    assert result.fields == {"po": "PO-9"}
    assert result.notes == ("po: 'PO-9' after 'Purchase Order:' in the body (not in an HTML table)",)
    result = extract([mapping], "Purchase Order: PO-10", html=None)
    assert result.fields == {"po": "PO-10"}
    assert result.notes == ("po: 'PO-10' after 'Purchase Order:' in the body (no HTML)",)


def test_html_table_nested_tables_and_entities() -> None:
    html = sanitize(
        "<table><tr><td>Layout<table><tr><td>Site Address</td><td>Smith &amp; Sons,<br>Yard 2</td></tr>"
        "</table></td><td>Sidebar</td></tr></table>"
    )
    result = extract([Mapping("site", "Site Address", source="html_table")], to_text(html), html=html)
    assert result.fields == {"site": "Smith & Sons, Yard 2"}


def test_html_table_first_cell_with_the_label_wins() -> None:
    html = "<table><tr><td>Name</td><td>Bob</td></tr><tr><td>Name</td><td>Alice</td></tr></table>"
    assert extract([Mapping("n", "Name", source="html_table")], "", html=html).fields == {"n": "Bob"}


# --- regex -----------------------------------------------------------------------------------------------


def test_regex_named_groups_become_fields() -> None:
    mapping = Mapping(regex=r"^job\s*#\s*(?P<job>\d+)\s+at\s+(?P<site>.+)$")
    result = extract([mapping], "Hello\nJOB # 123 at 12 High St\nJob #456 at elsewhere")
    assert result.fields == {"job": "123", "site": "12 High St"}
    assert result.notes == ("job, site: the regex matched in the body: job '123'; site '12 High St'",)


def test_regex_in_the_subject_with_a_transform() -> None:
    mapping = Mapping(regex=r"due (?P<due>\S+)", source="subject", transform="date")
    result = extract([mapping], "due never", subject="Job due 2026-03-04")
    assert result.fields == {"due": "2026-03-04"}


def test_regex_required_means_every_group() -> None:
    mapping = Mapping(regex=r"ref (?P<ref>\d+)(?: site (?P<site>\w+))?", required=True)
    result = extract([mapping], "ref 12")
    assert result.fields == {"ref": "12"}
    assert result.missing == ("site",)
    assert result.notes == ("ref, site: the regex matched in the body: ref '12'; site not found (required)",)
    result = extract([mapping], "nothing here")
    assert result.missing == ("ref", "site")
    assert result.notes == ("ref, site: the regex did not match the body (required)",)


def test_regex_defaults_and_transform_failures() -> None:
    mapping = Mapping(regex=r"qty (?P<qty>\S+)", transform="number", default="1")
    result = extract([mapping], "qty many")
    assert result.fields == {"qty": "1"}
    assert result.notes == ("qty: the regex matched in the body: qty 'many' has no number, default '1'",)


# --- transforms ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", "1234.50"),
        ("$1,234.50", "1234.50"),
        ("$1 234,50", "1234.50"),
        ("1.234,50 EUR", "1234.50"),
        ("1.234", "1.234"),
        ("1,234", "1234"),
        ("1,234,567", "1234567"),
        ("1.234.567", "1234567"),
        ("12,5", "12.5"),
        ("1'234.5", "1234.5"),
        ("Total: 42 items", "42"),
        ("-17.5 degrees", "-17.5"),
        ("-$5", "-5"),
        ("PO-123", "123"),
        ("0042", "0042"),
        ("2 3 boxes", "2"),
        ("approx. 3", "3"),
    ],
)
def test_number(raw: str, expected: str) -> None:
    assert value("Amount:", f"Amount: {raw}", transform="number") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-04", "2026-03-04"),
        ("2026-03-04T10:30:00+10:00", "2026-03-04"),
        ("2026/3/4", "2026-03-04"),
        ("4 March 2026", "2026-03-04"),
        ("4th March, 2026", "2026-03-04"),
        ("Wednesday, 4 Mar 2026", "2026-03-04"),
        ("4-Mar-2026", "2026-03-04"),
        ("March 4, 2026", "2026-03-04"),
        ("Sept 30th 2026", "2026-09-30"),
        ("4/3/2026", "2026-03-04"),
        ("04.03.2026 10:00", "2026-03-04"),
        ("4-3-26", "2026-03-04"),
        ("13/3/2026", "2026-03-13"),
        ("3/13/2026", "2026-03-13"),  # only month-first can be right
        ("by 31/2/2026 or 1/3/2026", "2026-03-01"),  # the first real date
    ],
)
def test_date(raw: str, expected: str) -> None:
    assert value("Due:", f"Due: {raw}", transform="date") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ph: (02) 9876 5432", "0298765432"),
        ("(02) 9876-5432", "0298765432"),
        ("+61 2 9876 5432", "+61298765432"),
        ("(+61) 400.123.456", "+61400123456"),
        ("0400 123 456 / 02 9876 5432", "0400123456"),
        ("call 123456", "123456"),
    ],
)
def test_phone(raw: str, expected: str) -> None:
    assert value("Phone:", f"Phone: {raw}", transform="phone") == expected


@pytest.mark.parametrize(
    ("transform", "raw", "reason"),
    [
        ("number", "none yet", "has no number"),
        ("date", "next Tuesday", "is not a date"),
        ("date", "31/2/2026", "is not a date"),
        ("date", "4 March", "is not a date"),
        ("phone", "ext 12345", "has fewer than 6 digits"),
    ],
)
def test_transform_failures_are_missing_with_the_reason(transform: str, raw: str, reason: str) -> None:
    result = extract([Mapping("f", "Value:", transform=transform, required=True)], f"Value: {raw}")
    assert result.fields == {}
    assert result.missing == ("f",)
    assert result.notes == (f"f: {raw!r} after 'Value:' in the body {reason} (required)",)


def test_lower_upper_trim() -> None:
    assert value("Code:", "Code:  AbC dE ", transform="lower") == "abc de"
    assert value("Code:", "Code:  AbC dE ", transform="upper") == "ABC DE"
    assert value("Code:", "Code:  AbC   dE ", transform="trim") == "AbC dE"


# --- required, default, several mappings -----------------------------------------------------------------


def test_required_and_default() -> None:
    mappings = [
        Mapping("po", "Purchase Order:", required=True),
        Mapping("priority", "Priority:", default="Normal", transform="lower"),
        Mapping("trade", "Trade:", required=True, default=""),
        Mapping("notes", "Notes:"),
    ]
    result = extract(mappings, "Hello")
    assert result.fields == {"priority": "Normal", "trade": ""}  # defaults as written, not transformed
    assert result.missing == ("po",)
    assert result.notes == (
        "po: not found (required)",
        "priority: not found, default 'Normal'",
        "trade: not found, default ''",
        "notes: not found",
    )


def test_transform_failure_falls_back_to_the_default() -> None:
    result = extract([Mapping("due", "Due:", transform="date", default="2000-01-01")], "Due: soon")
    assert result.fields == {"due": "2000-01-01"}
    assert result.notes == ("due: 'soon' after 'Due:' in the body is not a date, default '2000-01-01'",)


def test_several_mappings_for_one_field_first_found_wins() -> None:
    mappings = [
        Mapping("po", "Purchase Order:", required=True),
        Mapping("po", "PO Number:", required=True, default="none"),
        Mapping("po", "Order Ref:"),
    ]
    result = extract(mappings, "PO Number: 55\nOrder Ref: 66")
    assert result.fields == {"po": "55"}
    assert result.missing == ()
    assert result.notes == (
        "po: not found (required)",
        "po: '55' after 'PO Number:' in the body",
        "po: '66' after 'Order Ref:' in the body (not used: an earlier mapping set it)",
    )
    assert extract(mappings, "nothing").fields == {"po": "none"}


def test_fields_keep_mapping_order() -> None:
    mappings = [Mapping("b", "B:"), Mapping("a", "A:", default="x"), Mapping("c", "C:")]
    assert list(extract(mappings, "C: 3\nB: 2").fields) == ["b", "a", "c"]


# --- checking mappings -----------------------------------------------------------------------------------


def test_valid_mappings_have_no_problems() -> None:
    for m in [
        Mapping("site", "Site Address:"),
        Mapping("site", "Site Address:", end="Contact", source="html_table", required=True, default="-"),
        Mapping(regex=r"(?P<ref>\d+)", source="subject", transform="number"),
        *(Mapping("f", "F:", transform=t) for t in TRANSFORMS),
        *(Mapping("f", "F:", source=s) for s in SOURCES),
    ]:
        assert check_mapping(m) == []


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        (Mapping(regex=r"(?P<ref>\d+"), "regex '(?P<ref>\\\\d+' does not compile: missing ), unterminated"),
        (Mapping(regex=r"ref (\d+)"), "has no named groups"),
        (Mapping("site"), "needs start (a label such as 'Site Address:') or regex"),
        (Mapping("site", "Site:", regex=r"(?P<a>x)"), "either start (a label) or regex, not both"),
        (Mapping(regex=r"(?P<a>x)", end="y"), "end is not used with regex"),
        (Mapping("site", regex=r"(?P<a>x)"), "field is not used with regex"),
        (Mapping(regex=r"(?P<a>x)", source="html_table"), "not on html_table"),
        (
            Mapping("site", "Site:", source="header"),
            "source 'header' is not one of body, subject, html_table",
        ),
        (Mapping("site", "Site:", transform="title"), "transform 'title' is not one of trim, lower, upper"),
        (Mapping("", "Site:"), "field is missing"),
        (Mapping("site", "   "), "needs start"),
        (Mapping("site", "**:**"), "has no words"),
        (Mapping("site", 12), "start must be text, not int"),  # type: ignore[arg-type]
        (Mapping("site", "Site:", default=0), "default must be text, not int"),  # type: ignore[arg-type]
        (Mapping("site", "Site:", required="yes"), "required must be true or false"),  # type: ignore[arg-type]
    ],
)
def test_check_mapping_problems(mapping: Mapping, problem: str) -> None:
    problems = check_mapping(mapping)
    assert any(problem in p for p in problems), problems


def test_an_invalid_regex_mapping_counts_its_groups_as_missing() -> None:
    result = extract([Mapping(regex=r"(?P<ref>\d+)", source="html_table", required=True)], "12")
    assert result.fields == {}
    assert result.missing == ("ref",)
    assert (
        result.notes[0]
        == "ref: skipped, a regex runs on the body or the subject, not on html_table (required)"
    )


def test_invalid_mappings_are_skipped_and_required_ones_count_as_missing() -> None:
    mappings = [Mapping("po", "PO:", transform="shout", required=True), Mapping("site", "Site:")]
    result = extract(mappings, "PO: 1\nSite: 2")
    assert result.fields == {"site": "2"}
    assert result.missing == ("po",)
    assert result.notes[0].startswith("po: skipped, transform 'shout' is not one of")
    assert result.notes[0].endswith("(required)")


# --- robustness ------------------------------------------------------------------------------------------


def test_no_mappings() -> None:
    assert Extractor(()).extract("s", "t", "<p>h</p>") == Extraction({}, (), ())


@pytest.mark.parametrize(
    ("subject", "text", "html"),
    [
        ("", "", None),
        ("", "", ""),
        ("\x00\x1c", "\x00Site Address:\x00\x1c\x1d\x1e\n\x0b\x0c", "\x00<td>\x00"),
        ("\ud800", "Site Address: \ud800\udfff", "<table><tr><td>Site Address</td><td>\ud800</td></tr>"),
        ("s", " ", "<p>\ud800</p>"),
        ("s", "", "<![foo <table><tr><td>Site Address<td>x"),
        ("s", "", "<table><tr><td colspan='x'>Site Address</td><td colspan='99999999999'>y</td></table>"),
        ("s", "", "</table></td><td>Site Address</td><td>y"),
        ("s", "", "<table><tr><td colspan='\u00b2'>Site Address</td><td>y</td></table>"),
        ("s", "Site Address: 4 \u017fep 2026", None),  # a long s, which matches "s" case-insensitively
        ("s", "Site Address:" * 10_000, None),
        ("s", ("Site\n" * 5_000) + "Address:", None),
    ],
)
def test_never_raises_on_odd_input(subject: str, text: str, html: str | None) -> None:
    mappings = [
        *work_order_mappings("body"),
        *work_order_mappings("html_table"),
        Mapping("s", "Site Address", source="subject", transform="date"),
        Mapping(regex=r"(?P<any>.+)", transform="number"),
        Mapping("e", "Site Address", end="Address", transform="phone"),
    ]
    result = extract(mappings, text, subject, html)
    assert len(result.notes) == len(mappings)


def test_huge_body_is_quick_enough_to_not_hang() -> None:
    text = ("lorem ipsum dolor sit amet: consectetur\n" * 50_000) + "Purchase Order: PO-1\n"
    # past the searched part of a huge body, labels are not looked for
    assert extract([Mapping("po", "Purchase Order:")], text).fields == {}
    mapping = Mapping("po", "Purchase Order:")
    assert extract([mapping], "Purchase Order: PO-1\n" + text).fields == {"po": "PO-1"}


def test_the_module_imports_no_django() -> None:
    code = "import sys, postroom.routing.mappings; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
