"""Suite-wide fixtures: the private Dovecot, mailbox builders, and the CI rule that nothing skips there."""

from __future__ import annotations

import os

import pytest

from tests.support.fixtures import *  # noqa: F403


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
