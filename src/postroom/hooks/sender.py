"""Sends the webhook deliveries that are due: claims each one, POSTs it signed, records the answer.

Exactly once, as far as HTTP allows — the outbox's reasoning: a delivery is claimed by one conditional
UPDATE (queued -> sending, with this sender's token) that only one sender can win, committed before the
POST, and marked sent in its own commit the moment the receiver has answered 2xx (only by the sender
whose token is still on it). A sender that dies mid-request leaves the delivery "sending"; once its lease
has run out it is queued again and POSTed with the same ``id``. The one window left — between the
receiver's 2xx and our commit — is where a crash could deliver twice: a receiver dedups by
``X-Postroom-Delivery`` (the body's ``id``) to see it once.

Answers: 2xx is sent; 408, 429, 5xx, a refused connection, a timeout (10 s per network step) or a TLS
failure is tried again after 1, 2, 4, ... minutes (at most an hour apart; a longer Retry-After is
honoured up to an hour), for three days, then failed; any other status (3xx — redirects are not
followed —, 4xx) is failed at once with the status and the start of the body. HTTPS certificates are
always verified against the system's CAs. A receiver that can't be reached costs one attempt per pass:
its other deliveries in the batch wait for the next attempt without trying.

Signature: ``X-Postroom-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret of
``<X-Postroom-Timestamp>.<body>`` (the timestamp in Unix seconds, a dot, the raw body bytes). A receiver
verifies it like this, and rejects old timestamps (a replayed request carries an old one)::

    timestamp = request.headers["X-Postroom-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body,
                                    hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, request.headers["X-Postroom-Signature"])
    fresh = abs(time.time() - int(timestamp)) < 300

Each attempt is signed anew (its own timestamp and ``sent_at``); ``id`` stays the same.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message as HeaderMessage
from email.utils import parsedate_to_datetime

from django.utils import timezone

from postroom.core.errors import ConfigError
from postroom.hooks.models import HookStatus, WebhookDelivery
from postroom.mailboxes.secrets import decrypt
from postroom.records import claims

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # far longer than one POST (10 s per network step)
TIMEOUT = 10.0
FIRST_RETRY = 60.0  # seconds; doubled per attempt up to MAX_RETRY
MAX_RETRY = 3600.0
GIVE_UP_AFTER = timedelta(days=3)
CLAIM_BATCH = 50
SNIPPET = 200  # characters of an error answer's body kept in last_error
USER_AGENT = "Postroom-Webhooks/1"


def retry_delay(attempts: int) -> float:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Postroom-Signature value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class DeliverSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class _Unreachable(Exception):
    """No HTTP answer: refused, timed out, DNS, TLS. The receiver's other deliveries wait too."""


def requeue_abandoned(now: datetime | None = None) -> int:
    """Deliveries a dead sender left "sending" past its lease go back in the queue."""
    return claims.requeue_abandoned(WebhookDelivery, LEASE, now or timezone.now())


def _claim(now: datetime, limit: int) -> list[WebhookDelivery]:
    """Up to ``limit`` due deliveries of enabled webhooks, claimed (see ``records.claims``)."""
    return claims.claim(WebhookDelivery.objects.filter(webhook__enabled=True), now, limit, "webhook")


def _finish(delivery: WebhookDelivery, **values: object) -> bool:
    """Write an attempt's outcome, only while the delivery is still this sender's (its lease held)."""
    done = claims.finish(delivery, **values, attempts=delivery.attempts)
    if not done:
        log.warning("webhooks: delivery %s was taken over (its lease ran out) or removed", delivery.uuid)
    return done


def deliver_due(
    now: Callable[[], datetime] = timezone.now, stop: Callable[[], bool] = lambda: False
) -> DeliverSummary:
    """POST every delivery that is due, in the order they were queued. Call it outside a transaction."""
    summary = DeliverSummary()
    requeue_abandoned(now())
    opener: urllib.request.OpenerDirector | None = None
    while not stop():
        batch = _claim(now(), CLAIM_BATCH)
        if not batch:
            break
        opener = opener or _opener()  # only when there is something to send: it reads the system's CAs
        claimed_at = now()
        down: dict[int, str] = {}  # webhook -> why it could not be reached in this batch
        for index, delivery in enumerate(batch):
            if stop() or now() - claimed_at > LEASE / 2:  # never POST near the lease's end
                claims.release(batch[index:], now())
                break
            _deliver_one(delivery, opener, down, summary, now)
    return summary


