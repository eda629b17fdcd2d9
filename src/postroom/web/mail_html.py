"""A stored mail's HTML made ready for its sandboxed frame: inline images, remote content held back, CSP."""

from __future__ import annotations

import html as entities
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

# What a mail may keep (attributes, inline style properties): the same lists the importer sanitizes with.
from postroom.mail.html import ATTRIBUTES, STYLE_PROPERTIES

# The frame's own Content-Security-Policy, put first in its document by wrap_document (a srcdoc document
# also inherits the page's policy; both must allow a load). Nothing runs, is framed, fetched or submitted,
# except images: from 'self' (the inline cid: attachments the page serves) and data: (only the raster
# types display_html keeps), and from https: once the reader asked for remote images. Never http: —
# display_html upgrades remote images to https, so reading a mail is never announced in plain text and the
# page never has mixed content. CSS url() stays out even then (see _clean_style). style-src is
# 'unsafe-inline' for the mail's style attributes and the frame's own <style>.
IFRAME_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)
IFRAME_CSP_REMOTE = (
    "default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

# What an image becomes when it is not loaded: <span class=...>its alt text</span>, styled by the frame.
BLOCKED_CLASS = "postroom-image-blocked"  # a remote image held back; counted in `blocked`
MISSING_CLASS = "postroom-image-missing"  # unknown cid:, relative URL (our own origin) or no usable source


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The display's own allow-lists, kept apart from postroom.mail.html's on purpose: stored HTML may come
# from an older sanitizer (or a bug in it), so what reaches the frame is decided here again.
_TAGS = _names(
    "a abbr acronym article aside b bdi bdo blockquote br caption center cite code col colgroup data dd "
    "del details dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hgroup hr i img "
    "ins kbd li mark nav ol p pre q rp rt rtc ruby s samp small span strike strong sub summary sup table "
    "tbody td tfoot th thead time tr tt u ul var wbr"
)
_DROPPED_WITH_CONTENT = _names(
    "script style title head iframe frame frameset object embed applet noscript noembed noframes template "
    "svg math select textarea button xmp plaintext audio video canvas"
)
# The first pass also keeps what fetches but is not on the lists above, so the rewrite can count it.
_FIRST_ATTRIBUTES = {
    **ATTRIBUTES,
    "*": ATTRIBUTES["*"] | {"background"},
    "img": ATTRIBUTES["img"] | {"srcset"},
}
_REMOTE_ATTRIBUTES = {**ATTRIBUTES, "*": ATTRIBUTES["*"] | {"background"}}
_CLASSES = {"span": {BLOCKED_CLASS, MISSING_CLASS}}

_FIRST = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attributes=_FIRST_ATTRIBUTES,
    url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
    link_rel=None,
    filter_style_properties=STYLE_PROPERTIES,
)

# URLs as a browser reads them (WHATWG): leading/trailing C0 controls and spaces go, tabs and newlines
# anywhere go. These patterns read URL strings, never HTML.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_NEWLINE = re.compile("[\t\n\r]")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]", re.IGNORECASE)

# CSS that fetches (counted in `blocked` when removed), and CSS that is dangerous or hides what it is.
_CSS_FETCHING = ("url(", "image(", "image-set(", "cross-fade(", "element(", "src(")
_CSS_DANGEROUS = ("expression(", "javascript:", "vbscript:", "behavior", "binding", "@import", "\\", "/*")
_CSS_SUSPECT = (*_CSS_FETCHING, *_CSS_DANGEROUS)

_VOID = frozenset({"br", "col", "hr", "img", "wbr"})


@dataclass(frozen=True)
class DisplayHtml:
    """The HTML for the frame, how many remote resources it holds back, and the cid: images it lacks."""

    html: str
    blocked: int
    missing_cids: tuple[str, ...]


