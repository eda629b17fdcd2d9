"""Answering by email, end to end through real servers: Dovecot for the mailbox, aiosmtpd for SMTP.

Customer mail -> record -> auto-reply -> agent reply -> the customer's answers (headers only, subject only,
neither, a provider that rewrote our Message-ID) -> a bounce; the SMTP server down and refusing; two
installations whose auto-replies would loop."""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.cli_helpers import dovecot_mailbox, record, records
from tests.e2e.conftest import Cli
from tests.support.builders import mail
from tests.support.smtp import Received, SmtpServer

pytestmark = [pytest.mark.uses_database, pytest.mark.dovecot]

CUSTOMER = "Carol Customer <carol@customer.test>"
AUTO_REPLY = """    auto_reply:
      template: "Dear {requester}, we got your request {reference} ({subject}). {department}"
      subject: "Received: {subject} {reference}"
"""


def smtp_yaml(server: SmtpServer, from_name: str = "Help Desk") -> str:
    return (
        f"    smtp:\n      host: {server.host}\n      port: {server.port}\n"
        f"      security: {server.security}\n      ca_file: {server.ca_file}\n      from_name: {from_name}\n"
    )


def setup_desk(
    cli: Cli, tmp_path: Path, dovecot: Any, folder: str, server: SmtpServer, extra: str = ""
) -> None:
    config = tmp_path / "desk.yaml"
    config.write_text(
        "mailboxes:\n"
        + dovecot_mailbox("desk", dovecot, folder, address="desk@desk.test")
        + smtp_yaml(server)
        + extra
    )
    cli("config", "load", str(config), check=True)
    cli("import", check=True, DESK_PASSWORD=dovecot.password)  # the (empty) backfill: later mail is live


def import_(cli: Cli, dovecot: Any) -> str:
    return str(cli("import", check=True, DESK_PASSWORD=dovecot.password).stdout)


def outbox(cli: Cli) -> list[dict[str, Any]]:
    return json.loads(cli("outbox", "--json", check=True).stdout)


