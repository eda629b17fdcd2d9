"""`postroom user add|list` and `postroom token create`, and the token working against the API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.cli_helpers import load_config
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
