"""A mail's HTML for its frame: inline and remote images, links, re-sanitizing, the srcdoc and its CSP."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postroom.mail.html import sanitize
from postroom.mail.parse import parse_message
from postroom.web.mail_html import (
    BLOCKED_CLASS,
    IFRAME_CSP,
    IFRAME_CSP_REMOTE,
    MISSING_CLASS,
    DisplayHtml,
    display_html,
    srcdoc_attribute,
    wrap_document,
)
from tests.mail.builders import message, text
from tests.web.xss_vectors import VECTORS

INLINE = {"logo@x": "/attachments/1/inline", "<Photo.JPG@Y>": "/attachments/2/inline"}
_PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class _Parsed(HTMLParser):
    """Every element and attribute of an HTML string, as a browser-like tokenizer reads them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.others: list[str] = []  # comments, declarations, processing instructions
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.others.append(data)

    def handle_decl(self, decl: str) -> None:
        self.others.append(decl)

    def handle_pi(self, data: str) -> None:
        self.others.append(data)

    def unknown_decl(self, data: str) -> None:
        self.others.append(data)

    def tags(self, name: str) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FORBIDDEN_TAGS = _words(
    "script iframe frame frameset object embed applet form input button select textarea option base meta "
    "link style svg math noscript noembed noframes template portal video audio source track isindex "
    "bgsound marquee xmp plaintext title head body html"
)
_ALLOWED_ATTRIBUTES = _words(
    "title lang dir align valign style width height bgcolor href hreflang name src alt border hspace vspace "
    "color face size cellpadding cellspacing summary colspan rowspan nowrap scope span start type value "
    "cite noshade target rel class background"
)
_URL_ATTRIBUTES = frozenset({"href", "src", "background", "cite"})  # the allowed ones that take a URL
_BAD_SCHEME = re.compile(r"(?:java|vb|live)script:|data:", re.IGNORECASE)
_ALLOWED_DATA = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]", re.IGNORECASE)
_NOT_IN_URLS = re.compile(r"[\x00-\x20]+")


def assert_harmless(markup: str, allow_remote: bool) -> None:
    """What the frame gets runs nothing, frames nothing, submits nothing and (unless allowed) fetches
    nothing remote: checked on the parsed output, element by element."""
    assert "<script" not in markup.lower()
    parsed = _Parsed(markup)
    assert not parsed.others, parsed.others
    for tag, attrs in parsed.elements:
        assert tag not in _FORBIDDEN_TAGS, (tag, markup)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, markup)
            assert name in _ALLOWED_ATTRIBUTES, (tag, name, markup)
            url = _NOT_IN_URLS.sub("", value)
            if name in _URL_ATTRIBUTES and _BAD_SCHEME.match(url):
                assert tag == "img" and name == "src" and _ALLOWED_DATA.match(url), (tag, name, markup)
        style = attrs.get("style", "").lower()
        for token in ("url(", "expression(", "javascript", "import", "\\", "behavior", "binding"):
            assert token not in style, (tag, style, markup)
        if not allow_remote:
            assert "background" not in attrs, markup
            if tag == "img":
                assert not re.match(r"(?:https?:|[/\\]{2})", _NOT_IN_URLS.sub("", attrs.get("src", "")), re.I)


def _imported(html: str) -> str:
    """The HTML as an import stores it: a mail with that HTML part, through parse_message."""
    parsed = parse_message(message(text(html, "html")))
    assert parsed.html is not None
    return parsed.html


def _placeholders(markup: str, css_class: str) -> list[str]:
    """The titles of the placeholders of that kind, in order."""
    return [
        attrs.get("title", "") for attrs in _Parsed(markup).tags("span") if attrs.get("class") == css_class
    ]


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;")


# --- inline images ---------------------------------------------------------------------------------------


def test_cid_images_become_the_attachment_urls_whatever_the_case_brackets_or_encoding() -> None:
    html = (
        '<img src="cid:logo@x" alt="a"><img src="CID:LOGO@X" alt="b"><img src="cid:photo.jpg@y" alt="c">'
        '<img src="cid:%3Cphoto.jpg%40Y%3E" alt="d">'
    )
    shown = display_html(html, INLINE, allow_remote=False)
    srcs = [attrs["src"] for attrs in _Parsed(shown.html).tags("img")]
    assert srcs == ["/attachments/1/inline"] * 2 + ["/attachments/2/inline"] * 2
    assert shown.blocked == 0
    assert shown.missing_cids == ()


