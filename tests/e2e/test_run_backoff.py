"""`postroom run` backs off while a server is down: the delay rule, and the service against a closed port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from tests.e2e.cli_helpers import closed_port, load_config, mailbox_yaml
from tests.e2e.conftest import Cli

from postroom.mailboxes.models import Mailbox
from postroom.pipeline.runner import CycleResult
from postroom.pipeline.scheduler import MAX_BACKOFF, next_delay

# --- the rule: scheduler.next_delay -------------------------------------------------------------------------


def delay(interval: int, failures: int, error: str = "tcp: connection refused") -> float:
    """The delay after a cycle; ``failures`` counts this one (recorded before the scheduler asks)."""
    mailbox = Mailbox(name="desk", interval=interval, consecutive_failures=failures)
    return next_delay(mailbox, CycleResult("desk", error=error))


def test_after_a_good_cycle_the_next_comes_after_the_interval() -> None:
    assert delay(60, 0, error="") == 60.0
    assert delay(45, 0, error="") == 45.0


def test_each_failure_doubles_the_delay_up_to_thirty_minutes() -> None:
    assert [delay(60, n) for n in range(1, 8)] == [120, 240, 480, 960, 1800, 1800, 1800]
    assert [delay(10, n) for n in range(1, 10)] == [20, 40, 80, 160, 320, 640, 1280, 1800, 1800]
    assert MAX_BACKOFF == 1800


def test_a_long_outage_stays_at_the_cap() -> None:
    assert delay(10, 100_000) == MAX_BACKOFF  # the exponent is bounded: no huge numbers after weeks down


def test_a_failing_mailbox_is_never_asked_more_often_than_its_interval() -> None:
    assert [delay(3600, n) for n in (1, 2, 5)] == [3600, 3600, 3600]


# --- the service: `postroom run` ---------------------------------------------------------------------------

# The file can't set an interval under 10 s. The test sets 1 s in the database, so that three retries (2, 4,
# 8 s) take seconds instead of minutes; the rule is the same for any interval (see the tests above).
SHORT_INTERVAL = """
import django
django.setup()
from postroom.mailboxes.models import Mailbox
assert Mailbox.objects.filter(name="down").update(interval=1) == 1
"""
_RETRY = re.compile(r"^(\S+ \S+) WARNING postroom\.pipeline\.scheduler: down: retrying in (\d+) s$", re.M)
_FAILED = re.compile(r"^(\S+ \S+) WARNING postroom\.pipeline\.runner: down: cycle failed: (.*)$", re.M)


def wait_for_retries(log: Path, count: int, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if len(_RETRY.findall(text)) >= count:
            return text
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} retries logged in {timeout:.0f} s:\n{log.read_text()}")


def at(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


@pytest.mark.uses_database
def test_run_logs_failures_backs_off_and_stops_on_sigterm(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = closed_port()
    load_config(cli, tmp_path, mailbox_yaml("down", port=port, interval=10))
    subprocess.run([sys.executable, "-c", SHORT_INTERVAL], env=cli_env, check=True, timeout=60)
    log = tmp_path / "run.log"
    with log.open("wb") as err:
        listen = f"127.0.0.1:{closed_port()}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "postroom.cli.main", "run", "--listen", listen], env=cli_env, stderr=err
        )
        try:
            text = wait_for_retries(log, 3)
            assert proc.poll() is None, "the service must keep running while a server is down"
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    text = log.read_text()
    assert proc.returncode == 0, text
    assert [int(d) for _, d in _RETRY.findall(text)][:3] == [2, 4, 8]
    failures = _FAILED.findall(text)
    assert failures[0][1].startswith(f"tcp: cannot connect to 127.0.0.1:{port}: ")
    starts = [at(stamp) for stamp, _ in failures[:3]]
    gaps = [(b - a).total_seconds() for a, b in pairwise(starts)]
    assert gaps[0] >= 1.5 and gaps[1] >= 3.5, gaps  # it waited as long as it said, and longer each time
    assert "— ERROR: tcp: cannot connect" in text  # the cycle's summary line
    assert text.rstrip().endswith("stopped")