def _deliver_one(
    delivery: WebhookDelivery,
    opener: urllib.request.OpenerDirector,
    down: dict[int, str],
    summary: DeliverSummary,
    now: Callable[[], datetime],
) -> None:
    hook = delivery.webhook
    delivery.attempts += 1
    if hook.pk in down:
        _failed_attempt(delivery, down[hook.pk], True, None, summary, now())
        return
    if urllib.parse.urlsplit(hook.url).scheme not in {"http", "https"}:
        _failed_attempt(delivery, f"not an http(s) URL: {hook.url}", False, None, summary, now())
        return
    try:
        secret = decrypt(hook.secret_encrypted)
    except ConfigError:
        reason = (
            "the webhook's secret can't be decrypted: the secret key changed (POSTROOM_SECRET_KEY or "
            f"data/secret.key); set it again with `postroom webhook add {hook.name} ... --secret-env VAR`"
        )
        _failed_attempt(delivery, reason, True, None, summary, now())
        return
    at = now()
    timestamp = str(int(at.timestamp()))
    body = json.dumps(
        {"id": str(delivery.uuid), **delivery.payload, "sent_at": at.isoformat()},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Postroom-Event": delivery.event,
        "X-Postroom-Delivery": str(delivery.uuid),
        "X-Postroom-Timestamp": timestamp,
        "X-Postroom-Signature": sign(secret, timestamp, body),
    }
    try:
        status, detail, wait = _post(opener, hook.url, body, headers)
    except _Unreachable as exc:
        down[hook.pk] = str(exc)
        _failed_attempt(delivery, str(exc), True, None, summary, now())
        return
    except Exception as exc:  # a bug: keep the delivery queued and say why
        log.exception("webhooks: could not deliver %s to %s", delivery.uuid, hook.name)
        _failed_attempt(delivery, f"{type(exc).__name__}: {exc}", True, None, summary, now())
        return
    if 200 <= status < 300:
        if _finish(delivery, status=HookStatus.SENT, sent_at=now(), response_status=status, last_error=""):
            summary.sent += 1
            log.info(
                "webhooks: %s %s delivered to %s (HTTP %s)", delivery.event, delivery.uuid, hook.name, status
            )
        return
    temporary = status in {408, 429} or status >= 500
    _failed_attempt(delivery, f"HTTP {status}{detail}", temporary, status, summary, now(), wait)


def _failed_attempt(
    delivery: WebhookDelivery,
    reason: str,
    temporary: bool,
    status: int | None,
    summary: DeliverSummary,
    at: datetime,
    wait: float | None = None,
) -> None:
    name = delivery.webhook.name
    if temporary and at - delivery.created < GIVE_UP_AFTER:
        delay = min(max(retry_delay(delivery.attempts), wait or 0.0), MAX_RETRY)
        next_attempt = at + timedelta(seconds=delay)
        if _finish(
            delivery,
            status=HookStatus.QUEUED,
            next_attempt=next_attempt,
            last_error=reason,
            response_status=status,
        ):
            summary.retrying += 1
            log.warning(
                "webhooks: %s to %s not delivered (%s); next attempt at %s",
                delivery.uuid,
                name,
                reason,
                next_attempt,
            )
    else:
        if temporary:
            reason = f"gave up after {delivery.attempts} attempts: {reason}"
        if _finish(delivery, status=HookStatus.FAILED, last_error=reason, response_status=status):
            summary.failed += 1
            log.warning("webhooks: %s to %s failed: %s", delivery.uuid, name, reason)
    summary.errors.append(f"{name}: {reason}")


# --- HTTP ---------------------------------------------------------------------------------------------


def _opener() -> urllib.request.OpenerDirector:
    """http and https only (no file:, ftp:, data:), certificates verified, redirects not followed (a 3xx is
    an answer like any other); proxies from the environment, as every HTTP client takes them."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _post(
    opener: urllib.request.OpenerDirector, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str, float | None]:
    """(status, what the answer said for an error, its Retry-After in seconds)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            return int(response.status), "", None
    except urllib.error.HTTPError as exc:
        try:
            detail = _detail(exc)
        finally:
            exc.close()
        return exc.code, detail, _retry_after(exc.headers)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise _Unreachable(_unreachable(url, exc)) from exc


def _detail(exc: urllib.error.HTTPError) -> str:
    if 300 <= exc.code < 400:
        return f" (redirects are not followed): Location {exc.headers.get('Location', '')}".rstrip()
    try:  # one read (at most one timeout), never the whole of a large or slow answer
        read1 = getattr(exc.fp, "read1", None)
        raw = read1(4096) if read1 is not None else exc.read(4096)
    except (OSError, http.client.HTTPException, ValueError):
        raw = b""
    text = " ".join(raw.decode("utf-8", "replace").split())
    if len(text) > SNIPPET:
        text = text[:SNIPPET] + "..."
    return f": {text}" if text else ""


def _retry_after(headers: HeaderMessage | None) -> float | None:
    value = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def _unreachable(url: str, exc: Exception) -> str:
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(reason, TimeoutError):
        return f"{host}: no answer within {TIMEOUT:.0f} s"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"{host}: certificate not trusted: {reason.verify_message or reason}"
    if isinstance(reason, OSError) and reason.strerror:
        return f"{host}: {reason.strerror}"
    return (
        f"{host}: {type(reason).__name__}: {reason}" if isinstance(reason, Exception) else f"{host}: {reason}"
    )