def test_an_unknown_cid_becomes_a_placeholder_that_asks_nothing() -> None:
    html = '<p>before <img src="cid:nope@x" alt="The chart"> <img src="cid:NOPE@x"> <img src="cid:other"></p>'
    shown = display_html(html, INLINE, allow_remote=True)
    parsed = _Parsed(shown.html)
    assert parsed.tags("img") == []
    assert _placeholders(shown.html, MISSING_CLASS) == ["Inline image not found"] * 3
    assert "The chart" in "".join(parsed.text)
    assert shown.missing_cids == ("nope@x", "other")  # once each, as first written, in order
    assert shown.blocked == 0


def test_inline_images_of_an_imported_mail_show() -> None:
    stored = _imported('<p>Hi</p><img src="cid:logo@x" alt="Logo"><img src="https://cdn.test/a.png">')
    shown = display_html(stored, {"<LOGO@X>": "/attachments/7/inline"}, allow_remote=False)
    assert '<img src="/attachments/7/inline" alt="Logo">' in shown.html
    assert shown.blocked == 1


# --- remote images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        "http://track.test/p.gif",
        "https://cdn.test/a.png",
        "//cdn.test/a.png",
        "HTTPS://CDN.TEST/A.PNG",
        " \t https://cdn.test/a.png",
        "ht\ttps://cdn.test/a.png",
        "\\\\cdn.test/a.png",
    ],
)
def test_remote_images_are_held_back_by_default_showing_their_alt_text(src: str) -> None:
    shown = display_html(f'<p><img src="{src}" alt="Our &lt;team&gt;" width="600"></p>', {}, False)
    parsed = _Parsed(shown.html)
    assert parsed.tags("img") == []
    assert _placeholders(shown.html, BLOCKED_CLASS) == ["Remote image blocked"]
    assert "Our <team>" in "".join(parsed.text)
    assert "cdn.test" not in shown.html and "track.test" not in shown.html
    assert shown.blocked == 1
    assert_harmless(shown.html, allow_remote=False)


def test_blocked_counts_each_remote_image() -> None:
    html = "".join(f'<img src="https://cdn.test/{n}.png">' for n in range(5)) + '<img src="cid:logo@x">'
    shown = display_html(html, INLINE, allow_remote=False)
    assert shown.blocked == 5
    assert len(_placeholders(shown.html, BLOCKED_CLASS)) == 5


def test_allowed_remote_images_load_over_https() -> None:
    html = (
        '<img src="http://a.test/1.png" alt="1"><img src="//b.test/2.png"><img src="https://c.test/3.png">'
        '<img src="cid:logo@x">'
    )
    shown = display_html(html, INLINE, allow_remote=True)
    srcs = [attrs["src"] for attrs in _Parsed(shown.html).tags("img")]
    assert srcs == ["https://a.test/1.png", "https://b.test/2.png", "https://c.test/3.png", INLINE["logo@x"]]
    assert shown.blocked == 0
    assert_harmless(shown.html, allow_remote=True)


@pytest.mark.parametrize("src", ["/logout", "x.png", "../records/1", "?delete=1", "#top"])
@pytest.mark.parametrize("allow_remote", [False, True])
def test_relative_images_never_load_they_would_ask_our_own_origin(src: str, allow_remote: bool) -> None:
    shown = display_html(f'<img src="{src}" alt="x">', INLINE, allow_remote)
    assert _Parsed(shown.html).tags("img") == []
    assert _placeholders(shown.html, MISSING_CLASS) == ["Image not shown"]
    assert shown.blocked == 0  # showing remote images would not bring it back


def test_relative_images_survive_import_so_display_must_stop_them() -> None:
    stored = _imported('<img src="/logout"><img src="//evil.test/x">')
    assert 'src="/logout"' in stored  # postroom.mail.html keeps relative URLs
    shown = display_html(stored, {}, allow_remote=True)
    assert "/logout" not in shown.html
    assert 'src="https://evil.test/x"' in shown.html


def test_srcset_goes_src_stays() -> None:
    html = '<img src="cid:logo@x" srcset="https://cdn.test/a.png 2x, https://cdn.test/b.png 3x">'
    strict = display_html(html, INLINE, allow_remote=False)
    remote = display_html(html, INLINE, allow_remote=True)
    for shown in (strict, remote):
        assert "srcset" not in shown.html and "cdn.test" not in shown.html
        assert _Parsed(shown.html).tags("img") == [{"src": INLINE["logo@x"]}]
    assert (strict.blocked, remote.blocked) == (1, 0)


