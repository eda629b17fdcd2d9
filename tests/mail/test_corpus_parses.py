"""Every mail in the shared corpus parses; the only ParseErrors are the files that are not mails."""

from __future__ import annotations

import pytest

from postroom.core.errors import ParseError
from postroom.mail.parse import parse_message
from tests.mail import corpus

MAIL_FILES = corpus.files(
    "zammad/test/data/mail/*.box",
    "sisimai-set-of-emails/set-of-emails/maildir/*/*.eml",
    "flanker/tests/fixtures/messages/**/*.eml",
    "spamscope-mail-parser/tests/mails/*",
    "django-helpdesk/tests/test_files/*.eml",
    "cpython-test_email/Lib/test/test_email/data/msg_*.txt",
)
# Files in those folders that are not RFC 5322 mail at all: ParseError is the right answer for them.
NOT_MAILS = {
    "spamscope-mail-parser/tests/mails/mail_outlook_1": "an Outlook .msg file (OLE2 binary), not MIME",
    "cpython-test_email/Lib/test/test_email/data/msg_19.txt": "a mailing-list digest body, no header block",
}


@pytest.mark.corpus
def test_the_corpus_is_complete() -> None:
    corpus.require()
    assert len(MAIL_FILES) >= 940  # 212 zammad + 719 sisimai + 48 flanker ... minus .yml; guards the globs
    assert set(NOT_MAILS) <= set(MAIL_FILES)


@pytest.mark.corpus
@pytest.mark.parametrize("relative", MAIL_FILES)
def test_every_corpus_mail_parses(relative: str) -> None:
    raw = corpus.read(relative)
    if relative in NOT_MAILS:
        with pytest.raises(ParseError):
            parse_message(raw)
        return
    msg = parse_message(raw)
    assert msg.body_sha256 and len(msg.body_sha256) == 64
    assert isinstance(msg.text, str)
    assert msg.as_json()["subject"] == msg.subject
    for attachment in msg.attachments:
        assert attachment.size == len(attachment.data)
        assert attachment.filename