def test_the_whole_round_trip(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server, AUTO_REPLY)
    first = mail("Boiler broken", sender=CUSTOMER, to="desk@desk.test", message_id="<first@customer.test>")
    dovecot.append([first], folder=mailbox_folder)
    assert "new records 1" in import_(cli, dovecot)
    (rec,) = records(cli)
    number = rec["number"]

    # The auto-reply: queued by the import, sent by the outbox, RFC 3834 headers, the reference, threaded.
    cli("outbox", "send", check=True)
    (auto,) = smtp_server.wait_for(1)
    assert auto.rcpt_tos == ["carol@customer.test"]
    assert auto.message["Auto-Submitted"] == "auto-replied"
    assert auto.message["X-Auto-Response-Suppress"] == "All"
    assert auto.message["In-Reply-To"] == "<first@customer.test>"
    assert auto.message["Subject"] == f"Received: Boiler broken [#{number}]"
    assert "Dear Carol Customer, we got your request" in auto.message.get_content()
    assert f"pr-{number}-" in auto.message["Message-ID"]

    # The agent's reply: from the department's address, Re: [#N], threaded on the last inbound message.
    attachment = tmp_path / "quote.pdf"
    attachment.write_bytes(b"%PDF-1.4 quote")
    out = cli("reply", str(number), "--text", "We come on Tuesday.", "--attach", str(attachment), check=True)
    assert out.stdout.startswith("sent ")
    reply = smtp_server.wait_for(2)[1]
    assert reply.message["From"] == "Help Desk <desk@desk.test>"
    assert reply.message["Subject"] == f"Re: [#{number}] Boiler broken"
    assert reply.message["In-Reply-To"] == "<first@customer.test>"
    our_id = reply.message["Message-ID"].strip("<>")
    assert our_id.endswith("@desk.test")
    assert reply.message["References"].split()[-1] == f"<{our_id}>"  # our own id kept in References too
    assert [p.get_filename() for p in reply.message.iter_attachments()] == ["quote.pdf"]
    shown = record(cli, number)
    assert [m["direction"] for m in shown["messages"]] == ["in", "out", "out"]

    # The customer answers with only the headers (the client dropped the reference from the subject) ...
    by_headers = mail("Re: about Tuesday", sender=CUSTOMER, to="desk@desk.test",
                      in_reply_to=f"<{our_id}>", references=f"<first@customer.test> <{our_id}>")  # fmt: skip
    # ... with only the reference in the subject ...
    by_subject = mail(f"Re: [#{number}] one more thing", sender=CUSTOMER, to="desk@desk.test")
    # ... through a provider that rewrote our Message-ID (only References still names ours) ...
    rewritten = mail("Re: Boiler broken", sender=CUSTOMER, to="desk@desk.test",
                     in_reply_to="<AM0PR01-rewritten@outlook.test>", references=f"<{our_id}>")  # fmt: skip
    # ... and with neither: a new record.
    neither = mail("New problem: the sink", sender=CUSTOMER, to="desk@desk.test")
    for raw in (by_headers, by_subject, rewritten, neither):
        dovecot.append([raw], folder=mailbox_folder)
        import_(cli, dovecot)
    listed = {r["number"]: r for r in records(cli)}
    assert len(listed) == 2
    assert listed[number]["message_count"] == 6  # 4 inbound, the auto-reply, the agent's reply
    (other,) = [n for n in listed if n != number]
    assert listed[other]["subject"] == "New problem: the sink"

    # A bounce of our reply lands on its record as a delivery failure and marks the reply failed.
    dovecot.append([bounce_of(our_id, "carol@customer.test")], folder=mailbox_folder)
    summary = import_(cli, dovecot)
    assert "new records 0" in summary and "added to existing 1" in summary
    assert record(cli, number)["messages"][-1]["subject"].startswith("Undelivered Mail")
    shown = record(cli, number)
    (on_record,) = [m for m in shown["messages"] if m["message_id"] == our_id]
    assert on_record["outbox"]["status"] == "failed" and "5.1.1" in on_record["outbox"]["error"]
    assert "delivery failure" in shown["messages"][-1]["why"]
    assert shown["messages"][-1]["entry_type"] == "delivery_failure"
    sent_reply = next(m for m in outbox(cli) if m["message_id"] == our_id)
    assert sent_reply["status"] == "failed" and "5.1.1" in sent_reply["error"]
    assert sent_reply["refused"] == {"carol@customer.test": sent_reply["refused"]["carol@customer.test"]}


def bounce_of(message_id: str, recipient: str) -> bytes:
    """A Postfix-style RFC 3464 report on one of our mails."""
    return f"""From: MAILER-DAEMON@mx.customer.test (Mail Delivery System)
To: desk@desk.test
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: <bounce-1@mx.customer.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b-report"

--b-report
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--b-report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.test

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--b-report
Content-Type: text/rfc822-headers

From: desk@desk.test
To: {recipient}
Message-ID: <{message_id}>
Subject: Re

--b-report--
""".replace("\n", "\r\n").encode()


def test_smtp_down_then_up_sends_each_queued_mail_once(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server)
    dovecot.append([mail("Leak", sender=CUSTOMER, to="desk@desk.test")], folder=mailbox_folder)
    import_(cli, dovecot)
    number = records(cli)[0]["number"]
    smtp_server.stop()
    out = cli("reply", str(number), "--text", "On our way.", check=True).stdout
    assert "not sent yet" in out and "connection refused" in out
    (queued,) = outbox(cli)
    assert queued["status"] == "queued" and queued["attempts"] == 1
    assert cli("outbox", "send", check=True).stdout.startswith("outbox: sent 0")  # not due yet: backoff

    smtp_server.start()
    smtp_server.answer = "tempfail"  # up, but answering 4xx: still queued, the server's answer kept
    cli("outbox", "send", "--all", check=True)
    (queued,) = outbox(cli)
    assert queued["status"] == "queued" and queued["error"].startswith("SMTP") and "451" in queued["error"]
    smtp_server.answer = "accept"
    assert "sent 1" in cli("outbox", "send", "--all", check=True).stdout
    assert "sent 0" in cli("outbox", "send", "--all", check=True).stdout
    (got,) = smtp_server.wait_for(1)
    assert smtp_server.attempts[got.message_id] == 2  # the 451 and the 250; never a second copy
    assert outbox(cli)[0]["status"] == "sent"

    smtp_server.answer = "reject"  # 5xx: failed at once, with the server's reply
    out = cli("reply", str(number), "--text", "Again.")
    assert out.returncode == 1 and "550" in out.stdout
    assert outbox(cli)[0]["status"] == "failed"


