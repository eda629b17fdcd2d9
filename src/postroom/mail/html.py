"""HTML bodies: sanitizing for display (nh3) and deriving readable plain text from HTML-only mail."""

from __future__ import annotations

import html as html_entities
import re

import nh3

# What a mail may keep: formatting, tables, links and images. No script, style, iframe, form or event
# handler survives, and only the URL schemes below (so no javascript:). cid: stays so the web page can
# show inline images; remote http(s) images stay too, the page blocks them until the reader asks.
_TAGS = (nh3.ALLOWED_TAGS | {"font", "tfoot", "caption"}) - {"area", "map"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir", "align", "valign", "style", "width", "height", "bgcolor"},
    "a": {"href", "hreflang", "name"},
    "img": {"src", "alt", "border", "hspace", "vspace"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "blockquote": {"cite", "type"},
    "hr": {"size", "noshade"},
}
# Inline style is how most mail is formatted; only properties that cannot fetch or overlay anything.
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "font-variant",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "line-height",
    "letter-spacing",
    "word-spacing",
    "white-space",
    "vertical-align",
    "direction",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "width",
    "height",
    "max-width",
    "min-width",
    "list-style-type",
    "table-layout",
}
_DROPPED_WITH_CONTENT = {
    "script",
    "style",
    "title",
    "head",
    "iframe",
    "object",
    "embed",
    "noscript",
    "template",
    "svg",
    "math",
    "select",
    "textarea",
    "button",
}
_SANITIZER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attributes=ATTRIBUTES,
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    link_rel="noopener noreferrer",
    filter_style_properties=STYLE_PROPERTIES,
)
# For text: every tag goes, the text inside stays, except where the content is not meant to be read.
_TAG_STRIPPER = nh3.Cleaner(tags=set(), clean_content_tags=_DROPPED_WITH_CONTENT)

# Markers put into the HTML before stripping tags, turned into line breaks afterwards.
_PARAGRAPH, _LINE, _CELL = "\x1d", "\x1e", "\x1c"
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")
_PARAGRAPH_TAGS = re.compile(r"<(/?)(?:p|h[1-6]|blockquote|table|ul|ol|dl|pre|hr)\b[^>]*>", re.I)
_LINE_TAGS = re.compile(
    r"<(/?)(?:div|li|dt|dd|address|section|article|header|footer|center|form|fieldset|"
    r"nav|aside|figure|caption)\b[^>]*>",
    re.I,
)
# Text between table tags is moved out of the table by HTML parsers: mark rows and cells inside cells.
_ROW_START = re.compile(r"<tr\b[^>]*>\s*<t[dh]\b[^>]*>", re.I)
_CELL_START = re.compile(r"<t[dh]\b[^>]*>(?!\x1e)", re.I)
_BR_TAG = re.compile(r"<br\b[^>]*>", re.I)
# Whole runs, decided in the callback: a pattern that must find a marker inside a run backtracks over
# every start in a long run of cells without one (a hostile mail of 16,000 empty cells took seconds).
_MARKER_RUN = re.compile(r"[ \x1c-\x1e]+")
_SPACE_AROUND_NL = re.compile(r"[ \x1c\n]+")
_CELL_RUN = re.compile(r"\x1c+")
_BLANK_LINES = re.compile(r"\n{3,}")


def sanitize(markup: str) -> str:
    """Safe HTML to show: see the allow-lists above."""
    return _SANITIZER.clean(markup)


def to_text(markup: str) -> str:
    """Readable plain text: block elements become line breaks, links keep their text, entities decoded."""
    text = _WHITESPACE.sub(" ", markup)  # HTML source line breaks are not line breaks on screen
    text = _BR_TAG.sub("\n", text)
    text = _PARAGRAPH_TAGS.sub(lambda m: _marked(m, _PARAGRAPH), text)
    text = _LINE_TAGS.sub(lambda m: _marked(m, _LINE), text)
    text = _ROW_START.sub(lambda m: m.group(0) + _LINE, text)
    text = _CELL_START.sub(lambda m: m.group(0) + _CELL, text)
    text = _TAG_STRIPPER.clean(text)
    text = html_entities.unescape(text).replace("\xa0", " ")
    text = _MARKER_RUN.sub(_marker_run, text)
    text = _SPACE_AROUND_NL.sub(_newlines_only, text)
    text = _CELL_RUN.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _marker_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _PARAGRAPH in run:
        return "\n\n"
    return "\n" if _LINE in run else run


def _newlines_only(match: re.Match[str]) -> str:
    """Spaces and cell marks around line breaks go; a run without a line break stays as it is."""
    run = match.group(0)
    return "\n" * run.count("\n") if "\n" in run else run


def _marked(match: re.Match[str], marker: str) -> str:
    # After a closing tag, before an opening one: so the marker never lands between table tags.
    return match.group(0) + marker if match.group(1) else marker + match.group(0)
