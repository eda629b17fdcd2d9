"""Import rules end to end: `config load` of rules, then mail through Dovecot and `postroom ingest`, read back
with `records show --json`; and `postroom rules test`, the dry run that writes nothing."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.cli_helpers import dovecot_mailbox, mailbox_yaml, record, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail

pytestmark = pytest.mark.uses_database

WORK_ORDER_TEXT = """Hello team,

Please attend the following job.

*Site Address:* Unit 4, 12 Harbour Street,
  Wollongong NSW 2500
Contact Name: Mary Jones
Contact Phone: (02) 4227 1234
Purchase Order: PO-88231

Thanks,
JMC PTY Ltd
"""

WORK_ORDER_HTML = """<html><body><p>Hello team,</p><p>Please attend the following job.</p>
<table border="1">
<tr><td><b>Site Address</b></td><td>Unit 4, 12 Harbour Street, Wollongong NSW 2500</td></tr>
<tr><td><b>Contact Name</b></td><td>Mary Jones</td></tr>
<tr><td><b>Contact Phone</b></td><td>(02) 4227 1234</td></tr>
<tr><td><b>Purchase Order</b></td><td>PO-88231</td></tr>
</table><p>Thanks,<br>JMC PTY Ltd</p></body></html>"""

JMC_RULES = """    rules:
      - name: JMC work
        order: 10
        from: jmcptyltd@gmail.com
        import_as: job_and_quote
        customer: JMC PTY Ltd
        category: Plumbing
        mappings:
          - {field: site_address, start: "Site Address:"}
          - {field: contact_name, start: "Contact Name:"}
          - {field: contact_phone, start: "Contact Phone:", transform: phone}
          - {field: purchase_order, start: "Purchase Order:", required: true}
"""


def html_only(subject: str, sender: str, html: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "jobs@desk.test", subject
    m["Message-ID"] = f"<{abs(hash(subject))}@gmail.com>"
    m.set_content(html, subtype="html")
    return m.as_bytes()


def write_config(cli: Cli, tmp_path: Path, text: str) -> str:
    path = tmp_path / "postroom.yaml"
    path.write_text(text)
    return str(cli("config", "load", str(path), check=True).stdout)


def ingest_outcome(cli: Cli, mailbox: str, raw: bytes) -> tuple[str, str]:
    result = cli("ingest", "--mailbox", mailbox, "-", input=raw, check=True)
    said = result.stderr.strip().splitlines()[-1]  # after any log lines
    return said.split(":", 1)[0].split(" ")[0], said


def only_record(cli: Cli) -> dict[str, Any]:
    (row,) = records(cli)
    return record(cli, row["number"])


@pytest.mark.dovecot
def test_jmc_work_orders_through_dovecot_plain_text_and_html_table_give_the_same_fields(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    config = "mailboxes:\n" + dovecot_mailbox("jobs", dovecot, mailbox_folder) + JMC_RULES
    write_config(cli, tmp_path, config)
    job = mail("JOB - replace hot water unit", "JMC <jmcptyltd@gmail.com>", "jobs@desk.test", WORK_ORDER_TEXT)
    quote = html_only("Pricing for fence", "JMC <jmcptyltd@gmail.com>", WORK_ORDER_HTML)
    dovecot.append([job, quote], folder=mailbox_folder)
    out = cli("import", DESK_PASSWORD=dovecot.password, check=True).stdout
    assert "new records 2" in out
    shown = {r["subject"]: record(cli, r["number"]) for r in records(cli)}
    job_rec, quote_rec = shown["JOB - replace hot water unit"], shown["Pricing for fence"]
    assert (job_rec["kind"], quote_rec["kind"]) == ("job", "quote")
    expected = {
        "site_address": "Unit 4, 12 Harbour Street, Wollongong NSW 2500",
        "contact_name": "Mary Jones",
        "contact_phone": "0242271234",
        "purchase_order": "PO-88231",
    }
    assert job_rec["fields"] == expected
    assert quote_rec["fields"] == expected
    for rec in (job_rec, quote_rec):
        assert (rec["customer"], rec["category"], rec["rule"]) == ("JMC PTY Ltd", "Plumbing", "JMC work")
        assert rec["needs_review"] is False
        assert rec["messages"][0]["rule"] == "JMC work"
        assert any("from: jmcptyltd@gmail.com matches" in line for line in rec["messages"][0]["because"])
    assert dovecot.count(mailbox_folder) == 0


def test_required_mapping_missing_marks_needs_review_and_still_imports(cli: Cli, tmp_path: Path) -> None:
    write_config(cli, tmp_path, "mailboxes:\n" + mailbox_yaml("jobs") + JMC_RULES)
    body = WORK_ORDER_TEXT.replace("Purchase Order: PO-88231\n", "")
    outcome, _ = ingest_outcome(
        cli, "jobs", mail("JOB - gutter", "jmcptyltd@gmail.com", "jobs@desk.test", body)
    )
    assert outcome == "new"
    rec = only_record(cli)
    assert rec["needs_review"] is True
    assert "purchase_order" in rec["review_reason"]
    assert rec["fields"]["contact_name"] == "Mary Jones"


def test_ordered_keyword_rules_in_subject_body_and_x_project_header(cli: Cli, tmp_path: Path) -> None:
    config = (
        "mailboxes:\n"
        + mailbox_yaml("desk")
        + """    rules:
      - name: apollo
        order: 10
        header: {X-Project: apollo}
        category: Apollo
      - name: invoices
        order: 20
        keyword: {text: invoice, in: [subject]}
        import_as: task
        category: Billing
      - name: leaks
        order: 30
        keyword: {text: [leaking, "burst pipe"], in: [body]}
        priority: urgent
        category: Plumbing
