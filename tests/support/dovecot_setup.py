"""What a private Dovecot needs before it starts: system users, a CA and certificate, the config file."""

from __future__ import annotations

import pwd
import socket
import subprocess
from pathlib import Path

MAIL_OWNER = "postroomtest"  # Dovecot refuses to touch mail as root: the maildir belongs to this user
SYSTEM_USERS = ("dovenull", "dovecot", MAIL_OWNER)  # login processes / internal processes / mail

CONFIG = """\
# Written by tests/support/dovecot.py: nothing of /etc/dovecot is read.
base_dir = {run}
state_dir = {state}
log_path = {log}
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
# Failure tests log in with wrong passwords on purpose: answer them without the 2 s delay (Dovecot still
# batches failures every 0.5 s), and switch off the per-IP penalty that would slow every later login from
# 127.0.0.1 by up to 15 s (the auth process can't reach anvil's penalty socket, so it keeps no score).
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_location = maildir:~/Maildir
mail_fsync = never
pop3_uidl_format = %08Xu%08Xv
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
# Tests open many short sessions from one address; the default limit of 10 would refuse some.
protocol imap {{
  mail_max_userip_connections = 1000
}}
protocol pop3 {{
  mail_max_userip_connections = 1000
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
"""


def ensure_system_user(name: str) -> pwd.struct_passwd:
    """Create a system user without login once per machine; tolerate a parallel run creating it first."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    command = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"]
    result = subprocess.run(
        [*command, "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True, check=False
    )
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(
            f"cannot create the system user {name!r} the test Dovecot needs (run as root once): "
            f"{result.stderr.strip()}"
        ) from None


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out; held open together so the same port is not returned twice."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate it signs, for 127.0.0.1 and localhost: (ca, cert, key).

    A real CA rather than one self-signed leaf, so clients verify exactly as they would in production.
    """
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key = directory / "server.pem", directory / "server.key"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650"]
    _openssl(
        "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-subj", "/CN=Postroom test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl(
        "req", "-x509", *ec, "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
        "-CA", ca, "-CAkey", ca_key, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
    )  # fmt: skip
    return ca, cert, key


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def passwd_line(user: str, password: str, owner: pwd.struct_passwd, home: Path) -> str:
    """One passwd-file entry: every test account's mail belongs to the unprivileged mail owner."""
    return f"{user}:{{PLAIN}}{password}:{owner.pw_uid}:{owner.pw_gid}::{home}::\n"
