"""Transfer decoding on its own: base64 repair gives the same bytes with or without pybase64."""

from __future__ import annotations

import base64

import pytest

from postroom.mail import transfer

CASES = [
    (base64.encodebytes(bytes(range(256)) * 40), bytes(range(256)) * 40),  # ordinary, with newlines
    (b"aGVs\r\nbG8=\r\n", b"hello"),
    (b"aGVsbG8", b"hello"),  # padding missing
    (b"aGV!sb*G8=", b"hello"),  # junk characters
    (b"aGVsbG8=\nd29ybGQ=\n", b"helloworld"),  # two padded chunks glued together
    (b"aGVsb", b"hel"),  # one dangling character
    (b"", b""),
]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("encoded", "wanted"), CASES)
def test_base64(encoded: bytes, wanted: bytes, fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fast:
        monkeypatch.setattr(transfer, "_fast_b64decode", None)
    buf = b"HEAD" + encoded + b"TAIL"
    assert transfer.base64(buf, 4, 4 + len(encoded), []) == wanted


def test_quoted_printable_soft_breaks_with_crlf_and_lf() -> None:
    data = b"Gr=C3=BC=C3=9Fe, this line is=\r\n long=\nand =3D done\r\n"
    out, name = transfer.decode(data, 0, len(data), "Quoted-Printable", [])
    assert (out, name) == ("Grüße, this line is longand = done\r\n".encode(), None)


def test_uuencode_with_and_without_begin_line() -> None:
    lines = b",2&5L;&\\@6F%M;6%D\n`\n"
    assert transfer.uudecode(b"begin 644 a b.txt\n" + lines + b"end\n", []) == (b"Hello Zammad", "a b.txt")
    assert transfer.uudecode(lines, []) == (b"Hello Zammad", None)


def test_identity_encodings_and_unknown_ones() -> None:
    defects: list[str] = []
    assert transfer.decode(b"abc", 0, 3, "8bit", defects) == (b"abc", None) and defects == []
    assert transfer.decode(b"abc", 0, 3, "x-gzip64", defects) == (b"abc", None)
    assert defects == ["unknown Content-Transfer-Encoding 'x-gzip64': kept as is"]