def test_no_auto_reply_to_automatic_mail_robots_or_ourselves(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server, AUTO_REPLY)
    ooo = mail("Out of office", sender=CUSTOMER, to="desk@desk.test")
    ooo = ooo.replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1)
    bulk = mail("Newsletter", sender="news@shop.test", to="desk@desk.test").replace(
        b"Subject:", b"Precedence: bulk\r\nSubject:", 1
    )
    robot = mail("Your order", sender="noreply@shop.test", to="desk@desk.test")
    ours = mail("Loop?", sender="desk@desk.test", to="desk@desk.test")
    person = mail("Hello", sender="dan@customer.test", to="desk@desk.test").replace(
        b"Subject:", b"Auto-Submitted: no\r\nSubject:", 1
    )
    dovecot.append([ooo, bulk, robot, ours, person], folder=mailbox_folder)
    import_(cli, dovecot)
    cli("outbox", "send", check=True)
    assert [m["to"] for m in outbox(cli)] == [["dan@customer.test"]]  # `Auto-Submitted: no` is a person
    assert smtp_server.wait_for(1)[0].rcpt_tos == ["dan@customer.test"]


def strip_loop_guards(raw: bytes) -> bytes:
    """A misbehaving relay: drops every header that would stop a loop, and the reference in the subject."""
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    for name in ("Auto-Submitted", "X-Auto-Response-Suppress", "In-Reply-To", "References"):
        del msg[name]
    subject = re.sub(r"\[#\d+\]", "", str(msg["Subject"]))
    msg.replace_header("Subject", " ".join(subject.split()))
    return msg.as_bytes()


def desk_env(folder: Path, dovecot: Any) -> dict[str, str]:
    """A second installation: a data folder and SQLite database of its own, whichever database the run
    uses (two installations sharing one PostgreSQL database would be one installation)."""
    return {
        "POSTROOM_DATA_DIR": str(folder / "data"),
        "DESK_PASSWORD": dovecot.password,
        "POSTROOM_DATABASE_URL": "",
    }


def test_two_desks_auto_replying_to_each_other_stop_at_the_limit(
    cli: Cli, tmp_path: Path, dovecot: Any, smtp_server: SmtpServer
) -> None:
    folders = {"a@desk-a.test": "loopa", "b@desk-b.test": "loopb"}
    for folder in folders.values():
        dovecot.create_folder(folder)
        dovecot.clear(folder)

    def relay(received: Received) -> None:
        for rcpt in received.rcpt_tos:
            dovecot.append([strip_loop_guards(received.data)], folder=folders[rcpt])

    smtp_server.deliver = relay
    desks = {"a": tmp_path / "a", "b": tmp_path / "b"}
    for name, address in (("a", "a@desk-a.test"), ("b", "b@desk-b.test")):
        desks[name].mkdir()
        config = desks[name] / "c.yaml"
        config.write_text(
            "mailboxes:\n"
            + dovecot_mailbox(name, dovecot, folders[address], address=address)
            + smtp_yaml(smtp_server)
            + AUTO_REPLY
        )
        env = desk_env(desks[name], dovecot)
        cli("config", "load", str(config), check=True, **env)
        cli("import", check=True, **env)
    dovecot.append([mail("Hi from B", sender="b@desk-b.test", to="a@desk-a.test")], folder="loopa")
    for _ in range(8):  # more rounds than the limit of 5 auto-replies per sender per hour allows
        for name in ("a", "b"):
            env = desk_env(desks[name], dovecot)
            cli("import", check=True, **env)
            cli("outbox", "send", check=True, **env)
    to_b = [r for r in smtp_server.received if r.rcpt_tos == ["b@desk-b.test"]]
    to_a = [r for r in smtp_server.received if r.rcpt_tos == ["a@desk-a.test"]]
    assert len(to_b) == 5 and len(to_a) == 5


