"""The suite's headless Chromium itself: pages on loopback, script errors, dialogs, the XSS canary, Django."""

from __future__ import annotations

import html
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path
from django.utils.html import format_html
from pytest_django.live_server_helper import LiveServer

from tests.support.browser import (
    BrowserUnavailable,
    HeadlessChromium,
    page_console,
    page_dialogs,
    page_errors,
    page_log,
    serve_directory,
    serve_wsgi,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# Markup a subject line or a sender's name could carry, and the dialog each opens if it reaches the page raw.
ICON = "<link rel=icon href='data:,'>"
PAYLOADS = {"<script>alert(1)</script>": "alert: 1", "<img src=/missing.png onerror=alert(2)>": "alert: 2"}


def html_app(body: str, csp: str = "") -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app answering every path with one HTML page (404 for images, as a missing file).

    The page names an empty icon: else Chromium asks for /favicon.ico after "load", maybe as the server stops.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"].endswith(".png"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such image"]
        headers = [("Content-Type", "text/html; charset=utf-8")]
        start_response("200 OK", headers + ([("Content-Security-Policy", csp)] if csp else []))
        return [(ICON + body).encode()]

    return app


def test_loads_a_page_served_on_loopback_and_reads_its_title(page: Page, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        "<!doctype html><title>Postroom inbox</title><link rel=icon href='data:,'><h1>Inbox</h1>"
        "<script>console.log('ready')</script>"
    )
    with serve_directory(tmp_path) as url:
        page.goto(f"{url}/index.html")
        assert page.title() == "Postroom inbox"
        assert page.locator("h1").text_content() == "Inbox"
    assert page_console(page) == ["log: ready"]
    assert page_errors(page) == []
    assert page_dialogs(page) == []


def test_a_script_that_throws_is_seen_as_an_error(page: Page) -> None:
    with serve_wsgi(html_app("<title>t</title><script>null.boom()</script><p>after</p>")) as url:
        page.goto(url)
    (error,) = page_errors(page)
    assert error.startswith("TypeError: ") and "null" in error
    assert page_dialogs(page) == []


def test_an_alert_is_recorded_and_a_confirm_can_be_accepted(page: Page) -> None:
    body = "<title>t</title><script>alert('hello'); document.title = String(confirm('Delete?'))</script>"
    with serve_wsgi(html_app(body)) as url:
        page.goto(url)
        assert page_dialogs(page) == ["alert: hello", "confirm: Delete?"]
        assert page.title() == "false"  # dismissed by default
        page_log(page).accept_dialogs = True
        page.reload()
    assert page.title() == "true"
    assert page_dialogs(page)[2:] == ["alert: hello", "confirm: Delete?"]
    assert page_errors(page) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_canary_escaped_markup_shows_as_text_and_runs_nothing(page: Page, payload: str) -> None:
    with serve_wsgi(html_app(f"<title>t</title><p id=subject>{html.escape(payload)}</p>")) as url:
        page.goto(url)
    assert page.locator("#subject").text_content() == payload
    assert page_dialogs(page) == []
    assert page_errors(page) == []


@pytest.mark.parametrize(("payload", "dialog"), PAYLOADS.items())
def test_xss_canary_fails_on_unescaped_markup(page: Page, payload: str, dialog: str) -> None:
    with serve_wsgi(html_app(f"<title>t</title><p id=subject>{payload}</p>")) as url:
        page.goto(url)  # waits for "load", which comes after the image's error event
    assert page_dialogs(page) == [dialog]
    assert page.locator("#subject").text_content() != payload


def test_under_a_no_script_csp_unescaped_markup_opens_no_dialog_and_the_console_says_so(page: Page) -> None:
    """Postroom's pages send ``script-src 'none'``: there the canary's dialog can't fire, so web tests check
    the markup shows as text too; the browser's refusal lands in the console."""
    payload = "<script>alert(1)</script>"
    with serve_wsgi(html_app(f"<title>t</title><p id=subject>{payload}</p>", csp="script-src 'none'")) as url:
        page.goto(url)
    assert page_dialogs(page) == []
    assert page.locator("#subject").text_content() != payload  # the markup became an element all the same
    (refusal,) = page_console(page)
    assert refusal.startswith("error: ") and "violates the following Content Security Policy" in refusal


def test_screenshot_is_a_png(page: Page, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 800, "height": 600})
    with serve_wsgi(html_app("<title>t</title><h1 style='color: #063'>Postroom</h1>")) as url:
        page.goto(url)
        shot = tmp_path / "page.png"
        page.screenshot(path=shot, full_page=False)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert struct.unpack(">II", data[16:24]) == (800, 600)  # IHDR: width, height


def test_pages_do_not_share_cookies(browser: HeadlessChromium, page: Page) -> None:
    body = "<title>t</title><script>document.cookie = 'seen=1; path=/'</script>"
    with serve_wsgi(html_app(body)) as url:
        page.goto(url)
        other = browser.new_page()
        try:
            other.goto(f"{url}/blank.png")
            assert other.evaluate("document.cookie") == ""
        finally:
            other.context.close()
        assert page.evaluate("document.cookie") == "seen=1"


def test_a_missing_chromium_fails_with_the_install_hint(tmp_path: Path) -> None:
    with pytest.raises(BrowserUnavailable, match="apt-get install chromium"):
        HeadlessChromium(executable=str(tmp_path / "chromium")).start()


# Postroom's Django app, served the way pytest-django's `live_server` fixture serves it (its LiveServer):
# the server thread shares the in-memory SQLite test database (and works on PostgreSQL), so a row the test
# creates is on the page. `live_server` builds its static-files handler from STATIC_URL, which Postroom's
# settings don't set yet: until the web interface sets it, this test starts the LiveServer itself.


def person(request: HttpRequest, pk: int) -> HttpResponse:
    user = User.objects.get(pk=pk)
    page = "<!doctype html><title>Person</title>" + ICON + "<p id=name>{}</p>"
    return HttpResponse(format_html(page, user.username))


SCRIPT = "<script>alert(1)</script>"
urlpatterns = [path("people/<int:pk>/", person)]


@pytest.mark.urls(__name__)
def test_django_page_on_the_live_server_escapes_a_stored_script(
    transactional_db: None, browser: HeadlessChromium
) -> None:
    with override_settings(STATIC_URL="/static/"):
        live_server = LiveServer("127.0.0.1")
    page = browser.new_page()
    try:
        user = User.objects.create(username=SCRIPT)
        page.goto(f"{live_server.url}/people/{user.pk}/")
        assert page.title() == "Person"
        assert page.locator("#name").text_content() == SCRIPT
        assert page_dialogs(page) == []
        assert page_errors(page) == []
    finally:
        # The browser's keep-alive connection holds a server thread that uses the test's shared SQLite
        # connection; closing the context first lets the thread end before the server gives that back.
        page.context.close()
        live_server.stop()
