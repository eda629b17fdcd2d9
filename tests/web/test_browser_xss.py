"""XSS vectors in mail bodies, subjects, file names and headers, checked in a real browser, layer by layer:
the page as served; the page without its Content-Security-Policy (the sandboxed frame and escaping alone);
each message's frame document alone, as a top-level page without any policy (the sanitizer alone). A
control vector loaded unsanitized the same way does open a dialog, so the harness can see one."""

from __future__ import annotations

import re
from email.header import Header
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from postroom.mailboxes.models import Mailbox
from postroom.pipeline.ingest import ingest
from postroom.records.models import Record
from tests.support.browser import page_dialogs
from tests.web.xss_vectors import VECTORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CONTROL = "<img src=x onerror=alert('control')>"


def _hostile(i: int, vector: str) -> bytes:
    """The vector as the HTML body, the subject, the sender's name and an attachment's file name (the
    headers as RFC 2047 encoded words, so any character gets through to the parser)."""
    m = EmailMessage()
    m["To"] = "desk@desk.test"
    m["Message-ID"] = f"<xss{i}@evil.test>"
    if i:
        m["In-Reply-To"] = "<xss0@evil.test>"  # all on one record
    m.set_content("see the HTML part")
    m.add_alternative(f"<html><body><p>vector {i}</p>{vector}</body></html>", subtype="html")
    m.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"v{i}.bin")
    raw = m.as_bytes()
    encoded = Header(vector[:200], "utf-8").encode()
    name = Header(vector[:60], "utf-8").encode()
    head = f"From: {name} <attacker{i}@evil.test>\r\nSubject: {encoded}\r\n".encode()
    raw = raw.replace(f'filename="v{i}.bin"'.encode(), b"filename*=utf-8''" + quote(vector[:80]).encode())
    return head + raw


@pytest.fixture
def hostile_record() -> int:
    box = Mailbox.objects.create(name="desk", protocol="imap", host="h", port=1, username="u",
                                 address="desk@desk.test", backfill_done=True)  # fmt: skip
    for i, vector in enumerate(VECTORS):
        ingest(box, f"pipe:{i}", _hostile(i, vector))
    (record,) = Record.objects.all()
    return record.pk


def _log_in(page: Any, base: str) -> None:
    get_user_model().objects.create_superuser("boss", "boss@desk.test", "boss-password")
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "boss-password")
    page.click("button[type=submit]")


def test_no_vector_runs_with_every_layer_and_without_the_page_policy(
    live_server: Any, page: Any, hostile_record: int
) -> None:
    _log_in(page, live_server.url)
    url = f"{live_server.url}/records/{hostile_record}"
    page.goto(url)
    assert page.locator("iframe").count() == len(VECTORS)
    page.wait_for_timeout(500)  # onload, autofocus, animation vectors get their moment
    assert page_dialogs(page) == []
    assert "alert(1)" in page.inner_text("body")  # subjects, names, file names shown as text

    def without_policy(route: Any) -> None:
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
        route.fulfill(response=response, headers=headers)

    page.route(url, without_policy)
    page.goto(url)
    page.wait_for_timeout(500)
    assert page_dialogs(page) == []


def test_each_frame_document_is_harmless_on_its_own_and_the_control_is_not(
    live_server: Any, page: Any, hostile_record: int
) -> None:
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/records/{hostile_record}")
    documents = [frame.get_attribute("srcdoc") or "" for frame in page.locator("iframe").all()]
    assert len(documents) == len(VECTORS)
    page.goto("about:blank")  # a document of no origin and no policy: set_content keeps the current one's
    for document in documents:
        bare = re.sub(
            r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", document
        )  # the sanitizer alone
        page.set_content(bare)
    page.wait_for_timeout(300)
    assert page_dialogs(page) == []
    page.set_content(f"<html><body>{CONTROL}</body></html>")  # unsanitized: the harness sees it run
    page.wait_for_timeout(300)
    assert page_dialogs(page) == ["alert: control"]