"""
    )
    write_config(cli, tmp_path, config)
    apollo = mail("Invoice for Apollo", body="see attached").replace(
        b"Subject:", b"X-Project: Apollo Moon\r\nSubject:", 1
    )
    for raw in (apollo, mail("Invoice 1234"), mail("Help", body="A burst\npipe in the kitchen"), mail("Hi")):
        assert ingest_outcome(cli, "desk", raw)[0] == "new"
    got = {r["subject"]: record(cli, r["number"]) for r in records(cli)}
    assert (got["Invoice for Apollo"]["category"], got["Invoice for Apollo"]["kind"]) == ("Apollo", "ticket")
    assert (got["Invoice 1234"]["category"], got["Invoice 1234"]["kind"]) == ("Billing", "task")
    assert (got["Help"]["category"], got["Help"]["priority"]) == ("Plumbing", "urgent")
    assert (got["Hi"]["category"], got["Hi"]["rule"]) == (None, None)


def test_domain_allowlist_leaves_other_mail_unprocessed(cli: Cli, tmp_path: Path) -> None:
    config = (
        "mailboxes:\n"
        + mailbox_yaml("desk", unmatched="unprocessed")
        + """    rules:
      - name: customers only
        from_domain: [good.example, customer.example]
"""
    )
    write_config(cli, tmp_path, config)
    assert ingest_outcome(cli, "desk", mail(sender="a@good.example"))[0] == "new"
    outcome, said = ingest_outcome(cli, "desk", mail(sender="spam@bad.example"))
    assert outcome == "unprocessed" and "no rule matched" in said
    assert len(records(cli)) == 1
    failed = cli("failed", "--json", check=True).stdout
    assert "spam@bad.example" not in failed  # unprocessed is not failed
    (health,) = json.loads(cli("status", "--json", check=True).stdout)
    assert (health["imported"], health["failed"], health["unprocessed"]) == (1, 0, 1)


def test_unknown_sender_modes(cli: Cli, tmp_path: Path) -> None:
    head = """users:
  - {name: owner, email: owner@desk.test}