def test_a_remote_background_attribute_goes_unless_remote_is_allowed() -> None:
    html = '<table background="http://bg.test/a.png"><tr><td background="/local.png">x</td></tr></table>'
    strict = display_html(html, {}, allow_remote=False)
    remote = display_html(html, {}, allow_remote=True)
    assert "background" not in strict.html and strict.blocked == 1
    assert _Parsed(remote.html).tags("table") == [{"background": "https://bg.test/a.png"}]
    assert _Parsed(remote.html).tags("td") == [{}]
    assert remote.blocked == 0


@pytest.mark.parametrize(
    ("style", "blocked"),
    [
        ("color: red; font: 12px url(https://track.test/f)", 1),  # the import keeps this one (inert)
        ("color: red; font-family: image-set('https://track.test/a.png' 1x)", 1),
        ('color:red;font-family:"a;b";font: 1px url(//track.test/x)', 1),
        ("color: red; background-image: url(https://track.test/b)", 0),  # nh3's property filter drops it
    ],
)
def test_css_urls_in_style_attributes_go(style: str, blocked: int) -> None:
    html = f'<p style="{_entities(style)}">x</p>'
    for stored in (html, _imported(html)):
        strict = display_html(stored, {}, allow_remote=False)
        remote = display_html(stored, {}, allow_remote=True)
        for shown in (strict, remote):
            assert "track.test" not in shown.html and "url(" not in shown.html
            assert shown.html.startswith('<p style="color:red')
        assert (strict.blocked, remote.blocked) == (blocked, 0)


def test_css_url_that_survives_import_is_counted() -> None:
    stored = _imported('<p style="color:red;font:12px url(https://track.test/f)">x</p>')
    assert "track.test" in stored  # the import's property filter lets it through (inert, but a url())
    shown = display_html(stored, {}, allow_remote=False)
    assert "track.test" not in shown.html and shown.blocked == 1


def test_style_elements_and_hidden_css_go() -> None:
    html = (
        "<style>@import 'https://x.test/a.css'; p{background:url(https://x.test/b)}</style><p>kept</p>"
        '<p style="color:blue;width:expression(alert(1))">e</p><p style="color:gre\\65 n">esc</p>'
    )
    shown = display_html(html, {}, allow_remote=True)
    assert "x.test" not in shown.html and "expression" not in shown.html and "\\" not in shown.html
    assert "<p>kept</p>" in shown.html
    assert '<p style="color:blue">e</p>' in shown.html
    assert '<p style="color:green">esc</p>' in shown.html  # nh3 reads CSS escapes and writes them plain


# --- data: URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png", "gif", "jpeg", "webp", "PNG"])
def test_raster_data_images_stay(kind: str) -> None:
    src = _PIXEL.replace("image/png", f"image/{kind}")
    shown = display_html(f'<img src="{src}" alt="dot">', {}, allow_remote=False)
    assert _Parsed(shown.html).tags("img") == [{"src": src, "alt": "dot"}]
    assert shown.blocked == 0


@pytest.mark.parametrize(
    "html",
    [
        '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
        '<img src="data:text/html,<script>alert(1)</script>">',
        '<img src="data:image/pngx;base64,AAAA">',
        f'<a href="{_PIXEL}">x</a>',
        '<a href="data:text/html,hi">x</a>',
        f'<table background="{_PIXEL}"><tr><td>x</td></tr></table>',
    ],
)
def test_other_data_urls_go(html: str) -> None:
    for allow_remote in (False, True):
        shown = display_html(html, {}, allow_remote)
        assert "data:" not in shown.html
        assert_harmless(shown.html, allow_remote)


# --- links -----------------------------------------------------------------------------------------------


def test_links_stay_links_and_open_outside_the_frame() -> None:
    html = (
        '<a href="https://x.test/a?b=1&amp;c=2">web</a> <a href="http://y.test/">plain</a> '
        '<a href="mailto:ann@x.test">mail</a> <a href="tel:+4912345">call</a> <a href="//z.test/p">rel</a>'
    )
    shown = display_html(_imported(html), {}, allow_remote=False)
    links = _Parsed(shown.html).tags("a")
    assert [link["href"] for link in links] == [
        "https://x.test/a?b=1&c=2",
        "http://y.test/",
        "mailto:ann@x.test",
        "tel:+4912345",
        "https://z.test/p",
    ]
    for link in links:
        assert link["target"] == "_blank"
        assert link["rel"] == "noopener noreferrer"
    assert shown.blocked == 0


@pytest.mark.parametrize(
    "href",
    ["/records/1/delete", "#top", "?page=2", "logout", "data:text/html,x", "cid:nope@x", "ftp://x.test/"],
)
def test_links_that_would_stay_in_our_origin_or_are_no_web_links_lose_their_href(href: str) -> None:
    shown = display_html(f'<a href="{href}">the text</a>', INLINE, allow_remote=True)
    assert _Parsed(shown.html).tags("a") == [{"target": "_blank", "rel": "noopener noreferrer"}]
    assert "the text" in shown.html


