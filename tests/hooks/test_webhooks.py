"""Webhooks: what an import and a status change queue, and the signed POSTs to a real HTTP receiver —
retried with backoff, failed for good, taken over from a dead sender, never sent to an untrusted cert."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postroom.cli.hooks_cmd import EVENTS as CLI_EVENTS
from postroom.hooks import events
from postroom.hooks.models import HookEvent, HookStatus, Webhook, WebhookDelivery
from postroom.hooks.sender import GIVE_UP_AFTER, LEASE, deliver_due, retry_delay
from postroom.mailboxes.models import Mailbox
from postroom.mailboxes.secrets import encrypt
from postroom.pipeline.ingest import ingest
from postroom.records import changes
from tests.hooks import Receiver
from tests.support.builders import mail
from tests.support.dovecot_setup import make_certificates

pytestmark = pytest.mark.django_db

SECRET = "whsec-for-the-tests-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _hook(url: str, events_: tuple[str, ...] = CLI_EVENTS, name: str = "crm") -> Webhook:
    return Webhook.objects.create(name=name, url=url, events=list(events_), secret_encrypted=encrypt(SECRET))


def _box() -> Mailbox:
    return Mailbox.objects.create(
        name="desk",
        protocol="imap",
        host="h",
        port=1,
        username="u",
        address="desk@d.test",
        backfill_done=True,
    )


def _ingest(box: Mailbox, key: str, **mail_args: str) -> int:
    outcome = ingest(box, key, mail(**mail_args))
    assert outcome.record is not None, outcome
    return outcome.record


def _due_now() -> None:
    WebhookDelivery.objects.filter(status=HookStatus.QUEUED).update(next_attempt=timezone.now())


def test_an_imported_mail_is_posted_signed_as_record_created(receiver: Receiver) -> None:
    hook = _hook(receiver.url)
    number = _ingest(_box(), "pipe:1", subject="Printer on fire", sender="Ann Smith <ann@customer.test>")
    (queued,) = WebhookDelivery.objects.all()
    assert (queued.event, queued.record_id, queued.status, queued.webhook_id) == (
        "record_created", number, HookStatus.QUEUED, hook.pk,
    )  # fmt: skip
    summary = deliver_due()
    assert (summary.sent, summary.retrying, summary.failed) == (1, 0, 0)
    (got,) = receiver.requests
    assert got.path == "/hook" and got.verifies(SECRET) and not got.verifies("another secret")
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Postroom-Event"] == "record_created"
    assert got.headers["X-Postroom-Delivery"] == str(queued.uuid)
    assert got.headers["X-Postroom-Signature"].startswith("sha256=")
    body = got.json
    assert body["id"] == str(queued.uuid) and body["event"] == "record_created"
    assert body["sent_at"] and body["occurred"]
    assert body["record"] == {
        "number": number, "kind": "ticket", "status": "new", "subject": "Printer on fire",
        "requester": {"name": "Ann Smith", "address": "ann@customer.test"}, "mailbox": "desk",
        "team": None, "assignee": None, "created": body["record"]["created"],
    }  # fmt: skip
    message = body["message"]
    assert message["direction"] == "in" and message["subject"] == "Printer on fire"
    assert message["from"] == {"name": "Ann Smith", "address": "ann@customer.test"}
    assert message["date"] == "2026-11-02T09:30:00+00:00" and isinstance(message["id"], int)
    assert "status" not in body
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status, row.last_error) == (HookStatus.SENT, 1, 204, "")
    assert row.sent_at is not None
    assert deliver_due().sent == 0 and len(receiver.requests) == 1  # sent once


def test_a_reply_by_its_headers_is_posted_as_message_added(receiver: Receiver) -> None:
    _hook(receiver.url)
    box = _box()
    number = _ingest(box, "pipe:1", subject="Broken", message_id="<first@customer.test>")
    again = _ingest(box, "pipe:2", subject="Re: Broken", in_reply_to="<first@customer.test>")
    assert again == number
    assert deliver_due().sent == 2
    created, added = (r.json for r in receiver.requests)
    assert (created["event"], added["event"]) == ("record_created", "message_added")
    assert added["record"]["number"] == number and added["message"]["subject"] == "Re: Broken"
    assert created["message"]["message_id"] == "first@customer.test"
    assert added["message"]["id"] != created["message"]["id"]


def test_a_status_change_is_posted_with_from_and_to(receiver: Receiver) -> None:
    _hook(receiver.url, ("status_changed",))
    number = _ingest(_box(), "pipe:1")
    assert not WebhookDelivery.objects.exists()  # not subscribed to record_created
    changes.set_status(number, "closed")
    changes.set_status(number, "closed")  # no change: nothing to tell
    assert deliver_due().sent == 1
    (got,) = receiver.requests
    assert got.headers["X-Postroom-Event"] == "status_changed" and got.verifies(SECRET)
    body = got.json
    assert body["status"] == {"from": "new", "to": "closed", "by": None}
    assert body["record"]["number"] == number and body["record"]["status"] == "closed"
    assert "message" not in body


def test_an_unsubscribed_event_or_a_disabled_webhook_queues_nothing(receiver: Receiver) -> None:
    _hook(receiver.url, ("message_added",), name="replies")
    Webhook.objects.create(
        name="off", url=receiver.url, events=list(CLI_EVENTS), secret_encrypted="x", enabled=False
    )
    number = _ingest(_box(), "pipe:1")
    changes.set_status(number, "open")
    assert not WebhookDelivery.objects.exists()


def test_what_a_rolled_back_change_queued_goes_with_it(receiver: Receiver) -> None:
    _hook(receiver.url)
    number = _ingest(_box(), "pipe:1")
    WebhookDelivery.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("status_changed", number, {"status": {"from": "new", "to": "open"}})
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the change failed")
    assert not WebhookDelivery.objects.exists()
    with pytest.raises(ValueError, match="unknown webhook event 'record_deleted'"):
        events.emit("record_deleted", number, {})


def test_a_receiver_that_is_down_gets_the_delivery_once_it_is_back(receiver: Receiver) -> None:
    _hook(receiver.url)
    receiver.stop()  # connections to its port are refused
    _ingest(_box(), "pipe:1")
    before = timezone.now()
    summary = deliver_due()
    assert (summary.sent, summary.retrying) == (0, 1)
    row = WebhookDelivery.objects.get()
    assert row.status == HookStatus.QUEUED and row.attempts == 1 and row.response_status is None
    assert "Connection refused" in row.last_error
    assert timedelta(seconds=59) < row.next_attempt - before < timedelta(seconds=62)  # a minute later
    assert deliver_due().retrying == 0  # not due yet: not tried
    receiver.start()  # the same port
    _due_now()
    assert deliver_due().sent == 1
    (got,) = receiver.requests
    assert got.json["id"] == str(row.uuid) and got.verifies(SECRET)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (HookStatus.SENT, 2, "")
    assert deliver_due().sent == 0 and len(receiver.requests) == 1


def test_a_500_is_retried_and_a_410_fails_for_good(receiver: Receiver) -> None:
    _hook(receiver.url)
    _ingest(_box(), "pipe:1")
    receiver.answer(500, b"<h1>Internal\n  error</h1>")
    assert deliver_due().retrying == 1
    row = WebhookDelivery.objects.get()
    assert (row.status, row.response_status, row.last_error) == (
        HookStatus.QUEUED, 500, "HTTP 500: <h1>Internal error</h1>",
    )  # fmt: skip
    receiver.answer(410, b"this hook is gone")
    _due_now()
    assert deliver_due().failed == 1
    row.refresh_from_db()
    assert (row.status, row.response_status, row.attempts) == (HookStatus.FAILED, 410, 2)
    assert row.last_error == "HTTP 410: this hook is gone"
    receiver.answer(204)
    _due_now()
    assert deliver_due().sent == 0 and len(receiver.requests) == 2


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, HookStatus.SENT), (202, HookStatus.SENT), (408, HookStatus.QUEUED), (429, HookStatus.QUEUED),
     (503, HookStatus.QUEUED), (301, HookStatus.FAILED), (400, HookStatus.FAILED), (404, HookStatus.FAILED)],
)  # fmt: skip
def test_what_each_answer_means(receiver: Receiver, status: int, outcome: str) -> None:
    _hook(receiver.url)
    _ingest(_box(), "pipe:1")
    receiver.answer(status)
    deliver_due()
    row = WebhookDelivery.objects.get()
    assert (row.status, row.response_status) == (outcome, status)
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_a_delivery_is_given_up_after_three_days(receiver: Receiver) -> None:
    _hook(receiver.url)
    _ingest(_box(), "pipe:1")
    receiver.answer(503)
    later = timezone.now() + GIVE_UP_AFTER + timedelta(minutes=1)
    assert deliver_due(now=lambda: later).failed == 1
    row = WebhookDelivery.objects.get()
    assert row.status == HookStatus.FAILED and row.last_error == "gave up after 1 attempts: HTTP 503"


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]


def test_a_delivery_a_dead_sender_left_sending_is_sent_once_after_its_lease(receiver: Receiver) -> None:
    _hook(receiver.url)
    box = _box()
    _ingest(box, "pipe:1")
    _ingest(box, "pipe:2")
    stale, fresh = WebhookDelivery.objects.order_by("id")
    long_ago = timezone.now() - LEASE - timedelta(seconds=1)
    WebhookDelivery.objects.filter(pk=stale.pk).update(
        status=HookStatus.SENDING, claim="dead", updated=long_ago
    )
    WebhookDelivery.objects.filter(pk=fresh.pk).update(status=HookStatus.SENDING, claim="alive")
    assert deliver_due().sent == 1
    (got,) = receiver.requests
    assert got.headers["X-Postroom-Delivery"] == str(stale.uuid)  # the same id it was queued with
    # The other may still be in a live sender's hands: left alone until its lease runs out.
    assert WebhookDelivery.objects.get(pk=fresh.pk).status == HookStatus.SENDING
    assert deliver_due().sent == 0 and len(receiver.requests) == 1


def test_a_stop_gives_the_rest_of_the_batch_back_untried(receiver: Receiver) -> None:
    _hook(receiver.url)
    box = _box()
    _ingest(box, "pipe:1")
    _ingest(box, "pipe:2")
    summary = deliver_due(stop=lambda: len(receiver.requests) >= 1)
    assert summary.sent == 1 and len(receiver.requests) == 1
    first, second = WebhookDelivery.objects.order_by("id")
    assert first.status == HookStatus.SENT
    assert (second.status, second.attempts) == (
        HookStatus.QUEUED,
        0,
    ) and second.next_attempt <= timezone.now()
    assert deliver_due().sent == 1 and len(receiver.requests) == 2


def test_a_receiver_that_cannot_be_reached_costs_one_try_per_batch(receiver: Receiver) -> None:
    _hook(receiver.url)
    box = _box()
    _ingest(box, "pipe:1")
    _ingest(box, "pipe:2")
    receiver.stop()
    assert deliver_due().retrying == 2
    assert {(r.status, r.attempts, r.last_error) for r in WebhookDelivery.objects.all()} == {
        (HookStatus.QUEUED, 1, f"127.0.0.1:{receiver.port}: Connection refused")
    }


def test_a_sender_that_lost_its_claim_does_not_overwrite_the_new_one(receiver: Receiver) -> None:
    """A sender whose lease ran out mid-POST finds another one's token on the row: its answer is dropped."""
    _hook(receiver.url)
    _ingest(_box(), "pipe:1")
    receiver.answer(500)

    def clock() -> datetime:  # once claimed, another sender takes the delivery over (its lease ran out)
        claimed = WebhookDelivery.objects.filter(status=HookStatus.SENDING).exclude(claim="another-sender")
        claimed.update(claim="another-sender")
        return timezone.now()

    summary = deliver_due(now=clock)
    assert (summary.sent, summary.retrying, summary.failed) == (0, 0, 0) and len(receiver.requests) == 1
    row = WebhookDelivery.objects.get()
    assert (row.status, row.claim, row.attempts) == (HookStatus.SENDING, "another-sender", 0)


