"""Admin mailbox pages against the suite's real Dovecot: a check that fails then passes, the same validation
as the configuration file, one switch for importing, and nothing the form does not show is lost."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from postroom.mailboxes.models import Mailbox
from postroom.people.models import Profile, Role
from tests.e2e.cli_helpers import closed_port

pytestmark = [pytest.mark.django_db, pytest.mark.dovecot]


@pytest.fixture
def admin() -> Client:
    user = get_user_model().objects.create_user("boss", "boss@d.test", "boss-password")
    Profile.objects.create(user=user, role=Role.ADMIN)
    client = Client()
    assert client.login(username="boss", password="boss-password")
    return client


def _form(dovecot: Any, folder: str, **over: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "support", "protocol": "imap", "host": dovecot.host, "port": dovecot.ports["imap"],
        "security": "none", "username": dovecot.user, "password": dovecot.password, "folder": folder,
        "address": "support@desk.test", "record_kind": "ticket", "after_import": "delete", "interval": "60",
        "enabled": "1",
    }  # fmt: skip
    return {**values, **over}


def test_a_failing_check_saves_the_mailbox_disabled_and_a_passing_one_turns_it_on(
    admin: Client, dovecot: Any, mailbox_folder: str
) -> None:
    wrong = admin.post("/mailboxes/new", _form(dovecot, mailbox_folder, port=closed_port()))
    assert wrong.status_code == 409
    page = wrong.content.decode()
    assert "Connection check failed" in page and "(tcp)" in page and "saved disabled" in page
    assert Mailbox.objects.get(name="support").enabled is False
    bad_password = admin.post("/mailboxes/support", _form(dovecot, mailbox_folder, password="nope"))
    assert bad_password.status_code == 409 and "(login)" in bad_password.content.decode()
    right = admin.post("/mailboxes/support", _form(dovecot, mailbox_folder))
    assert right.status_code == 200 and "Connection check passed" in right.content.decode()
    box = Mailbox.objects.get(name="support")
    assert (
        box.enabled
        and box.stored_password() == dovecot.password
        and box.password_encrypted != dovecot.password
    )
    assert dovecot.password not in admin.get("/mailboxes/support").content.decode()  # never shown back


def test_the_form_refuses_what_the_configuration_file_refuses(
    admin: Client, dovecot: Any, mailbox_folder: str
) -> None:
    bad = admin.post(
        "/mailboxes/new", _form(dovecot, mailbox_folder, security="tls", address="not-an-address")
    )
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "must be one of ssl, starttls, none, got &#x27;tls&#x27;" in page
    assert "must be an email address like support@example.com" in page
    assert not Mailbox.objects.exists()
    admin.post("/mailboxes/new", _form(dovecot, mailbox_folder))
    twin = admin.post("/mailboxes/new", _form(dovecot, mailbox_folder, name="twin"))
    assert (
        twin.status_code == 400
        and "mailbox support already reads this account and folder" in twin.content.decode()
    )


def test_editing_keeps_what_the_form_does_not_show_and_the_switch_works(
    admin: Client, dovecot: Any, mailbox_folder: str
) -> None:
    admin.post(
        "/mailboxes/new", _form(dovecot, mailbox_folder, smtp_host="smtp.desk.test", smtp_password="s")
    )
    Mailbox.objects.filter(name="support").update(
        auto_reply={"template": "Thanks", "subject": "Re: {reference} {subject}"}, unprocessed="delete"
    )
    admin.post(
        "/mailboxes/support",
        _form(dovecot, mailbox_folder, password="", interval="120", smtp_host="smtp.desk.test"),
    )
    box = Mailbox.objects.get(name="support")
    assert (box.interval, box.unprocessed, box.auto_reply["template"]) == (120, "delete", "Thanks")
    assert box.stored_password() == dovecot.password and box.stored_smtp_password() == "s"  # kept
    assert admin.post("/mailboxes/support/enabled", {"enabled": "0"}).status_code == 302
    assert Mailbox.objects.get(name="support").enabled is False
    assert "support" in admin.get("/mailboxes").content.decode()


def test_only_admins_manage_mailboxes(dovecot: Any, mailbox_folder: str) -> None:
    get_user_model().objects.create_user("ann", "ann@d.test", "ann-password")
    agent = Client()
    assert agent.login(username="ann", password="ann-password")
    assert agent.get("/mailboxes").status_code == 403
    assert agent.post("/mailboxes/new", _form(dovecot, mailbox_folder)).status_code == 403
    assert not Mailbox.objects.exists()
