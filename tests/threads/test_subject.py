"""Subject references and reply/forward prefixes in many languages."""

import pytest

from postroom.threads.subject import find_references, format_reference, is_forward, strip_prefixes


@pytest.mark.parametrize(
    ("subject", "numbers"),
    [
        ("Re: [#1042] Boiler broken", [1042]),
        ("AW: [#1042] Heizung", [1042]),
        ("Ticket #77 again", [77]),
        ("[#5] and [#6]", [5, 6]),
        ("Order no. 1042", []),
        ("Invoice &#1042; entity", []),
        ("C# question", []),
    ],
)
def test_find_references(subject: str, numbers: list[int]) -> None:
    assert find_references(subject) == numbers


def test_custom_reference_format() -> None:
    assert find_references("Re: (Case 88) printer", "(Case {number})") == [88]
    assert format_reference(88, "(Case {number})") == "(Case 88)"


@pytest.mark.parametrize(
    ("subject", "rest"),
    [
        ("Re: Hello", "Hello"),
        ("AW: SV: Réf. : Hello", "Hello"),
        ("RE[2]: Hello", "Hello"),
        ("Antw: Hello", "Hello"),
        ("Meeting: Monday", "Meeting: Monday"),
    ],
)
def test_strip_prefixes(subject: str, rest: str) -> None:
    assert strip_prefixes(subject)[0] == rest


@pytest.mark.parametrize(
    ("subject", "forward"),
    [
        ("Fwd: [#12] x", True),
        ("WG: x", True),
        ("TR: x", True),
        ("Re: Fwd: x", False),
        ("AW: x", False),
        ("x", False),
    ],
)
def test_is_forward(subject: str, forward: bool) -> None:
    assert is_forward(subject) is forward
