"""Decides what a new message becomes — pure. For now the mailbox's record kind; rules arrive with issue 3."""

from __future__ import annotations

from dataclasses import dataclass

from postroom.mail.message import ParsedMessage


@dataclass(frozen=True, slots=True)
class MailboxDefaults:
    name: str
    record_kind: str


@dataclass(frozen=True, slots=True)
class RouteDecision:
    kind: str
    reason: str


def route(msg: ParsedMessage, defaults: MailboxDefaults) -> RouteDecision:
    return RouteDecision(defaults.record_kind, f"mailbox {defaults.name} makes a {defaults.record_kind}")