accounts:
  - {name: Acme, domains: [acme.example]}
contacts:
  - {name: Known Person, email: known@else.example}
mailboxes:
"""
    boxes = (
        mailbox_yaml("acc") + "    rules:\n      - {name: open, unknown_sender: accept}\n"
        + mailbox_yaml("own")
        + "    rules:\n      - {name: tracker, unknown_sender: as_owner, owner: owner}\n"
        + mailbox_yaml("rej") + "    rules:\n      - {name: closed, unknown_sender: reject}\n"
    )  # fmt: skip
    write_config(cli, tmp_path, head + boxes)
    assert ingest_outcome(cli, "acc", mail(sender="New Person <new@stranger.example>"))[0] == "new"
    assert ingest_outcome(cli, "own", mail(sender="other@stranger.example", subject="Bug"))[0] == "new"
    assert ingest_outcome(cli, "rej", mail(sender="third@stranger.example"))[0] == "unprocessed"
    assert ingest_outcome(cli, "rej", mail(sender="known@else.example", subject="From known"))[0] == "new"
    assert ingest_outcome(cli, "rej", mail(sender="sam@acme.example", subject="From Acme"))[0] == "new"
    got = {r["subject"]: record(cli, r["number"]) for r in records(cli)}
    assert got["Hello"]["contact"] == "new@stranger.example"  # accept: a new contact
    assert got["Bug"]["requester"]["address"] == "owner@desk.test"  # as_owner
    assert got["Bug"]["messages"][0]["from"]["address"] == "other@stranger.example"
    assert got["From known"]["contact"] == "known@else.example"
    assert got["From Acme"]["customer"] == "Acme"  # the account's domain
    assert len(got) == 4


def test_hash_reference_in_subject_adds_a_note_with_the_rules_note_type(cli: Cli, tmp_path: Path) -> None:
    head = "users:\n  - {name: tech, email: tech@desk.test}\nmailboxes:\n"
    rules = "    rules:\n      - {name: notes, keyword: {text: update, in: [subject]}, note_type: note}\n"
    write_config(cli, tmp_path, head + mailbox_yaml("desk") + rules)
    assert ingest_outcome(cli, "desk", mail("Broken gate", "cust@example.com"))[0] == "new"
    (first,) = records(cli)
    number = first["number"]
    outcome, _ = ingest_outcome(cli, "desk", mail(f"Site update #{number}", "tech@desk.test", body="Fixed."))
    assert outcome == "added"
    rec = record(cli, number)
    assert [m["entry_type"] for m in rec["messages"]] == [None, "note"]
    assert rec["messages"][1]["rule"] == "notes"


def people(members: int = 3) -> str:
    users = "".join(f"  - {{name: agent{i}, email: agent{i}@desk.test}}\n" for i in range(1, members + 1))
    names = ", ".join(f"agent{i}" for i in range(1, members + 1))
    return f"users:\n{users}teams:\n  - {{name: Field, members: [{names}]}}\nmailboxes:\n"


def test_round_robin_over_three_agents_gives_two_each_out_of_six(cli: Cli, tmp_path: Path) -> None:
    rules = "    rules:\n      - {name: all, team: Field, assign: {round_robin: Field}}\n"
    write_config(cli, tmp_path, people() + mailbox_yaml("desk") + rules)
    for i in range(6):
        assert ingest_outcome(cli, "desk", mail(f"Job {i}", f"c{i}@example.com"))[0] == "new"
    assignees = [record(cli, r["number"])["assignee"] for r in reversed(records(cli))]
    assert assignees == ["agent1", "agent2", "agent3", "agent1", "agent2", "agent3"]
    assert {record(cli, r["number"])["team"] for r in records(cli)} == {"Field"}


def test_least_busy_picks_the_agent_with_fewest_open_records(cli: Cli, tmp_path: Path) -> None:
    rules = """    rules:
      - {name: to agent1, order: 10, keyword: {text: first}, assign: {user: agent1}}
      - {name: busy, order: 20, assign: {least_busy: Field}}
