"""`teams:`, `accounts:` and `contacts:`: checked against each other and `users:` (line and key, all at once),
applied idempotently (teams left out disabled, accounts and contacts left out no longer configured, those an
import made left alone), and dumped back so that loading the dump changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from postroom.mailboxes.config_file import AccountConfig, ContactConfig, TeamConfig, dump_config
from postroom.mailboxes.sync import apply_config, current_config
from postroom.people.models import Account, Contact, Team
from tests.config.helpers import line_of, load, problems

FILE = """\
users:
  - {name: Dana, email: dana@example.com}
  - {name: Max, email: max@example.com}
teams:
  - {name: Field, members: [Dana, Max, Site@JMC.example.com]}
  - name: Office
    members: Dana
  - {name: Nobody yet}
accounts:
  - {name: JMC PTY Ltd, domains: [JMC.example.com, jmc-mail.example.net.]}
  - {name: Walk-ins}
  - {name: Acme, domains: acme.test}
contacts:
  - {name: Site office, email: Site@JMC.example.com, account: JMC PTY Ltd}
  - {email: someone@gmail.com}
mailboxes: []
"""


def test_people_are_read_and_normalized() -> None:
    config = load(FILE)
    assert config.teams == (
        TeamConfig("Field", ("Dana", "Max"), ("site@jmc.example.com",)),
        TeamConfig("Office", ("Dana",)),
        TeamConfig("Nobody yet"),
    )
    assert config.accounts == (
        AccountConfig("JMC PTY Ltd", ("jmc.example.com", "jmc-mail.example.net")),
        AccountConfig("Walk-ins"),
        AccountConfig("Acme", ("acme.test",)),
    )
    assert config.contacts == (
        ContactConfig("site@jmc.example.com", "Site office", "JMC PTY Ltd"),
        ContactConfig("someone@gmail.com"),
    )


@pytest.mark.parametrize("empty", ["teams:\naccounts: []\ncontacts:\n", ""])
def test_no_people(empty: str) -> None:
    config = load(empty + "mailboxes: []\n")
    assert (config.teams, config.accounts, config.contacts) == ((), (), ())


def test_dump_round_trip() -> None:
    config = load(FILE)
    text = dump_config(config)
    assert load(text) == config
    assert dump_config(load(text)) == text
    assert (
        "teams:\n  - name: Field\n    members:\n      - Dana\n      - Max\n      - site@jmc.example.com\n"
        in text
    )
    assert (
        "contacts:\n  - name: Site office\n    email: site@jmc.example.com\n    account: JMC PTY Ltd\n"
        in text
    )
    assert "\n  - email: someone@gmail.com\n" in text


# --- problems -------------------------------------------------------------------------------------------


def test_every_people_problem_is_reported_at_once_with_line_and_key() -> None:
    text = """\
users:
  - {name: Dana, email: dana@example.com}
teams:
  - {name: Field, members: [Dana, Bob, dana@example.com, nobody@x.test, Dana]}
  - {name: Field}
  - {members: [Dana]}
  - {name: Ops, staff: [Dana]}
  - just a name
accounts:
  - {name: JMC, domains: [jmc.example.com]}
  - {name: JMC}
  - {name: Other, domains: [other.test, JMC.example.com]}
  - {name: Third, domains: ['*.x.test', "@jmc.test"]}
  - {name: Fourth, domains: []}
  - {domain: x.test}
contacts:
  - {email: site@x.test, account: JMX}
  - {name: Again, email: Site@x.test}
  - {name: No email}
  - {email: 'Bo <bo@x.test>', company: JMC}
