"""Import benchmark: `postroom import` against a bare stdlib fetch-and-parse, measured in the same run.

Starts a private Dovecot, fills a folder with N generated mails (benchmarks/mailgen.py), then measures
(a) the reference: stdlib imaplib UID FETCH of 100 at a time (BODY.PEEK[]) + email.message_from_bytes with
    policy.default, decoding every leaf part;
(b) `postroom import` with after_import: delete into SQLite, and into PostgreSQL when one is reachable;
(c) the same SQLite import with 50 rules and 20 field mappings (benchmarks/rules_config.py), and the
    routing's own time per message (filters, rules, mappings) over the same mails, in process;
and the peak memory of importing one large mail (50 MB by default) against importing one small one.
Each runs in its own process, so its peak RSS is its own. Usage:

    .venv/bin/python benchmarks/import_benchmark.py --count 1000 [--count 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from mailgen import generate  # noqa: E402
from rules_config import MAPPINGS, RULES, people, rules_yaml  # noqa: E402
from tests.support.dovecot import DovecotServer  # noqa: E402

REFERENCE = r"""
import email, email.policy, imaplib, sys
host, port, user, password, folder = sys.argv[1:6]
imap = imaplib.IMAP4(host, int(port))
imap.login(user, password)
imap.select(folder, readonly=True)
uids = imap.uid("SEARCH", "ALL")[1][0].split()
count = size = 0
for start in range(0, len(uids), 100):
    typ, data = imap.uid("FETCH", b",".join(uids[start:start + 100]).decode(), "(BODY.PEEK[])")
    for item in data:
        if not isinstance(item, tuple):
            continue
        raw = item[1]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        for part in msg.walk():
            if not part.is_multipart():
                part.get_payload(decode=True)
        count += 1
        size += len(raw)
imap.logout()
print(count, size)
"""


# Runs the command from a small process of its own: a child's peak RSS starts from its parent's high-water
# mark (vfork and exec keep it), and this script's own is high after generating the mails.
LAUNCHER = r"""
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write(f"\nPEAK-RSS-KB {usage.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return wall seconds, its peak RSS in MB (its largest process), and its stdout."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], env=env, capture_output=True)
    seconds = time.perf_counter() - start
    err = proc.stderr.decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    peak_kb = int(err.rsplit("PEAK-RSS-KB ", 1)[1].split()[0])
    return seconds, peak_kb / 1024, proc.stdout.decode()


def dovecot_count(server: DovecotServer, folder: str) -> int:
    return int(server.count(folder))


def fresh_database(url: str | None, turn: int) -> str | None:
    """Each PostgreSQL run imports into a database of its own, like each SQLite run into a new folder."""
    return url if url is None or turn == 0 else postgres_url()


def postgres_url() -> str | None:
    try:
        import psycopg

        name = f"postroom_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(
            "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://postgres@127.0.0.1:5432/{name}"
    except Exception:
        return None


# Routing alone, in process, over the mails of the rules run: what each message costs filters, rules and
# mappings (the directory's sender lookups are left out: they are one query per group, part of storing).
ROUTING = r"""
import os, sys, time
sys.path[:0] = [sys.argv[2]]
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "postroom.project.settings"
django.setup()
from mailgen import generate
from postroom.mail.parse import parse_message
from postroom.mailboxes.models import Mailbox
from postroom.records.lookups import rule_set
from postroom.routing.engine import Sender, route
rules = rule_set(Mailbox.objects.get(name="bench"))
msgs = [parse_message(raw) for raw in generate(int(sys.argv[1]))]
start = time.perf_counter()
for m in msgs:
    route(m, rules, Sender(m.from_.address if m.from_ else ""), in_team=lambda team, sender: False)
print(len(rules.rules), sum(len(r.actions.mappings) for r in rules.rules), time.perf_counter() - start)
"""


def run_postroom(
    server: DovecotServer, folder: str, db_url: str | None, rules: bool = False
) -> tuple[float, float, str]:
    data = tempfile.mkdtemp(prefix="postroom-bench-")
    env = {**os.environ, "POSTROOM_DATA_DIR": data, "BENCH_PASSWORD": server.password}
    env.pop("POSTROOM_DATABASE_URL", None)
    if db_url:
        env["POSTROOM_DATABASE_URL"] = db_url
    config = Path(data) / "bench.yaml"
    config.write_text(
        (people() if rules else "") + "mailboxes:\n  - name: bench\n    protocol: imap\n    host: 127.0.0.1\n"
        f"    port: {server.ports['imap']}\n    security: none\n    username: {server.user}\n"
        f"    password_env: BENCH_PASSWORD\n    folder: {folder}\n    address: desk@example.com\n"
        "    after_import: delete\n" + (rules_yaml() if rules else "")
    )
    postroom = [sys.executable, "-m", "postroom.cli.main"]
    subprocess.run([*postroom, "config", "load", str(config)], env=env, check=True, capture_output=True)
    result = timed([*postroom, "import"], env)
    if rules:
        global LAST_RULES_ENV
        LAST_RULES_ENV = env
    return result


LAST_RULES_ENV: dict[str, str] | None = None
RULES_RUN = f"postroom import, SQLite, {RULES} rules + {MAPPINGS} mappings"


def routing_seconds(count: int) -> tuple[int, int, float]:
    """(rules, mappings, seconds) of routing the ``count`` mails in process, with the rules run's set."""
    assert LAST_RULES_ENV is not None
    out = subprocess.run(
        [sys.executable, "-c", ROUTING, str(count), str(ROOT / "benchmarks")],
        env=LAST_RULES_ENV, capture_output=True, check=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1]), float(out[2])


