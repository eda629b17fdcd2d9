"""Decides which existing record a message belongs to, if any — pure: lookups are passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from postroom.mail.message import ParsedMessage
from postroom.threads.subject import find_references, is_forward


@dataclass(frozen=True, slots=True)
class ThreadLookups:
    """What the resolver may ask the store. Each is a plain callable so tests and dry runs pass their own."""

    record_for_message_ids: Callable[[list[str]], int | None]
    participants_of: Callable[[int], set[str] | None]  # None: no such record
    staff_addresses: Callable[[], set[str]]


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    record: int | None  # the record to add the message to; None opens a new one
    how: str  # "header" | "subject" | "new"
    reason: str  # one sentence, shown by dry runs and `records show`
    named_reference: int | None = None  # a subject reference that was refused (noted on the new record)

    def on_record(self, number: int) -> ThreadMatch:
        """The same match on a record known by its number only now (a lookup may answer with a
        placeholder for a record that is being opened in the same batch)."""
        reason = _HEADER_REASON.format(number=number) if self.how == "header" else self.reason
        return ThreadMatch(number, self.how, reason, self.named_reference)


_HEADER_REASON = "In-Reply-To/References names a message on record {number}"


def header_ids(msg: ParsedMessage) -> list[str]:
    ids = list(msg.references)
    if msg.in_reply_to and msg.in_reply_to not in ids:
        ids.append(msg.in_reply_to)
    # The newest ancestors come last in References: look them up first.
    return list(dict.fromkeys(reversed(ids)))


def _sender_addresses(msg: ParsedMessage) -> set[str]:
    addrs: Iterable[str] = [msg.from_.address] if msg.from_ else []
    return {a for a in addrs if a}


def resolve_thread(
    msg: ParsedMessage,
    lookups: ThreadLookups,
    reference_format: str = "[#{number}]",
    subject_reference_from_anyone: bool = False,
) -> ThreadMatch:
    ids = header_ids(msg)
    if ids:
        number = lookups.record_for_message_ids(ids)
        if number is not None:
            return ThreadMatch(number, "header", _HEADER_REASON.format(number=number))
    refs = find_references(msg.subject, reference_format)
    if not refs:
        return ThreadMatch(
            None, "new", "no known message in its headers and no record reference in its subject"
        )
    if is_forward(msg.subject):
        return ThreadMatch(
            None,
            "new",
            f"a forwarded mail naming #{refs[0]} without reply headers opens a new record",
            refs[0],
        )
    senders = _sender_addresses(msg)
    refused: int | None = None
    for number in refs:
        participants = lookups.participants_of(number)
        if participants is None:
            continue
        if subject_reference_from_anyone:
            return ThreadMatch(number, "subject", f"subject names record {number}")
        if senders & (participants | lookups.staff_addresses()):
            return ThreadMatch(
                number, "subject", f"subject names record {number} and the sender takes part in it"
            )
        refused = refused or number
    if refused is not None:
        who = ", ".join(sorted(senders)) or "an unknown sender"
        return ThreadMatch(
            None,
            "new",
            f"subject names record {refused}, but {who} is not a participant of it: "
            "a new record notes the reference",
            refused,
        )
    return ThreadMatch(None, "new", f"subject names #{refs[0]}, which is not an existing record")
