"""`postroom ingest` exit codes as a mail server sees them: 0 stored, 75 retry, 66 no such FILE, 1 empty."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.e2e.cli_helpers import load_config, mailbox_yaml, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database


def test_a_missing_file_is_a_clear_error_with_exit_66(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    missing = tmp_path / "nowhere.eml"
    result = cli("ingest", "--mailbox", "desk", str(missing))
    assert result.returncode == 66
    assert result.stderr.strip() == (
        f"postroom: can't read the message file {missing}: No such file or directory"
    )
    directory = cli("ingest", "--mailbox", "desk", str(tmp_path))
    assert directory.returncode == 66 and "Is a directory" in directory.stderr


@pytest.mark.parametrize("given", [b"", b" \r\n\r\n"])
def test_an_empty_message_exits_1_saying_so(cli: Cli, tmp_path: Path, given: bytes) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    result = cli("ingest", "--mailbox", "desk", "-", input=given)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"postroom: empty message: standard input held no mail ({len(given)} bytes), nothing to import"
    )
    assert records(cli) == []


def test_an_empty_file_names_the_file(cli: Cli, tmp_path: Path) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    result = cli("ingest", "--mailbox", "desk", str(empty))
    assert (result.returncode, result.stderr.strip()) == (
        1, f"postroom: empty message: {empty} held no mail (0 bytes), nothing to import",
    )  # fmt: skip


def test_a_store_that_fails_after_startup_exits_75_and_the_retry_imports_once(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    load_config(cli, tmp_path, mailbox_yaml("desk"))
    blobs = Path(cli_env["POSTROOM_DATA_DIR"]) / "blobs"
    shutil.rmtree(blobs, ignore_errors=True)
    # A file where the blob folder belongs: writing the raw mail fails, even as root (unlike a chmod).
    blobs.write_text("not a folder")
    raw = mail(subject="Retry me")
    failed = cli("ingest", "--mailbox", "desk", "-", input=raw)
    assert failed.returncode == 75, failed.stderr
    assert "could not store the message, try again later" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert records(cli) == []
    assert cli("failed", "--json", check=True).stdout.strip() == "[]"  # nothing in the ledger: a retry is new

    blobs.unlink()  # the disk is fixed; the mail server delivers the same bytes again
    retried = cli("ingest", "--mailbox", "desk", "-", input=raw)
    assert retried.returncode == 0, retried.stderr
    assert [r["subject"] for r in records(cli)] == ["Retry me"]