def fill(server: DovecotServer, folder: str, count: int) -> int:
    server.create_folder(folder)
    total = 0
    batch: list[bytes] = []
    for raw in generate(count):
        total += len(raw)
        batch.append(raw)
        if len(batch) == 200:
            server.append(batch, folder=folder)
            batch = []
    server.append(batch, folder=folder)
    return total


def measure(server: DovecotServer, count: int, repeat: int = 1) -> list[tuple[str, float, float, float]]:
    """Each run ``repeat`` times, in turn (so that a slow moment of the machine hits all of them); each
    figure is the median run's."""
    folder = f"bench{count}"
    size_mb = fill(server, folder, count) / 1e6
    runs_note = f", {repeat} runs each (median shown)" if repeat > 1 else ""
    print(f"\n{count} messages, {size_mb:.1f} MB in folder {folder}{runs_note}")
    args = [server.host, str(server.ports["imap"]), server.user, server.password, folder]
    url = postgres_url()
    runs: dict[str, list[tuple[float, float]]] = {}
    for turn in range(repeat):
        secs, rss, _ = timed([sys.executable, "-c", REFERENCE, *args])
        runs.setdefault("reference (imaplib + email policy.default)", []).append((secs, rss))
        kinds = (("postroom import, SQLite", None), ("postroom import, PostgreSQL", url), (RULES_RUN, None))
        for name, db in kinds:
            if name.endswith("PostgreSQL") and url is None:
                continue
            if dovecot_count(server, folder) == 0:
                fill(server, folder, count)
            secs, rss, out = run_postroom(server, folder, fresh_database(db, turn), rules=name == RULES_RUN)
            print("  " + out.strip())
            runs.setdefault(name, []).append((secs, rss))
        if turn < repeat - 1:
            fill(server, folder, count)
    rows = []
    for name, results in runs.items():
        secs, rss = sorted(results)[len(results) // 2]
        rows.append((name, secs, rss, size_mb))
    ref = rows[0][1]
    print(f"  {'':44} {'msg/s':>8} {'MB/s':>7} {'x ref':>6} {'peak RSS':>9}")
    for name, secs, rss, mb in rows:
        print(f"  {name:44} {count / secs:8.0f} {mb / secs:7.1f} {ref / secs:6.2f} {rss:7.0f} MB")
    by_name = {name: secs for name, secs, _, _ in rows}
    if RULES_RUN in by_name:
        n_rules, n_maps, routing = routing_seconds(count)
        share = routing / by_name[RULES_RUN] * 100
        plain = by_name["postroom import, SQLite"]
        print(
            f"  routing alone ({n_rules} rules, {n_maps} mappings, in process): "
            f"{routing / count * 1000:.3f} ms/msg"
            f" = {share:.1f}% of the rules run's import time (target: under 10%); the rules run took"
            f" {(by_name[RULES_RUN] / plain - 1) * 100:+.0f}% against the run without rules"
        )
    return rows


def large_mail(megabytes: int) -> bytes:
    """One mail of about ``megabytes`` MB: a short text and five random attachments, base64 as sent."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Big <big@example.com>", "desk@example.com", "Site photos"
    msg["Message-ID"] = f"<big-{uuid.uuid4().hex}@example.com>"
    msg.set_content("The photos of the site, as promised.\n")
    part = megabytes * 1_000_000 * 3 // 4 // 5  # base64 grows by a third
    for i in range(5):
        msg.add_attachment(os.urandom(part), maintype="image", subtype="jpeg", filename=f"site{i}.jpg")
    return msg.as_bytes()


def measure_large(server: DovecotServer, megabytes: int) -> None:
    """Peak memory of importing one large mail, against the same import of one small mail."""
    rows = []
    for name, make in (("one small mail", generate_one), (f"one {megabytes} MB mail", large_mail)):
        folder = f"large{uuid.uuid4().hex[:8]}"
        server.create_folder(folder)
        raw = make(megabytes)
        server.append([raw], folder=folder)
        size, raw = len(raw), b""
        secs, rss, _ = run_postroom(server, folder, None)
        rows.append((name, size / 1e6, secs, rss))
    print(f"\n  {'':28} {'size':>9} {'seconds':>8} {'peak RSS':>9}")
    for name, mb, secs, rss in rows:
        print(f"  {name:28} {mb:7.1f}MB {secs:8.2f} {rss:7.0f} MB")
    extra, size = rows[1][3] - rows[0][3], rows[1][1]
    print(f"  memory for the large mail: {extra:.0f} MB over the small one = {extra / size:.2f}x its size")


def generate_one(_megabytes: int) -> bytes:
    return next(iter(generate(1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, action="append", help="messages in the mailbox (repeatable)")
    parser.add_argument("--large-mb", type=int, default=50, help="size of the one-large-mail run (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind for counts up to 2,000")
    args = parser.parse_args()
    counts = args.count or [1000]
    with DovecotServer() as server:
        results = {n: measure(server, n, args.repeat if n <= 2000 else 1) for n in counts}
        if args.large_mb:
            measure_large(server, args.large_mb)
    if len(counts) > 1:
        lo, hi = min(counts), max(counts)
        for i, (name, *_rest) in enumerate(results[lo]):
            a, b = results[lo][i][2], results[hi][i][2]
            print(f"peak RSS {name}: {lo} msgs {a:.0f} MB, {hi} msgs {b:.0f} MB ({(b - a) / a * 100:+.0f}%)")


if __name__ == "__main__":
    main()
