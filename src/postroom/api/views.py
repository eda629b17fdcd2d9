"""The API's endpoints. Every record is looked up through records/access.py: a record the caller may not
see answers 404, exactly like one that does not exist, so ids can't be probed."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, P, PathEx, Query, Schema
from ninja.security import HttpBearer
from pydantic import Field, StringConstraints

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


class Error(Schema):
    detail: str


class ValidationErrors(Schema):
    detail: list[dict[str, Any]]


# What every operation may answer besides its 200: no or a bad token, nothing there (or nothing the caller
# may see: the same 404), a parameter out of range.
ERRORS: dict[int, type[Schema]] = {401: Error, 404: Error, 422: ValidationErrors}
LISTING_ERRORS: dict[int, type[Schema]] = {401: Error, 422: ValidationErrors}

# Ids are the database's positive 64-bit keys; a number beyond them is a 422, never an overflow.
MAX_ID = 2**63 - 1
Id = PathEx[int, P(ge=1, le=MAX_ID)]


def _download(media_type: str) -> dict[str, Any]:
    """The OpenAPI of a 200 that is bytes, not JSON (ninja only documents JSON bodies itself)."""
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {"responses": {200: {"description": "OK", "content": content}}}


# PostgreSQL can't take a NUL in a text parameter: a filter with one is a 422, not a 500 there.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class RecordFilters(Schema):
    kind: Text | None = None
    status: Text | None = None
    team: Text | None = None
    assignee: Text | None = None
    customer: Text | None = None
    needs_review: bool | None = None
    q: Text | None = None  # text in the subject or in a message's text
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID - 500)  # offset + limit stays a 64-bit integer (SQLite's)


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


class AttachmentInfo(Schema):
    filename: str
    size: int
    sha256: str


class Outbox(Schema):
    status: str
    to: list[str]
    error: str | None
    refused: dict[str, Any] | None


class MessageDetail(Schema):
    direction: str
    entry_type: str | None
    rule: str | None
    message_id: str | None
    from_: Person = Field(alias="from")
    subject: str
    date: str | None
    text: str
    attachments: list[AttachmentInfo]
    why: str
    because: list[str]
    outbox: Outbox | None = None  # only on a message we sent


class RecordDetail(Schema):
    """records/views.py show_record, key for key and in its order."""

    number: int
    kind: str
    status: str
    subject: str
    requester: Person
    mailbox: str | None
    created: str
    message_count: int
    archive: bool
    customer: str | None
    contact: str | None
    category: str | None
    team: str | None
    assignee: str | None
    priority: str
    tags: list[str]
    fields: dict[str, Any]
    needs_review: bool
    review_reason: str | None
    rule: str | None
    messages: list[MessageDetail]
    followers: list[str]
    named_reference: int | None


@api.get(
    "/records",
    response={200: list[RecordSummary], **LISTING_ERRORS},
    summary="Records the caller may see, newest first",
)
def list_records(request: HttpRequest, filters: Query[RecordFilters]) -> list[dict[str, Any]]:
    rows = visible_records(request.user).select_related("team", "assignee").order_by("-number")
    exact = {"kind": filters.kind, "status": filters.status, "team__name": filters.team,
             "assignee__username": filters.assignee, "customer__name": filters.customer,
             "needs_review": filters.needs_review}  # fmt: skip
    rows = rows.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.q:
        text = Message.objects.filter(text__icontains=filters.q).values("record_id")
        rows = rows.filter(Q(subject__icontains=filters.q) | Q(pk__in=text))
    return [_summary(r) for r in rows[filters.offset : filters.offset + filters.limit]]


# by_alias: a message's "from"; exclude_unset: "outbox" only on a message we sent, as `records show`.
@api.get(
    "/records/{number}",
    response={200: RecordDetail, **ERRORS},
    by_alias=True,
    exclude_unset=True,
    summary="One record with its messages (as `postroom records show --json`)",
)
def get_record(request: HttpRequest, number: Id) -> dict[str, Any]:
    get_object_or_404(visible_records(request.user), pk=number)
    shown = show_record(number)
    assert shown is not None
    return shown


@api.get(
    "/records/{number}/messages/{message_id}/raw",
    response={200: None, **ERRORS},
    openapi_extra=_download("message/rfc822"),
    summary="A message's raw bytes (message/rfc822)",
)
def get_raw(request: HttpRequest, number: Id, message_id: Id) -> HttpResponse:
    record = get_object_or_404(visible_records(request.user), pk=number)
    message = get_object_or_404(Message, pk=message_id, record=record)
    response = HttpResponse(blobs.read(message.raw_sha256), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
    return response


@api.get(
    "/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    openapi_extra=_download("application/octet-stream"),
    summary="An attachment's bytes",
)
def get_attachment(request: HttpRequest, attachment_id: Id) -> HttpResponse:
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


# --- mailboxes and rules (admins) ------------------------------------------------------------------------

ADMIN_ERRORS: dict[int, type[Schema]] = {401: Error, 403: Error, 404: Error, 422: ValidationErrors}


class MailboxHealth(Schema):
    name: str
    protocol: str
    host: str
    port: int
    security: str
    folder: str
    address: str
    record_kind: str
    after_import: str
    enabled: bool
    sends: bool  # it has smtp: settings
    last_success: str | None
    consecutive_failures: int
    last_error: str | None
    waiting_on_server: int | None


class RuleOut(Schema):
    name: str
    order: int
    spec: dict[str, Any]  # as the configuration file writes it (see the README's rules table)


def _admin(request: HttpRequest) -> None:
    from ninja.errors import HttpError

    from postroom.people.models import Role
    from postroom.records.access import role_of

    if role_of(request.user) != Role.ADMIN:
        raise HttpError(403, "only admins see mailboxes and rules")


def _mailbox_json(m: Any) -> dict[str, Any]:
    return {
        "name": m.name,
        "protocol": m.protocol,
        "host": m.host,
        "port": m.port,
        "security": m.security,
        "folder": m.folder,
        "address": m.address,
        "record_kind": m.record_kind,
        "after_import": m.after_import,
        "enabled": m.enabled,
        "sends": bool(m.smtp_host),
        "last_success": m.last_success_at.isoformat() if m.last_success_at else None,
        "consecutive_failures": m.consecutive_failures,
        "last_error": m.last_error or None,
        "waiting_on_server": m.waiting_on_server,
    }  # fmt: skip (no password, ever)


@api.get(
    "/mailboxes", response={200: list[MailboxHealth], 401: Error, 403: Error}, summary="Mailboxes (admins)"
)
def list_mailboxes(request: HttpRequest) -> list[dict[str, Any]]:
    from postroom.mailboxes.models import Mailbox

    _admin(request)
    return [_mailbox_json(m) for m in Mailbox.objects.order_by("name")]


MailboxName = PathEx[str, P(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]


@api.get("/mailboxes/{name}/rules", response={200: list[RuleOut], **ADMIN_ERRORS},
         summary="A mailbox's rules in the order they apply (admins)")  # fmt: skip
def list_rules(request: HttpRequest, name: MailboxName) -> list[dict[str, Any]]:
    from postroom.mailboxes.models import Mailbox, Rule

    _admin(request)
    mailbox = get_object_or_404(Mailbox, name=name)
    return [{"name": r.name, "order": r.order, "spec": r.spec} for r in Rule.objects.filter(mailbox=mailbox)]
