"""Rules as forms: conditions, actions and mapping rows made into the file's rules, moved, removed."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from postroom.mailboxes.models import Mailbox, Rule
from postroom.people.models import Team
from postroom.routing.rules import RuleSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Client:
    boss = get_user_model().objects.create_superuser("boss", "boss@d.test", "boss-password")
    Team.objects.create(name="Field").members.add(boss)  # round-robin needs someone to assign to
    Mailbox.objects.create(
        name="jobs", protocol="imap", host="h", port=1, username="u", address="jobs@d.test", enabled=False
    )
    client = Client()
    assert client.login(username="boss", password="boss-password")
    return client


FORM = {
    "name": "JMC jobs", "from": "jmc@example.com, *@jmc.example.com", "keyword": "urgent, asap",
    "keyword_in": ["subject"], "import_as": "job_and_quote", "job_keyword": "job", "team": "Field",
    "priority": "high", "tags": "jmc, field", "assign_how": "round_robin", "assign_to": "Field",
    "mapping_rows": "3", "m0_field": "site_address", "m0_start": "Site Address:", "m0_required": "1",
    "m1_field": "po", "m1_start": "PO:", "m1_transform": "upper", "m1_source": "subject",
}  # fmt: skip


def _names() -> list[str]:
    return list(Rule.objects.order_by("order", "id").values_list("name", flat=True))


def test_a_rule_made_in_the_form_is_the_rule_the_file_would_make(admin: Client) -> None:
    made = admin.post("/mailboxes/jobs/rules/new", FORM)
    assert made.status_code == 302, made.content.decode().split("Not saved:")[-1][:600]
    (rule,) = Rule.objects.all()
    assert rule.spec["from"] == ["jmc@example.com", "*@jmc.example.com"]
    assert rule.spec["keyword"] == {"text": ["urgent", "asap"], "in": ["subject"]}
    assert rule.spec["assign"] == {"round_robin": "Field"} and rule.spec["priority"] == "high"
    assert rule.spec["mappings"] == [
        {"field": "site_address", "start": "Site Address:", "required": True},
        {"field": "po", "start": "PO:", "source": "subject", "transform": "upper"},
    ]
    RuleSet.build("jobs", "ticket", [], [(r.name, r.order, r.spec) for r in Rule.objects.all()])  # compiles
    page = admin.get("/mailboxes/jobs/rules/0").content.decode()
    assert 'value="Site Address:"' in page and 'value="jmc@example.com, *@jmc.example.com"' in page
    edited = admin.post("/mailboxes/jobs/rules/0", {**FORM, "priority": "urgent"})
    assert edited.status_code == 302
    assert Rule.objects.get().spec["priority"] == "urgent" and len(Rule.objects.get().spec["mappings"]) == 2


def test_the_form_refuses_what_the_file_refuses(admin: Client) -> None:
    bad = admin.post("/mailboxes/jobs/rules/new", {**FORM, "team": "Nope"})
    assert bad.status_code == 400 and "Nope" in bad.content.decode()
    bad_assign = admin.post("/mailboxes/jobs/rules/new", {**FORM, "assign_how": "user", "assign_to": "ghost"})
    assert bad_assign.status_code == 400 and "ghost" in bad_assign.content.decode()
    assert not Rule.objects.exists()


def test_rules_are_moved_up_and_down_and_removed(admin: Client) -> None:
    for name in ("first", "second", "third"):
        admin.post("/mailboxes/jobs/rules/new", {"name": name, "subject_contains": name, "mapping_rows": "0"})
    assert _names() == ["first", "second", "third"]
    admin.post("/mailboxes/jobs/rules/list", {"index": "2", "action": "up"})
    assert _names() == ["first", "third", "second"]
    admin.post("/mailboxes/jobs/rules/list", {"index": "0", "action": "down"})
    assert _names() == ["third", "first", "second"]
    admin.post("/mailboxes/jobs/rules/list", {"index": "1", "action": "remove"})
    assert _names() == ["third", "second"]
    page = admin.get("/mailboxes/jobs/rules/list").content.decode()
    assert page.index('data-rule="third"') < page.index('data-rule="second"')
