"""The quarantine page: failed and held mail with its reason; retry, let through, discard (kept)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from postroom.mailboxes import settings as site_settings
from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.people.models import Profile, Role
from postroom.pipeline.ingest import ingest
from postroom.records.models import Record
from tests.support.builders import mail

pytestmark = pytest.mark.django_db


def test_held_mail_is_let_through_and_other_mail_discarded_but_kept() -> None:
    user = get_user_model().objects.create_user("boss", "boss@d.test", "boss-password")
    Profile.objects.create(user=user, role=Role.ADMIN)
    box = Mailbox.objects.create(
        name="desk",
        protocol="imap",
        host="h",
        port=1,
        username="u",
        address="desk@d.test",
        backfill_done=True,
    )
    site_settings.put("flood_records", 1)
    outcomes = [ingest(box, f"pipe:{i}", mail(f"Alert {i}", sender="robot@m.test")) for i in range(3)]
    assert [o.status for o in outcomes] == ["new", "held", "held"]
    admin = Client()
    assert admin.login(username="boss", password="boss-password")
    page = admin.get("/quarantine").content.decode()
    assert page.count(">held<") == 2 and "robot@m.test opened 1 records" in page
    first, second = Delivery.objects.filter(status=DeliveryStatus.HELD).order_by("pk")
    assert b"Subject: Alert 1" in admin.get(f"/quarantine/{first.pk}/raw").content
    done = admin.post(f"/quarantine/{first.pk}", {"action": "retry"})
    assert done.status_code == 302 and "new" in done["Location"]
    assert Record.objects.count() == 2
    admin.post(f"/quarantine/{second.pk}", {"action": "discard"})
    second.refresh_from_db()
    assert second.status == DeliveryStatus.DISCARDED and second.reason.startswith("discarded by boss; was: ")
    assert ">held<" not in admin.get("/quarantine").content.decode()
    agent = get_user_model().objects.create_user("ann", "ann@d.test", "ann-password")
    assert agent is not None
    other = Client()
    assert other.login(username="ann", password="ann-password")
    assert other.get("/quarantine").status_code == 403


def test_quarantined_mail_is_imported_as_a_new_record_or_added_to_a_chosen_one() -> None:
    get_user_model().objects.create_superuser("boss", "boss@d.test", "boss-password")
    box = Mailbox.objects.create(
        name="desk", protocol="imap", host="h", port=1, username="u", address="desk@d.test",
        backfill_done=True,
    )  # fmt: skip
    site_settings.put("flood_records", 1)
    first = ingest(box, "pipe:0", mail("Alert 0", sender="robot@m.test"))
    for i in (1, 2):
        ingest(box, f"pipe:{i}", mail(f"Alert {i}", sender="robot@m.test"))
    one, two = Delivery.objects.filter(status=DeliveryStatus.HELD).order_by("pk")
    admin = Client()
    assert admin.login(username="boss", password="boss-password")
    assert "no+record" in admin.post(f"/quarantine/{one.pk}", {"action": "add", "record": "999"})["Location"]
    admin.post(f"/quarantine/{one.pk}", {"action": "add", "record": f"#{first.record}"})
    admin.post(f"/quarantine/{two.pk}", {"action": "new"})
    assert Record.objects.count() == 2
    assert Record.objects.get(pk=first.record).message_count == 2
    assert Record.objects.exclude(pk=first.record).get().subject == "Alert 2"
