"""Hands one mail to an SMTP server and says what happened, in the terms the outbox retries by; no Django.

Certificates are verified (against the system's CAs, or the ``ca_file`` given); there is no switch to turn
that off. A 4xx answer, a server that can't be reached and a login refused are temporary (the mail stays
queued: a wrong password is fixed in the configuration, not by dropping the mail); a 5xx answer to the
sender or the data is permanent for the whole mail, and a 5xx to one recipient is permanent for that one.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field

DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"  # ssl | starttls | none
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    timeout: float = 30.0
    local_hostname: str | None = None


class SendError(Exception):
    """The mail was not accepted. ``temporary``: try again later; otherwise it never will be."""

    def __init__(self, reason: str, temporary: bool) -> None:
        super().__init__(reason)
        self.reason, self.temporary = reason, temporary


@dataclass(frozen=True)
class Accepted:
    """The server took the mail for every recipient but those in ``refused`` (address -> its answer), of
    which ``deferred`` are the ones refused for now (4xx) that a later attempt retries."""

    refused: dict[str, str] = field(default_factory=dict)
    deferred: tuple[str, ...] = ()


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file or None)


def _answer(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}"


class Connection:
    """One SMTP session, reused for several mails to the same server (``send`` once per mail)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=tls_context(s.ca_file),
                    local_hostname=s.local_hostname,
                )  # fmt: skip
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout, local_hostname=s.local_hostname)
                if s.security == "starttls":
                    smtp.starttls(context=tls_context(s.ca_file))
            if s.username:
                smtp.login(s.username, s.password)
        except ssl.SSLCertVerificationError as exc:
            raise SendError(
                f"SMTP {where}: certificate not trusted ({exc.verify_message}); set smtp ca_file to the CA "
                "that signed it",
                temporary=True,
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(
                f"SMTP {where}: login refused ({_answer(exc.smtp_code, exc.smtp_error)})", temporary=True
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SendError(f"SMTP {where}: {exc} (check smtp security)", temporary=True) from exc
        except smtplib.SMTPResponseException as exc:
            answer = _answer(exc.smtp_code, exc.smtp_error)
            raise SendError(f"SMTP {where}: {answer}", temporary=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"SMTP {where}: {_os_reason(exc)}", temporary=True) from exc
        self._smtp = smtp

    def send(self, mail_from: str, recipients: list[str], raw: bytes) -> Accepted:
        if self._smtp is None:
            self.open()
        assert self._smtp is not None
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            refused = self._smtp.sendmail(mail_from, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = {addr: _answer(code, text) for addr, (code, text) in exc.recipients.items()}
            self._reset()
            if all(a.startswith("5") for a in answers.values()):
                raise SendError(_joined(answers), temporary=False) from exc
            return Accepted(answers, tuple(a for a, text in answers.items() if not text.startswith("5")))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._reset()
            answer = _answer(exc.smtp_code, exc.smtp_error)
            raise SendError(f"SMTP {where}: {answer}", temporary=not 500 <= exc.smtp_code < 600) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise SendError(f"SMTP {where}: {_answer(exc.smtp_code, exc.smtp_error)}", True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise SendError(f"SMTP {where}: {_os_reason(exc)}", temporary=True) from exc
        answers = {addr: _answer(code, text) for addr, (code, text) in refused.items()}
        return Accepted(answers, tuple(a for a, text in answers.items() if not text.startswith("5")))

    def _reset(self) -> None:
        """After a refused mail the session is still good; RSET clears the half-done transaction."""
        try:
            assert self._smtp is not None
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _joined(answers: dict[str, str]) -> str:
    return "; ".join(f"{addr}: {text}" for addr, text in answers.items())


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the SMTP server running on that port?)"
    if isinstance(exc, socket.gaierror):
        return f"name not found ({exc.strerror})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({exc or 'no reason given'})"
    return f"{type(exc).__name__}: {exc}"


def check(settings: SmtpSettings) -> None:
    """Connect, secure and log in, sending nothing (`postroom check`, the mailbox form); SendError says
    what failed."""
    with Connection(settings) as conn:
        conn.open()
