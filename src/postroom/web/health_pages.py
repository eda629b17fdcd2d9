"""A mailbox's health page: the last good cycle, failures and the last error, what waits on the server
against what was imported, a warning when it keeps failing or has gone quiet for longer than usual, each
recent cycle with its counts, and a chart (an inline SVG: our pages run no script) of mail per day."""

from __future__ import annotations

import itertools
import statistics
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from postroom.mailboxes.models import Delivery, DeliveryStatus, Mailbox
from postroom.web.permissions import require_admin

DAYS = 30
FAILING_AFTER = 3  # consecutive failed cycles
QUIET_FLOOR = timedelta(hours=24)  # never "quiet" sooner than this


def per_day(mailbox: Mailbox, days: int = DAYS, today: date | None = None) -> list[tuple[date, int]]:
    """Mail imported (stored) per day over the last ``days`` days, oldest first, days without any at 0."""
    today = today or timezone.now().date()
    start = today - timedelta(days=days - 1)
    rows = (
        Delivery.objects.filter(mailbox=mailbox, status=DeliveryStatus.STORED, created__date__gte=start)
        .annotate(day=TruncDate("created"))
        .values("day")
        .annotate(n=Count("id"))
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def quiet_warning(mailbox: Mailbox, now: Any = None) -> str:
    """Mail usually arrives every so often; say so when the silence is much longer than usual."""
    now = now or timezone.now()
    times = list(
        Delivery.objects.filter(mailbox=mailbox, status=DeliveryStatus.STORED)
        .order_by("-created").values_list("created", flat=True)[:200]
    )  # fmt: skip
    if len(times) < 5:
        return ""
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(times)]
    usual = timedelta(seconds=statistics.median(gaps))
    silence = now - times[0]
    limit = max(QUIET_FLOOR, usual * 10)
    if silence > limit:
        hours = silence.total_seconds() / 3600
        return f"no mail for {hours:.0f} hours; usually one every {usual.total_seconds() / 60:.0f} minutes"
    return ""


def chart_bars(days: list[tuple[date, int]], width: int = 600, height: int = 120) -> list[dict[str, Any]]:
    top = max((n for _, n in days), default=0) or 1
    step = width / max(len(days), 1)
    return [
        {"x": round(i * step, 1), "w": round(step * 0.8, 1), "h": round(n / top * (height - 20), 1),
         "y": round(height - 20 - n / top * (height - 20), 1), "n": n, "day": d.isoformat()}
        for i, (d, n) in enumerate(days)
    ]  # fmt: skip


@login_required
def health_page(request: HttpRequest, name: str) -> HttpResponse:
    require_admin(request)
    mailbox = get_object_or_404(Mailbox, name=name)
    counts = dict(
        Delivery.objects.filter(mailbox=mailbox)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    warnings = []
    if mailbox.consecutive_failures >= FAILING_AFTER:
        warnings.append(f"the last {mailbox.consecutive_failures} cycles failed: {mailbox.last_error}")
    if quiet := quiet_warning(mailbox):
        warnings.append(quiet)
    days = per_day(mailbox)
    return render(request, "postroom/health.html", {
        "mailbox": mailbox, "counts": counts, "warnings": warnings, "cycles": mailbox.cycles.all()[:50],
        "bars": chart_bars(days), "days_total": sum(n for _, n in days), "days": DAYS,
    })  # fmt: skip