"""
    write_config(cli, tmp_path, people() + mailbox_yaml("desk") + rules)
    for i in range(3):
        assert ingest_outcome(cli, "desk", mail(f"first {i}", f"a{i}@example.com"))[0] == "new"
    for i in range(4):
        assert ingest_outcome(cli, "desk", mail(f"other {i}", f"b{i}@example.com"))[0] == "new"
    got = {r["subject"]: record(cli, r["number"])["assignee"] for r in records(cli)}
    assert [got[f"first {i}"] for i in range(3)] == ["agent1"] * 3
    # agent1 has three open: the others share the next four; a tie goes to the rotation's next.
    assert sorted(got[f"other {i}"] for i in range(4)) == ["agent2", "agent2", "agent3", "agent3"]


@pytest.mark.dovecot
def test_filters_skip_mail_and_unprocessed_decides_its_fate_on_the_server(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    dovecot.create_folder(f"{mailbox_folder}-skipped")
    config = (
        """filters:
  - {name: newsletters, subject_contains: newsletter}
mailboxes:
"""
        + dovecot_mailbox("desk", dovecot, mailbox_folder, unprocessed=f"move:{mailbox_folder}-skipped")
        + """    filters:
      - {name: robots, from: "regex:^noreply@"}
"""
    )
    write_config(cli, tmp_path, config)
    dovecot.append(
        [mail("Monthly NEWSLETTER"), mail("Hi", "noreply@shop.example"), mail("Real question")],
        folder=mailbox_folder,
    )
    out = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    assert "new records 1" in out.stdout and "unprocessed 2" in out.stdout
    assert "newsletters" in out.stderr and "robots" in out.stderr  # logged with the filter's name
    assert [r["subject"] for r in records(cli)] == ["Real question"]
    assert dovecot.count(mailbox_folder) == 0
    assert dovecot.count(f"{mailbox_folder}-skipped") == 2
    again = cli("import", DESK_PASSWORD=dovecot.password, check=True)
    assert "fetched 0" in again.stdout


def test_unprocessed_forward_needs_smtp_to_send_with(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "postroom.yaml"
    path.write_text("mailboxes:\n" + mailbox_yaml("desk", unprocessed="forward:boss@desk.test"))
    result = cli("config", "load", str(path))
    assert result.returncode != 0
    assert "postroom.yaml:10:" in result.stderr  # the line of `unprocessed:`
    assert "forward needs smtp: to send with" in result.stderr


def test_rules_test_explains_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    write_config(cli, tmp_path, people() + mailbox_yaml("jobs") + JMC_RULES.replace(
        "        category: Plumbing\n", "        category: Plumbing\n        assign: {round_robin: Field}\n"
    ))  # fmt: skip
    eml = tmp_path / "order.eml"
    eml.write_bytes(
        mail("JOB - replace hot water unit", "jmcptyltd@gmail.com", "jobs@desk.test", WORK_ORDER_TEXT)
    )
    result = cli("rules", "test", str(eml), "--mailbox", "jobs", "--json", check=True)
    data = json.loads(result.stdout)
    assert data["outcome"] == "new"
    assert data["record"]["kind"] == "job" and data["record"]["customer"] == "JMC PTY Ltd"
    assert data["record"]["assignee"] == "agent1"
    assert data["record"]["fields"]["purchase_order"] == "PO-88231"
    assert any("rule JMC work: matched" in block for block in data["checks"])
    again = json.loads(cli("rules", "test", str(eml), "--mailbox", "jobs", "--json", check=True).stdout)
    assert again["record"]["assignee"] == "agent1"  # the rotation did not turn
    assert records(cli) == []
    text = cli("rules", "test", str(eml), "--mailbox", "jobs", check=True).stdout
    assert "new job" in text and "JMC work" in text and "purchase_order" in text


@pytest.mark.dovecot
def test_rules_test_live_reads_the_mailbox_without_changing_it(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str
) -> None:
    write_config(cli, tmp_path, "mailboxes:\n" + dovecot_mailbox("jobs", dovecot, mailbox_folder) + JMC_RULES)
    dovecot.append([mail("Pricing for fence", "jmcptyltd@gmail.com"), mail("Other")], folder=mailbox_folder)
    before = dovecot.flags(mailbox_folder)
    result = cli(
        "rules", "test", "--mailbox", "jobs", "--live", "--json", DESK_PASSWORD=dovecot.password, check=True
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["subject"], d["outcome"]) for d in lines] == [("Pricing for fence", "new"), ("Other", "new")]
    assert lines[0]["record"]["kind"] == "quote" and lines[1]["record"]["kind"] == "ticket"
    assert dovecot.count(mailbox_folder) == 2 and dovecot.flags(mailbox_folder) == before
    assert records(cli) == []


def test_round_robin_holds_across_concurrent_imports(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Six `postroom ingest` processes at once still give each of three agents two records: the rotation
    is read and advanced under a lock in the transaction that stores each record."""
    import subprocess
    import sys

    rules = "    rules:\n      - {name: all, team: Field, assign: {round_robin: Field}}\n"
    write_config(cli, tmp_path, people() + mailbox_yaml("desk") + rules)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "postroom.cli.main", "ingest", "--mailbox", "desk", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env,
        )
        for _ in range(6)
    ]
    for i, proc in enumerate(procs):  # every process has its mail before any is done: they store at once
        assert proc.stdin is not None
        proc.stdin.write(mail(f"Parallel {i}", f"p{i}@example.com"))
        proc.stdin.close()
    for proc in procs:
        assert proc.stderr is not None and proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    assignees = [record(cli, r["number"])["assignee"] for r in records(cli)]
    assert sorted(assignees) == ["agent1", "agent1", "agent2", "agent2", "agent3", "agent3"]


