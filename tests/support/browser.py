"""Headless Chromium for tests (Debian's, driven by Playwright), what its pages did, and loopback servers."""

from __future__ import annotations

import functools
import os
import socketserver
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import BaseServer
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, Playwright
    from playwright.sync_api import Error as PlaywrightError

# Debian's package; Playwright's own browser download (`playwright install`) cannot work on these machines.
CHROMIUM = os.environ.get("POSTROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_HINT = "apt-get install chromium (scripts/test does when it is missing)"
PLAYWRIGHT_HINT = "pip install -e '.[dev]' (never `playwright install`: it downloads a browser)"
# Playwright's default is 30 s; a page on loopback that takes 10 s is broken, and the test says so sooner.
TIMEOUT_MS = 10_000


class BrowserUnavailable(Exception):
    """Chromium or Playwright is missing or would not start; the message says what to install."""


@dataclass
class PageLog:
    """What a page did on its own: uncaught script errors, console messages and dialogs, in order.

    Dialogs are answered at once (dismissed, or accepted when ``accept_dialogs`` is set) so no page waits.
    """

    errors: list[str] = field(default_factory=list)  # "Error: boom", from uncaught exceptions
    console: list[str] = field(default_factory=list)  # "log: hello", "error: ...", "warning: ..."
    dialogs: list[str] = field(default_factory=list)  # "alert: 1", "confirm: Delete?", "prompt: Name?"
    accept_dialogs: bool = False


_logs: weakref.WeakKeyDictionary[Page, PageLog] = weakref.WeakKeyDictionary()


def page_log(page: Page) -> PageLog:
    """The log of a page opened by ``HeadlessChromium.new_page`` (or a popup of one)."""
    try:
        return _logs[page]
    except KeyError:
        raise ValueError("no PageLog: this page was not opened by HeadlessChromium.new_page") from None


def page_errors(page: Page) -> list[str]:
    """The page's uncaught JavaScript errors so far ("TypeError: x is undefined")."""
    return list(page_log(page).errors)


def page_console(page: Page) -> list[str]:
    """The page's console messages so far, each "type: text" ("log: ready", "error: ...")."""
    return list(page_log(page).console)


def page_dialogs(page: Page) -> list[str]:
    """The dialogs the page opened so far, each "type: message" ("alert: 1"); any means a script ran."""
    return list(page_log(page).dialogs)


def _record(page: Page) -> None:
    if page in _logs:
        return
    log = _logs[page] = PageLog()

    def on_error(error: PlaywrightError) -> None:
        log.errors.append(f"{error.name or 'Error'}: {error.message}")

    def on_console(message: ConsoleMessage) -> None:
        log.console.append(f"{message.type}: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        if log.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("pageerror", on_error)
    page.on("console", on_console)
    page.on("dialog", on_dialog)


class HeadlessChromium:
    """One Playwright driver and one headless Chromium; each page gets a fresh context (no shared cookies)."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        self.executable = executable
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._async_unsafe: str | None = None

    @property
    def browser(self) -> Browser:
        """Playwright's Browser, for what ``new_page`` doesn't cover (a context with storage state, ...)."""
        if self._browser is None:
            raise RuntimeError("HeadlessChromium is not started")
        return self._browser

    @property
    def version(self) -> str:
        return self.browser.version

    def start(self) -> None:
        """Starts the driver and the browser; raises BrowserUnavailable with the install hint if it can't."""
        if not os.access(self.executable, os.X_OK):
            raise BrowserUnavailable(f"no Chromium at {self.executable}: {CHROMIUM_HINT}")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserUnavailable(f"the package playwright is missing ({exc}): {PLAYWRIGHT_HINT}") from exc
        # Between its calls Playwright's sync API leaves its asyncio loop marked as running in this thread,
        # and Django then refuses the ORM here ("You cannot call this from an async context"): Playwright's
        # maintainers' answer is DJANGO_ALLOW_ASYNC_UNSAFE, set here only while the driver runs.
        self._async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable,
                headless=True,
                # Chromium refuses to start as root with its sandbox on ("Running as root without
                # --no-sandbox is not supported"), and these machines and CI run as root: only then does
                # Playwright pass --no-sandbox. As another user Debian's Chromium sandboxes itself.
                chromium_sandbox=os.geteuid() != 0,
                timeout=30_000,
            )
        except Exception as exc:
            self.close()
            raise BrowserUnavailable(f"Chromium at {self.executable} would not start: {exc}") from exc

    def new_page(self, **context_options: Any) -> Page:
        """A page in a context of its own, recorded (see ``page_log``); ``page.context.close()`` ends it.

        ``context_options`` go to Playwright's ``Browser.new_context`` (``viewport``, ``locale``, ...).
        """
        context: BrowserContext = self.browser.new_context(**context_options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", _record)  # popups (window.open, target=_blank) are recorded too
        page = context.new_page()
        _record(page)
        return page

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
        if self._async_unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = self._async_unsafe


class _SharedBrowser:
    """One browser per test process, even when several conftest files import the fixtures (as Dovecot)."""

    def __init__(self) -> None:
        self.chromium: HeadlessChromium | None = None
        self.users = 0

    def acquire(self) -> HeadlessChromium:
        if self.chromium is None:
            chromium = HeadlessChromium()
            chromium.start()
            self.chromium = chromium
        self.users += 1
        return self.chromium

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.chromium is not None:
            self.chromium.close()
            self.chromium = None


shared_browser = _SharedBrowser()


# Loopback servers for the pages a test loads. Postroom's own Django app is better served by pytest-django's
# `live_server` (it shares the in-memory SQLite test database with the server thread, and closes the
# thread's connections), which needs STATIC_URL in the settings; these are for a test's own pages and apps.


class _QuietWSGIHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def _serving(server: BaseServer, port: int) -> Iterator[str]:
    # A short poll: shutdown() waits for serve_forever to look (0.5 s by default), at the end of every test.
    serve = functools.partial(server.serve_forever, poll_interval=0.05)
    thread = threading.Thread(target=serve, name=f"test-http-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_wsgi(app: Callable[..., Any]) -> Iterator[str]:
    """Serves a WSGI app on a free loopback port in a thread; yields the base URL ("http://127.0.0.1:N")."""
    server = make_server("127.0.0.1", 0, app, _ThreadingWSGIServer, _QuietWSGIHandler)
    with _serving(server, server.server_port) as url:
        yield url


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serves a folder's files on a free loopback port in a thread; yields the base URL."""
    handler = functools.partial(_QuietFileHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with _serving(server, server.server_port) as url:
        yield url
