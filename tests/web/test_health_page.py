"""A mailbox's health page: counts, cycles, the per-day chart, and the failing and quiet warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from postroom.mailboxes.models import Cycle, Delivery, Mailbox
from postroom.pipeline.ingest import ingest
from postroom.web.health_pages import per_day, quiet_warning
from tests.support.builders import mail

pytestmark = pytest.mark.django_db


def _box() -> Mailbox:
    return Mailbox.objects.create(
        name="desk", protocol="imap", host="h", port=1, username="u", address="d@d.test"
    )


def test_the_page_shows_counts_cycles_and_a_bar_per_day() -> None:
    box = _box()
    for i in range(3):
        ingest(box, f"pipe:{i}", mail(f"m{i}"))
    Delivery.objects.filter(source_key="pipe:0").update(created=timezone.now() - timedelta(days=2))
    Cycle.objects.create(mailbox=box, started=timezone.now(), fetched=3, new_records=3)
    get_user_model().objects.create_superuser("boss", "boss@d.test", "boss-password")
    admin = Client()
    assert admin.login(username="boss", password="boss-password")
    page = admin.get("/mailboxes/desk/health").content.decode()
    assert "3 in the last 30 days" in page and page.count("<rect ") == 30
    days = per_day(box)
    assert [n for _, n in days[-3:]] == [1, 0, 2]


def test_a_failing_mailbox_and_a_quiet_one_are_warned_about() -> None:
    box = _box()
    Mailbox.objects.filter(pk=box.pk).update(consecutive_failures=4, last_error="login: refused")
    now = timezone.now()
    for i in range(6):
        ingest(box, f"pipe:{i}", mail(f"m{i}"))
        Delivery.objects.filter(source_key=f"pipe:{i}").update(
            created=now - timedelta(days=3, minutes=10 * i)
        )
    assert quiet_warning(box, now).startswith("no mail for 72 hours; usually one every 10 minutes")
    assert quiet_warning(box, now - timedelta(days=3) + timedelta(minutes=30)) == ""
    get_user_model().objects.create_superuser("boss", "boss@d.test", "boss-password")
    admin = Client()
    assert admin.login(username="boss", password="boss-password")
    page = admin.get("/mailboxes/desk/health").content.decode()
    assert "the last 4 cycles failed: login: refused" in page and "no mail for" in page
