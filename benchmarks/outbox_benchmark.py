"""Outbox benchmark: 1,000 queued replies sent through the outbox to a local SMTP server, against a bare
smtplib loop sending the same bytes over one connection, measured in the same run; and that none was sent
twice. Usage:

    .venv/bin/python benchmarks/outbox_benchmark.py [--count 1000]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tests.support.smtp import SmtpServer  # noqa: E402

SETUP = r"""
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "postroom.project.settings"
django.setup()
from postroom.cli.dbsetup import ensure_schema
ensure_schema()
from django.db import transaction
from postroom.mailboxes.models import Mailbox
from postroom.outgoing.reply import queue_reply
from postroom.pipeline.ingest import ingest
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
box = Mailbox.objects.create(name="desk", protocol="imap", host="127.0.0.1", port=1, security="none",
    username="u", address="desk@desk.test", smtp_host=host, smtp_port=port, smtp_security="none")
raw = (b"From: Ann <ann@customer.test>\r\nTo: desk@desk.test\r\nSubject: Leak\r\n"
       b"Message-ID: <leak@customer.test>\r\n\r\nThe tap drips.\r\n")
number = ingest(box, "pipe:1", raw).record
with transaction.atomic():
    for i in range(count):
        queue_reply(number, f"Reply {i}: we come on Tuesday.\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="postroom-outbox-bench-")
    env = {**os.environ, "POSTROOM_DATA_DIR": data}
    env.pop("POSTROOM_DATABASE_URL", None)
    with SmtpServer(security="none") as server:
        subprocess.run([sys.executable, "-c", SETUP, server.host, str(server.port), str(args.count)],
                       env=env, check=True)  # fmt: skip
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "postroom.cli.main", "outbox", "send"], env=env,
                             check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
        outbox_secs = time.perf_counter() - start
        got = server.wait_for(args.count, timeout=60)
        ids = Counter(r.message_id for r in got)
        twice = sum(1 for n in ids.values() if n > 1)
        raws = [r.data for r in got]
        server.clear()
        start = time.perf_counter()
        with smtplib.SMTP(server.host, server.port) as smtp:
            for raw in raws:
                smtp.sendmail("desk@desk.test", ["ann@customer.test"], raw)
        ref_secs = time.perf_counter() - start
        server.wait_for(args.count, timeout=60)
    n = args.count
    print(f"{n} queued replies; {out}")
    print(f"  {'':40} {'msg/s':>8} {'seconds':>8}")
    print(f"  {'reference (smtplib, one connection)':40} {n / ref_secs:8.0f} {ref_secs:8.2f}")
    print(f"  {'postroom outbox send':40} {n / outbox_secs:8.0f} {outbox_secs:8.2f}")
    print(f"  outbox / reference: {ref_secs / outbox_secs:.2f}x; distinct Message-IDs received {len(ids)},"
          f" sent twice: {twice}")  # fmt: skip


if __name__ == "__main__":
    main()
