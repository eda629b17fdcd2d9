"""The rules page: edit a mailbox's rules and filters as the file writes them, checked against the rest of
the configuration, and test them with the dry run on an uploaded mail or the latest mail (read-only)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from postroom.mailboxes.models import Mailbox, Rule
from postroom.people.models import Profile, Role, Team
from tests.support.builders import mail

pytestmark = [pytest.mark.django_db, pytest.mark.dovecot]

RULES = """rules:
- name: JMC jobs
  from: jmc@example.com
  import_as: job
  team: Field
  mappings:
  - {field: site_address, start: 'Site Address:'}
"""


@pytest.fixture
def admin(dovecot: Any, mailbox_folder: str) -> Client:
    user = get_user_model().objects.create_user("boss", "boss@d.test", "boss-password")
    Profile.objects.create(user=user, role=Role.ADMIN)
    Team.objects.create(name="Field")
    box = Mailbox(
        name="jobs", protocol="imap", host=dovecot.host, port=dovecot.ports["imap"], security="none",
        username=dovecot.user, folder=mailbox_folder, address="jobs@desk.test",
    )  # fmt: skip
    box.set_password(dovecot.password)
    box.save()
    client = Client()
    assert client.login(username="boss", password="boss-password")
    return client


def test_rules_are_saved_checked_against_the_configuration_and_tested(
    admin: Client, dovecot: Any, mailbox_folder: str
) -> None:
    assert admin.get("/mailboxes/jobs/rules").status_code == 200
    bad = admin.post(
        "/mailboxes/jobs/rules", {"rules": RULES.replace("team: Field", "team: Nope"), "action": "save"}
    )
    assert bad.status_code == 400 and "team" in bad.content.decode() and "Nope" in bad.content.decode()
    assert not Rule.objects.exists()
    saved = admin.post("/mailboxes/jobs/rules", {"rules": RULES, "action": "save"})
    assert saved.status_code == 200 and "added rule JMC jobs" in saved.content.decode()
    (rule,) = Rule.objects.all()
    assert rule.spec["team"] == "Field"
    assert "JMC jobs" in admin.get("/mailboxes/jobs/rules").content.decode()  # shown back as written

    order = mail("Job at the depot", sender="jmc@example.com", to="jobs@desk.test",
                 body="Site Address: 4 Harbour St, Wollongong\n")  # fmt: skip
    upload = SimpleUploadedFile("order.eml", order, content_type="message/rfc822")
    tested = admin.post("/mailboxes/jobs/rules", {"rules": RULES, "action": "test", "eml": upload})
    page = tested.content.decode()
    assert 'data-outcome="new"' in page and "site_address: 4 Harbour St, Wollongong" in page
    assert "JMC jobs" in page

    # The latest mail in the mailbox, read-only: still there and still unread afterwards.
    dovecot.append([order], folder=mailbox_folder)
    live = admin.post(
        "/mailboxes/jobs/rules", {"rules": RULES, "action": "test", "live": "1"}
    ).content.decode()
    assert 'data-outcome="new"' in live
    assert dovecot.count(mailbox_folder) == 1
    from postroom.records.models import Record

    assert not Record.objects.exists()  # a dry run writes nothing


def test_only_admins_see_rules(admin: Client) -> None:
    get_user_model().objects.create_user("ann", "ann@d.test", "ann-password")
    agent = Client()
    assert agent.login(username="ann", password="ann-password")
    assert agent.get("/mailboxes/jobs/rules").status_code == 403
