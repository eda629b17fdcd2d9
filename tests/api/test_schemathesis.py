"""The API against its own OpenAPI document: schemathesis generates calls for every operation and checks
that none is a server error and that each status, content type and body is one the document declares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import checks

from postroom.mailboxes.models import Mailbox
from postroom.outgoing.reply import queue_reply
from postroom.people.models import Team
from postroom.people.tokens import create_token
from postroom.pipeline.ingest import ingest
from postroom.records.models import Record
from tests.support.builders import mail

# The calls go through Django's WSGI handler in this process; its request signals may close the
# connection, so the data has to be committed (and ids start at 1, where generated ids often land).
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
CALLS: Counter[str] = Counter()  # by operation
STATUSES: Counter[tuple[str, int]] = Counter()  # by operation and status


@pytest.fixture(scope="module", autouse=True)
def report_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: how many calls schemathesis made, by operation and status (shown without -s)."""
    yield
    if CALLS:
        by_status = ", ".join(f"{op} {code}: {n}" for (op, code), n in sorted(STATUSES.items()))
        with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            print(f"\nschemathesis made {CALLS.total()} calls ({by_status})")


@pytest.fixture
def token() -> str:
    """A user of the Field team with a token; two records they may see (one with an attachment, one with
    a reply in the outbox, never sent) and one of another team's they may not."""
    box = Mailbox.objects.create(
        name="desk", protocol="imap", host="h", port=1, username="u", address="desk@d.test", smtp_host="h"
    )
    ann = get_user_model().objects.create_user("ann", "ann@d.test")
    field, office = Team.objects.create(name="Field"), Team.objects.create(name="Office")
    field.members.add(ann)
    raws = [
        mail("Leak at Field", sender="rita@d.test", attachments=(("plan.pdf", b"%PDF"),)),
        mail("Pump noise", sender="rita@d.test", body="It hums.\n"),
        mail("Office chair", sender="carl@x.test"),
    ]
    outcomes = [ingest(box, f"pipe:{i}", raw) for i, raw in enumerate(raws, 1)]
    Record.objects.filter(pk__in=[o.record for o in outcomes[:2]]).update(team=field)
    Record.objects.filter(pk=outcomes[2].record).update(team=office)
    queue_reply(outcomes[1].record, "We'll look at it.")
    return create_token(ann, "schemathesis")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_conforms_to_its_openapi_document(case: schemathesis.Case, token: str) -> None:
    # The token goes with every call, except where schemathesis leaves Authorization out on purpose
    # (its negative cases for a 401).
    CALLS[case.operation.label] += 1
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
    STATUSES[case.operation.label, response.status_code] += 1


@pytest.mark.parametrize(
    "query",
    [
        "offset=99999999999999999999",  # was a 500 on SQLite (OverflowError)
        "q=a%00b",  # was a 500 on PostgreSQL (NUL in a text parameter)
        "team=a%00b",
        "limit=0",  # limit and offset out of range were silently clamped
        "limit=501",
        "offset=-1",
    ],
)
def test_what_schemathesis_found_stays_fixed(token: str, query: str) -> None:
    response = Client().get(f"/api/records?{query}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422, response.content
