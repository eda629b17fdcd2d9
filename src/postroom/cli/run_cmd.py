"""`postroom run`: the long-running import service; stops cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from postroom.cli.import_cmd import summary
from postroom.pipeline.runner import CycleResult

log = logging.getLogger("postroom.run")


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the import service: every enabled mailbox on its interval")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from django.conf import settings

    from postroom.mailboxes.models import Mailbox
    from postroom.pipeline.scheduler import serve

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("stopping after the message in hand (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    count = Mailbox.objects.filter(enabled=True).count()
    log.info("Postroom running with data in %s; %d enabled mailboxes", settings.DATA_DIR, count)
    if not count:
        log.info("no mailboxes yet: describe them in a YAML file and run `postroom config load FILE`")

    def on_cycle(result: CycleResult) -> None:
        if result.fetched or result.error:
            log.info("%s", summary(result))

    serve(stop, on_cycle)
    log.info("stopped")
    return 0
