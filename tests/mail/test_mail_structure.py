"""Which parts are body and which attachments: alternatives, inline images, names, attached mail, TNEF."""

from __future__ import annotations

import hashlib

from postroom.mail.parse import parse_message
from tests.mail.builders import Entity, attached_mail, attachment, message, multipart, text, tnef

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_alternative_gives_text_and_html() -> None:
    msg = parse_message(
        message(multipart("alternative", text("Plain version\n"), text("<p>HTML <b>version</b></p>", "html")))
    )
    assert msg.text == "Plain version\n"
    assert msg.html == "<p>HTML <b>version</b></p>"
    assert msg.attachments == ()


def test_html_only_mail_gets_readable_text() -> None:
    html = (
        "<html><head><title>Newsletter</title><style>p {color: red}</style><script>evil()</script></head>"
        "<body><h1>Hello&nbsp;you</h1><p>First   paragraph,\nstill first.</p><p>Second<br>line two</p>"
        "<ul><li>one</li><li>two</li></ul><p>See <a href='https://x.test/a'>our site</a> &amp; more.</p>"
        "<table><tr><td>A1</td><td>B1</td></tr><tr><td>A2</td><td>B2</td></tr></table></body></html>"
    )
    msg = parse_message(message(text(html, "html")))
    assert msg.text == (
        "Hello you\n\nFirst paragraph, still first.\n\nSecond\nline two\n\none\ntwo\n\n"
        "See our site & more.\n\nA1 B1\nA2 B2"
    )


def test_inline_text_parts_are_joined() -> None:
    msg = parse_message(message(multipart("mixed", text("First part."), text("Second part.\n"))))
    assert msg.text == "First part.\nSecond part.\n"


def test_text_parts_with_a_filename_or_attachment_disposition_are_attachments() -> None:
    raw = message(
        multipart(
            "mixed",
            text("Body.\n"),
            attachment(b"name,qty\n", "text/plain", "list.txt", disposition="inline", encoding="7bit"),
            attachment(b"<p>x</p>", "text/html", None, disposition="attachment", encoding="7bit"),
            attachment(b"BEGIN:VCALENDAR\n", "text/calendar", None, disposition=None, encoding="7bit"),
        )
    )
    msg = parse_message(raw)
    assert msg.text == "Body.\n" and msg.html is None
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        ("list.txt", "text/plain"),
        ("attachment-2.html", "text/html"),
        ("attachment-3.ics", "text/calendar"),
    ]


def test_attachment_bytes_size_and_hash() -> None:
    data = bytes(range(256)) * 100
    msg = parse_message(
        message(multipart("mixed", text("See file."), attachment(data, "application/pdf", "a.pdf")))
    )
    (att,) = msg.attachments
    assert att.data == data and att.size == len(data)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert (att.filename, att.content_type, att.inline, att.content_id) == (
        "a.pdf",
        "application/pdf",
        False,
        None,
    )


