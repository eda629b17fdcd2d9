"""The benchmark mail generator: repeatable, the promised mix, and every mail parses with the stdlib."""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from benchmarks import mailgen

TO = "jobs@dept.example.org"
ROOT = Path(__file__).resolve().parents[2]
_PRINT_DIGEST = f"sys.stdout.write(hashlib.sha256(b''.join(generate(60, 5, {TO!r}))).hexdigest())"


def _digest(n: int, seed: int) -> str:
    return hashlib.sha256(b"".join(mailgen.generate(n, seed, TO))).hexdigest()


def test_same_seed_same_bytes_in_any_order_and_process() -> None:
    mails = list(mailgen.generate(60, seed=5, to=TO))
    assert mails[:30] == list(mailgen.generate(30, seed=5, to=TO))
    assert [mailgen.message(i, 5, TO) for i in (59, 3, 42)] == [mails[59], mails[3], mails[42]]
    assert [mailgen.size(i, 5, TO) for i in range(60)] == [len(m) for m in mails]
    assert mailgen.total_size(60, 5, TO) == sum(map(len, mails))
    assert mails != list(mailgen.generate(60, seed=6, to=TO))
    code = f"import hashlib, sys\nfrom benchmarks.mailgen import generate\n{_PRINT_DIGEST}"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    assert other.stdout == _digest(60, 5)


def test_the_mix() -> None:
    n = 1050  # 50 blocks of 21
    specs = [mailgen.spec(i, seed=2) for i in range(n)]
    shapes = Counter(s.shape for s in specs)
    assert sum(shapes[shape] for shape in mailgen.SMALL) == n * 2 // 3
    assert shapes["attachments"] == n // 7
    assert all(shapes[shape] > 30 for shape in (*mailgen.RICH, "plain", "alternative", "auto_reply"))
    assert 0.30 < sum(s.parent is not None for s in specs) / n < 0.40
    assert 0.25 < sum(not s.subject.isascii() for s in specs) / n < 0.50
    assert {"us-ascii", "utf-8", "iso-8859-1", "Shift_JIS"} <= {s.charset for s in specs}
    sizes = [a.size for s in specs for a in s.attachments]
    assert min(sizes) < 10_000 and 2_500_000 < max(sizes) <= 3_000_000
    assert 65e6 < mailgen.total_size(1000, seed=2) < 85e6  # a realistic 1,000-mail mix is ~75 MB


def test_every_mail_parses_with_the_stdlib() -> None:
    seen: set[str] = set()
    for index, raw in enumerate(mailgen.generate(210, seed=3, to=TO)):
        spec = mailgen.spec(index, seed=3)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert not [d for part in msg.walk() for d in part.defects], index
        assert msg["To"] == TO and msg["Subject"] == spec.subject
        assert msg["From"].addresses[0].display_name == spec.sender[0]
        assert msg["Message-ID"] == f"<{spec.message_id}>" and spec.message_id not in seen
        if spec.parent is not None:  # a reply names an earlier generated mail
            assert msg["In-Reply-To"].strip("<>") == spec.references[-1] in seen
        body = msg.get_body(("plain",))
        assert body is not None and body.get_content().strip()
        decoded = [(p.get_filename(), len(p.get_content())) for p in msg.iter_attachments()]
        if spec.shape == "attachments":
            assert decoded == [(a.filename, a.size) for a in spec.attachments]
        seen.add(spec.message_id)