mailboxes: []
"""
    team = "teams[0] (Field) key"
    neither = "is neither a user (a name in users:) nor a contact (an email in contacts:)"
    assert problems(text) == [
        f"config.yaml:4: {team} 'members[1]': 'Bob' {neither}",
        f"config.yaml:4: {team} 'members[2]': 'dana@example.com' is the email of user 'Dana': list users "
        "by name (Dana)",
        f"config.yaml:4: {team} 'members[3]': 'nobody@x.test' {neither}",
        "config.yaml:5: teams[1] (Field) key 'name': name 'Field' is already used by teams[0] (Field) "
        "on line 4",
        "config.yaml:6: teams[2] key 'name': is required",
        "config.yaml:7: teams[3] (Ops) key 'staff': unknown key; did you mean 'members'?",
        "config.yaml:8: teams[4]: must be a mapping (name: ..., members: [...]), got text",
        "config.yaml:11: accounts[1] (JMC) key 'name': name 'JMC' is already used by accounts[0] (JMC) "
        "on line 10",
        "config.yaml:12: accounts[2] (Other) key 'domains': 'jmc.example.com' is already a domain of "
        "accounts[0] (JMC) on line 10; mail from it would belong to two accounts",
        "config.yaml:13: accounts[3] (Third) key 'domains[0]': must be a domain like example.com, "
        "got '*.x.test'",
        "config.yaml:13: accounts[3] (Third) key 'domains[1]': give the domain only (like example.com), "
        "not an address, got '@jmc.test'",
        "config.yaml:14: accounts[4] (Fourth) key 'domains': must not be an empty list (leave the key "
        "out instead)",
        "config.yaml:15: accounts[5] key 'domain': unknown key; did you mean 'domains'?",
        "config.yaml:15: accounts[5] key 'name': is required",
        "config.yaml:17: contacts[0] (site@x.test) key 'account': no account 'JMX' in accounts:; "
        "did you mean 'JMC'?",
        "config.yaml:18: contacts[1] (Site@x.test) key 'email': email 'site@x.test' is already used by "
        "contacts[0] (site@x.test) on line 17",
        "config.yaml:19: contacts[2] key 'email': is required",
        "config.yaml:20: contacts[3] (Bo <bo@x.test>) key 'email': give the bare address without a "
        "display name, got 'Bo <bo@x.test>'",
        "config.yaml:20: contacts[3] (Bo <bo@x.test>) key 'company': unknown key; did you mean 'account'?",
    ]


def test_a_domain_listed_twice() -> None:
    assert problems("accounts: [{name: A, domains: [a.test, b.test, A.test]}]\nmailboxes: []\n") == [
        "config.yaml:1: accounts[0] (A) key 'domains[2]': 'a.test' is listed twice"
    ]


def test_a_member_listed_twice() -> None:
    text = "users: [{name: Dana, email: d@x.test}]\nteams:\n  - name: T\n    members:\n      - Dana\n" \
           "      - Dana\nmailboxes: []\n"  # fmt: skip
    assert problems(text) == [
        f"config.yaml:{line_of(text, '- Dana', 2)}: teams[0] (T) key 'members[1]': 'Dana' is listed twice"
    ]


@pytest.mark.parametrize(
    ("section", "shape"),
    [("teams", "name: ..., members: [...]"), ("accounts", "name: ..., domains: [...]"),
     ("contacts", "name: ..., email: ..., account: ...")],
)  # fmt: skip
def test_a_section_must_be_a_list(section: str, shape: str) -> None:
    assert problems(f"mailboxes: []\n{section}: {{name: x}}\n") == [
        f"config.yaml:2: key '{section}': must be a list of {section} (- {{{shape}}}), got a mapping"
    ]


def test_a_member_whose_contact_entry_has_problems_is_not_a_problem_of_its_own() -> None:
    text = (
        "teams: [{name: T, members: [a@x.test]}]\ncontacts: [{email: a@x.test, account: Nope}]\n"
        "mailboxes: []\n"
    )
    (problem,) = problems(text)
    assert problem.startswith("config.yaml:2: contacts[0] (a@x.test) key 'account': no account 'Nope'")


def test_misspelt_section_names_are_suggested() -> None:
    assert problems("team: []\ncontact: []\nmailboxes: []\n") == [
        "config.yaml:1: key 'team': unknown key; did you mean 'teams'?",
        "config.yaml:2: key 'contact': unknown key; did you mean 'contacts'?",
    ]


# --- the database -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_loading_people_is_idempotent() -> None:
    changes = apply_config(load(FILE))
    assert [c for c in changes if c.split()[1] in ("account", "contact", "team")] == [
        "added account JMC PTY Ltd", "added account Walk-ins", "added account Acme",
        "added contact site@jmc.example.com", "added contact someone@gmail.com",
        "added team Field", "added team Office", "added team Nobody yet",
    ]  # fmt: skip
    assert apply_config(load(FILE)) == []
    field = Team.objects.get(name="Field")
    assert sorted(u.username for u in field.members.all()) == ["Dana", "Max"]
    assert [c.email for c in field.contacts.all()] == ["site@jmc.example.com"]
    contact = Contact.objects.get(email="site@jmc.example.com")
    assert (contact.name, contact.account.name if contact.account else None, contact.configured) == (
        "Site office", "JMC PTY Ltd", True,
    )  # fmt: skip
    assert Account.objects.get(name="JMC PTY Ltd").domains == ["jmc.example.com", "jmc-mail.example.net"]


@pytest.mark.django_db
def test_changes_are_reported_and_people_left_out_are_kept() -> None:
    apply_config(load(FILE))
    changed = (
        FILE.replace("[Dana, Max, Site@JMC.example.com]", "[Max]")
        .replace("  - name: Office\n    members: Dana\n", "")
        .replace("jmc-mail.example.net.", "jmc.test")
        .replace("  - {name: Walk-ins}\n", "")
        .replace(
            "{name: Site office, email: Site@JMC.example.com, account: JMC PTY Ltd}", "{email: x@y.test}"
        )
    )
    assert [c for c in apply_config(load(changed)) if "user" not in c] == [
        "changed account JMC PTY Ltd: domains",
        "unconfigured account Walk-ins (not in the file; it stays for its records)",
        "added contact x@y.test",
        "unconfigured contact site@jmc.example.com (not in the file; it stays for its records)",
        "changed team Field: members, contacts",
        "disabled team Office (not in the file; its records stay)",
    ]
    assert apply_config(load(changed)) == []
    assert not Team.objects.get(name="Office").enabled
    assert not Account.objects.get(name="Walk-ins").configured
    kept = Contact.objects.get(email="site@jmc.example.com")
    assert (kept.configured, kept.name, kept.account is not None) == (False, "Site office", True)
    # Listing them again configures and enables them again.
    assert [c for c in apply_config(load(FILE)) if "user" not in c] == [
        "changed account JMC PTY Ltd: domains",
        "changed account Walk-ins: configured",
        "changed contact site@jmc.example.com: configured",
        "unconfigured contact x@y.test (not in the file; it stays for its records)",
        "changed team Field: members, contacts",
        "changed team Office: enabled again",
    ]


@pytest.mark.django_db
def test_accounts_and_contacts_an_import_made_are_left_alone_and_not_dumped() -> None:
    made = Account.objects.create(name="Made by a rule", domains=["made.test"])
    Contact.objects.create(email="stranger@made.test", name="Stranger", account=made)
    apply_config(load(FILE))
    assert apply_config(load("mailboxes: []\n")) == [
        "deactivated user Dana (not in the file)",
        "deactivated user Max (not in the file)",
        "unconfigured account Acme (not in the file; it stays for its records)",
        "unconfigured account JMC PTY Ltd (not in the file; it stays for its records)",
        "unconfigured account Walk-ins (not in the file; it stays for its records)",
        "unconfigured contact site@jmc.example.com (not in the file; it stays for its records)",
        "unconfigured contact someone@gmail.com (not in the file; it stays for its records)",
        "disabled team Field (not in the file; its records stay)",
        "disabled team Nobody yet (not in the file; its records stay)",
        "disabled team Office (not in the file; its records stay)",
    ]
    assert Account.objects.get(name="Made by a rule").domains == ["made.test"]
    assert not Account.objects.get(name="Made by a rule").configured
    assert Contact.objects.get(email="stranger@made.test").name == "Stranger"
    dumped = dump_config(current_config())
    assert "accounts" not in dumped and "contacts" not in dumped and "teams" not in dumped
    # The file may take over one an import made.
    text = "accounts: [{name: Made by a rule, domains: [made.test]}]\nmailboxes: []\n"
    assert apply_config(load(text)) == ["changed account Made by a rule: configured"]


@pytest.mark.django_db
def test_dump_of_the_database_loads_back_without_change() -> None:
    apply_config(load(FILE))
    config = current_config()
    assert config.teams[0] == TeamConfig("Field", ("Dana", "Max"), ("site@jmc.example.com",))
    dumped = dump_config(config)
    assert apply_config(load(dumped)) == []
    assert current_config() == config
    assert get_user_model().objects.filter(teams__name="Office").count() == 1
