"""The API's endpoints. Every record is looked up through records/access.py: a record the caller may not
see answers 404, exactly like one that does not exist, so ids can't be probed."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Query, Schema
from ninja.security import HttpBearer

from postroom.people.tokens import user_for_token
from postroom.records import blobs
from postroom.records.access import visible_records
from postroom.records.models import Attachment, Message
from postroom.records.views import show_record


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Postroom API",
    version="1",
    description="Records made from mail, their messages and attachments. Authorization: Bearer TOKEN "
    "(`postroom token create USER`).",
    auth=BearerToken(),
    urls_namespace="api",
)


class RecordFilters(Schema):
    kind: str | None = None
    status: str | None = None
    team: str | None = None
    assignee: str | None = None
    customer: str | None = None
    needs_review: bool | None = None
    q: str | None = None  # text in the subject or in a message's text
    limit: int = 50
    offset: int = 0


class Person(Schema):
    name: str
    address: str


class RecordSummary(Schema):
    number: int
    kind: str
    status: str
    subject: str
    requester: Person
    team: str | None
    assignee: str | None
    created: str
    message_count: int
    needs_review: bool


def _summary(r: Any) -> dict[str, Any]:
    return {
        "number": r.pk, "kind": r.kind, "status": r.status, "subject": r.subject,
        "requester": {"name": r.requester_name, "address": r.requester_address},
        "team": r.team.name if r.team else None, "assignee": r.assignee.username if r.assignee else None,
        "created": r.created.isoformat(), "message_count": r.message_count, "needs_review": r.needs_review,
    }  # fmt: skip


@api.get("/records", response=list[RecordSummary], summary="Records the caller may see, newest first")
def list_records(request: HttpRequest, filters: Query[RecordFilters]) -> list[dict[str, Any]]:
    rows = visible_records(request.user).select_related("team", "assignee").order_by("-number")
    exact = {"kind": filters.kind, "status": filters.status, "team__name": filters.team,
             "assignee__username": filters.assignee, "customer__name": filters.customer,
             "needs_review": filters.needs_review}  # fmt: skip
    rows = rows.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.q:
        text = Message.objects.filter(text__icontains=filters.q).values("record_id")
        rows = rows.filter(Q(subject__icontains=filters.q) | Q(pk__in=text))
    limit = max(1, min(filters.limit, 500))
    return [_summary(r) for r in rows[max(0, filters.offset) : max(0, filters.offset) + limit]]


@api.get("/records/{number}", summary="One record with its messages (as `postroom records show --json`)")
def get_record(request: HttpRequest, number: int) -> dict[str, Any]:
    get_object_or_404(visible_records(request.user), pk=number)
    shown = show_record(number)
    assert shown is not None
    return shown


@api.get("/records/{number}/messages/{message_id}/raw", summary="A message's raw bytes (message/rfc822)")
def get_raw(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    record = get_object_or_404(visible_records(request.user), pk=number)
    message = get_object_or_404(Message, pk=message_id, record=record)
    response = HttpResponse(blobs.read(message.raw_sha256), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
    return response


@api.get("/attachments/{attachment_id}", summary="An attachment's bytes")
def get_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    visible = visible_records(request.user).values("pk")
    att = get_object_or_404(Attachment, pk=attachment_id, message__record__in=visible)
    # Served as a download, never rendered in our origin: a mail's HTML or SVG can't run script here.
    response = HttpResponse(blobs.read(att.sha256), content_type="application/octet-stream")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''" + _quote(att.filename or "attachment")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
