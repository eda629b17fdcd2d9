"""`postroom user add|list` and `postroom token create`, and the token working against the API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from tests.e2e.cli_helpers import closed_port, load_config
from tests.e2e.conftest import Cli

pytestmark = pytest.mark.uses_database


CHECK_PASSWORD = """
import django
django.setup()
from django.contrib.auth import get_user_model
ann = get_user_model().objects.get(username="Ann")
print(ann.password.split("$")[0], "s3cret" in ann.password, ann.check_password("s3cret-Pw!"))
"""


def test_users_are_scripted_with_role_team_and_a_hashed_password(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    load_config(cli, tmp_path, head="teams:\n  - {name: Field}\n")
    out = cli("user", "add", "Rita", "--email", "Rita@Customer.test", "--role", "requester", check=True)
    assert out.stdout.strip() == "added user Rita (requester, rita@customer.test)"
    added = cli("user", "add", "Ann", "--email", "ann@desk.test", "--role", "agent", "--team", "Field",
                "--password-env", "ANN_PW", check=True, ANN_PW="s3cret-Pw!")  # fmt: skip
    assert "added user Ann" in added.stdout
    users = {u["name"]: u for u in json.loads(cli("user", "list", "--json", check=True).stdout)}
    assert users["Ann"]["teams"] == ["Field"] and users["Ann"]["role"] == "agent"
    assert users["Rita"]["role"] == "requester"
    dump = cli("config", "dump", check=True).stdout
    assert "role: requester" in dump and "s3cret" not in dump
    # The password is stored hashed (Django's PBKDF2), and it is the one that logs in.
    stored = subprocess.run(
        [sys.executable, "-c", CHECK_PASSWORD], env=cli_env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert stored == ["pbkdf2_sha256", "False", "True"]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--email", "not-an-address", "--role", "agent"], "is not an email address"),
        (["--email", "a@b.test", "--role", "agent", "--team", "Nope"], "no team 'Nope'"),
        (
            ["--email", "a@b.test", "--role", "agent", "--password-env", "UNSET_VAR_X"],
            "UNSET_VAR_X is not set",
        ),
        (["--email", "a@b.test", "--role", "boss"], "invalid choice: 'boss'"),
    ],
)
def test_user_add_problems_are_clear(cli: Cli, tmp_path: Path, args: list[str], problem: str) -> None:
    load_config(cli, tmp_path)
    result = cli("user", "add", "X", *args)
    assert result.returncode != 0 and problem in result.stderr


def test_a_token_is_printed_once_and_only_for_an_active_user(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path)
    cli("user", "add", "Ann", "--email", "ann@desk.test", "--role", "agent", check=True)
    token = cli("token", "create", "Ann", check=True).stdout.strip()
    assert token.startswith("pr_") and len(token) > 40
    assert cli("token", "create", "Ann", check=True).stdout.strip() != token
    missing = cli("token", "create", "Nobody")
    assert missing.returncode == 1 and "no active user 'Nobody'" in missing.stderr


def test_run_serves_the_api_over_http_and_stops_cleanly(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    load_config(cli, tmp_path)
    cli("user", "add", "Ann", "--email", "ann@desk.test", "--role", "admin", check=True)
    token = cli("token", "create", "Ann", check=True).stdout.strip()
    port = closed_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "postroom.cli.main", "run", "--listen", f"127.0.0.1:{port}"],
        env=cli_env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/openapi.json", timeout=2) as r:
                    assert "/api/records" in json.load(r)["paths"]
                break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not come up"
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/records", timeout=5)
        assert refused.value.code == 401
        ask = urllib.request.Request(f"{base}/records", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(ask, timeout=5) as r:
            assert json.load(r) == []
        busy = cli("run", "--listen", f"127.0.0.1:{port}")  # the port is taken: a clear error
        assert busy.returncode == 78 and f"can't listen on 127.0.0.1:{port}" in busy.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"stopped" in err


def test_the_first_start_makes_an_admin_who_can_log_in(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    import http.cookiejar
    import re

    load_config(cli, tmp_path)
    port = closed_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "postroom.cli.main", "run", "--listen", f"127.0.0.1:{port}"],
        env=cli_env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 30
        while "first start" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        found = re.search(r"log in at (http://\S+) as (\S+) / (\S+) ", line)
        assert found, line
        base, name, password = found.groups()
        jar = http.cookiejar.CookieJar()
        web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        web.open(base + "login", timeout=5).read()
        token = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode({"username": name, "password": password, "csrfmiddlewaretoken": token})
        with web.open(urllib.request.Request(base + "login", data=form.encode()), timeout=5) as r:
            assert r.url == base and b"Records" in r.read()  # logged in: the records list
        users = json.loads(cli("user", "list", "--json", check=True).stdout)
        assert [(u["name"], u["role"]) for u in users] == [(name, "admin")]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_team_admins_and_what_agents_see_round_trip_through_config_dump(cli: Cli, tmp_path: Path) -> None:
    head = (
        "users:\n  - {name: Cat, email: cat@desk.test}\n  - {name: Bob, email: bob@desk.test}\n"
        "teams:\n  - {name: Office, members: [Bob, Cat], admins: [Cat], agents_see: assigned}\n"
    )
    load_config(cli, tmp_path, head=head)
    dumped = cli("config", "dump", check=True).stdout
    assert "admins:\n      - Cat" in dumped and "agents_see: assigned" in dumped
    again = tmp_path / "again.yaml"
    again.write_text(dumped)
    assert "nothing changed" in cli("config", "load", str(again), check=True).stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(head.replace("admins: [Cat]", "admins: [Zed]") + "mailboxes: []\n")
    result = cli("config", "load", str(bad))
    assert result.returncode == 78 and "'Zed' is not a user" in result.stderr
