"""HTML bodies: what sanitizing removes and keeps, and the text derived from HTML."""

from __future__ import annotations

import pytest

from postroom.mail.html import sanitize, to_text
from postroom.mail.parse import parse_message
from tests.mail.builders import message, text


@pytest.mark.parametrize(
    ("dirty", "gone"),
    [
        ("<p>hi</p><script>alert(1)</script>", "alert"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ('<a href="javascript:alert(1)">x</a>', "javascript"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "alert"),
        ("<style>body{background:url(evil)}</style><p>x</p>", "evil"),
        ('<iframe src="https://evil.test"></iframe><p>x</p>', "iframe"),
        ('<form action="https://evil.test"><input name="pw"></form>', "form"),
        ('<div onclick="steal()">x</div>', "steal"),
        ('<p style="background-image: url(https://track.test/p)">x</p>', "track.test"),
        ('<object data="x.swf"></object><embed src="y.swf">', "swf"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.test">', "refresh"),
        ("<svg><script>alert(1)</script></svg>", "alert"),
    ],
)
def test_sanitizing_removes_dangerous_markup(dirty: str, gone: str) -> None:
    assert gone.lower() not in sanitize(dirty).lower()


def test_sanitizing_keeps_formatting_tables_images_and_links() -> None:
    html = (
        '<p style="color: red; position: fixed">Hi <b>bold</b> <i>it</i> <font color="blue">f</font></p>'
        '<table border="1" cellpadding="2"><tr><td colspan="2" bgcolor="#eee">cell</td></tr></table>'
        '<img src="cid:image001.png@01D4" alt="logo"><img src="https://cdn.test/a.png">'
        '<a href="https://x.test/">link</a><a href="mailto:a@b.test">mail</a>'
    )
    clean = sanitize(html)
    for kept in (
        'style="color:red"',
        "<b>bold</b>",
        "<i>it</i>",
        '<font color="blue">',
        'colspan="2"',
        'bgcolor="#eee"',
        'src="cid:image001.png@01D4"',
        'src="https://cdn.test/a.png"',
        'href="https://x.test/"',
        'href="mailto:a@b.test"',
        'rel="noopener noreferrer"',
    ):
        assert kept in clean
    assert "position" not in clean


def test_parse_sanitizes_the_html_body() -> None:
    raw = message(text('<p onclick="x()">Hello</p><script>steal()</script><img src="cid:a@b">', "html"))
    msg = parse_message(raw)
    assert msg.html == '<p>Hello</p><img src="cid:a@b">'
    assert msg.text == "Hello"


def test_text_from_html_drops_hidden_content_and_decodes_entities() -> None:
    html = (
        "<head><title>T</title></head>"
        "<body><div>a &lt;b&gt; &amp; &eacute;&#8364;</div><div>next</div><!-- note --></body>"
    )
    assert to_text(html) == "a <b> & é€\nnext"


def test_text_from_html_keeps_link_text_only() -> None:
    assert to_text('Go to <a href="https://x.test/long/url">the page</a>.') == "Go to the page."


def test_text_of_a_huge_run_of_empty_cells_takes_linear_time() -> None:
    """Runs of cell marks once made the clean-up regexes backtrack over every start (quadratic): a mail of
    250,000 empty cells must come out as text, not stall the import. Compared with a tenth of it, so the
    check holds on a slow machine too."""
    import time

    from postroom.mail.html import to_text

    def seconds(n: int) -> float:
        start = time.perf_counter()
        assert to_text("<td>" * n + "end") == "end"
        return time.perf_counter() - start

    small, large = seconds(25_000), seconds(250_000)
    assert large < max(small, 0.01) * 40  # linear: about 10 times; quadratic would be 100
