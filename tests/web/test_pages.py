"""The web pages through Django's request handling: login, who sees what, working a record, headers."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from postroom.mailboxes.models import Mailbox
from postroom.people.models import Profile, Role, Team
from postroom.pipeline.ingest import ingest
from postroom.records.models import Attachment, Follower, Message, Record
from tests.support.builders import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk() -> dict[str, int]:
    box = Mailbox.objects.create(
        name="desk", protocol="imap", host="h", port=1, username="u", address="desk@d.test"
    )
    users = get_user_model().objects
    ann, bob, rita = (users.create_user(n, f"{n}@d.test", f"{n}-password") for n in ("ann", "bob", "rita"))
    Profile.objects.create(user=rita, role=Role.REQUESTER)
    field, office = Team.objects.create(name="Field"), Team.objects.create(name="Office")
    field.members.add(ann)
    office.members.add(bob)
    one = ingest(
        box, "pipe:1", mail("Leak at Field", sender="rita@d.test", attachments=(("plan.pdf", b"%PDF"),))
    )
    two = ingest(box, "pipe:2", mail("Office chair <b>now</b>", sender="carl@x.test"))
    Record.objects.filter(pk=one.record).update(team=field)
    Record.objects.filter(pk=two.record).update(team=office)
    assert one.record and two.record
    return {"one": one.record, "two": two.record}


def _as(name: str, **kw: object) -> Client:
    client = Client(**kw)  # type: ignore[arg-type]
    assert client.login(username=name, password=f"{name}-password")
    return client


def test_anonymous_visitors_are_sent_to_log_in(desk: dict[str, int]) -> None:
    for url in ("/", f"/records/{desk['one']}", "/attachments/1"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login")
    page = Client().get("/login")
    assert page.status_code == 200 and b'name="password"' in page.content


def test_logging_in_with_the_wrong_password_says_so(desk: dict[str, int]) -> None:
    response = Client().post("/login", {"username": "ann", "password": "nope"})
    assert response.status_code == 200 and b"don't match" in response.content
    ok = Client().post("/login", {"username": "ann", "password": "ann-password"})
    assert ok.status_code == 302 and ok["Location"] == "/"


def test_the_list_and_the_pages_show_only_what_the_user_may_see(desk: dict[str, int]) -> None:
    ann = _as("ann")
    listing = ann.get("/").content.decode()
    assert "Leak at Field" in listing and "Office chair" not in listing
    assert ann.get(f"/records/{desk['one']}").status_code == 200
    assert ann.get(f"/records/{desk['two']}").status_code == 404  # another team's: as if it did not exist
    msg = Message.objects.get(record_id=desk["two"])
    assert ann.get(f"/records/{desk['two']}/messages/{msg.pk}/raw").status_code == 404
    assert ann.get(f"/records/{desk['one']}/messages/{msg.pk}/raw").status_code == 404
    att = Attachment.objects.get(message__record_id=desk["one"])
    assert ann.get(f"/attachments/{att.pk}").content == b"%PDF"
    assert _as("bob").get(f"/attachments/{att.pk}").status_code == 404
    assert _as("rita").get(f"/records/{desk['one']}").status_code == 200  # her own


def test_subjects_are_escaped_and_pages_forbid_script(desk: dict[str, int]) -> None:
    bob = _as("bob")
    page = bob.get(f"/records/{desk['two']}")
    assert b"Office chair &lt;b&gt;now&lt;/b&gt;" in page.content and b"<b>now</b>" not in page.content
    csp = page["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp and "https:" not in csp
    assert page["X-Frame-Options"] == "DENY" and page["X-Content-Type-Options"] == "nosniff"


def test_agents_add_notes_change_status_assignee_and_follow(desk: dict[str, int]) -> None:
    ann = _as("ann")
    number = desk["one"]
    assert ann.post(f"/records/{number}/note", {"text": "Called the customer."}).status_code == 302
    assert ann.post(f"/records/{number}/change", {"status": "pending"}).status_code == 302
    assert ann.post(f"/records/{number}/change", {"assignee": "ann"}).status_code == 302
    assert ann.post(f"/records/{number}/change", {"follow": "1"}).status_code == 302
    record = Record.objects.get(pk=number)
    assert (record.status, record.assignee.username, record.message_count) == ("pending", "ann", 2)  # type: ignore[union-attr]
    assert Follower.objects.filter(record=record, user__username="ann").exists()
    page = ann.get(f"/records/{number}").content.decode()
    assert "Called the customer." in page and "Note by ann" in page
    assert ann.post(f"/records/{desk['two']}/note", {"text": "x"}).status_code == 404  # not hers to see


def test_requesters_read_but_do_not_work_records(desk: dict[str, int]) -> None:
    rita = _as("rita")
    assert rita.post(f"/records/{desk['one']}/note", {"text": "x"}).status_code == 403
    assert rita.post(f"/records/{desk['one']}/change", {"status": "closed"}).status_code == 403
    assert b"Internal note" not in rita.get(f"/records/{desk['one']}").content


def test_a_form_without_its_csrf_token_is_refused(desk: dict[str, int]) -> None:
    ann = _as("ann", enforce_csrf_checks=True)
    assert ann.post(f"/records/{desk['one']}/note", {"text": "x"}).status_code == 403
    assert Record.objects.get(pk=desk["one"]).message_count == 1


def test_a_private_record_is_hidden_from_the_team_until_granted(desk: dict[str, int]) -> None:
    ann = _as("ann")
    number = desk["one"]
    assert ann.post(f"/records/{number}/change", {"private": "1"}).status_code == 302
    get_user_model().objects.create_user("fay", "fay@d.test", "fay-password")
    Team.objects.get(name="Field").members.add(get_user_model().objects.get(username="fay"))
    fay = _as("fay")
    assert fay.get(f"/records/{number}").status_code == 404  # her team's, but private
    assert ann.get(f"/records/{number}").status_code == 200  # who made it private was granted access
    ann.post(f"/records/{number}/change", {"grant": "fay"})
    assert fay.get(f"/records/{number}").status_code == 200
    assert _as("rita").get(f"/records/{number}").status_code == 200  # the requester keeps access


def test_fields_are_set_and_removed_from_the_record_page(desk: dict[str, int]) -> None:
    ann = _as("ann")
    number = desk["one"]
    ann.post(f"/records/{number}/change", {"field_name": "site address", "field_value": "4 Harbour St"})
    assert Record.objects.get(pk=number).fields == {"site address": "4 Harbour St"}
    ann.post(f"/records/{number}/change", {"field_name": "site address", "field_value": ""})
    assert Record.objects.get(pk=number).fields == {}


def test_a_record_made_by_hand_needs_no_mailbox(desk: dict[str, int]) -> None:
    from postroom.hooks.models import Webhook, WebhookDelivery

    Webhook.objects.create(name="crm", url="https://crm.test/hook", events=["record_created"])
    ann = _as("ann")
    bad = ann.post("/records/new", {"kind": "job", "subject": " ", "team": "Field"})
    assert bad.status_code == 400 and b"a record needs a subject" in bad.content
    form = {"kind": "job", "subject": "Phone: tap drips", "requester_name": "Mo",
            "requester_address": "Mo@x.test", "team": "Field", "text": "Called at 9."}  # fmt: skip
    made = ann.post("/records/new", form)
    assert made.status_code == 302
    record = Record.objects.get(subject="Phone: tap drips")
    assert (record.mailbox, record.kind, record.team.name, record.requester_address) == (
        None,
        "job",
        "Field",
        "mo@x.test",
    )  # type: ignore[union-attr]
    page = ann.get(made["Location"]).content.decode()
    assert "Called at 9." in page and "mailbox sends no mail" in page
    (hook,) = WebhookDelivery.objects.all()  # other systems hear of it as of any new record
    assert hook.event == "record_created" and hook.payload["record"]["subject"] == "Phone: tap drips"
