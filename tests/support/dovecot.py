"""A private Dovecot on loopback high ports for tests and benchmarks, and helpers to load and inspect mail."""

from __future__ import annotations

import atexit
import imaplib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.support import dovecot_setup as setup

_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_LISTENERS = ("imap", "imaps", "pop3", "pop3s")


class DovecotServer:
    """One Dovecot master (``dovecot -F``) with its config, certificates, users and mail under ``workdir``.

    ``workdir`` must be a short path (Dovecot's unix sockets live in it); without one a temporary folder is
    made and removed again by ``stop()``.
    """

    host = "127.0.0.1"
    user = "postroom"
    password = "s3cret-test-pass"

    def __init__(self, workdir: Path | None = None) -> None:
        self._owns_workdir = workdir is None
        # /tmp rather than $TMPDIR: Dovecot's unix sockets live in here and their paths must stay short
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="pd", dir="/tmp"))
        self.ports: dict[str, int] = {}
        self.ca_file = self.workdir / "ca.pem"
        self.config_file = self.workdir / "dovecot.conf"
        self.log_file = self.workdir / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Write everything, start the master and wait until every listener accepts connections."""
        if not shutil.which("dovecot"):
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
        atexit.register(self.stop)  # a crashed test run must not leave a Dovecot behind
        try:
            for name in setup.SYSTEM_USERS:
                setup.ensure_system_user(name)
            self._prepare()
            self._launch_on_free_ports(timeout)
        except BaseException:
            self.stop()  # the exception carries the log tail; nothing is left running or on disk
            raise

    def _launch_on_free_ports(self, timeout: float) -> None:
        for attempt in range(3):  # a port picked as free may be taken by a parallel run before we bind it
            self._write_config()
            try:
                self._launch(timeout)
                return
            except RuntimeError:
                if attempt == 2 or "in use" not in self.log_tail():
                    raise

    def stop(self) -> None:
        atexit.unregister(self.stop)
        self._end_process()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.workdir / "dovecot.stderr", self.log_file):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _prepare(self) -> None:
        if len(str(self.workdir / "run" / "login" / "imap-login-xxxxxx")) > 100:
            raise RuntimeError(f"workdir {self.workdir} is too long for Dovecot's unix sockets (108 bytes)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)  # the mail processes run as the mail owner and must get through
        for name in ("run", "state", "mail"):
            (self.workdir / name).mkdir(exist_ok=True)
        setup.make_certificates(self.workdir)
        (self.workdir / "passwd").write_text("")
        self.add_user(self.user, self.password)

    def _write_config(self) -> None:
        self.ports = dict(zip(_LISTENERS, setup.free_ports(len(_LISTENERS)), strict=True))
        w = self.workdir
        text = setup.CONFIG.format(
            run=w / "run", state=w / "state", log=self.log_file, cert=w / "server.pem", key=w / "server.key",
            passwd=w / "passwd", **self.ports,
        )  # fmt: skip
        self.config_file.write_text(text)

    def _launch(self, timeout: float) -> None:
        with open(self.workdir / "dovecot.stderr", "wb") as stderr:
            self._process = subprocess.Popen(
                ["dovecot", "-F", "-c", str(self.config_file)], stdout=stderr, stderr=stderr
            )
        deadline = time.monotonic() + timeout
        while not all(self._accepts(port) for port in self.ports.values()):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._end_process()
                raise RuntimeError(f"the test Dovecot did not start; its log ends:\n{self.log_tail()}")
            time.sleep(0.02)

    def _end_process(self) -> None:
        if self._process is None:
            return
        self._process.terminate()  # the master stops its children on SIGTERM
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _accepts(self, port: int) -> bool:
        try:
            socket.create_connection((self.host, port), timeout=0.5).close()
        except OSError:
            return False
        return True

    # -- accounts -----------------------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Another account (Dovecot rereads the passwd file when it changes)."""
        owner = setup.ensure_system_user(setup.MAIL_OWNER)
        home = self.workdir / "mail" / name
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, owner.pw_uid, owner.pw_gid)
        with open(self.workdir / "passwd", "a") as passwd:
            passwd.write(setup.passwd_line(name, password, owner, home))

    # -- mail ---------------------------------------------------------------------------------------

    @contextmanager
    def imap(self, user: str | None = None, password: str | None = None) -> Iterator[imaplib.IMAP4]:
        """A logged-in plain IMAP connection (no folder selected) for loading and inspecting mail."""
        conn = imaplib.IMAP4(self.host, self.ports["imap"], timeout=30)
        try:
            conn.login(user or self.user, password or self.password)
            yield conn
        finally:
            with suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def append(self, raw_messages: Iterable[bytes], folder: str = "INBOX", flags: Iterable[str] = ()) -> None:
        """Store each raw message as it is (IMAP APPEND); the folder is created if missing."""
        self.create_folder(folder)
        flag_list = "(" + " ".join(flags) + ")"
        with self.imap() as conn:
            for raw in raw_messages:
                _ok(conn.append(_quote(folder), flag_list, None, raw), f"APPEND to {folder}")

    def count(self, folder: str = "INBOX") -> int:
        with self.imap() as conn:
            data = _ok(conn.status(_quote(folder), "(MESSAGES)"), f"STATUS {folder}")
        match = re.search(rb"MESSAGES (\d+)", data[0])
        assert match, data
        return int(match[1])

    def list_raw(self, folder: str = "INBOX") -> list[bytes]:
        """Every message's bytes, in UID order, without setting \\Seen."""
        return [body for body, _ in self._fetch(folder, "BODY.PEEK[]")]

    def flags(self, folder: str = "INBOX") -> list[set[str]]:
        """Each message's flags in UID order; \\Recent is left out (it describes a session, not the mail)."""
        result = []
        for _, head in self._fetch(folder, "FLAGS"):
            match = _FLAGS.search(head)
            assert match, head
            result.append({f for f in match[1].decode().split() if f != "\\Recent"})
        return result

    def _fetch(self, folder: str, items: str) -> list[tuple[bytes, bytes]]:
        """(literal, response text) for each message in UID order."""
        with self.imap() as conn:
            count = int(_ok(conn.select(_quote(folder), readonly=True), f"EXAMINE {folder}")[0])
            if count == 0:
                return []
            data = _ok(conn.uid("FETCH", "1:*", f"(UID {items})"), f"FETCH {folder}")
        found = []
        for item in data:
            if isinstance(item, tuple):
                found.append((item[1], item[0]))
            elif item and item != b")":
                found.append((b"", item))
        return found

    def create_folder(self, name: str) -> None:
        if not self.folder_exists(name):
            with self.imap() as conn:
                _ok(conn.create(_quote(name)), f"CREATE {name}")

    def folder_exists(self, name: str) -> bool:
        with self.imap() as conn:
            data = _ok(conn.list('""', _quote(name)), f"LIST {name}")
        return any(item is not None for item in data)

    def delete_folder(self, name: str) -> None:
        with self.imap() as conn:
            _ok(conn.delete(_quote(name)), f"DELETE {name}")

    def clear(self, folder: str = "INBOX") -> None:
        """Expunge every message (creating the folder when it does not exist)."""
        self.create_folder(folder)
        with self.imap() as conn:
            if int(_ok(conn.select(_quote(folder)), f"SELECT {folder}")[0]):
                _ok(conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)"), f"STORE {folder}")
                _ok(conn.expunge(), f"EXPUNGE {folder}")
            conn.close()

    def reset_uidvalidity(self, folder: str = "INBOX") -> None:
        """Give the folder a new UIDVALIDITY, keeping its messages: ``doveadm mailbox update --uid-validity``.

        This is what a server restore or migration does to a client. It works on INBOX too (which cannot be
        deleted and recreated), and open sessions on the folder are told the old UIDs are void.
        """
        with self.imap() as conn:
            data = _ok(conn.status(_quote(folder), "(UIDVALIDITY)"), f"STATUS {folder}")
        match = re.search(rb"UIDVALIDITY (\d+)", data[0])
        assert match, data
        new = int(match[1]) + 1
        self.doveadm("mailbox", "update", "-u", self.user, "--uid-validity", str(new), folder)

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            ["doveadm", "-c", str(self.config_file), *args], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout


def _quote(name: str) -> str:
    """An IMAP quoted string (imaplib sends arguments as they are given)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(response: tuple[str, Any], what: str) -> Any:
    """The data of an imaplib answer, or an error naming the command when the server said NO/BAD."""
    status, data = response
    if status != "OK":
        raise RuntimeError(f"test Dovecot: {what} answered {status}: {data!r}")
    return data
