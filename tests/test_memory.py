"""The mmap threshold is fixed on glibc, so freed mail buffers go back to the system."""

from __future__ import annotations

import sys

import pytest

from postroom.core.memory import return_large_buffers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_glibc_takes_the_fixed_threshold() -> None:
    assert return_large_buffers() is True