def test_an_untrusted_certificate_is_never_posted_to(tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path)  # a private CA the system does not trust
    secure = Receiver(cert=(cert, key)).start()
    try:
        _hook(secure.url)
        _ingest(_box(), "pipe:1")
        assert deliver_due().retrying == 1
        row = WebhookDelivery.objects.get()
        assert "certificate not trusted" in row.last_error and not secure.requests
        # The same server is reached when its CA is trusted: the failure above was the verification.
        context = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(urllib.request.Request(secure.url, data=b"{}"), context=context) as r:
            assert r.status == 204
    finally:
        secure.stop()


def test_without_webhooks_an_import_costs_one_query_more_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    box = _box()
    _ingest(box, "pipe:0", sender="warm@up.test")  # caches, settings: the first import does more
    from postroom.outgoing import automatic

    with monkeypatch.context() as patched:
        patched.setattr(automatic.webhooks, "after_store", lambda plans: 0)
        with CaptureQueriesContext(connection) as without_hook:
            _ingest(box, "pipe:1", sender="one@customer.test")
    with CaptureQueriesContext(connection) as with_hook:
        _ingest(box, "pipe:2", sender="two@customer.test")
    assert len(with_hook) - len(without_hook) <= 1, [q["sql"] for q in with_hook.captured_queries]
    assert not WebhookDelivery.objects.exists()


def test_the_command_knows_every_event() -> None:
    assert set(CLI_EVENTS) == set(HookEvent.values) == set(events.EVENTS)
