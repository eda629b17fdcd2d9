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
    p = sub.add_parser(
        "run",
        help="run the service: every enabled mailbox on its interval, the outbox, and the API over HTTP",
    )
    p.add_argument("--listen", default="127.0.0.1:8000", metavar="HOST:PORT", help="default 127.0.0.1:8000")
    p.add_argument("--no-web", action="store_true", help="import and send only; serve no HTTP")
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

    web = None
    if not args.no_web:
        from postroom.web.server import WebServer, first_admin

        web = WebServer(args.listen)
        web.start()
        if login := first_admin():
            change = "`postroom user add NAME --email ... --role admin --password-env VAR`"
            log.info("first start: log in at http://%s:%d/ as %s (%s sets a password of your own)",
                     web.host, web.port, login, change)  # fmt: skip
    try:
        serve(stop, on_cycle)
    finally:
        if web is not None:
            web.stop()
    log.info("stopped")
    return 0