def test_rfc2231_and_rfc2047_file_names() -> None:
    rfc2231 = Entity(
        [
            ("Content-Type", "application/pdf"),
            (
                "Content-Disposition",
                "attachment;\n filename*0*=utf-8''Erkl%C3%A4rung%20zur;\n filename*1*=%20L%C3%B6sung.pdf",
            ),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b"JVBERg==\n",
    )
    rfc2047 = Entity(
        [
            ("Content-Type", 'image/jpeg; name="=?windows-1258?Q?Capture_d=92e=ECcran.jpg?="'),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b"/9j/\n",
    )
    latin = Entity(
        [
            ("Content-Type", "application/pdf"),
            ("Content-Disposition", b'attachment; filename="W\xf6lbung.pdf"'),
        ],
        b"%PDF",
    )
    msg = parse_message(message(multipart("mixed", text("Hi"), rfc2231, rfc2047, latin)))
    assert [a.filename for a in msg.attachments] == [
        "Erklärung zur Lösung.pdf",
        "Capture d’écran.jpg",  # noqa: RUF001
        "Wölbung.pdf",
    ]


def test_file_names_lose_directories_and_control_characters() -> None:
    msg = parse_message(
        message(multipart("mixed", text("Hi"), attachment(b"x", filename="C:\\\\Users\\\\me\\\\a\tb.txt")))
    )
    assert msg.attachments[0].filename == "ab.txt"


def test_inline_images_vs_attachments() -> None:
    html = '<p>Logo: <img src="cid:logo@x"></p>'
    related = multipart(
        "related",
        text(html, "html"),
        attachment(PNG, "image/png", "logo.png", disposition=None, content_id="logo@x"),
        attachment(PNG, "image/png", None, disposition=None, content_id="unused@x"),
    )
    mixed = multipart(
        "mixed",
        multipart("alternative", text("Logo"), related),
        attachment(PNG, "image/png", "photo.png", content_id="photo@x"),
        attachment(PNG, "image/png", "shown.png", disposition="inline"),
    )
    msg = parse_message(message(mixed))
    assert msg.html is not None and 'src="cid:logo@x"' in msg.html
    assert [(a.filename, a.inline, a.content_id) for a in msg.attachments] == [
        ("logo.png", True, "logo@x"),  # referenced by cid: in the HTML
        ("attachment-2.png", True, "unused@x"),  # an image in multipart/related
        ("photo.png", False, "photo@x"),  # Content-Disposition: attachment, not referenced
        ("shown.png", True, None),  # Content-Disposition: inline
    ]


def test_outlook_content_id_names_a_nameless_image() -> None:
    msg = parse_message(
        message(
            multipart(
                "related",
                text("<img src='cid:image001.png@01D4'>", "html"),
                attachment(PNG, "image/png", None, None, "image001.png@01D4"),
            )
        )
    )
    assert msg.attachments[0].filename == "image001.png"


def test_related_resources_are_not_body() -> None:
    """RFC 2387: only the root of multipart/related is the body; other HTML parts are resources."""
    related = multipart("related", text("<p>Root</p>", "html"), text("<p>Resource</p>", "html"))
    msg = parse_message(message(related))
    assert msg.html == "<p>Root</p>"
    assert [a.filename for a in msg.attachments] == ["attachment-1.html"]


def test_attached_mail_is_one_attachment_with_its_subject() -> None:
    inner = message(
        multipart("mixed", text("Inner body text"), attachment(PNG, "image/png", "inner.png")),
        subject="=?utf-8?q?Gr=C3=BC=C3=9Fe_von_innen?=",
    )
    msg = parse_message(message(multipart("mixed", text("See the forwarded mail."), attached_mail(inner))))
    assert msg.text == "See the forwarded mail."
    (att,) = msg.attachments
    assert (att.filename, att.content_type, att.subject) == (
        "Grüße von innen.eml",
        "message/rfc822",
        "Grüße von innen",
    )
    assert att.data.startswith(b"From: Alice") and b"inner.png" in att.data
    assert att.describe()["subject"] == "Grüße von innen"


def test_attached_mail_keeps_its_declared_name() -> None:
    msg = parse_message(
        message(multipart("mixed", text("Fwd"), attached_mail(message(subject="S"), "original.eml")))
    )
    assert msg.attachments[0].filename == "original.eml" and msg.attachments[0].subject == "S"


def test_uuencoded_part() -> None:
    encoded = b"begin 644 hello.txt\n,2&5L;&\\@6F%M;6%D\n`\nend\n"
    part = Entity(
        [("Content-Type", "application/octet-stream"), ("Content-Transfer-Encoding", "x-uuencode")], encoded
    )
    msg = parse_message(message(multipart("mixed", text("See file."), part)))
    assert [(a.filename, a.data) for a in msg.attachments] == [("hello.txt", b"Hello Zammad")]


def test_uuencoded_part_without_begin_line() -> None:
    """zammad mail078: only the encoded lines, the name in Content-Disposition."""
    part = attachment(b"", "application/msword", "notes.txt", encoding="x-uuencode")
    part.body = b",2&5L;&\\@6F%M;6%D\n`\n"
    msg = parse_message(message(multipart("mixed", text("Hi"), part)))
    assert [(a.filename, a.data) for a in msg.attachments] == [("notes.txt", b"Hello Zammad")]


def test_quoted_printable_and_base64_bodies() -> None:
    qp = text("Grüße = viele\n", encoding="quoted-printable")
    assert b"=3D" in qp.body
    assert parse_message(message(qp)).text == "Grüße = viele\n"
    assert parse_message(message(text("Grüße\n", encoding="base64"))).text == "Grüße\n"


def test_broken_base64_is_repaired() -> None:
    part = text("x", encoding="base64")
    part.body = b"R3L!DvMOfZQ\n"  # junk character and no padding
    msg = parse_message(message(part))
    assert msg.text == "Grüße"


def test_tnef_is_unpacked_into_its_files_and_body() -> None:
    winmail = tnef([("report.pdf", b"%PDF-1.4 report"), ("Büro.txt", b"hello")], body="Hello from Outlook")
    raw = message(multipart("mixed", text(""), attachment(winmail, "application/ms-tnef", "winmail.dat")))
    msg = parse_message(raw)
    assert [(a.filename, a.content_type, a.data) for a in msg.attachments] == [
        ("report.pdf", "application/pdf", b"%PDF-1.4 report"),
        ("Büro.txt", "text/plain", b"hello"),
    ]
    assert msg.text == "Hello from Outlook"


def test_tnef_body_is_not_used_when_the_mail_has_text() -> None:
    winmail = tnef([("a.txt", b"a")], body="TNEF body")
    msg = parse_message(
        message(
            multipart(
                "mixed", text("Real text"), attachment(winmail, "application/octet-stream", "WINMAIL.DAT")
            )
        )
    )
    assert msg.text == "Real text" and [a.filename for a in msg.attachments] == ["a.txt"]


def test_multipart_signed_keeps_the_signature_as_an_attachment() -> None:
    signature = attachment(
        b"-----BEGIN PGP SIGNATURE-----\n", "application/pgp-signature", "signature.asc", encoding="7bit"
    )
    msg = parse_message(
        message(
            multipart(
                "signed", text("Signed text"), signature, params='; protocol="application/pgp-signature"'
            )
        )
    )
    assert msg.text == "Signed text"
    assert [a.filename for a in msg.attachments] == ["signature.asc"]
