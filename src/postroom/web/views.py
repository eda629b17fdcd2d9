"""The pages agents and admins work in: the records list, a record with its thread, replies, notes,
status, assignee and followers; attachments and raw mail. Every record goes through records/access.py:
one a user may not see is a 404, like one that does not exist."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from postroom.core.errors import PostroomError
from postroom.people.models import Role, Team
from postroom.records import blobs, changes
from postroom.records.access import role_of, visible_records
from postroom.records.models import Attachment, Direction, Message, Record, RecordStatus
from postroom.web.permissions import require_worker

PAGE = 50
INLINE_IMAGES = {"image/png", "image/gif", "image/jpeg", "image/webp"}  # shown in pages; all else downloads


def _record_or_404(request: HttpRequest, number: int) -> Record:
    return get_object_or_404(
        visible_records(request.user).select_related("team", "assignee", "mailbox"), pk=number
    )


@login_required
def record_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    rows = visible_records(request.user).select_related("team", "assignee").order_by("-number")
    exact = {"kind": g.get("kind"), "status": g.get("status"), "team__name": g.get("team"),
             "assignee__username": g.get("assignee"), "customer__name": g.get("customer")}  # fmt: skip
    rows = rows.filter(**{k: v for k, v in exact.items() if v})
    if g.get("review") == "1":
        rows = rows.filter(needs_review=True)
    if q := g.get("q", "").strip():
        rows = rows.filter(
            Q(subject__icontains=q) | Q(pk__in=Message.objects.filter(text__icontains=q).values("record_id"))
        )
    try:
        page = max(1, int(g.get("page", "1")))
    except ValueError:
        page = 1
    items = list(rows[(page - 1) * PAGE : page * PAGE + 1])  # one more: is there a next page?
    keep = {k: v for k, v in g.items() if k != "page" and v}
    return render(request, "postroom/records.html", {
        "records": items[:PAGE], "page": page, "filters": keep,
        "prev": urlencode({**keep, "page": page - 1}) if page > 1 else None,
        "next": urlencode({**keep, "page": page + 1}) if len(items) > PAGE else None,
        "statuses": RecordStatus.values,
        "teams": Team.objects.filter(enabled=True).values_list("name", flat=True),
    })  # fmt: skip


def _thread(record: Record, remote_for: int | None) -> list[dict[str, Any]]:
    out = []
    for m in record.messages.prefetch_related("attachments").order_by("id"):
        atts = list(m.attachments.all())
        inline = {
            a.content_id.strip("<>").lower(): f"/attachments/{a.pk}/inline" for a in atts if a.content_id
        }
        shown = None
        if m.html:
            from postroom.web.mail_html import display_html, wrap_document

            allow = remote_for == m.pk
            display = display_html(m.html, inline, allow)
            shown = {"srcdoc": wrap_document(display, allow), "blocked": display.blocked, "remote": allow}
        why = m.explanation or {}
        # An inline image the HTML shows is not listed again; one it never names is (else it would be lost).
        html = m.html.lower()
        listed = [a for a in atts if not (a.content_id and f"cid:{a.content_id.strip('<>').lower()}" in html)]
        because = "; ".join(v for v in why.values() if isinstance(v, str) and v)
        out.append({"m": m, "html": shown, "attachments": listed, "why": because})
    return out


@login_required
def record_page(request: HttpRequest, number: int) -> HttpResponse:
    record = _record_or_404(request, number)
    remote = request.GET.get("remote")
    thread = _thread(record, int(remote) if remote and remote.isdigit() else None)
    users = get_user_model().objects.filter(is_active=True).exclude(email="").order_by("username")
    response = render(request, "postroom/record.html", {
        "r": record, "thread": thread, "statuses": RecordStatus.values, "users": users,
        "can_work": role_of(request.user) in (Role.ADMIN, Role.AGENT),
        "following": record.followers.filter(user_id=request.user.pk or 0).exists(),
        "followers": sorted(record.followers.values_list("user__username", flat=True)),
        "granted": sorted(record.granted.values_list("username", flat=True)),
        "can_reply": bool(record.mailbox and record.mailbox.smtp_host and record.requester_address),
    })  # fmt: skip
    response.allow_remote_images = any(t["html"] and t["html"]["remote"] for t in thread)  # type: ignore[attr-defined]
    return response


@login_required
@require_POST
def reply(request: HttpRequest, number: int) -> HttpResponse:
    from postroom.outgoing.compose import FileToAttach
    from postroom.outgoing.outbox import send_due
    from postroom.outgoing.reply import queue_reply

    require_worker(request)
    _record_or_404(request, number)
    text = request.POST.get("text", "").strip()
    if not text:
        return _back(number, "the reply is empty")
    files = [
        FileToAttach(f.name or "attachment", f.read(), f.content_type or "")
        for f in request.FILES.getlist("attach")
    ]
    try:
        mail = queue_reply(number, text + "\n", files, everyone=request.POST.get("everyone") == "1")
    except PostroomError as exc:
        return _back(number, str(exc))
    send_due(only={mail.pk})  # at once when the server answers; otherwise the outbox retries
    return redirect(f"/records/{number}#m-last")


@login_required
@require_POST
def note(request: HttpRequest, number: int) -> HttpResponse:
    from django.db.models import F
    from django.utils import timezone

    require_worker(request)
    record = _record_or_404(request, number)
    text = request.POST.get("text", "").strip()
    if not text:
        return _back(number, "the note is empty")
    user = request.user
    Message.objects.create(
        record=record, mailbox=record.mailbox, direction=Direction.NOTE, entry_type="note",
        from_name=getattr(user, "username", ""), from_address=getattr(user, "email", ""), text=text + "\n",
        subject="Internal note", date=timezone.now(),
    )  # fmt: skip
    Record.objects.filter(pk=number).update(message_count=F("message_count") + 1, updated=timezone.now())
    return redirect(f"/records/{number}#m-last")


@login_required
@require_POST
def change(request: HttpRequest, number: int) -> HttpResponse:
    require_worker(request)
    _record_or_404(request, number)
    by = getattr(request.user, "username", None)
    try:
        if "status" in request.POST:
            changes.set_status(number, request.POST["status"], by)
        if "assignee" in request.POST:
            changes.assign(number, request.POST["assignee"] or None, by)
        if "follow" in request.POST:
            changes.follow(number, str(by), on=request.POST["follow"] == "1")
        if "private" in request.POST:
            changes.set_private(number, request.POST["private"] == "1", by)
        if request.POST.get("grant"):
            changes.grant(number, request.POST["grant"])
        if "field_name" in request.POST:
            changes.set_field(number, request.POST["field_name"], request.POST.get("field_value", ""))
    except PostroomError as exc:
        return _back(number, str(exc))
    return redirect(f"/records/{number}")


def _back(number: int, problem: str) -> HttpResponse:
    return redirect(f"/records/{number}?{urlencode({'problem': problem})}")


def _attachment(request: HttpRequest, attachment_id: int) -> Attachment:
    visible = visible_records(request.user).values("pk")
    return get_object_or_404(Attachment, pk=attachment_id, message__record__in=visible)


@login_required
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    from urllib.parse import quote

    att = _attachment(request, attachment_id)
    response = HttpResponse(blobs.read(att.sha256), content_type="application/octet-stream")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(
        att.filename or "attachment", safe=""
    )
    return response


@login_required
def inline_image(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """An inline (cid:) image of a mail, for its message's frame; anything but a plain image downloads."""
    att = _attachment(request, attachment_id)
    if att.content_type.lower() not in INLINE_IMAGES:
        raise Http404("not an image")
    response = HttpResponse(blobs.read(att.sha256), content_type=att.content_type.lower())
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def raw(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    record = _record_or_404(request, number)
    message = get_object_or_404(Message, pk=message_id, record=record)
    if not message.raw_sha256:
        raise Http404("no raw mail (a note)")
    response = HttpResponse(blobs.read(message.raw_sha256), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="record-{number}-message-{message.pk}.eml"'
    return response


KINDS = ("ticket", "job", "quote", "task", "case")


@login_required
def new_record(request: HttpRequest) -> HttpResponse:
    """A record made by hand (a phone call, a walk-in): it needs no mailbox; its first entry is a note."""
    require_worker(request)
    teams = Team.objects.filter(enabled=True).order_by("name")
    if request.method != "POST":
        return render(request, "postroom/new_record.html", {"teams": teams, "kinds": KINDS, "values": {}})
    p = request.POST
    try:
        number = changes.create_by_hand(
            kind=p.get("kind", "ticket"), subject=p.get("subject", ""),
            requester_name=p.get("requester_name", ""), requester_address=p.get("requester_address", ""),
            team=p.get("team") or None, text=p.get("text", ""), by=request.user,
        )  # fmt: skip
    except PostroomError as exc:
        context = {"teams": teams, "kinds": KINDS, "values": p, "problem": str(exc)}
        return render(request, "postroom/new_record.html", context, status=400)
    return redirect(f"/records/{number}")
