"""The API end to end through Django's request handling: token auth, who sees what, no probing by id."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from postroom.mailboxes.models import Mailbox
from postroom.people.models import Profile, Role, Team
from postroom.people.tokens import create_token
from postroom.pipeline.ingest import ingest
from postroom.records.models import Attachment, Message, Record
from tests.support.builders import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk() -> dict[str, object]:
    box = Mailbox.objects.create(
        name="desk", protocol="imap", host="h", port=1, username="u", address="desk@d.test"
    )
    users = get_user_model().objects
    ann, bob, rita = (users.create_user(n, f"{n}@d.test") for n in ("ann", "bob", "rita"))
    Profile.objects.create(user=rita, role=Role.REQUESTER)
    field, office = Team.objects.create(name="Field"), Team.objects.create(name="Office")
    field.members.add(ann)
    office.members.add(bob)
    one = ingest(
        box, "pipe:1", mail("Leak at Field", sender="rita@d.test", attachments=(("plan.pdf", b"%PDF"),))
    )
    two = ingest(box, "pipe:2", mail("Office chair", sender="carl@x.test"))
    Record.objects.filter(pk=one.record).update(team=field)
    Record.objects.filter(pk=two.record).update(team=office)
    return {"ann": create_token(ann, "t"), "bob": create_token(bob, "t"), "rita": create_token(rita, "t"),
            "one": one.record, "two": two.record}  # fmt: skip


def _get(token: str | None, url: str) -> tuple[int, object]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get(url, **headers)
    body = response.content
    ctype = response.get("Content-Type", "")
    return response.status_code, json.loads(body) if "json" in ctype else body


def test_without_a_valid_token_nothing_is_served(desk: dict[str, object]) -> None:
    assert _get(None, "/api/records")[0] == 401
    assert _get("pr_not-a-token", "/api/records")[0] == 401
    assert _get("Bearer", f"/api/records/{desk['one']}")[0] == 401


def test_each_user_lists_only_what_they_may_see(desk: dict[str, object]) -> None:
    subjects = {
        who: [r["subject"] for r in _get(desk[who], "/api/records")[1]] for who in ("ann", "bob", "rita")
    }  # type: ignore[index, union-attr, arg-type]
    assert subjects == {"ann": ["Leak at Field"], "bob": ["Office chair"], "rita": ["Leak at Field"]}


def test_changing_the_id_in_the_url_reaches_nothing(desk: dict[str, object]) -> None:
    one, two = desk["one"], desk["two"]
    status, body = _get(desk["ann"], f"/api/records/{one}")
    assert status == 200 and body["subject"] == "Leak at Field"  # type: ignore[index]
    assert _get(desk["ann"], f"/api/records/{two}")[0] == 404  # bob's team's: as if it did not exist
    assert _get(desk["ann"], "/api/records/999999")[0] == 404
    msg_two = Message.objects.get(record_id=two)
    assert _get(desk["ann"], f"/api/records/{two}/messages/{msg_two.pk}/raw")[0] == 404
    assert _get(desk["ann"], f"/api/records/{one}/messages/{msg_two.pk}/raw")[0] == 404  # not on that record
    msg_one = Message.objects.get(record_id=one)
    status, raw = _get(desk["ann"], f"/api/records/{one}/messages/{msg_one.pk}/raw")
    assert status == 200 and b"Subject: Leak at Field" in raw  # type: ignore[operator]
    att = Attachment.objects.get(message=msg_one)
    assert _get(desk["bob"], f"/api/attachments/{att.pk}")[0] == 404
    status, data = _get(desk["rita"], f"/api/attachments/{att.pk}")
    assert status == 200 and data == b"%PDF"


def test_filters_and_text_search(desk: dict[str, object]) -> None:
    boss = get_user_model().objects.create_superuser("boss", "boss@d.test")
    token = create_token(boss, "t")
    subjects = lambda q: [r["subject"] for r in _get(token, f"/api/records?{q}")[1]]  # type: ignore[index, union-attr]  # noqa: E731
    assert subjects("") == ["Office chair", "Leak at Field"]
    assert subjects("team=Field") == ["Leak at Field"]
    assert subjects("q=chair") == ["Office chair"]
    assert subjects("q=please+help") == ["Office chair", "Leak at Field"]  # the body text of both
    assert subjects("limit=1&offset=1") == ["Leak at Field"]


def test_the_openapi_document_describes_the_endpoints() -> None:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert {"/api/records", "/api/records/{number}", "/api/attachments/{attachment_id}"} <= set(paths)


def test_mailboxes_and_rules_are_for_admins_and_never_show_a_password(desk: dict[str, object]) -> None:
    from postroom.mailboxes.models import Rule

    box = Mailbox.objects.get(name="desk")
    box.set_password("imap-secret")
    box.save()
    Rule.objects.create(
        mailbox=box, name="jobs", order=10, spec={"subject_contains": ["job"], "import_as": "job"}
    )
    assert _get(desk["ann"], "/api/mailboxes")[0] == 403
    assert _get(desk["ann"], "/api/mailboxes/desk/rules")[0] == 403
    boss = get_user_model().objects.create_superuser("boss", "boss@d.test")
    token = create_token(boss, "t")
    status, boxes = _get(token, "/api/mailboxes")
    assert status == 200 and [b["name"] for b in boxes] == ["desk"]  # type: ignore[union-attr, index]
    assert "imap-secret" not in json.dumps(boxes) and "password" not in json.dumps(boxes)
    status, rules = _get(token, "/api/mailboxes/desk/rules")
    assert status == 200 and rules == [
        {"name": "jobs", "order": 10, "spec": {"subject_contains": ["job"], "import_as": "job"}}
    ]
    assert _get(token, "/api/mailboxes/nope/rules")[0] == 404
