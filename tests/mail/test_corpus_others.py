"""The other corpus sources' expectations: spamscope, django-helpdesk, tnefparse, sisimai and flanker."""

from __future__ import annotations

from datetime import UTC

import pytest

from postroom.mail.message import Address
from postroom.mail.parse import parse_message
from tests.mail import corpus
from tests.mail.builders import attachment, message, multipart, text

SPAMSCOPE = corpus.expected("spamscope-mail-parser")["fixtures"]
HELPDESK = corpus.expected("django-helpdesk")["fixtures"]
TNEF = corpus.expected("tnefparse")["fixtures"]
SISIMAI = corpus.expected("sisimai-set-of-emails")["fixtures"]
FLANKER = corpus.expected("flanker")


def _spamscope(name: str):  # type: ignore[no-untyped-def]
    return parse_message(corpus.read(f"spamscope-mail-parser/tests/mails/{name}"))


def _pairs(addresses: tuple[Address, ...]) -> list[list[str]]:
    return [[a.name, a.address] for a in addresses]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["mail_test_17", "mail_test_18", "mail_test_19"])
def test_spamscope_address_lists(name: str) -> None:
    exp = SPAMSCOPE[name]
    msg = _spamscope(name)
    assert msg.from_ is not None and [[msg.from_.name, msg.from_.address]] == exp["from"]
    for key in ("to", "cc", "reply_to"):
        if key in exp:
            assert _pairs(getattr(msg, key)) == exp[key]


@pytest.mark.corpus
def test_spamscope_mail_test_2() -> None:
    exp = SPAMSCOPE["mail_test_2"]
    msg = _spamscope("mail_test_2")
    assert msg.from_ is not None and msg.from_.address == exp["from_address"]
    assert msg.subject == exp["subject"]
    assert len(msg.to) == exp["to_count"] and msg.to[0].address == exp["to_first_address"]
    assert f"<{msg.message_id}>" == exp["message_id"]
    assert msg.date is not None and msg.date.astimezone(UTC).isoformat() == exp["date_utc_iso"]
    assert len(msg.attachments) == exp["attachments_count"]
    assert msg.defects == ()


@pytest.mark.corpus
def test_spamscope_attachments() -> None:
    # mail_test_3: its one "attachment" is an inline text/plain part with a file name (message.txt).
    msg = _spamscope("mail_test_3")
    assert len(msg.attachments) == SPAMSCOPE["mail_test_3"]["attachments_count"]
    assert msg.attachments[0].inline and msg.attachments[0].content_type == "text/plain"
    assert len(_spamscope("mail_test_5").attachments) == SPAMSCOPE["mail_test_5"]["attachments_count"]
    msg = _spamscope("mail_test_10")
    names = SPAMSCOPE["mail_test_10"]["attachment_filenames"]
    assert len(msg.attachments) == len(names)
    # mail-parser names the three nameless inline images after their Content-ID; we keep the id in
    # content_id and name the files attachment-N.gif.
    assert sorted(f"<{a.content_id}>" for a in msg.attachments[:3]) == sorted(names[:3])
    assert [a.filename for a in msg.attachments] == [
        "attachment-1.gif",
        "attachment-2.gif",
        "attachment-3.gif",
        names[3],
    ]


@pytest.mark.corpus
def test_spamscope_headers_and_oddities() -> None:
    gtube = _spamscope("mail_test_16")
    wanted = SPAMSCOPE["mail_test_16"]["headers"]
    assert gtube.headers["precedence"] == wanted["Precedence"] == "junk"
    assert gtube.auto_submitted  # Precedence: junk
    assert gtube.subject == wanted["Subject"]
    assert [gtube.from_.name, gtube.from_.address] == wanted["From"][0]  # type: ignore[union-attr]
    assert any(a.address.endswith("@test.it") for a in _spamscope("mail_test_6").to)
    assert _spamscope("mail_test_12").subject  # GB2312 subject, undecodable bytes in Received
    assert "reply_to" in SPAMSCOPE["mail_malformed_3"]
    malformed = _spamscope("mail_malformed_3")
    assert _pairs(malformed.reply_to) == SPAMSCOPE["mail_malformed_3"]["reply_to"]
    assert malformed.headers["x-msmail-priority"] == SPAMSCOPE["mail_malformed_3"]["X-MSMail-Priority"]
    assert "boundary not found in the body" in malformed.defects


