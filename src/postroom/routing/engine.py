"""Decides what a message becomes — pure: filters, then the mailbox's ordered rules, then the sender policy.

The result (``RouteDecision``) says whether the mail is imported or left unprocessed, what record it
opens (kind, customer, category, team, assignee, fields) or, for a message that joins a record, what kind
of entry it makes — and why, one checked condition at a time, so a dry run and `records show` can explain
it. What the people directory knows about the sender comes in as plain data (``Sender``).

Where the issue is silent: rules with ``continue: true`` add their actions, and a value a rule sets is
not overridden by a later rule (the first to set it wins; tags add up; every matched rule's mappings run,
the first value found for a field wins). Filters apply to every message, replies included; ``unmatched:
unprocessed`` and the sender policy apply only to mail that would open a record — a reply that threading
placed on a record lands there. Without an ``unknown_sender`` setting, mail from anyone is imported and the
sender stays the record's requester address; only ``accept`` makes senders into contacts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from postroom.mail.message import ParsedMessage
from postroom.routing.rules import Assign, Check, MailTexts, Rule, RuleSet


@dataclass(frozen=True, slots=True)
class Sender:
    """What the directory knows of a message's sender."""

    address: str
    name: str = ""
    user: str | None = None  # a staff user's name
    contact: int | None = None  # a contact's id
    account: str | None = None  # the account of the contact, or whose domain the address is in

    @property
    def known(self) -> bool:
        return self.user is not None or self.contact is not None or self.account is not None


# Whether a sender belongs to a team (as a user member or a contact of it): asked only for require_access.
TeamCheck = Callable[[str, Sender], bool]


@dataclass(slots=True)
class RouteDecision:
    action: str  # "import" | "unprocessed"
    reason: str  # one sentence
    kind: str = ""  # the kind of record it opens
    rules: tuple[str, ...] = ()  # the rules that matched, in order
    # Each filter and rule tried, with its conditions (a dry run); an import lists only those that matched.
    checks: list[str] = field(default_factory=list)
    because: list[str] = field(
        default_factory=list
    )  # the matched filter or rules' checks, kept on the message
    customer: str = ""
    category: str = ""
    team: str = ""
    priority: str = ""
    tags: tuple[str, ...] = ()
    note_type: str = ""
    assign: Assign | None = None
    fields: dict[str, str] = field(default_factory=dict)
    review: tuple[str, ...] = ()  # why the record needs review (required fields missing)
    owner: str = ""  # as_owner: the user the record is made in the name of
    new_contact: bool = False  # accept: the sender becomes a contact
    filtered_by: str = ""  # the filter that skipped it
    sender: Sender | None = None
    auto_reply: dict[str, str] | None = None  # a rule's own auto-reply ({}: none); None: the mailbox's

    @property
    def rule(self) -> str:
        return ", ".join(self.rules)

    def explain(self) -> dict[str, object]:
        """What the message keeps of its routing (``Message.explanation["route"]``-style detail)."""
        return {
            "action": self.action,
            "reason": self.reason,
            "rules": list(self.rules),
            "because": self.because,
        }


def route(
    msg: ParsedMessage,
    rules: RuleSet,
    sender: Sender,
    *,
    joins: int | None = None,
    in_team: TeamCheck | None = None,
    explain_all: bool = False,
) -> RouteDecision:
    """``joins``: the record threading put the message on (None: it would open one). ``explain_all``
    tests every condition of every filter and rule (a dry run) instead of stopping at the first miss."""
    checks: list[str] = []
    texts = MailTexts(msg)
    for f in rules.filters:
        ok, tested = f.conditions.test(msg, stop_early=not explain_all, texts=texts)
        if ok or explain_all:
            checks.append(_heading("filter", f.name, ok, f.scope) + _lines(tested))
        if ok:
            why = "; ".join(c.detail for c in tested)
            return RouteDecision(
                "unprocessed", f"skipped by filter {f.name} ({why})", checks=checks, because=checks[-1:],
                filtered_by=f.name,
            )  # fmt: skip
    matched: list[Rule] = []
    because: list[str] = []
    for rule in rules.rules:
        ok, tested = rule.conditions.test(msg, stop_early=not explain_all, texts=texts)
        if ok or explain_all:  # an import keeps only what matched: the rest would be written for nothing
            checks.append(_heading("rule", rule.name, ok) + _lines(tested))
        if ok:
            matched.append(rule)
            because.append(checks[-1])
            if not rule.continues:
                break
    decision = _combine(msg, rules, matched, checks)
    decision.because = because + decision.because
    decision.sender = sender
    if joins is not None:
        made = f" as a {decision.note_type}" if decision.note_type else ""
        matched_text = f"rule {decision.rule} matched" if matched else "no rule matched"
        decision.reason = f"{matched_text}; the message is added to its record{made}"
        return decision
    if not matched and rules.unmatched == "unprocessed":
        why = "no rule matched, and the mailbox leaves such mail unprocessed"
        return RouteDecision("unprocessed", why, checks=checks)
    if decision.kind == "note":
        why = f"rule {decision.rule} only adds notes to records, and this mail names no record"
        return RouteDecision(
            "unprocessed", why, rules=decision.rules, checks=checks, because=decision.because
        )
    return _sender_policy(decision, matched, sender, in_team)