def test_a_cid_link_opens_the_attachment() -> None:
    shown = display_html('<a href="cid:Logo@X">logo</a><a href="cid:gone@x">gone</a>', INLINE, False)
    assert [link.get("href") for link in _Parsed(shown.html).tags("a")] == [INLINE["logo@x"], None]
    assert shown.missing_cids == ("gone@x",)


# --- defensive re-sanitizing (stored HTML from an older sanitizer, or a bug) -----------------------------


@pytest.mark.parametrize(
    "html",
    [
        '<meta http-equiv="refresh" content="0;url=https://evil.test"><p>x</p>',
        '<base href="https://evil.test/"><p>x</p>',
        '<form action="https://evil.test/"><input name="pw"><button>Log in</button></form>',
        '<link rel="stylesheet" href="https://evil.test/a.css"><p>x</p>',
        "<script>alert(1)</script><p>x</p>",
        '<p onclick="alert(1)" class="x" id="y" data-x="1">x</p>',
        '<iframe src="https://evil.test"></iframe><object data="x"></object><embed src="y">',
        '<p style="position:fixed;top:0;z-index:9">overlay</p>',
    ],
)
def test_what_the_import_would_have_removed_is_removed_again(html: str) -> None:
    for allow_remote in (False, True):
        shown = display_html(html, {}, allow_remote)
        assert_harmless(shown.html, allow_remote)
        assert "evil.test" not in shown.html
        assert "position" not in shown.html and 'id="' not in shown.html and "data-x" not in shown.html


def test_formatting_survives() -> None:
    html = (
        '<p style="color: red; font-weight: bold">Hi <b>bold</b> <i>it</i> <font color="blue" face="Arial">'
        'f</font></p><table border="1" cellpadding="2"><tr><td colspan="2" bgcolor="#eee" nowrap>cell</td>'
        '</tr></table><blockquote type="cite">quoted</blockquote><ol start="3"><li>three</li></ol>'
    )
    shown = display_html(_imported(html), {}, allow_remote=False)
    for kept in (
        'style="color:red;font-weight:bold"',
        "<b>bold</b>",
        '<font color="blue" face="Arial">f</font>',
        'colspan="2"',
        'bgcolor="#eee"',
        'nowrap=""',
        '<blockquote type="cite">quoted</blockquote>',
        '<ol start="3"><li>three</li></ol>',
    ):
        assert kept in shown.html
    assert shown == DisplayHtml(shown.html, 0, ())


def test_text_and_attributes_stay_escaped() -> None:
    html = '<p title="a &quot;b&quot; <c>">1 &lt; 2 &amp; 3 &gt; 2</p>'
    html += '<img src="x" alt="<script>alert(1)</script>">'
    shown = display_html(html, {}, allow_remote=False)
    assert "1 &lt; 2 &amp; 3 &gt; 2" in shown.html
    assert "<script" not in shown.html
    parsed = _Parsed(shown.html)
    assert parsed.tags("p")[0]["title"] == 'a "b" <c>'
    assert "<script>alert(1)</script>" in "".join(parsed.text)  # as text, in the placeholder


def test_empty_html_and_a_lone_surrogate() -> None:
    assert display_html("", {}, allow_remote=False) == DisplayHtml("", 0, ())
    assert display_html("<p>a\ud800b</p>", {}, allow_remote=False).html == "<p>a?b</p>"