def test_a_sender_opening_too_many_records_is_held_for_review(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    head = "settings:\n  flood_limit: {records: 3, minutes: 60}\n"
    config = tmp_path / "desk.yaml"
    config.write_text(head + "mailboxes:\n" + dovecot_mailbox("desk", dovecot, mailbox_folder))
    cli("config", "load", str(config), check=True)
    import_(cli, dovecot)
    dovecot.append(
        [mail(f"Alert {i}", sender="robot@monitor.test", to="desk@desk.test") for i in range(5)],
        folder=mailbox_folder,
    )
    summary = import_(cli, dovecot)
    assert "new records 3" in summary and "held for review 2" in summary
    assert len(records(cli)) == 3
    assert json.loads(cli("status", "--json", check=True).stdout)[0]["held"] == 2
    held = json.loads(cli("failed", "--json", check=True).stdout)
    assert [h["status"] for h in held] == ["held", "held"]
    assert "robot@monitor.test opened 3 records in the last 60 minutes (limit 3)" in held[0]["reason"]
    # An admin lets one through: it opens its record despite the limit; the other stays held.
    out = cli("reprocess", str(held[0]["id"]), check=True).stdout
    assert out.startswith(f"{held[0]['id']}: new record")
    assert len(records(cli)) == 4
    assert [h["status"] for h in json.loads(cli("failed", "--json", check=True).stdout)] == ["held"]


def test_unprocessed_mail_is_forwarded_as_an_attachment_and_only_then_deleted(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    rules = (
        "    unprocessed: forward:triage@desk.test\n"
        "    filters:\n      - {name: no ads, subject_contains: SALE}\n"
    )
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server, rules)
    ad = mail("SALE: everything must go", sender="shop@ads.test", to="desk@desk.test")
    dovecot.append([ad], folder=mailbox_folder)
    smtp_server.stop()
    assert "unprocessed 1" in import_(cli, dovecot)
    assert dovecot.count(mailbox_folder) == 1  # not forwarded yet: still on the server
    assert records(cli) == []
    smtp_server.start()
    cli("outbox", "send", "--all", check=True)
    (fwd,) = smtp_server.wait_for(1)
    assert fwd.rcpt_tos == ["triage@desk.test"] and fwd.message["Subject"].startswith("Fwd: SALE")
    (original,) = [p for p in fwd.message.iter_attachments() if p.get_content_type() == "message/rfc822"]
    assert original.get_content()["Subject"] == "SALE: everything must go"
    import_(cli, dovecot)  # the next cycle tells the server: forwarded, so deleted (after_import: delete)
    assert dovecot.count(mailbox_folder) == 0


def test_outgoing_settings_round_trip_through_config_dump_with_passwords_masked(
    cli: Cli, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "settings:\n  auto_reply_limit: 3\n  flood_limit: {records: 10, minutes: 30}\n"
        + NOTIFY_HEAD
        + "mailboxes:\n  - name: desk\n    protocol: imap\n    host: imap.desk.test\n    username: desk\n"
        "    password: imap-secret\n    address: desk@desk.test\n    save_sent: Sent\n"
        "    smtp:\n      host: smtp.desk.test\n      port: 587\n      username: desk\n"
        "      password: smtp-secret\n      from_name: Plumbing Desk\n"
        + AUTO_REPLY
        + "    rules:\n      - name: vip\n        from: boss@desk.test\n        auto_reply: false\n"
    )
    cli("config", "load", str(config), check=True)
    dumped = cli("config", "dump", check=True).stdout
    assert "smtp-secret" not in dumped and "imap-secret" not in dumped
    assert "from_name: Plumbing Desk" in dumped and "auto_reply_limit: 3" in dumped
    assert "- new_record" in dumped and "members: true" in dumped
    again = tmp_path / "dumped.yaml"
    again.write_text(dumped)
    reload = cli("config", "load", str(again), check=True)
    assert reload.stdout == "" and "nothing changed" in reload.stderr
    assert cli("config", "dump", check=True).stdout == dumped


def test_save_sent_puts_a_copy_of_the_reply_in_the_sent_folder(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    sent_folder = mailbox_folder + "-sent"
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server, f"    save_sent: {sent_folder}\n")
    dovecot.append([mail("Leak", sender=CUSTOMER, to="desk@desk.test")], folder=mailbox_folder)
    import_(cli, dovecot)
    number = records(cli)[0]["number"]
    cli("reply", str(number), "--text", "On our way.", check=True, DESK_PASSWORD=dovecot.password)
    (got,) = smtp_server.wait_for(1)
    assert dovecot.list_raw(sent_folder) == [got.data]  # the very bytes sent, made folder and all


NOTIFY_HEAD = """users:
  - {name: Dana, email: dana@desk.test}
  - {name: Max, email: max@desk.test}
  - {name: Eve, email: eve@desk.test}
teams:
  - name: Field
    members: [Dana, Max]
    notify: {members: true, events: [new_record, new_message, status_change]}
"""
NOTIFY_RULES = """    rules:
      - {name: field work, team: Field, assign: {user: Dana}}
"""


def test_notifications_reach_followers_not_in_to_cc_and_never_the_one_who_caused_them(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    config = tmp_path / "desk.yaml"
    config.write_text(
        NOTIFY_HEAD + "mailboxes:\n"
        + dovecot_mailbox("desk", dovecot, mailbox_folder, address="desk@desk.test")
        + smtp_yaml(smtp_server) + NOTIFY_RULES
    )  # fmt: skip
    cli("config", "load", str(config), check=True)
    import_(cli, dovecot)

    def told() -> list[str]:
        cli("outbox", "send", check=True)
        got = sorted(r.rcpt_tos[0] for r in smtp_server.received)
        smtp_server.clear()
        return got

    # A new record, assigned to Dana by the rule; Max (a member) was in Cc, so he has the mail already.
    dovecot.append([mail("Tap drips", sender=CUSTOMER, to="desk@desk.test", cc="max@desk.test")],
                   folder=mailbox_folder)  # fmt: skip
    import_(cli, dovecot)
    number = records(cli)[0]["number"]
    assert told() == ["dana@desk.test"]
    (note,) = [m for m in outbox(cli) if m["kind"] == "notification"]
    assert note["record"] == number

    # Eve follows; the customer writes again, to the desk only: every follower is told, none was in To/Cc.
    assert "now follows" in cli("records", "follow", str(number), "Eve", check=True).stdout
    dovecot.append([mail(f"Re: [#{number}] Tap drips", sender=CUSTOMER, to="desk@desk.test")],
                   folder=mailbox_folder)  # fmt: skip
    import_(cli, dovecot)
    assert told() == ["dana@desk.test", "eve@desk.test", "max@desk.test"]

    # Dana writes on the record herself: the others are told, she is not.
    dovecot.append([mail(f"[#{number}] parts ordered", sender="Dana <dana@desk.test>", to="desk@desk.test")],
                   folder=mailbox_folder)  # fmt: skip
    import_(cli, dovecot)
    assert told() == ["eve@desk.test", "max@desk.test"]

    # A status change by Dana: told to the others; an assignment: not among the team's events.
    cli("records", "status", str(number), "closed", "--as", "Dana", check=True)
    assert told() == ["eve@desk.test", "max@desk.test"]
    cli("records", "assign", str(number), "Max", "--as", "Dana", check=True)
    assert told() == []
    shown = record(cli, number)
    assert shown["assignee"] == "Max" and shown["followers"] == ["Eve"] and shown["status"] == "closed"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("teams:\n  - {name: F, notify: {events: [new_reply]}}\n",
         "teams[0] (F) key 'notify.events[0]': must be one of new_record, new_message, assignment, "
         "status_change, got 'new_reply'"),
        ("teams:\n  - {name: F, notify: {everyone: true}}\n", "key 'notify.everyone': unknown key"),
        ("mailboxes:\n  - {name: d, protocol: imap, host: h, username: u, password: p, address: d@x.test,\n"
         "     auto_reply: {template: 'Hi {name}'}, smtp: {host: s}}\n", "unknown placeholder {name}"),
        ("mailboxes:\n  - {name: d, protocol: imap, host: h, username: u, password: p, address: d@x.test,\n"
         "     auto_reply: {template: Hi}}\n", "key 'auto_reply': needs smtp: (the server it sends through)"),
        ("settings:\n  flood_limit: {records: 0}\n", "records must be between 1 and 100000, got 0"),
    ],
)  # fmt: skip
def test_outgoing_configuration_problems_name_line_and_key(
    cli: Cli, tmp_path: Path, text: str, problem: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text if "mailboxes:" in text else text + "mailboxes: []\n")
    result = cli("config", "load", str(config))
    assert result.returncode == 78 and problem in result.stderr and "bad.yaml:" in result.stderr