def _combine(msg: ParsedMessage, rules: RuleSet, matched: list[Rule], checks: list[str]) -> RouteDecision:
    if not matched:
        return RouteDecision(
            "import", f"no rule matched: mailbox {rules.mailbox} makes a {rules.record_kind}",
            kind=rules.record_kind, checks=checks,
        )  # fmt: skip
    d = RouteDecision("import", "", rules=tuple(r.name for r in matched), checks=checks)
    tags: list[str] = []
    review: list[str] = []
    kind_from = ""
    for rule in matched:
        a = rule.actions
        if a.import_as and not d.kind:
            d.kind, kind_from = _kind(msg, rule), rule.name
        d.customer = d.customer or a.customer
        d.category = d.category or a.category
        d.team = d.team or a.team
        d.priority = d.priority or a.priority
        d.note_type = d.note_type or a.note_type
        d.assign = d.assign or a.assign
        d.auto_reply = d.auto_reply if d.auto_reply is not None else a.auto_reply
        tags += [t for t in a.tags if t not in tags]
        if a.mappings:
            found = rule.extractor.extract(msg.subject, msg.text, msg.html)
            for name, value in found.fields.items():
                d.fields.setdefault(name, value)
            review += [f"required field {name} not found (rule {rule.name})" for name in found.missing]
            notes = f"mappings of rule {rule.name}:" + "".join(f"\n  {n}" for n in found.notes)
            d.checks.append(notes)
            d.because.append(notes)
    d.tags, d.review = tuple(tags), tuple(review)
    if not d.kind:
        d.kind, kind_from = rules.record_kind, ""
    made = f"a {d.kind}" if kind_from else f"a {d.kind} (the mailbox's kind)"
    names = ", ".join(d.rules)
    d.reason = f"rule{'s' if len(matched) > 1 else ''} {names} matched: {made}"
    if matched[0].actions.import_as == "job_and_quote" and kind_from == matched[0].name:
        d.reason += " (" + _job_or_quote_reason(msg, matched[0]) + ")"
    return d


def _kind(msg: ParsedMessage, rule: Rule) -> str:
    a = rule.actions
    if a.import_as != "job_and_quote":
        return a.import_as
    assert a.job_keyword is not None
    return "job" if a.job_keyword.search(msg.subject) else "quote"


def _job_or_quote_reason(msg: ParsedMessage, rule: Rule) -> str:
    keyword = rule.actions.job_keyword
    assert keyword is not None
    found = keyword.search(msg.subject)
    if found:
        return f"the subject has the job keyword {found.group(0)!r}"
    return "the subject has no job keyword, so a quote"


def _sender_policy(
    d: RouteDecision, matched: list[Rule], sender: Sender, in_team: TeamCheck | None
) -> RouteDecision:
    policy = next((r.actions.unknown_sender for r in matched if r.actions.unknown_sender), "")
    shown = sender.address or "(no sender)"
    for rule in matched:
        if rule.actions.require_access:
            team = rule.actions.team
            if not (sender.address and in_team is not None and in_team(team, sender)):
                why = f"rule {rule.name} requires access: {shown} is not a member of team {team}"
                return RouteDecision("unprocessed", why, rules=d.rules, checks=d.checks, because=d.because)
    if sender.known:
        who = f"user {sender.user}" if sender.user else (
            f"a contact of {sender.account}" if sender.contact and sender.account else
            "a known contact" if sender.contact else f"in the domain of account {sender.account}"
        )  # fmt: skip
        _note(d, f"sender {shown}: {who}")
        d.customer = d.customer or (sender.account or "")
        return d
    if policy == "reject":
        rejecting = next(r.name for r in matched if r.actions.unknown_sender == "reject")
        return RouteDecision(
            "unprocessed", f"rule {rejecting} rejects unknown senders, and {shown} is not a user or contact",
            rules=d.rules, checks=d.checks, because=d.because,
        )  # fmt: skip
    if policy == "as_owner":
        owner = next(r.actions.owner for r in matched if r.actions.unknown_sender == "as_owner")
        d.owner = owner
        _note(d, f"sender {shown}: unknown, so the record is made in the name of {owner}")
        return d
    if policy == "accept":
        d.new_contact = bool(sender.address)
        _note(d, f"sender {shown}: unknown, becomes a new contact" if sender.address else "no sender address")
    return d


def _note(d: RouteDecision, line: str) -> None:
    d.checks.append(line)
    d.because.append(line)


def _heading(what: str, name: str, ok: bool, scope: str = "") -> str:
    where = f" ({'global' if scope == 'global' else 'mailbox ' + scope})" if scope else ""
    return f"{what} {name}{where}: {'matched' if ok else 'no match'}"


def _lines(checks: list[Check]) -> str:
    return "".join("\n  " + c.line() for c in checks)