def test_display_html_is_frozen() -> None:
    shown = display_html("<p>x</p>", {}, allow_remote=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        shown.blocked = 3  # type: ignore[misc]


# --- the XSS vectors -------------------------------------------------------------------------------------


def test_there_are_enough_distinct_vectors() -> None:
    assert len(VECTORS) >= 40
    assert len(set(VECTORS)) == len(VECTORS)


@pytest.mark.parametrize("allow_remote", [False, True], ids=["strict", "remote"])
@pytest.mark.parametrize("vector", VECTORS, ids=[f"v{n:02d}" for n in range(len(VECTORS))])
def test_vector_through_import_and_display_is_harmless(vector: str, allow_remote: bool) -> None:
    shown = display_html(_imported(vector), INLINE, allow_remote)
    assert_harmless(shown.html, allow_remote)
    assert_harmless(wrap_document(shown, allow_remote).split("<body>", 1)[1], allow_remote)


@pytest.mark.parametrize("allow_remote", [False, True], ids=["strict", "remote"])
@pytest.mark.parametrize("vector", VECTORS, ids=[f"v{n:02d}" for n in range(len(VECTORS))])
def test_vector_stored_unsanitized_is_harmless_on_display(vector: str, allow_remote: bool) -> None:
    """As if the stored HTML had never been sanitized (an old sanitizer, a bug): display alone holds."""
    assert_harmless(display_html(vector, INLINE, allow_remote).html, allow_remote)


_HTMLISH = st.sampled_from(
    [
        "<",
        ">",
        "</",
        "/>",
        "=",
        '"',
        "'",
        "&",
        "&#",
        "&#x",
        ";",
        " ",
        "\n",
        "\t",
        "\x00",
        "\\",
        "script",
        "SCRIPT",
        "ScRiPt",
        "<script>",
        "</script>",
        "<scr",
        "ipt>",
        "<img src=",
        "<a href=",
        " onerror=",
        "javascript:",
        "java\tscript:",
        "cid:",
        "cid:logo@x",
        "http://",
        "//",
        "data:image/png;base64,",
        "data:text/html,",
        " style=",
        "url(",
        "expression(",
        "<style>",
        "<svg>",
        "<math>",
        "<noscript>",
        "<template>",
        "<textarea>",
        "<title>",
        "<xmp>",
        "<iframe srcdoc=",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<!DOCTYPE",
        "<?",
        "&lt;script&gt;",
        "&lt;",
        '<p title="',
        " srcset=",
        " background=",
        "\udc00",
    ]
)
_INPUT = st.lists(st.one_of(_HTMLISH, st.text(max_size=4)), max_size=40).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup=_INPUT, allow_remote=st.booleans(), sanitized_first=st.booleans())
def test_display_html_never_raises_and_never_emits_script(
    markup: str, allow_remote: bool, sanitized_first: bool
) -> None:
    if sanitized_first:  # (the import's sanitize cannot take lone surrogates; parse never makes them)
        markup = sanitize(markup.encode("utf-8", "replace").decode("utf-8"))
    shown = display_html(markup, INLINE, allow_remote)
    assert "<script" not in shown.html.lower()
    assert shown.blocked >= 0
    assert_harmless(shown.html, allow_remote)


# --- the frame's document --------------------------------------------------------------------------------


def test_srcdoc_attribute_escapes_what_an_attribute_needs_and_reads_back() -> None:
    document = '<p title="a">x &amp; y</p><script>alert("1")</script>\'q\''
    value = srcdoc_attribute(document)
    assert value == (
        "&lt;p title=&quot;a&quot;&gt;x &amp;amp; y&lt;/p&gt;"
        "&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;&#x27;q&#x27;"
    )
    frame = _Parsed(f'<iframe sandbox srcdoc="{value}"></iframe><p>after</p>')
    assert frame.tags("iframe") == [{"sandbox": "", "srcdoc": document}]
    assert frame.tags("p") == [{}]


def test_the_csp_allows_only_images_from_us_and_data_and_https_when_asked() -> None:
    for csp in (IFRAME_CSP, IFRAME_CSP_REMOTE):
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";")}
        assert directives["default-src"] == ["'none'"]
        assert directives["style-src"] == ["'unsafe-inline'"]
        assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'none'"]
        assert "script-src" not in directives and "http:" not in csp
    assert {d.split()[0]: d.split()[1:] for d in IFRAME_CSP.split(";")}["img-src"] == ["'self'", "data:"]
    remote = {d.split()[0]: d.split()[1:] for d in IFRAME_CSP_REMOTE.split(";")}
    assert remote["img-src"] == ["'self'", "data:", "https:"]


@pytest.mark.parametrize("allow_remote", [False, True])
def test_wrap_document_puts_the_csp_first(allow_remote: bool) -> None:
    shown = display_html('<p>Hello</p><img src="https://cdn.test/a.png">', {}, allow_remote)
    document = wrap_document(shown, allow_remote)
    parsed = _Parsed(document)
    assert [tag for tag, _ in parsed.elements[:3]] == ["html", "head", "meta"]
    assert parsed.elements[2][1] == {
        "http-equiv": "Content-Security-Policy",
        "content": IFRAME_CSP_REMOTE if allow_remote else IFRAME_CSP,
    }
    assert {"name": "referrer", "content": "no-referrer"} in parsed.tags("meta")
    assert document.endswith(f"<body>{shown.html}</body></html>")
    assert document.startswith("<!DOCTYPE html>")


def test_the_module_imports_no_django() -> None:
    code = (
        "import sys, postroom.web.mail_html\n"
        "sys.exit(any(name.partition('.')[0] == 'django' for name in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
