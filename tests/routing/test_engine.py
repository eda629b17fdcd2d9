"""The router on its own: filters, ordered rules, continue, job/quote, sender policy — plain data."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from postroom.mail.parse import parse_message
from postroom.routing.engine import RouteDecision, Sender, route
from postroom.routing.rules import RuleSet


def mail(
    subject: str = "Hello",
    sender: str = "someone@example.com",
    body: str = "Body text.\n",
    to: str = "desk@desk.test",
    headers: dict[str, str] | None = None,
    attachment: bool = False,
) -> Any:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = "<m1@example.com>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment:
        msg.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="order.pdf")
    return parse_message(msg.as_bytes())


def rules(*rows: tuple[str, int, dict[str, Any]], filters: tuple[Any, ...] = (), **kw: Any) -> RuleSet:
    return RuleSet.build("desk", "ticket", filters, rows, **kw)


def decide(msg: Any, rule_set: RuleSet, sender: Sender | None = None, **kw: Any) -> RouteDecision:
    address = msg.from_.address if msg.from_ else ""
    return route(msg, rule_set, sender or Sender(address, contact=1), **kw)


def test_no_rules_falls_back_to_the_mailbox_kind() -> None:
    d = decide(mail(), rules())
    assert (d.action, d.kind, d.rules) == ("import", "ticket", ())
    assert "no rule matched" in d.reason


def test_first_matching_rule_wins_in_order() -> None:
    rs = rules(
        ("later", 20, {"keyword": {"text": ["boiler"]}, "import_as": "task"}),
        ("first", 10, {"keyword": {"text": ["boiler"]}, "import_as": "job"}),
    )
    d = decide(mail("Boiler broken"), rs)
    assert (d.kind, d.rules) == ("job", ("first",))


def test_continue_adds_actions_and_lets_later_rules_run() -> None:
    rs = rules(
        ("vip", 10, {"from_domain": ["example.com"], "priority": "high", "tags": ["vip"], "continue": True}),
        ("jobs", 20, {"keyword": {"text": ["job"]}, "import_as": "job", "priority": "low", "tags": ["work"]}),
        ("never", 30, {"import_as": "case"}),
    )
    d = decide(mail("New job please"), rs)
    assert d.rules == ("vip", "jobs")
    assert (d.kind, d.priority, d.tags) == ("job", "high", ("vip", "work"))


def test_job_and_quote_by_subject_keyword() -> None:
    rs = rules(("jmc", 10, {"from": ["jmcptyltd@gmail.com"], "import_as": "job_and_quote"}))
    job = decide(mail("JOB - replace hot water unit", "jmcptyltd@gmail.com"), rs)
    quote = decide(mail("Pricing for fence", "jmcptyltd@gmail.com"), rs)
    jobs_word = decide(mail("Jobsite visit", "jmcptyltd@gmail.com"), rs)  # whole words only
    assert (job.kind, quote.kind, jobs_word.kind) == ("job", "quote", "quote")
    assert "job keyword 'JOB'" in job.reason


def test_job_keyword_can_be_changed() -> None:
    rs = rules(("wo", 10, {"import_as": "job_and_quote", "job_keyword": "work order"}))
    assert decide(mail("Work  Order 55"), rs).kind == "job"
    assert decide(mail("job 55"), rs).kind == "quote"


def test_address_globs_regex_and_recipient_conditions() -> None:
    rs = rules(
        ("glob", 10, {"from": ["*@example.com"], "to": ["jobs+*@desk.test"], "import_as": "job"}),
        ("regex", 20, {"from": ["regex:^ops-\\d+@"], "import_as": "task"}),
    )
    assert decide(mail(to="jobs+urgent@desk.test"), rs).kind == "job"
    assert decide(mail(to="desk@desk.test"), rs).kind == "ticket"
    assert decide(mail(sender="ops-12@other.org"), rs).kind == "task"


def test_keyword_in_body_and_in_headers() -> None:
    rs = rules(
        ("body", 10, {"keyword": {"text": ["leaking tap"], "in": ["body"]}, "category": "Plumbing"}),
        ("header", 20, {"keyword": {"regex": "apollo-\\d+", "in": ["headers"]}, "category": "Apollo"}),
        ("x-project", 30, {"header": {"X-Project": "zeus"}, "category": "Zeus"}),
    )
    assert decide(mail(body="There is a LEAKING\ntap in unit 4"), rs).category == "Plumbing"
    assert decide(mail(headers={"X-Ticket": "apollo-7"}), rs).category == "Apollo"
    assert decide(mail(headers={"X-Project": "Zeus"}), rs).category == "Zeus"
    assert decide(mail(), rs).category == ""


def test_has_attachment() -> None:
    rs = rules(("orders", 10, {"has_attachment": True, "import_as": "job"}))
    assert decide(mail(attachment=True), rs).kind == "job"
    assert decide(mail(), rs).kind == "ticket"


def test_filters_skip_before_rules_and_explain() -> None:
    rs = rules(
        ("all", 10, {"import_as": "job"}),
        filters=(("no-newsletters", "global", {"subject_contains": ["newsletter"]}),),
    )
    d = decide(mail("Our monthly Newsletter"), rs)
    assert (d.action, d.filtered_by) == ("unprocessed", "no-newsletters")
    assert "filter no-newsletters" in d.reason and "'newsletter'" in d.reason
    assert decide(mail("Job"), rs).action == "import"


def test_filters_apply_to_replies_too_but_unmatched_does_not() -> None:
    rs = rules(
        ("jobs", 10, {"keyword": {"text": ["job"]}, "note_type": "reply"}),
        filters=(("spam", "desk", {"header": {"X-Spam-Flag": "YES"}}),),
        unmatched="unprocessed",
    )
    assert decide(mail(headers={"X-Spam-Flag": "YES"}), rs, joins=42).action == "unprocessed"
    reply = decide(mail("Re: something"), rs, joins=42)
    assert reply.action == "import"
    assert decide(mail("Re: something"), rs).action == "unprocessed"
    note = decide(mail("job update"), rs, joins=42)
    assert (note.note_type, note.action) == ("reply", "import")
    assert "added to its record as a reply" in note.reason


def test_import_as_note_needs_a_record() -> None:
    rs = rules(("notes", 10, {"import_as": "note", "note_type": "note"}))
    assert decide(mail(), rs).action == "unprocessed"
    assert decide(mail(), rs, joins=7).action == "import"


def test_domain_allowlist() -> None:
    rs = rules(("allow", 10, {"from_domain": ["good.example", "*.partner.example"]}), unmatched="unprocessed")
    assert decide(mail(sender="a@good.example"), rs).action == "import"
    assert decide(mail(sender="a@eu.partner.example"), rs).action == "import"
    assert decide(mail(sender="a@bad.example"), rs).action == "unprocessed"


def test_unknown_sender_policies() -> None:
    def policy(mode: str, **extra: Any) -> RuleSet:
        return rules(("r", 10, {"unknown_sender": mode, **extra}))

    stranger = Sender("stranger@nowhere.example")
    accept = decide(mail(), policy("accept"), stranger)
    assert (accept.action, accept.new_contact) == ("import", True)
    owner = decide(mail(), policy("as_owner", owner="alice"), stranger)
    assert (owner.action, owner.owner, owner.new_contact) == ("import", "alice", False)
    reject = decide(mail(), policy("reject"), stranger)
    assert reject.action == "unprocessed" and "rejects unknown senders" in reject.reason
    known = decide(mail(), policy("reject"), Sender("x@example.com", contact=5, account="JMC"))
    assert (known.action, known.customer) == ("import", "JMC")
    by_domain = decide(mail(), policy("reject"), Sender("new@jmc.example", account="JMC"))
    assert (by_domain.action, by_domain.customer, by_domain.new_contact) == ("import", "JMC", False)


def test_require_access_asks_team_membership() -> None:
    rs = rules(("staff", 10, {"team": "Field", "require_access": True}))
    members = {"member@example.com"}

    def in_team(team: str, s: Sender) -> bool:
        return team == "Field" and s.address in members

    ok = decide(mail(sender="member@example.com"), rs, in_team=in_team)
    no = decide(mail(sender="other@example.com"), rs, in_team=in_team)
    assert (ok.action, ok.team) == ("import", "Field")
    assert no.action == "unprocessed" and "not a member of team Field" in no.reason


def test_rule_customer_wins_over_the_senders_account() -> None:
    rs = rules(("jmc", 10, {"from": ["jmcptyltd@gmail.com"], "customer": "JMC PTY Ltd"}))
    d = decide(
        mail(sender="jmcptyltd@gmail.com"), rs, Sender("jmcptyltd@gmail.com", contact=3, account="Gmail")
    )
    assert d.customer == "JMC PTY Ltd"


def test_dry_run_explains_every_condition() -> None:
    rs = rules(("two", 10, {"from": ["boss@example.com"], "keyword": {"text": ["urgent"]}}))
    quick = decide(mail("urgent", sender="x@example.com"), rs)
    full = decide(mail("urgent", sender="x@example.com"), rs, explain_all=True)
    assert not any(c.startswith("rule ") for c in quick.checks)  # an import keeps only what matched
    assert "✗ from: x@example.com matches none of 'boss@example.com'" in full.checks[0]
    assert "✓ keyword: 'urgent' found in the subject" in full.checks[0]


def test_assign_and_routing_values_are_carried() -> None:
    rs = rules(
        (
            "rr",
            10,
            {"assign": {"round_robin": "Field"}, "team": "Field", "category": "Site", "note_type": "note"},
        )
    )
    d = decide(mail(), rs)
    assert d.assign is not None and (d.assign.how, d.assign.target) == ("round_robin", "Field")
    assert (d.team, d.category, d.note_type) == ("Field", "Site", "note")
