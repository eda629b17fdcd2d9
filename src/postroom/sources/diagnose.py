"""``postroom check``: connect to a mailbox step by step; report what is there, or the step that failed."""

from __future__ import annotations

from postroom.core.errors import ConnectionStepError
from postroom.sources import registry
from postroom.sources.base import CheckReport, ServerSettings

# In the order a connection goes through them; ConnectionStepError.step is one of these.
STEPS = ("dns", "tcp", "tls", "certificate", "greeting", "login", "folder")


def check(settings: ServerSettings) -> CheckReport:
    """Resolve, connect, secure, verify, log in and open the folder read-only (nothing on the server changes).

    Raises ConnectionStepError naming the step that failed, with a hint: dns (host name), tcp (port or
    firewall; the usual ports), tls (the port expects another security), certificate (why it was refused;
    ca_file), greeting (not a server of that protocol), login (username/password), folder (those there are).
    A setting that can never work (unknown protocol, unreadable ca_file) raises ConfigError instead.
    """
    return registry.get(settings.protocol).check(settings)


def explain(error: ConnectionStepError) -> str:
    """Two lines for a person: what failed at which step, and what to try."""
    position = STEPS.index(error.step) + 1 if error.step in STEPS else 0
    lines = [f"failed at step {position}/{len(STEPS)} ({error.step}): {error.detail}"]
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)