def display_html(html: str, inline: Mapping[str, str], allow_remote: bool) -> DisplayHtml:
    """Stored (sanitized) mail HTML -> HTML for the sandboxed frame.

    ``inline`` maps a Content-ID (angle brackets optional, any case) to the URL serving that attachment.
    cid: images become that URL; an unknown cid, a relative URL (it would ask our own origin) or no usable
    source becomes a MISSING_CLASS placeholder with the alt text. Remote images (http, https, //) become a
    BLOCKED_CLASS placeholder with the alt text, and a remote background attribute goes; with
    ``allow_remote`` both load, upgraded to https. srcset and CSS url() always go (src stays). ``blocked``
    counts what went because remote content is not allowed (srcset and CSS url() included), so it is 0
    when ``allow_remote``. Links keep http(s), mailto and tel (a known cid: becomes its URL, anything else
    loses its href, the text stays) and open outside the frame (target=_blank, rel=noopener noreferrer).
    Everything is sanitized with nh3 before the rewrite and again after it.
    """
    cids = {_cid_key(key): url for key, url in inline.items()}
    try:
        first = _FIRST.clean(html)
    except UnicodeEncodeError:  # a lone surrogate, which nh3 cannot take: a ? instead
        first = _FIRST.clean(html.encode("utf-8", "replace").decode("utf-8"))
    rewriter = _Rewriter(cids, allow_remote)
    rewriter.feed(first)
    rewriter.close()
    final = _final_cleaner(frozenset(cids.values()), allow_remote).clean("".join(rewriter.out))
    return DisplayHtml(final, rewriter.blocked, tuple(rewriter.missing.values()))


def srcdoc_attribute(html: str) -> str:
    """``html`` escaped for a double-quoted attribute (&, <, >, " and '); mark it safe, don't escape twice
    (Django's autoescaping of a plain str does the same job)."""
    return entities.escape(html, quote=True)


def iframe_csp(allow_remote: bool) -> str:
    return IFRAME_CSP_REMOTE if allow_remote else IFRAME_CSP


_FRAME_STYLE = (
    "body{margin:8px;font-family:system-ui,sans-serif;overflow-wrap:break-word}"
    "img{max-width:100%;height:auto}"
    f".{BLOCKED_CLASS},.{MISSING_CLASS}{{display:inline-block;border:1px dashed #999;color:#666;"
    "padding:0 .25em;font-size:.9em}"
    f".{BLOCKED_CLASS}:empty,.{MISSING_CLASS}:empty{{display:none}}"  # tracking pixels have no alt
)


def wrap_document(display: DisplayHtml, allow_remote: bool) -> str:
    """The whole srcdoc document: the CSP first, no referrer, the placeholders' style, then the mail.

    ``allow_remote`` must be the one ``display`` was made with.
    """
    csp = entities.escape(iframe_csp(allow_remote), quote=True)
    return (
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{_FRAME_STYLE}</style></head><body>{display.html}</body></html>"
    )


def _normalized(url: str) -> str:
    return _TAB_NEWLINE.sub("", url).strip(_C0_AND_SPACE)


def _scheme(url: str) -> str | None:
    found = _SCHEME.match(url)
    return found.group(1).lower() if found else None


def _classify(raw: str) -> tuple[str, str]:
    """(kind, normalized URL); kind is empty, cid, image (an allowed data: image), remote, relative,
    link (mailto, tel) or other."""
    url = _normalized(raw)
    if not url:
        return "empty", url
    scheme = _scheme(url)
    if scheme is None:
        slashes = url[:2].replace("\\", "/") == "//"  # a browser reads \ as / in http(s) URLs
        return ("remote" if slashes else "relative"), url
    if scheme == "cid":
        return "cid", url
    if scheme == "data":
        return ("image" if _DATA_IMAGE.match(url) else "other"), url
    if scheme in ("http", "https"):
        return "remote", url
    return ("link" if scheme in ("mailto", "tel") else "other"), url


def _https(remote: str) -> str:
    """A remote URL (http:, https: or //) as https."""
    scheme = _scheme(remote)
    rest = remote[len(scheme) + 1 :] if scheme else remote
    return "https:" + rest


def _cid_key(content_id: str) -> str:
    return content_id.strip().strip("<>").strip().casefold()


def _cid_of(url: str) -> str:
    """The Content-ID a cid: URL names (RFC 2392: percent-encoded, no angle brackets)."""
    return unquote(url[len("cid:") :]).strip().strip("<>").strip()


def _declarations(style: str) -> list[str]:
    """A style attribute's declarations, split at semicolons outside strings and parentheses."""
    out: list[str] = []
    start, quote, depth, i = 0, "", 0, 0
    while i < len(style):
        char = style[i]
        if char == "\\":
            i += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == ";" and depth == 0:
            out.append(style[start:i])
            start = i + 1
        i += 1
    out.append(style[start:])
    return [d.strip() for d in out if d.strip()]


def _clean_style(style: str) -> tuple[str, int]:
    """The style without declarations that fetch (url(), image-set()...) or could hide what they do, and
    how many fetched. Remote CSS images stay out even when remote images are allowed: no allowed property
    takes one, and checking URLs inside CSS is where sanitizers go wrong."""
    lowered = style.lower()
    if not any(token in lowered for token in _CSS_SUSPECT):
        return style, 0
    kept: list[str] = []
    fetching = 0
    for declaration in _declarations(style):
        lowered = declaration.lower()
        if any(token in lowered for token in _CSS_FETCHING):
            fetching += 1
        elif not any(token in lowered for token in _CSS_DANGEROUS):
            kept.append(declaration)
    return ";".join(kept), fetching


