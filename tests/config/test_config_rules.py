"""Filters, rules and field mappings in the configuration file: normalized specs that compile into a RuleSet,
every problem with its line and key path, idempotent loading, and dump → load without change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postroom.mail.parse import parse_message
from postroom.mailboxes.config_file import ConfigFile, FilterConfig, RuleConfig, dump_config
from postroom.mailboxes.models import Filter, Mailbox, Rule
from postroom.mailboxes.sync import apply_config, current_config
from postroom.routing.rules import Conditions, RuleSet
from postroom.routing.rules import Rule as CompiledRule
from tests.config.helpers import line_of, load, problems

PEOPLE = """\
users:
  - {name: Dana, email: dana@example.com}
  - {name: Max, email: max@example.com}
teams:
  - {name: Field, members: [Dana, Max]}
  - {name: Office}
"""

MAILBOX = """\
mailboxes:
  - name: jobs
    protocol: imap
    host: mail.example.com
    username: jobs@example.com
    password: secret
    address: jobs@example.com
"""

EXAMPLE = (
    PEOPLE
    + """\
filters:
  - {name: newsletters, from_domain: [news.example.com, "*.mailer.example.net"]}
  - name: auto replies
    header: {Auto-Submitted: "regex:^auto-"}
"""
    + MAILBOX
    + """\
    unmatched: unprocessed
    unprocessed: move:Unsorted
    filters:
      - {name: spam, subject_contains: "[SPAM]"}
    rules:
      - name: JMC jobs
        from: jmcptyltd@gmail.com
        import_as: job_and_quote
        job_keyword: job
        customer: JMC PTY Ltd
        team: Field
        assign: {round_robin: Field}
        mappings:
          - {field: site_address, start: "Site Address:", end: "", source: body, required: true, default: "",
             transform: trim}
          - {regex: "PO(?P<purchase_order>\\\\d+)", source: subject}
      - name: urgent
        order: 5
        continue: true
        keyword: urgent
        priority: urgent
      - name: catch-all
        tags: unsorted