def test_require_access_imports_only_from_team_members(cli: Cli, tmp_path: Path) -> None:
    head = """users:
  - {name: tech, email: tech@desk.test}
contacts:
  - {name: Site Manager, email: manager@client.example}
teams:
  - {name: Field, members: [tech, manager@client.example]}
mailboxes:
"""
    rules = "    rules:\n      - {name: field only, team: Field, require_access: true}\n"
    write_config(cli, tmp_path, head + mailbox_yaml("desk") + rules)
    assert ingest_outcome(cli, "desk", mail("From staff", "tech@desk.test"))[0] == "new"
    assert ingest_outcome(cli, "desk", mail("From contact", "manager@client.example"))[0] == "new"
    outcome, said = ingest_outcome(cli, "desk", mail("From outsider", "someone@client.example"))
    assert outcome == "unprocessed" and "not a member of team Field" in said
    assert sorted(r["subject"] for r in records(cli)) == ["From contact", "From staff"]


def test_delivered_to_routes_plus_addressed_aliases(cli: Cli, tmp_path: Path) -> None:
    rules = """    rules:
      - {name: quotes alias, delivered_to: "desk+quotes@desk.test", import_as: quote}
"""
    write_config(cli, tmp_path, "mailboxes:\n" + mailbox_yaml("desk") + rules)
    aliased = b"Delivered-To: desk+quotes@desk.test\r\n" + mail("Fence", to="Sales <sales@desk.test>")
    assert ingest_outcome(cli, "desk", aliased)[0] == "new"
    assert ingest_outcome(cli, "desk", mail("Other"))[0] == "new"
    kinds = {r["subject"]: r["kind"] for r in records(cli)}
    assert kinds == {"Fence": "quote", "Other": "ticket"}
