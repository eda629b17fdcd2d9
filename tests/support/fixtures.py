"""Reusable pytest fixtures: the private Dovecot, a fresh folder on it per test, the headless Chromium."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import BrowserUnavailable, HeadlessChromium, shared_browser
from tests.support.dovecot import DovecotServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["browser", "dovecot", "mailbox_folder", "page"]


class _SharedServer:
    """One Dovecot per test process, even when several conftest files import these fixtures.

    Each import registers its own session fixture; they share the server and the last one to finish stops it.
    """

    def __init__(self) -> None:
        self.server: DovecotServer | None = None
        self.users = 0
        self.lock = threading.Lock()

    def acquire(self) -> DovecotServer:
        with self.lock:
            if self.server is None:
                server = DovecotServer()
                server.start()  # raises with the Dovecot log tail when it cannot start
                self.server = server
            self.users += 1
            return self.server

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.server is not None:
                self.server.stop()
                self.server = None


_shared = _SharedServer()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """The suite's Dovecot (imap, imaps, pop3, pop3s on loopback); fails the tests if it cannot start."""
    try:
        server = _shared.acquire()
    except Exception as exc:
        pytest.fail(f"the suite's private Dovecot could not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        _shared.release()


@pytest.fixture
def mailbox_folder(dovecot: DovecotServer) -> str:
    """A folder no other test uses, created empty on the suite's Dovecot."""
    name = f"t{uuid.uuid4().hex[:12]}"
    dovecot.create_folder(name)
    dovecot.clear(name)
    return name


@pytest.fixture(scope="session")
def browser() -> Iterator[HeadlessChromium]:
    """The suite's headless Chromium (Debian's, through Playwright); fails the tests if it cannot start."""
    try:
        chromium = shared_browser.acquire()
    except BrowserUnavailable as exc:
        pytest.fail(f"the suite's headless Chromium could not start: {exc}", pytrace=False)
    try:
        yield chromium
    finally:
        shared_browser.release()


@pytest.fixture
def page(browser: HeadlessChromium) -> Iterator[Page]:
    """A page in a fresh context of this test's own; ``page_errors``, ``page_dialogs``... read what it did."""
    page = browser.new_page()
    try:
        yield page
    finally:
        page.context.close()
