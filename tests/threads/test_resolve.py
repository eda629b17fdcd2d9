"""Which record a message joins: header matches, subject references, participants, forwards."""

from tests.support.builders import parsed

from postroom.threads.resolve import ThreadLookups, resolve_thread

RECORDS = {1042: {"alice@example.com", "bob@example.com"}}
STORED = {"orig@desk.test": 1042}


def lookups(staff: set[str] | None = None) -> ThreadLookups:
    return ThreadLookups(
        record_for_message_ids=lambda ids: next((STORED[i] for i in ids if i in STORED), None),
        participants_of=lambda n: RECORDS.get(n),
        staff_addresses=lambda: staff or set(),
    )


def test_in_reply_to_joins_whoever_sends() -> None:
    match = resolve_thread(parsed(sender="stranger@evil.test", in_reply_to="orig@desk.test"), lookups())
    assert (match.record, match.how) == (1042, "header")


def test_references_join_even_without_subject_reference() -> None:
    match = resolve_thread(parsed(references=("unknown@x", "orig@desk.test")), lookups())
    assert match.record == 1042


def test_subject_reference_from_participant_joins() -> None:
    match = resolve_thread(parsed(subject="Re: [#1042] boiler"), lookups())
    assert (match.record, match.how) == (1042, "subject")


def test_bare_reference_joins() -> None:
    assert resolve_thread(parsed(subject="About #1042"), lookups()).record == 1042


def test_subject_reference_from_stranger_opens_new_record_noting_it() -> None:
    match = resolve_thread(parsed(subject="Re: [#1042] boiler", sender="mallory@evil.test"), lookups())
    assert (match.record, match.named_reference) == (None, 1042)
    assert "not a participant" in match.reason


def test_staff_may_join_by_subject() -> None:
    match = resolve_thread(parsed(subject="[#1042]", sender="agent@desk.test"), lookups({"agent@desk.test"}))
    assert match.record == 1042


def test_setting_lets_anyone_join_by_subject() -> None:
    match = resolve_thread(
        parsed(subject="[#1042]", sender="mallory@evil.test"), lookups(), subject_reference_from_anyone=True
    )
    assert match.record == 1042


def test_forward_without_headers_opens_new_record() -> None:
    match = resolve_thread(parsed(subject="Fwd: [#1042] boiler"), lookups())
    assert match.record is None and match.how == "new"


def test_reference_to_missing_record_opens_new() -> None:
    match = resolve_thread(parsed(subject="[#99999] hi"), lookups())
    assert match.record is None and match.named_reference is None


def test_foreign_language_prefixes_do_not_get_in_the_way() -> None:
    for prefix in ("AW:", "SV:", "Réf. :", "RE[3]:", "Antw:"):
        assert resolve_thread(parsed(subject=f"{prefix} [#1042] x"), lookups()).record == 1042