"""
)


def box(text: str) -> str:
    """A file with PEOPLE, and the jobs mailbox with ``text`` (indented as its keys) added."""
    return PEOPLE + MAILBOX + "".join(f"    {line}\n" for line in text.splitlines())


def rule(text: str) -> str:
    """The jobs mailbox with one rule given as YAML lines (the first is `name: ...`)."""
    lines = text.splitlines()
    return box("rules:\n" + "\n".join(["  - " + lines[0], *("    " + line for line in lines[1:])]))


# --- normalized specs ----------------------------------------------------------------------------------


def test_the_example_is_normalized_to_specs() -> None:
    config = load(EXAMPLE)
    assert config.filters == (
        FilterConfig("newsletters", {"from_domain": ["news.example.com", "*.mailer.example.net"]}),
        FilterConfig("auto replies", {"header": {"Auto-Submitted": "regex:^auto-"}}),
    )
    (jobs,) = config.mailboxes
    assert (jobs.unmatched, jobs.unprocessed) == ("unprocessed", "move:Unsorted")
    assert jobs.filters == (FilterConfig("spam", {"subject_contains": ["[SPAM]"]}),)
    assert jobs.rules == (
        RuleConfig(
            "JMC jobs",
            10,
            {
                "from": ["jmcptyltd@gmail.com"],
                "import_as": "job_and_quote",
                "job_keyword": "job",
                "customer": "JMC PTY Ltd",
                "team": "Field",
                "assign": {"round_robin": "Field"},
                "mappings": [
                    {
                        "field": "site_address",
                        "start": "Site Address:",
                        "required": True,
                        "default": "",
                        "transform": "trim",
                    },
                    {"regex": "PO(?P<purchase_order>\\d+)", "source": "subject"},
                ],
            },
        ),
        RuleConfig(
            "urgent",
            5,
            {
                "continue": True,
                "keyword": {"text": ["urgent"], "in": ["subject", "body"]},
                "priority": "urgent",
            },
        ),
        RuleConfig("catch-all", 30, {"tags": ["unsorted"]}),
    )


@pytest.mark.parametrize(
    ("written", "spec"),
    [
        ("from: [a@x.test, '*@y.test']", {"from": ["a@x.test", "*@y.test"]}),
        ("to: 'regex:^(jobs|sales)@'", {"to": ["regex:^(jobs|sales)@"]}),
        ("cc: b@x.test", {"cc": ["b@x.test"]}),
        ("delivered_to: [jobs+jmc@x.test]", {"delivered_to": ["jobs+jmc@x.test"]}),
        ("from_domain: [Example.COM., '*.Sub.test']", {"from_domain": ["example.com", "*.sub.test"]}),
        ("keyword: [urgent, asap]", {"keyword": {"text": ["urgent", "asap"], "in": ["subject", "body"]}}),
        ("keyword: {text: urgent, in: headers}", {"keyword": {"text": ["urgent"], "in": ["headers"]}}),
        (
            "keyword: {regex: 'PO\\d+', in: [body, subject, body]}",
            {"keyword": {"regex": "PO\\d+", "in": ["body", "subject"]}},
        ),
        (
            "keyword: {text: [a], regex: b}",
            {"keyword": {"text": ["a"], "regex": "b", "in": ["subject", "body"]}},
        ),
        ("subject_contains: quote request", {"subject_contains": ["quote request"]}),
        ("body_contains: ['regex:ref \\d+', x]", {"body_contains": ["regex:ref \\d+", "x"]}),
        ("header: {X-Project: apollo, X-Flag: '*'}", {"header": {"X-Project": "apollo", "X-Flag": "*"}}),
        ("header: {X-Priority: 1}", {"header": {"X-Priority": "1"}}),
        ("has_attachment: false", {"has_attachment": False}),
    ],
)
def test_conditions_are_normalized(written: str, spec: dict[str, object]) -> None:
    (jobs,) = load(rule(f"name: r\n{written}")).mailboxes
    assert jobs.rules == (RuleConfig("r", 10, spec),)
    CompiledRule.from_spec("r", 10, jobs.rules[0].spec)
    (jobs,) = load(box(f"filters:\n  - name: f\n    {written}")).mailboxes
    assert jobs.filters == (FilterConfig("f", spec),)
    Conditions.from_spec(jobs.filters[0].spec)


@pytest.mark.parametrize(
    ("written", "spec"),
    [
        ("import_as: NOTE", {"import_as": "note"}),
        ("category: Plumbing", {"category": "Plumbing"}),
        ("team: Office\nrequire_access: true", {"team": "Office", "require_access": True}),
        ("priority: High", {"priority": "high"}),
        ("tags: [a, b]", {"tags": ["a", "b"]}),
        ("tags: one", {"tags": ["one"]}),
        ("note_type: reply", {"note_type": "reply"}),
        ("assign: {user: Max}", {"assign": {"user": "Max"}}),
        ("assign: {least_busy: Field}", {"assign": {"least_busy": "Field"}}),
        ("unknown_sender: reject", {"unknown_sender": "reject"}),
        ("unknown_sender: as_owner\nowner: Dana", {"unknown_sender": "as_owner", "owner": "Dana"}),
        ("continue: false", {"continue": False}),
        ("mappings:\n  - {field: po, start: 'PO:', source: body, end: ''}",
         {"mappings": [{"field": "po", "start": "PO:"}]}),
        ("mappings:\n  - {field: po, start: 'PO:', end: \"\\n\", default: ~}",
         {"mappings": [{"field": "po", "start": "PO:", "end": "\n"}]}),
        ("mappings:\n  - {field: total, start: Total, source: HTML_TABLE, transform: Number}",
         {"mappings": [{"field": "total", "start": "Total", "source": "html_table", "transform": "number"}]}),
    ],
)  # fmt: skip
def test_actions_are_normalized(written: str, spec: dict[str, object]) -> None:
    (jobs,) = load(rule(f"name: r\n{written}")).mailboxes
    assert jobs.rules == (RuleConfig("r", 10, spec),)
    CompiledRule.from_spec("r", 10, jobs.rules[0].spec)


def test_a_rule_without_conditions_is_a_catch_all() -> None:
    (jobs,) = load(rule("name: everything\nimport_as: task")).mailboxes
    compiled = CompiledRule.from_spec("everything", 10, jobs.rules[0].spec)
    ok, checks = compiled.conditions.test(_mail())
    assert (ok, checks) == (True, [])


def test_orders_default_to_position_times_ten_and_ties_keep_file_order() -> None:
    text = box("rules:\n  - {name: a}\n  - {name: b, order: 10}\n  - {name: c, order: 1}\n  - {name: d}")
    (jobs,) = load(text).mailboxes
    assert [(r.name, r.order) for r in jobs.rules] == [("a", 10), ("b", 10), ("c", 1), ("d", 40)]
    rules = RuleSet.build("jobs", "ticket", rules=[(r.name, r.order, r.spec) for r in jobs.rules]).rules
    assert [r.name for r in rules] == ["c", "a", "b", "d"]


def test_no_rules_or_filters_and_defaults() -> None:
    (jobs,) = load(box("rules:\nfilters: []")).mailboxes
    assert (jobs.rules, jobs.filters, jobs.unmatched, jobs.unprocessed) == ((), (), "import", "keep")


@pytest.mark.parametrize(
    ("value", "stored"), [("keep", "keep"), ("DELETE", "delete"), ("move:Later", "move:Later"), ("~", "keep")]
)
def test_unprocessed(value: str, stored: str) -> None:
    assert load(box(f"unprocessed: {value}")).mailboxes[0].unprocessed == stored


# --- compiling and matching -------------------------------------------------------------------------------


def _mail(sender: str = "jmcptyltd@gmail.com", subject: str = "New job PO4411", body: str = "Hi") -> object:
    raw = (
        f"From: JMC <{sender}>\r\nTo: jobs@example.com\r\nSubject: {subject}\r\nMessage-ID: "
        f"<1@x>\r\nAuto-Submitted: no\r\n\r\n{body}\r\n"
    )
    return parse_message(raw.encode())


def test_a_loaded_example_builds_a_rule_set_that_routes_mail() -> None:
    config = load(EXAMPLE)
    (jobs,) = config.mailboxes
    rule_set = RuleSet.build(
        jobs.name,
        jobs.record_kind,
        filters=[(f.name, "global", f.spec) for f in config.filters]
        + [(f.name, jobs.name, f.spec) for f in jobs.filters],
        rules=[(r.name, r.order, r.spec) for r in jobs.rules],
        unmatched=jobs.unmatched,
    )
    assert [f.name for f in rule_set.filters] == ["newsletters", "auto replies", "spam"]
    assert [(r.name, r.order, r.continues) for r in rule_set.rules] == [
        ("urgent", 5, True), ("JMC jobs", 10, False), ("catch-all", 30, False),
    ]  # fmt: skip
    newsletters, auto, spam = rule_set.filters
    assert newsletters.conditions.test(_mail("x@a.mailer.example.net"))[0]
    assert not newsletters.conditions.test(_mail())[0]
    assert not auto.conditions.test(_mail())[0]
    assert spam.conditions.test(_mail(subject="[SPAM] cheap"))[0]
    urgent, jmc, catch_all = rule_set.rules
    assert urgent.conditions.test(_mail(body="Urgent please"))[0]
    assert not urgent.conditions.test(_mail(body="not urgently"))[0]  # whole words
    assert jmc.conditions.test(_mail("JMCPTYLTD@gmail.com"))[0]
    assert not jmc.conditions.test(_mail("other@gmail.com"))[0]
    assert jmc.actions.import_as == "job_and_quote" and jmc.actions.job_keyword is not None
    assert jmc.actions.assign is not None and (jmc.actions.assign.how, jmc.actions.assign.target) == (
        "round_robin", "Field",
    )  # fmt: skip
    assert [m.field or m.regex for m in jmc.actions.mappings] == [
        "site_address",
        "PO(?P<purchase_order>\\d+)",
    ]
    extraction = jmc.extractor.extract("New job PO4411", "Site Address: 12 High St\n", None)
    assert extraction.fields == {"site_address": "12 High St", "purchase_order": "4411"}
    assert catch_all.conditions.test(_mail())[0] and catch_all.actions.tags == ("unsorted",)


def test_the_readme_example_loads_and_compiles() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration file", 1)[1].split("\n## ", 1)[0]
    text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = load(text)
    for m in config.mailboxes:
        filters = [(f.name, m.name, f.spec) for f in (*config.filters, *m.filters)]
        RuleSet.build(
            m.name, m.record_kind, filters, [(r.name, r.order, r.spec) for r in m.rules], m.unmatched
        )
    assert config.mailboxes[0].rules and config.filters and config.teams and config.contacts
    # The error the README shows for a bad keyword regex is the one given, on the line given.
    shown = re.search(r"`mailboxes\.yaml:(\d+): mailboxes\[0\] \(support\)\.rules[^`]*`", section, re.S)
    assert shown is not None
    bad = text.replace(
        "keyword: {text: [urgent, asap], in: [subject]}", 'keyword: {regex: "(", in: [subject]}'
    )
    (problem,) = problems(bad)
    assert problem.replace("config.yaml", "mailboxes.yaml") == " ".join(shown.group(0).strip("`").split("\n"))


# --- problems -------------------------------------------------------------------------------------------

WHERE = "mailboxes[0] (jobs).rules[0] (r)"

RULE_ERRORS = [
    ("order: ten", "order", "must be a whole number, got 'ten'"),
    ("order: 1000001", "order", "must be between 0 and 1000000, got 1000001"),
    ("continue: yes please", "continue", "must be true or false, got 'yes please'"),
    ("from: example.com", "from",
     "must be an address, a glob like *@example.com or regex:RE, got 'example.com'"),
    ("from: 'Dana <d@x.test>'", "from", "must be a bare address or a glob like *@example.com"),
    ("from: 'regex:('", "from", "'(' is not a valid regex: missing ), unterminated subpattern at position 0"),
    ("from: 'regex:'", "from", "regex: needs a pattern after it"),
    ("from: []", "from", "must not be an empty list (leave the key out instead)"),
    ("from: {a: b}", "from", "must be text or a list, got a mapping"),
    ("to: [a@x.test, 'regex:[']", "to[1]",
     "'[' is not a valid regex: unterminated character set at position 0"),
    ("from_domain: a@example.com", "from_domain", "give the domain only (like example.com), not an address"),
    ("from_domain: 'regex:.*'", "from_domain", "takes domains (example.com, or *.example.com for its"),
    ("from_domain: 'bad domain'", "from_domain", "must be a domain like example.com or *.example.com"),
    ("keyword: {regex: '('}", "keyword.regex",
     "'(' is not a valid regex: missing ), unterminated subpattern"),
    ("keyword: {text: a, in: [subject, footer]}", "keyword.in[1]",
     "must be one of subject, body, headers, got 'footer'"),
    ("keyword: {in: [body]}", "keyword", "needs text: PHRASE (or a list) or regex: RE"),
    ("keyword: {txt: a}", "keyword.txt", "unknown key; did you mean 'text'?"),
    ("keyword: ' '", "keyword", "must not be blank"),
    ("subject_contains: ['regex:a(']", "subject_contains[0]", "'a(' is not a valid regex"),
    ("body_contains: [1, [x]]", "body_contains[1]", "must be text, got a list"),
    ("header: {X-Project: 'regex:['}", "header.X-Project", "'[' is not a valid regex"),
    ("header: {'X Project': a}", "header.X Project", "is not a header name"),
    ("header: {X-Flag: ~}", "header.X-Flag", 'needs a pattern: text the header contains, regex:RE, or "*"'),
    ("header: {}", "header", "needs at least one header (NAME: PATTERN)"),
    ("header: X-Project", "header", "must be a mapping"),
    ("has_attachment: maybe", "has_attachment", "must be true or false, got 'maybe'"),
    ("import_as: incident", "import_as",
     "must be one of ticket, job, quote, task, case, job_and_quote, note, got 'incident'"),
    ("job_keyword: job", "job_keyword", "only goes with import_as: job_and_quote"),
    ("import_as: job\njob_keyword: job", "job_keyword", "only goes with import_as: job_and_quote"),
    ("customer: ''", "customer", "must not be empty"),
    ("team: Feild", "team", "no team 'Feild' in teams:; did you mean 'Field'?"),
    ("team: Sales", "team", "no team 'Sales' in teams: (teams: lists Field, Office)"),
    ("priority: critical", "priority", "must be one of low, normal, high, urgent, got 'critical'"),
    ("tags: [a, '']", "tags[1]", "must not be empty"),
    ("note_type: " + "x" * 51, "note_type", "is too long (51 characters, at most 50)"),
    ("assign: {}", "assign", "needs exactly one of user, round_robin, least_busy"),
    ("assign: {user: Dana, round_robin: Field}", "assign",
     "needs exactly one of user, round_robin, least_busy: got user, round_robin"),
    ("assign: Dana", "assign", "must be a mapping: {user: Dana}, {round_robin: TEAM} or {least_busy: TEAM}"),
    ("assign: {user: Dan}", "assign.user", "no user 'Dan' in users:; did you mean 'Dana'?"),
    ("assign: {user: dana@example.com}", "assign.user", "'dana@example.com' is the email of user 'Dana'"),
    ("assign: {round_robin: Feild}", "assign.round_robin",
     "no team 'Feild' in teams:; did you mean 'Field'?"),
    ("assign: {least_busy: Office}", "assign.least_busy",
     "team 'Office' has no users among its members: there is no one to assign to"),
    ("assign: {roundrobin: Field}", "assign.roundrobin", "unknown key; did you mean 'round_robin'?"),
    ("unknown_sender: ignore", "unknown_sender", "must be one of accept, as_owner, reject, got 'ignore'"),
    ("unknown_sender: as_owner", "unknown_sender", "as_owner needs owner: USER-NAME"),
    ("owner: Dana", "owner", "only goes with unknown_sender: as_owner"),
    ("unknown_sender: reject\nowner: Dana", "owner", "only goes with unknown_sender: as_owner"),
    ("unknown_sender: as_owner\nowner: Bob", "owner", "no user 'Bob' in users: (users: lists Dana, Max)"),
    ("require_access: true", "require_access", "needs team: (the team whose members and contacts may send"),
    ("require_access: 1", "require_access", "must be true or false, got '1'"),
    ("mappings: {field: a}", "mappings", "must be a list of mappings"),
    ("mappings: [po]", "mappings[0]", "must be a mapping (field: ..., start: ...), got text"),
    ("mappings:\n  - {field: a, start: 'A:', source: html}", "mappings[0].source",
     "must be one of body, subject, html_table, got 'html'"),
    ("mappings:\n  - {field: a, start: 'A:', transform: title}", "mappings[0].transform",
     "must be one of trim, lower, upper, number, date, phone, got 'title'"),
    ("mappings:\n  - {field: a, start: 'A:', required: sure}", "mappings[0].required",
     "must be true or false, got 'sure'"),
    ("mappings:\n  - {field: a, label: 'A:'}", "mappings[0].label", "unknown key"),
    ("mappings:\n  - {regex: 'PO(\\d+'}", "mappings[0]",
     "regex 'PO(\\\\d+' does not compile: missing ), unterminated subpattern at position 2"),
    ("mappings:\n  - {regex: 'PO\\d+'}", "mappings[0]", "regex 'PO\\\\d+' has no named groups"),
    ("mappings:\n  - {field: a}", "mappings[0]",
     "a mapping needs start (a label such as 'Site Address:') or regex"),
    ("colour: red", "colour", "unknown key (known keys: name, order, continue, from, from_domain, to, cc,"),
    ("sender: a@x.test", "sender", "unknown key; did you mean 'from'?"),
    ("kind: job", "kind", "unknown key; did you mean 'import_as'?"),
    ("conditions: {from: a@x.test}", "conditions", "write conditions and actions straight on the rule"),
]  # fmt: skip


@pytest.mark.parametrize(("written", "key", "message"), RULE_ERRORS)
def test_rule_problem_names_line_and_key_path(written: str, key: str, message: str) -> None:
    text = rule(f"name: r\n{written}")
    (problem,) = problems(text)
    line = line_of(text, written.splitlines()[-1].strip())  # the line of the key or list item at fault
    assert problem.startswith(f"config.yaml:{line}: {WHERE} key '{key}': {message}"), problem


def test_problem_lines_point_at_the_item_in_a_block_list() -> None:
    text = rule("name: r\nfrom:\n  - a@x.test\n  - example.com\n  - b@x.test\nkeyword:\n  regex: '('")
    assert problems(text) == [
        f"config.yaml:{line_of(text, '- example.com')}: {WHERE} key 'from[1]': must be an address, a glob "
        "like *@example.com or regex:RE, got 'example.com' (it is matched against the whole address; for a "
        "sender's domain use from_domain)",
        f"config.yaml:{line_of(text, 'regex:')}: {WHERE} key 'keyword.regex': '(' is not a valid regex: "
        "missing ), unterminated subpattern at position 0",
    ]


def test_every_problem_of_a_file_is_reported_at_once_in_file_order() -> None:
    text = box(
        "unmatched: drop\nrules:\n  - {name: a, team: Nobody}\n  - {name: a, priority: top}\n  - "
        "{order: 3}\n  - just text\nfilters:\n  - {name: empty}\n  - {name: f, import_as: job}"
    )
    assert problems(text) == [
        f"config.yaml:{line_of(text, 'unmatched')}: mailboxes[0] (jobs) key 'unmatched': must be one of "
        "import, unprocessed, got 'drop'",
        f"config.yaml:{line_of(text, 'Nobody')}: mailboxes[0] (jobs).rules[0] (a) key 'team': no team "
        "'Nobody' in teams: (teams: lists Field, Office)",
        f"config.yaml:{line_of(text, 'top')}: mailboxes[0] (jobs).rules[1] (a) key 'priority': must be one "
        "of low, normal, high, urgent, got 'top'",
        f"config.yaml:{line_of(text, 'top')}: mailboxes[0] (jobs).rules[1] (a) key 'name': rule name 'a' is "
        f"already used by mailboxes[0] (jobs).rules[0] (a) on line {line_of(text, 'Nobody')}",
        f"config.yaml:{line_of(text, 'order: 3')}: mailboxes[0] (jobs).rules[2] key 'name': is required",
        f"config.yaml:{line_of(text, 'just text')}: mailboxes[0] (jobs).rules[3]: must be a mapping (name: "
        "..., from: ...), got text",
        f"config.yaml:{line_of(text, 'empty')}: mailboxes[0] (jobs).filters[0] (empty): a filter without "
        "conditions would skip every message",
        f"config.yaml:{line_of(text, 'import_as: job')}: mailboxes[0] (jobs).filters[1] (f) key "
        "'import_as': filters have no import_as: a filter only skips mail, in file order; actions, order "
        "and continue belong to rules",
        f"config.yaml:{line_of(text, 'import_as: job')}: mailboxes[0] (jobs).filters[1] (f): a filter "
        "without conditions would skip every message",
    ]


def test_global_filter_problems() -> None:
    text = (
        "filters:\n  - {name: a, from: x@y.test}\n  - {name: a, subject_contains: '[x]'}\n  - {name: b}\n  "
        "- {name: c, from: x@y.test, order: 2}\n  - {name: d, keyword: {regex: '+'}}\nmailboxes: []\n"
    )
    assert problems(text) == [
        "config.yaml:3: filters[1] (a) key 'name': filter name 'a' is already used by filters[0] (a) on "
        "line 2",
        "config.yaml:4: filters[2] (b): a filter without conditions would skip every message",
        "config.yaml:5: filters[3] (c) key 'order': filters have no order: a filter only skips mail, in "
        "file order; actions, order and continue belong to rules",
        "config.yaml:6: filters[4] (d) key 'keyword.regex': '+' is not a valid regex: nothing to repeat at "
        "position 0",
    ]
    assert problems("filters: {name: a}\nmailboxes: []\n") == [
        "config.yaml:1: key 'filters': must be a list (- name: ..., from: ...), got a mapping"
    ]


def test_top_level_rules_are_pointed_at_their_mailbox() -> None:
    assert problems("rules: []\nmailboxes: []\n") == [
        "config.yaml:1: key 'rules': rules belong to a mailbox: give them as 'rules:' of the mailbox whose "
        "mail they sort"
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("unprocessed: forward:boss@example.com", "forward needs smtp: to send with"),
        ("unprocessed: 'forward:'",
         "forward needs an address: forward:ADDRESS, e.g. forward:triage@example.com"),
        ("unprocessed: archive", "must be one of keep, delete, move:FOLDER, forward:ADDRESS, got 'archive'"),
        ("unprocessed: 'move:'", "move needs a folder: move:FOLDER, e.g. move:Archive"),
        ("unprocessed: move:inbox",
         "moves messages into 'INBOX', the folder being read: they would be read again"),
        ("unmatched: skip", "must be one of import, unprocessed, got 'skip'"),
        ("rules: {name: a}", "must be a list (- name: ..., from: ...), got a mapping"),
    ],
)  # fmt: skip
def test_mailbox_routing_problems(written: str, message: str) -> None:
    text = box(written)
    key = written.split(":")[0]
    assert problems(text) == [
        f"config.yaml:{line_of(text, key + ':')}: mailboxes[0] (jobs) key '{key}': {message}"
    ]


def test_pop3_cannot_move_unprocessed_mail() -> None:
    text = box("unprocessed: move:Later").replace("protocol: imap", "protocol: pop3")
    assert problems(text) == [
        f"config.yaml:{line_of(text, 'unprocessed')}: mailboxes[0] (jobs) key 'unprocessed': pop3 can't "
        "move messages (it has no folders): use keep or delete"
    ]


def test_new_mailbox_keys_are_suggested() -> None:
    text = box("rule: []")
    assert problems(text) == [
        f"config.yaml:{line_of(text, 'rule:')}: mailboxes[0] (jobs) key 'rule': unknown key; did you mean "
        "'rules'?"
    ]


def test_references_to_a_user_with_problems_are_not_problems_of_their_own() -> None:
    text = rule("name: r\nassign: {user: Max}").replace("{name: Max, email: max@example.com}", "{name: Max}")
    (problem,) = problems(text)
    assert "users[1] (Max) key 'email': is required" in problem


# --- dumping ------------------------------------------------------------------------------------------------

EVERY_KEY = box("""\
unmatched: unprocessed
unprocessed: delete
filters:
  - {name: f, from: '*@spam.test', to: a@x.test, cc: [b@x.test], delivered_to: c@x.test, from_domain: x.test,
     keyword: {text: [a], regex: b, in: [headers]}, subject_contains: s, body_contains: 'regex:\\bb\\b',
     header: {X-A: '*'}, has_attachment: true}
