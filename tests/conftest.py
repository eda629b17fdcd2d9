"""Suite-wide fixtures: the private Dovecot, a test SMTP server, mailbox builders; in CI nothing may skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.fixtures import *  # noqa: F403

if TYPE_CHECKING:
    from tests.support.smtp import SmtpServer


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """An SMTP server for this test alone (STARTTLS, no AUTH); fails, never skips, if it cannot start.

    Other settings through indirect parametrization with SmtpServer's keywords, e.g.
    ``@pytest.mark.parametrize("smtp_server", [{"security": "ssl", "username": "u", "password": "p"}],
    indirect=True)``. A deliver callback that raised fails the test at teardown.
    """
    try:
        from tests.support.smtp import SmtpServer  # here: a venv without aiosmtpd fails these tests only
    except ImportError as exc:
        pytest.fail(f"the test SMTP server needs aiosmtpd (pip install -e '.[dev]'): {exc}", pytrace=False)
    server = SmtpServer(**getattr(request, "param", {}))
    try:
        server.start()
    except Exception as exc:
        server.close()
        pytest.fail(f"the suite's test SMTP server could not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.close()
    if server.errors:
        pytest.fail(f"the test SMTP server's deliver callback failed: {server.errors!r}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI a skip could hide a missing server or corpus: a skipped test counts as failed there."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must not happen: {report.longrepr}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that need no database, so the PostgreSQL run (`-m "not nodb"`) only repeats the others."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if (
            "db" not in fixtures
            and "transactional_db" not in fixtures
            and not item.get_closest_marker("django_db")
            and not item.get_closest_marker("uses_database")
        ):
            item.add_marker(pytest.mark.nodb)
