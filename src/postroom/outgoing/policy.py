"""Whether an automatic answer may go to a message's sender — pure, so every "no" can say why (RFC 3834).

Never to automatic mail (Auto-Submitted other than "no", bulk and list mail: the parser's
``auto_submitted``), to bounces, to robots' addresses, to our own addresses, or more often than the
limit per sender per hour: the last line holds even against a robot that strips every header.
"""

from __future__ import annotations

import re

from postroom.mail.message import ParsedMessage

# Local parts of senders that never read an answer.
_ROBOT = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|bounces?|"
    r"noreply[-_.+].*|.*[-_.+]no[-_.]?reply|bounce[-_.+].*|listserv|majordomo|auto[-_.]?reply|root)$",
    re.IGNORECASE,
)


def is_robot_address(address: str) -> bool:
    return bool(_ROBOT.match(address.partition("@")[0]))


def auto_reply_refusal(
    msg: ParsedMessage, own_addresses: frozenset[str], sent_last_hour: int, limit: int
) -> str | None:
    """Why no auto-reply goes to this message's sender; None when one may."""
    sender = msg.from_.address if msg.from_ else ""
    if not sender:
        return "no sender address to answer"
    if msg.bounce:
        return "it is a delivery status notification"
    if msg.auto_submitted:
        return "it is automatic mail (Auto-Submitted, bulk or list mail): answering could start a loop"
    if sender in own_addresses:
        return f"{sender} is one of our own addresses"
    if is_robot_address(sender):
        return f"{sender} is a robot's address"
    if sent_last_hour >= limit:
        return f"{sender} got {sent_last_hour} auto-replies in the last hour already (limit {limit})"
    return None