@pytest.mark.corpus
def test_spamscope_malformed_bounce() -> None:
    """A multipart/report bounce: upstream (the stdlib) counts 1 attachment because it mis-splits the
    part holding the returned headers; we split it and keep both report parts."""
    msg = _spamscope("mail_malformed_2")
    assert msg.bounce
    assert [a.content_type for a in msg.attachments] == ["message/delivery-status", "message/rfc822-headers"]


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(HELPDESK) or [corpus.MISSING])
def test_django_helpdesk(name: str) -> None:
    exp = HELPDESK[name]
    msg = parse_message(corpus.read(f"django-helpdesk/tests/test_files/{name}"))
    if name == "blank-body-with-attachment.eml":
        # django-helpdesk cuts titles at 200 characters; the subject itself is longer.
        assert msg.subject.startswith(exp["ticket_title"].removesuffix("..."))
        assert msg.text.strip() == exp["ticket_description_stripped"]
        assert [a.filename for a in msg.attachments] == ["baf"]
        return
    assert msg.subject == exp["ticket_title"]
    if "ticket_description" in exp:
        assert msg.text.strip() == exp["ticket_description"]
    if name == "utf-nondecodable.eml":
        # django-helpdesk describes the ticket from the HTML part; this mail's plain part says other things.
        assert msg.html is not None and exp["ticket_description_contains"] in msg.html
        assert msg.text.lstrip().startswith("-------- Forwarded Message --------")
    elif "ticket_description_contains" in exp:
        assert exp["ticket_description_contains"] in msg.text
    if name == "quoted_printable.eml":
        # django-helpdesk saves the HTML alternative as its one attachment: for us it is the html body.
        assert msg.attachments == ()
        assert msg.html is not None and msg.html.strip() == exp["attachment_0_contains"].strip()
    if name == "forwarded-message.eml":
        assert exp["forwarded_part_text"] in msg.text  # forwarded inline, not as message/rfc822
    if name == "pgp.eml":
        # django-helpdesk invents 'part-1_signature.asc'; the part itself is named signature.asc.
        assert exp["attachment_filenames"] == ["part-1_signature.asc"]
        assert [a.filename for a in msg.attachments] == ["signature.asc"]
        assert msg.attachments[0].data.startswith(exp["attachment_0_starts_with"].encode())


# tnefparse names nameless attachments 'unknown.dat' (newer versions); we name every nameless file alike.
TNEF_NAMES = {"minimal_attachment.tnef": ["attachment-1.bin"]}


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(TNEF) or [corpus.MISSING])
def test_tnef_inside_a_mail(name: str) -> None:
    """Each .tnef sent as winmail.dat: replaced by the files it holds; its body used when ours is empty."""
    data = corpus.read(f"tnefparse/tests/examples/{name}")
    exp = TNEF[name]
    raw = message(multipart("mixed", text(""), attachment(data, "application/ms-tnef", "winmail.dat")))
    msg = parse_message(raw)
    names = [a.filename for a in msg.attachments]
    if name == "duplicate_filename.tnef":
        # Upstream lists the de-duplicated names of its zip export; the TNEF itself repeats a name.
        assert names == ["file_abcdefgh.txt", "file_abcdefgh.txt", "VIA_Nytt_14021.htm"]
        return
    assert names == TNEF_NAMES.get(name, exp["attachment_long_filenames"])
    assert "winmail.dat" not in names and not msg.defects
    if exp["body_kind"] in ("body", "htmlbody"):
        assert msg.text.strip()
    if exp["body_kind"] == "htmlbody":
        assert msg.html is not None
    if exp["body_kind"] in (None, "rtfbody"):  # RTF bodies are not converted: the text stays empty
        assert msg.html is None and not msg.text.strip()


def test_tnef_that_cannot_be_read_stays_winmail_dat() -> None:
    raw = message(
        multipart("mixed", text("Hi"), attachment(b"not tnef at all", "application/ms-tnef", "winmail.dat"))
    )
    msg = parse_message(raw)
    assert [a.filename for a in msg.attachments] == ["winmail.dat"]
    assert any("winmail.dat" in d for d in msg.defects)


