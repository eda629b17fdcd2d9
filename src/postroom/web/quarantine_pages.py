"""The quarantine admins work: mail that failed to import or is held for review, with the reason and the raw
mail; retry it, import it as a new record, add it to a chosen record, or discard it (kept for audit)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from postroom.mailboxes.models import Delivery, DeliveryStatus
from postroom.records import blobs
from postroom.records.models import Record
from postroom.web.permissions import require_admin

QUARANTINED = (DeliveryStatus.FAILED, DeliveryStatus.HELD)


@login_required
def quarantine(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    rows = Delivery.objects.filter(status__in=QUARANTINED).select_related("mailbox").order_by("-pk")[:500]
    return render(request, "postroom/quarantine.html", {"rows": rows})


@login_required
def quarantined_raw(request: HttpRequest, delivery_id: int) -> HttpResponse:
    require_admin(request)
    d = get_object_or_404(Delivery, pk=delivery_id)
    response = HttpResponse(blobs.read(d.raw_sha256), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="quarantined-{d.pk}.eml"'
    return response


@login_required
@require_POST
def quarantine_action(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """retry (as a fresh import would), new (a new record whatever it names), add (to the record given),
    discard (the row stays, as `discarded`, with who did it)."""
    require_admin(request)
    from postroom.pipeline.reprocess import reprocess_failed

    d = get_object_or_404(Delivery, pk=delivery_id, status__in=QUARANTINED)
    action = request.POST.get("action")
    place: int | None = None
    if action == "new":
        place = 0
    elif action == "add":
        number = request.POST.get("record", "").strip().lstrip("#")
        if not number.isdigit() or not Record.objects.filter(pk=int(number)).exists():
            return redirect(f"/quarantine?{urlencode({'done': f'{d.pk}: no record {number!r}'})}")
        place = int(number)
    if action in ("retry", "new", "add"):
        ((_, outcome),) = reprocess_failed(d.pk, place)
        where = f" (record {outcome.record})" if outcome.record else ""
        message = f"{outcome.status}{where}{': ' + outcome.reason if outcome.reason else ''}"
    elif action == "discard":
        who = getattr(request.user, "username", "")
        Delivery.objects.filter(pk=d.pk).update(
            status=DeliveryStatus.DISCARDED, reason=f"discarded by {who}; was: {d.reason}"
        )
        message = "discarded (kept for audit)"
    else:
        message = f"unknown action {action!r}"
    return redirect(f"/quarantine?{urlencode({'done': f'{d.pk}: {message}'})}")