def _placeholder(css_class: str, title: str, alt: str) -> str:
    return f'<span class="{css_class}" title="{title}">{entities.escape(alt, quote=False)}</span>'


class _Rewriter(HTMLParser):
    """Re-serializes nh3's output (well-formed, so html.parser reads it as a browser would), rewriting
    images, links, backgrounds and styles on the way."""

    def __init__(self, cids: dict[str, str], allow_remote: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.cids = cids
        self.allow_remote = allow_remote
        self.out: list[str] = []
        self.blocked = 0
        self.missing: dict[str, str] = {}  # casefolded -> as written, in order of appearance

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.out.append(self._img(attrs))
        else:
            self.out.append(f"<{tag}{self._attributes(attrs)}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(entities.escape(data, quote=False))

    def _img(self, attrs: list[tuple[str, str | None]]) -> str:
        given = {name: value or "" for name, value in attrs}
        alt = given.get("alt", "")
        kind, url = _classify(given.get("src", ""))
        if kind == "cid":
            src = self._inline(url)
            if src is None:
                return _placeholder(MISSING_CLASS, "Inline image not found", alt)
        elif kind == "image":
            src = url
        elif kind == "remote" and self.allow_remote:
            src = _https(url)
        elif kind == "remote":
            self.blocked += 1
            return _placeholder(BLOCKED_CLASS, "Remote image blocked", alt)
        else:  # relative (it would ask our own origin), empty, or a scheme that is no image
            return _placeholder(MISSING_CLASS, "Image not shown", alt)
        if given.get("srcset", "").strip():
            self._held_back(1)
        rest = [(name, value) for name, value in attrs if name not in ("src", "srcset")]
        return f'<img src="{entities.escape(src)}"{self._attributes(rest)}>'

    def _held_back(self, count: int) -> None:
        """What goes whether or not remote content is allowed counts only while it is not."""
        if not self.allow_remote:
            self.blocked += count

    def _inline(self, url: str) -> str | None:
        cid = _cid_of(url)
        src = self.cids.get(cid.casefold())
        if src is None and cid:
            self.missing.setdefault(cid.casefold(), cid)
        return src

    def _attributes(self, attrs: list[tuple[str, str | None]]) -> str:
        out = []
        for name, given in attrs:
            value: str | None = given or ""  # a bare attribute (nowrap) as nowrap=""
            if name == "style":
                value, fetching = _clean_style(given or "")
                self._held_back(fetching)
                value = value or None
            elif name == "background":
                value = self._background(given or "")
            elif name == "href":
                value = self._href(given or "")
            elif name == "srcset":
                value = None
            if value is not None:
                out.append(f' {name}="{entities.escape(value)}"')
        return "".join(out)

    def _background(self, value: str) -> str | None:
        kind, url = _classify(value)
        if kind == "remote" and self.allow_remote:
            return _https(url)
        if kind == "remote":
            self.blocked += 1
        return None

    def _href(self, value: str) -> str | None:
        kind, url = _classify(value)
        if kind == "cid":
            return self._inline(url)
        if kind == "link":
            return url
        if kind == "remote":
            return url if _scheme(url) else _https(url)  # a // link would take the page's scheme
        return None  # relative (our own origin, even #top), data:, anything else: the text stays


def _final_cleaner(inline_urls: frozenset[str], allow_remote: bool) -> nh3.Cleaner:
    """nh3 once more on the rewritten HTML, knowing which URLs the rewrite may have put in (a few µs)."""

    def url_ok(tag: str, attribute: str, value: str) -> bool:
        if attribute != "background" and value in inline_urls:
            return True
        kind, url = _classify(value)
        scheme = _scheme(url)
        if attribute == "href":
            return tag == "a" and scheme in ("http", "https", "mailto", "tel")
        if attribute == "src":
            return tag == "img" and (kind == "image" or (allow_remote and scheme == "https"))
        return allow_remote and scheme == "https"  # background

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src", "background"):
            return value if url_ok(tag, attribute, value) else None
        if attribute == "style":
            return _clean_style(value)[0] or None
        return value

    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_REMOTE_ATTRIBUTES if allow_remote else ATTRIBUTES,
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "tel", "data"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=STYLE_PROPERTIES,
        allowed_classes=_CLASSES,
    )
