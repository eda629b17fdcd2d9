"""The People page: users and teams added and changed in the browser's forms, shown by `config dump`."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from postroom.mailboxes.config_file import dump_config, load_config_text
from postroom.mailboxes.sync import apply_config, current_config
from postroom.people.models import Team
from postroom.records.access import role_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Client:
    get_user_model().objects.create_superuser("boss", "boss@d.test", "boss-password")
    client = Client()
    assert client.login(username="boss", password="boss-password")
    return client


def test_users_and_teams_made_here_round_trip_through_the_configuration(admin: Client) -> None:
    team = admin.post("/people/teams", {"name": "Field", "agents_see": "assigned", "events": ["new_record"]})
    assert team.status_code == 302 and "added+team+Field" in team["Location"]
    ann_form = {
        "name": "Ann",
        "email": "Ann@D.test",
        "role": "agent",
        "teams": ["Field"],
        "password": "ann-password",
    }
    user = admin.post("/people/users", ann_form)
    assert "added+user+Ann" in user["Location"]
    team_form = {"name": "Field", "members": ["Ann"], "admins": ["Ann"], "agents_see": "assigned",
                 "notify_members": "1", "events": ["new_record", "status_change"]}  # fmt: skip
    admin.post("/people/teams", team_form)
    field = Team.objects.get(name="Field")
    ann = get_user_model().objects.get(username="Ann")
    assert (ann.email, role_of(ann), ann.check_password("ann-password")) == ("ann@d.test", "agent", True)
    assert list(field.admins.values_list("username", flat=True)) == ["Ann"] and field.notify_members
    dumped = dump_config(current_config())
    assert "agents_see: assigned" in dumped and "- status_change" in dumped
    assert apply_config(load_config_text(dumped)) == []  # the file loads back to the same state
    page = admin.get("/people").content.decode()
    assert "ann@d.test" in page and "their own" in page


def test_bad_input_is_refused_with_the_reason(admin: Client) -> None:
    bad = admin.post("/people/users", {"name": "X", "email": "nope", "role": "agent"})
    assert "is+not+an+email+address" in bad["Location"]
    bad_team = admin.post(
        "/people/users", {"name": "X", "email": "x@d.test", "role": "agent", "teams": ["Nope"]}
    )
    assert "no+team" in bad_team["Location"]
    assert not get_user_model().objects.filter(username="X").exists()
    get_user_model().objects.create_user("ann", "ann@d.test", "ann-password")
    agent = Client()
    assert agent.login(username="ann", password="ann-password")
    assert agent.get("/people").status_code == 403
    assert agent.post("/people/users", {"name": "Y", "email": "y@d.test", "role": "admin"}).status_code == 403


def test_accounts_contacts_and_global_filters_made_here_round_trip(admin: Client) -> None:
    admin.post("/people/accounts", {"name": "JMC PTY Ltd", "domains": "jmc.example.com, jmc.example.net"})
    taken = admin.post("/people/accounts", {"name": "Other", "domains": "jmc.example.com"})
    assert "already+a+domain+of+account+JMC" in taken["Location"]
    assert (
        "not+a+domain"
        in admin.post("/people/accounts", {"name": "X", "domains": "not a domain!"})["Location"]
    )
    admin.post(
        "/people/contacts",
        {"email": "Office@JMC.example.com", "name": "JMC office", "account": "JMC PTY Ltd"},
    )
    assert (
        "no+account" in admin.post("/people/contacts", {"email": "a@b.test", "account": "Nope"})["Location"]
    )
    saved = admin.post(
        "/filters", {"filters": "filters:\n- {name: newsletters, from_domain: news.example.com}\n"}
    )
    assert saved.status_code == 200, saved.content.decode().split("Not saved:")[-1][:500]
    assert "added filter newsletters" in saved.content.decode()
    bad = admin.post("/filters", {"filters": "filters:\n- {name: all}\n"})
    assert (
        bad.status_code == 400
        and "a filter without conditions would skip every message" in bad.content.decode()
    )
    dumped = dump_config(current_config())
    assert "JMC PTY Ltd" in dumped and "office@jmc.example.com" in dumped and "newsletters" in dumped
    assert apply_config(load_config_text(dumped)) == []
