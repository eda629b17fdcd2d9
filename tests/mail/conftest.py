"""Fixtures for the parser tests: every test marked corpus first makes sure the shared corpus is there."""

from __future__ import annotations

import pytest

from tests.mail import corpus


@pytest.fixture(autouse=True)
def _corpus_present(request: pytest.FixtureRequest) -> None:
    """Skips a corpus test when ../shared/corpus is absent; under CI=true fails it instead."""
    if request.node.get_closest_marker("corpus") is not None:
        corpus.require()
