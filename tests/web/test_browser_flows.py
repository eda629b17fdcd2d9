"""The main flows in a real browser (Debian's Chromium, headless): log in, add a mailbox whose connection
check fails and then passes, import, open the record, reply by mail; screenshots for the docs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from postroom.mailboxes.models import Mailbox
from postroom.people.models import Profile, Role
from postroom.pipeline.runner import run_cycle
from tests.e2e.cli_helpers import closed_port
from tests.support.browser import page_dialogs, page_errors
from tests.support.builders import mail
from tests.support.smtp import SmtpServer

pytestmark = [pytest.mark.browser, pytest.mark.dovecot, pytest.mark.django_db(transaction=True)]
# POSTROOM_SCREENSHOTS=docs/screenshots refreshes the documentation's; otherwise they go to a tmp folder.
SHOTS_DIR = os.environ.get("POSTROOM_SCREENSHOTS")


RULE = """rules:
- name: plumbing
  subject_contains: tap
  import_as: job
  mappings:
  - {field: site_address, start: 'Site Address:'}
"""


def _log_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_admin_adds_a_mailbox_imports_and_replies(
    live_server: Any, page: Any, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    shots = Path(SHOTS_DIR) if SHOTS_DIR else tmp_path
    user = get_user_model().objects.create_user("boss", "boss@desk.test", "boss-password")
    Profile.objects.create(user=user, role=Role.ADMIN)
    base = live_server.url
    _log_in(page, base, "boss", "boss-password")
    assert page.title().startswith("Records")

    # A mailbox whose port is wrong: the check fails at the TCP step, and it is saved disabled.
    page.goto(f"{base}/mailboxes/new")
    for field, value in {
        "name": "support", "host": dovecot.host, "port": str(closed_port()), "username": dovecot.user,
        "password": dovecot.password, "folder": mailbox_folder, "address": "support@desk.test",
        "smtp_host": smtp_server.host, "smtp_port": str(smtp_server.port),
        "smtp_ca_file": str(smtp_server.ca_file),
    }.items():  # fmt: skip
        page.fill(f"#{field}", value)
    page.select_option("#security", "none")
    page.select_option("#smtp_security", "starttls")
    page.click("text=Save and check")
    assert "Connection check failed" in page.inner_text("#check") and "(tcp)" in page.inner_text("#check")
    page.screenshot(path=str(shots / "mailbox-check-failed.png"), full_page=True)
    assert not Mailbox.objects.get(name="support").enabled

    # The right port: the check passes and the mailbox imports.
    page.fill("#port", str(dovecot.ports["imap"]))
    page.fill("#password", dovecot.password)
    page.check("#enabled")
    page.click("text=Save and check")
    assert "Connection check passed" in page.inner_text("#check")
    box = Mailbox.objects.get(name="support")
    assert box.enabled and "smtp 127.0.0.1" in page.inner_text("#check")

    # A rule with a field mapping, saved and tested on an uploaded mail (the dry run writes nothing).
    page.goto(f"{base}/mailboxes/support/rules")
    page.fill("textarea[name=rules]", RULE)
    page.click("button[value=save]")
    assert "added rule plumbing" in page.inner_text("#saved")
    eml = tmp_path / "order.eml"
    eml.write_bytes(mail("Leaking tap", sender="Carol <carol@customer.test>", to="support@desk.test",
                         body="Site Address: 4 Harbour St\nPlease come soon.\n"))  # fmt: skip
    page.set_input_files("input[name=eml]", str(eml))
    page.click("button[value=test]")
    result = page.inner_text("section[data-outcome=new]")
    assert "job" in result and "site_address: 4 Harbour St" in result
    page.screenshot(path=str(shots / "rules-test.png"), full_page=True)

    html_mail = eml.read_bytes()
    dovecot.append([html_mail], folder=mailbox_folder)
    Mailbox.objects.filter(pk=box.pk).update(backfill_done=True)
    box.refresh_from_db()
    assert run_cycle(box).new_records == 1

    page.goto(f"{base}/mailboxes")
    page.screenshot(path=str(shots / "mailboxes.png"), full_page=True)
    page.goto(base + "/")
    page.click("text=Leaking tap")
    assert "Leaking tap" in page.inner_text("h1")
    page.fill("textarea[name=text] >> nth=0", "We come on Tuesday.")
    page.click("text=Send reply")
    (sent,) = smtp_server.wait_for(1)
    assert sent.rcpt_tos == ["carol@customer.test"] and "We come on Tuesday." in sent.message.get_content()
    assert "We come on Tuesday." in page.inner_text("#m-last")
    page.screenshot(path=str(shots / "record.png"), full_page=True)
    page.goto(base + "/")
    page.screenshot(path=str(shots / "records.png"), full_page=True)
    assert page_errors(page) == [] and page_dialogs(page) == []
    assert all((shots / f"{name}.png").stat().st_size > 0 for name in ("mailboxes", "record", "records"))