QUEUE_REPLIES = r"""
import sys, django
django.setup()
from django.db import transaction
from postroom.outgoing.reply import queue_reply
with transaction.atomic():
    for i in range(int(sys.argv[2])):
        queue_reply(int(sys.argv[1]), f"reply {i}")
"""


def test_three_concurrent_senders_send_each_queued_mail_once(
    cli: Cli,
    cli_env: dict[str, str],
    tmp_path: Path,
    dovecot: Any,
    mailbox_folder: str,
    smtp_server: SmtpServer,
) -> None:
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server)
    dovecot.append([mail("Leak", sender=CUSTOMER, to="desk@desk.test")], folder=mailbox_folder)
    import_(cli, dovecot)
    number = records(cli)[0]["number"]
    subprocess.run([sys.executable, "-c", QUEUE_REPLIES, str(number), "40"], env=cli_env, check=True)
    senders = [
        subprocess.Popen([sys.executable, "-m", "postroom.cli.main", "outbox", "send"], env=cli_env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in senders]
    assert all(p.returncode == 0 for p in senders), outputs
    assert sum(int(re.search(r"sent (\d+)", out).group(1)) for out, _ in outputs) == 40  # type: ignore[union-attr]
    got = smtp_server.wait_for(40)
    assert len({r.message_id for r in got}) == 40 == len(smtp_server.received)
    assert {m["status"] for m in outbox(cli)} == {"sent"}


def test_check_tries_the_smtp_server_too_and_says_what_failed(
    cli: Cli, tmp_path: Path, dovecot: Any, mailbox_folder: str, smtp_server: SmtpServer
) -> None:
    setup_desk(cli, tmp_path, dovecot, mailbox_folder, smtp_server)
    ok = cli("check", "desk", DESK_PASSWORD=dovecot.password)
    assert ok.returncode == 0 and f"smtp 127.0.0.1:{smtp_server.port} (starttls)" in ok.stdout
    smtp_server.stop()
    down = cli("check", "desk", DESK_PASSWORD=dovecot.password)
    assert down.returncode == 2 and "connection refused" in down.stdout
    smtp_server.start()
    (tmp_path / "desk.yaml").write_text(
        (tmp_path / "desk.yaml").read_text().replace(f"ca_file: {smtp_server.ca_file}", "ca_file: ")
    )
    cli("config", "load", str(tmp_path / "desk.yaml"), check=True)
    untrusted = cli("check", "desk", DESK_PASSWORD=dovecot.password)
    assert untrusted.returncode == 2 and "certificate not trusted" in untrusted.stdout
    assert len(smtp_server.received) == 0  # a check sends nothing