# Reasons in sisimai's tables that are not delivery failures.
NOT_FAILURES = {"feedback", "vacation", "delivered"}
# Real bounces our rules do not catch, and why catching them would cost more than it is worth.
SISIMAI_MISSED = {
    "lhost-amazonses-09.eml": "an Amazon SNS JSON notification, not a mail system's report",
    "lhost-amazonses-10.eml": "an Amazon SNS JSON notification, not a mail system's report",
    "lhost-fml-02.eml": "a mailing list's 'you are not a member' notice from neko-admin@",
    "lhost-fml-03.eml": "a mailing list's loop alert from neko-admin@",
    "lhost-kddi-01.eml": "from no-reply@ with a Japanese subject; 'no-reply' senders are too common to trust",
    "lhost-kddi-02.eml": "from no-reply@, subject 'Mail'",
    "lhost-kddi-03.eml": "from no-reply@, subject 'Mail'",
    "lhost-sendmail-14.eml": "a person forwarding a bounce ('Fwd: Returned mail'): a human message",
}


def _sisimai_cases() -> list[tuple[str, str, str]]:
    cases = []
    for relative, exp in sorted(SISIMAI.items()):
        name = relative.rsplit("/", 1)[-1]
        reasons = {r["reason"] for r in exp["recipients"]}
        kind = "feedback" if "feedback" in reasons else "vacation" if "vacation" in reasons else "bounce"
        if "delivered" in reasons:
            continue  # success notices: neither a failure nor a non-bounce, the spec does not say
        for folder in ("bsd", "dos", "mac"):
            if corpus.CORPUS.joinpath("sisimai-set-of-emails/set-of-emails/maildir", folder, name).is_file():
                cases.append((folder, name, kind))
    return cases or [("missing", corpus.MISSING, "bounce")]


@pytest.mark.corpus
@pytest.mark.parametrize(("folder", "name", "kind"), _sisimai_cases())
def test_sisimai(folder: str, name: str, kind: str) -> None:
    msg = parse_message(corpus.read(f"sisimai-set-of-emails/set-of-emails/maildir/{folder}/{name}"))
    if kind == "vacation":
        assert msg.auto_submitted and not msg.bounce
    elif kind == "feedback":
        assert not msg.bounce  # ARF abuse reports are not bounces
    elif name in SISIMAI_MISSED:
        assert not msg.bounce  # documented miss: if this starts to pass, move the file out of the table
    else:
        assert msg.bounce


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_sisimai_not_bounces(name: str) -> None:
    msg = parse_message(corpus.read(f"sisimai-set-of-emails/set-of-emails/maildir/not/{name}"))
    assert not msg.bounce


@pytest.mark.corpus
def test_sisimai_success_notices_are_delivery_reports() -> None:
    """rfc3464-28 is a DSN saying "delivered": a delivery status notification, so bounce by the spec's
    structural rule; the two Amazon SES success notices are JSON, not DSNs."""
    assert parse_message(corpus.read("sisimai-set-of-emails/set-of-emails/maildir/bsd/rfc3464-28.eml")).bounce


def _flanker_bounces() -> list[str]:
    return corpus.files("flanker/tests/fixtures/messages/bounce/*.eml") or [corpus.MISSING]


@pytest.mark.corpus
@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize(
    "relative",
    sorted(FLANKER.get("bounce_detect", {})) or [corpus.MISSING],
)
def test_flanker_bounce_detect(relative: str, crlf: bool) -> None:
    raw = corpus.read(f"flanker/{relative}")
    if crlf:  # upstream reads its fixtures with every newline turned into CRLF
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    msg = parse_message(raw)
    assert msg.bounce is FLANKER["bounce_detect"][relative]["is_bounce"]


@pytest.mark.corpus
@pytest.mark.parametrize("relative", _flanker_bounces())
def test_flanker_bounce_folder(relative: str) -> None:
    """MANIFEST: bounce/ holds DSNs (delayed*.eml are delay notices, still delivery reports)."""
    assert parse_message(corpus.read(relative)).bounce


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", ["complaints/aol.eml", "complaints/yahoo.eml", "disposition-notification.eml", "signed.eml"]
)
def test_flanker_reports_that_are_not_bounces(name: str) -> None:
    assert not parse_message(corpus.read(f"flanker/tests/fixtures/messages/{name}")).bounce


@pytest.mark.corpus
def test_flanker_broken_and_nested_mime() -> None:
    base = "flanker/tests/fixtures/messages/"
    msg = parse_message(corpus.read(base + "missing-final-boundary.eml"))
    assert "missing end boundary" in msg.defects and msg.text == "Some body\n"
    torture = parse_message(corpus.read(base + "torture.eml"))
    assert torture.subject == "Multi-media mail demonstration"
    # Its attached mails stay whole: eight message/rfc822 attachments, their insides not flattened.
    assert [a.content_type for a in torture.attachments].count("message/rfc822") == 8
    assert len(torture.attachments) == 11