rules:
  - name: every key
    order: 7
    continue: true
    from: ['regex:^jmc', '*@jmc.test']
    from_domain: ['*.jmc.test']
    to: jobs@x.test
    cc: cc@x.test
    delivered_to: jobs+jmc@x.test
    keyword: {text: [job, work order], regex: 'WO-\\d+', in: [subject, body, headers]}
    subject_contains: [new job]
    body_contains: 'regex:site\\s+address'
    header: {X-Project: apollo, x-flag: '*'}
    has_attachment: false
    import_as: job_and_quote
    job_keyword: 'regex:\\bjob\\b'
    customer: JMC PTY Ltd
    category: Plumbing
    team: Field
    priority: high
    tags: [a, b]
    note_type: note
    assign: {least_busy: Field}
    unknown_sender: as_owner
    owner: Dana
    require_access: true
    mappings:
      - {field: site_address, start: "Site Address:", end: "Suburb", source: body, required: true,
         default: "", transform: trim}
      - {field: total, start: "Total", source: html_table, transform: number, default: "0"}
      - {regex: "PO(?P<purchase_order>\\\\d+)", source: subject, required: true}
  - {name: second, order: 7, keyword: x}
  - {name: third, tags: x}
""")


def test_dump_round_trip_with_every_key() -> None:
    config = load(EVERY_KEY.replace("password: secret", "password_env: JOBS"))
    assert config.mailboxes[0].rules[0].spec.keys() >= {"mappings", "assign", "keyword", "header"}
    text = dump_config(config)
    assert load(text) == config
    assert dump_config(load(text)) == text
    assert "\n      - name: third\n        tags:\n" in text  # its default order is not written
    assert "\n      - name: second\n        order: 7\n" in text


@pytest.mark.django_db
def test_load_is_idempotent_and_dump_load_changes_nothing() -> None:
    config = load(EVERY_KEY)
    changes = apply_config(config)
    assert "added filter f to mailbox jobs" in changes
    assert "added rule every key to mailbox jobs" in changes
    assert apply_config(config) == []
    box_row = Mailbox.objects.get(name="jobs")
    assert (box_row.unmatched, box_row.unprocessed) == ("unprocessed", "delete")
    assert list(Rule.objects.values_list("name", "order")) == [("every key", 7), ("second", 7), ("third", 30)]
    dumped = dump_config(current_config())
    assert apply_config(load(dumped)) == []
    assert dump_config(current_config()) == dumped
    stored = current_config().mailboxes[0]
    assert stored.rules == config.mailboxes[0].rules and stored.filters == config.mailboxes[0].filters


@pytest.mark.django_db
def test_rules_and_filters_of_the_file_replace_the_stored_ones() -> None:
    first = load(EXAMPLE)
    apply_config(first)
    assert Filter.objects.filter(mailbox=None).count() == 2
    changed = (
        EXAMPLE.replace("priority: urgent", "priority: high")
        .replace(
            "      - name: catch-all\n        tags: unsorted\n",
            "      - name: quotes\n        keyword: quote\n",
        )
        .replace('  - name: auto replies\n    header: {Auto-Submitted: "regex:^auto-"}\n', "")
    )
    assert apply_config(load(changed)) == [
        "removed filter auto replies",
        "added rule quotes to mailbox jobs",
        "changed rule urgent of mailbox jobs: priority",
        "removed rule catch-all from mailbox jobs",
    ]
    assert apply_config(load(changed)) == []
    assert [r.name for r in current_config().mailboxes[0].rules] == ["urgent", "JMC jobs", "quotes"]
    moved = changed.replace("order: 5", "order: 50")
    assert apply_config(load(moved)) == ["changed rule urgent of mailbox jobs: order"]
    assert [r.name for r in current_config().mailboxes[0].rules] == ["JMC jobs", "quotes", "urgent"]


@pytest.mark.django_db
def test_ties_run_in_file_order_after_a_reorder() -> None:
    text = box("rules:\n  - {name: a, order: 1}\n  - {name: b, order: 1}\nfilters:\n  - "
               "{name: x, from: a@x.test}\n"
               "  - {name: y, from: b@x.test}")  # fmt: skip
    apply_config(load(text))
    swapped = box("rules:\n  - {name: b, order: 1}\n  - {name: a, order: 1}\nfilters:\n"
                  "  - {name: y, from: b@x.test}\n  - {name: x, from: a@x.test}")  # fmt: skip
    assert apply_config(load(swapped)) == [
        "reordered filters of mailbox jobs",
        "reordered rules of mailbox jobs",
    ]
    assert apply_config(load(swapped)) == []
    stored = current_config().mailboxes[0]
    assert [r.name for r in stored.rules] == ["b", "a"] and [f.name for f in stored.filters] == ["y", "x"]


@pytest.mark.django_db
def test_a_mailbox_left_out_keeps_its_rules_and_an_empty_list_removes_them() -> None:
    apply_config(load(EXAMPLE))
    assert apply_config(load(PEOPLE + "mailboxes: []\n")) == [
        "disabled mailbox jobs (not in the file; its records stay)",
        "removed filter newsletters",
        "removed filter auto replies",
    ]
    assert Rule.objects.count() == 3
    text = EXAMPLE.split("    rules:\n")[0] + "    rules: []\n"
    changes = apply_config(load(text))
    assert {c for c in changes if "rule" in c} == {
        "removed rule urgent from mailbox jobs", "removed rule JMC jobs from mailbox jobs",
        "removed rule catch-all from mailbox jobs",
    }  # fmt: skip
    assert Rule.objects.count() == 0


def test_a_config_without_rules_has_empty_sections() -> None:
    config = load(MAILBOX)
    assert config == ConfigFile(mailboxes=config.mailboxes)
    assert "rules" not in dump_config(config) and "filters" not in dump_config(config)
