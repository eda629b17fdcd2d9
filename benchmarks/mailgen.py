"""A deterministic generator of a realistic mail mix (threads, charsets, attachments) for benchmarks."""

# ruff: noqa: RUF001  (the sample texts are in many scripts on purpose: Cyrillic, Greek, full-width signs)

from __future__ import annotations

import argparse
import base64
import quopri
import random
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path

DEFAULT_TO = "support@desk.test"

# --- the mix ------------------------------------------------------------------------------------------------
#
# Shapes are dealt per block of 21 consecutive mails (a seeded shuffle of SHAPES_PER_BLOCK), so every block
# has exactly 14 small mails (2/3), 3 with attachments (1/7) and 4 richer ones, and any mail is found by its
# index without generating the ones before it. Attachment sizes are dealt the same way per group of 50
# attachment mails (ATTACHMENT_BUCKETS), which keeps 1,000 mails close to 75 MB whatever the seed.

SMALL = ("plain", "alternative", "auto_reply")
RICH = ("long_html", "inline_image", "forward")
SHAPES_PER_BLOCK = ("small",) * 14 + ("attachments",) * 3 + ("rich",) * 4
BLOCK = len(SHAPES_PER_BLOCK)
REPLY_SHARE = 0.35  # of mails after the first: a reply to an earlier generated mail

# (largest raw size in bytes, mails per 50 attachment mails); a mail's size is 60-100 % of its bucket's.
ATTACHMENT_BUCKETS = (
    (6_000, 8),
    (20_000, 8),
    (60_000, 8),
    (150_000, 7),
    (400_000, 7),
    (800_000, 6),
    (1_500_000, 4),
    (3_000_000, 2),
)
GROUP = sum(count for _, count in ATTACHMENT_BUCKETS)

# language: (share, [(MIME charset, Python codec, body transfer encoding, share)], UTC offset in hours)
LANGUAGES = {
    "en": (60, [("us-ascii", "ascii", "7bit", 6), ("utf-8", "utf-8", "quoted-printable", 4)], -5),
    "de": (12, [("iso-8859-1", "latin-1", "quoted-printable", 6), ("utf-8", "utf-8", "8bit", 4)], 1),
    "fr": (
        8,
        [("iso-8859-1", "latin-1", "quoted-printable", 5), ("utf-8", "utf-8", "quoted-printable", 5)],
        1,
    ),
    "ja": (
        10,
        [
            ("Shift_JIS", "shift_jis", "base64", 5),
            ("Shift_JIS", "shift_jis", "8bit", 2),
            ("utf-8", "utf-8", "base64", 3),
        ],
        9,
    ),
    "ru": (4, [("utf-8", "utf-8", "base64", 1)], 3),
    "el": (2, [("utf-8", "utf-8", "quoted-printable", 1)], 2),
    "zh": (4, [("utf-8", "utf-8", "base64", 1)], 8),
}

SENTENCES = {
    "en": [
        "Hello, I hope you are well.",
        "Our order still hasn't arrived and the tracking page shows no update since Monday.",
        "Could you please check the invoice attached to my last mail?",
        "The printer on the third floor jams every time we print double-sided.",
        "I tried resetting my password but the link in the mail has already expired.",
        "We would like a quote for twelve additional licences, delivered before the end of the month.",
        "The technician was supposed to come on Tuesday, but nobody showed up.",
        "Please find the details below and let me know if you need anything else.",
        "Since the update yesterday the application closes as soon as I open a report.",
        "Is it possible to move the appointment to Thursday morning?",
        "I have attached a screenshot of the error message.",
        "Thanks for the quick reply, that solved the problem for most of our users.",
        "Unfortunately the issue came back this morning after a restart.",
        "Can you confirm that the refund has been processed?",
        "Our accounting department needs a corrected invoice with the new VAT number.",
        "The heating in meeting room B has not worked for a week.",
        "Let me know when a colleague can have a look at it.",
        "Best regards and have a nice weekend.",
    ],
    "de": [
        "Sehr geehrte Damen und Herren,",
        "leider ist unsere Bestellung immer noch nicht angekommen.",
        "Könnten Sie bitte prüfen, ob die Rechnung korrekt ist?",
        "Der Drucker im dritten Stock funktioniert seit Montag nicht mehr.",
        "Wir bräuchten ein Angebot für zwölf zusätzliche Lizenzen.",
        "Die Heizung im Besprechungsraum ist schon wieder ausgefallen.",
        "Anbei finden Sie ein Foto der beschädigten Lieferung.",
        "Vielen Dank für die schnelle Rückmeldung, das hat geholfen.",
        "Bitte geben Sie mir Bescheid, wann ein Techniker vorbeikommen kann.",
        "Für Rückfragen stehe ich gerne zur Verfügung.",
        "Mit freundlichen Grüßen aus München.",
    ],
    "fr": [
        "Bonjour, j'espère que vous allez bien.",
        "Notre commande n'est toujours pas arrivée, pourriez-vous vérifier ?",
        "La facture reçue hier comporte une erreur sur le numéro de TVA.",
        "L'imprimante du deuxième étage ne fonctionne plus depuis lundi.",
        "Nous aimerions recevoir un devis pour douze licences supplémentaires.",
        "Le technicien devait passer mardi mais personne n'est venu.",
        "Vous trouverez ci-joint une capture d'écran du message d'erreur.",
        "Merci beaucoup pour votre réponse rapide, le problème est réglé.",
        "Pouvez-vous déplacer le rendez-vous à jeudi matin ?",
        "Cordialement, et très bonne journée.",
    ],
    "ja": [
        "いつもお世話になっております。",
        "先日注文した商品がまだ届いておりません。",
        "請求書の金額に誤りがあるようですので、ご確認いただけますでしょうか。",
        "三階のプリンターが月曜日から動かなくなりました。",
        "追加のライセンス十二本のお見積りをお願いいたします。",
        "エラーメッセージの画面を添付いたします。",
        "早速のご対応ありがとうございました。",
        "木曜日の午前中に日程を変更することは可能でしょうか。",
        "お手数をおかけしますが、よろしくお願いいたします。",
    ],
    "ru": [
        "Здравствуйте!",
        "Наш заказ до сих пор не доставлен.",
        "Пожалуйста, проверьте счёт, который я отправил вчера.",
        "Принтер на третьем этаже снова не работает.",
        "Спасибо за быстрый ответ, проблема решена.",
        "С уважением, Ольга.",
    ],
    "el": [
        "Καλημέρα σας,",
        "η παραγγελία μας δεν έχει φτάσει ακόμα.",
        "Μπορείτε να ελέγξετε το τιμολόγιο;",
        "Ευχαριστώ πολύ για τη γρήγορη απάντηση.",
        "Με εκτίμηση.",
    ],
    "zh": [
        "您好，",
        "我们的订单到现在还没有收到。",
        "请帮忙核对一下昨天发送的发票。",
        "三楼的打印机从周一开始就不能用了。",
        "非常感谢您的快速回复。",
        "此致敬礼 🙏",
    ],
}

SUBJECTS = {
    "en": [
        "Order {n} not delivered",
        "Question about invoice {n}",
        "Password reset link expired",
        "Printer on 3rd floor broken",
        "Quote request: {n} licences",
        "Technician did not show up",
        "App crashes when opening reports",
        "Refund for order {n}",
        "Heating in room B",
        "“Urgent” – access badge {n} blocked",
    ],
    "de": [
        "Rückfrage zur Rechnung {n}",
        "Lieferung verspätet – Bestellung {n}",
        "Drucker im 3. Stock defekt",
        "Angebotsanfrage: {n} Lizenzen",
        "Heizung ausgefallen",
    ],
    "fr": [
        "Problème de connexion",
        "Facture n° {n} – question",
        "Commande {n} non reçue",
        "Demande de devis ({n} licences)",
        "Rendez-vous déplacé à jeudi",
    ],
    "ja": [
        "注文番号{n}について",
        "請求書の件（{n}）",
        "プリンター故障のご連絡",
        "お見積りのお願い",
        "日程変更のお願い",
    ],
    "ru": ["Вопрос по счёту {n}", "Заказ {n} не доставлен", "Не работает принтер"],
    "el": ["Ερώτηση για την παραγγελία {n}", "Πρόβλημα με τον εκτυπωτή"],
    "zh": ["关于订单{n}的问题", "发票核对 {n}", "打印机故障"],
}

REPLY_PREFIX = {
    "en": "Re: ",
    "de": "AW: ",
    "fr": "RE : ",
    "ja": "Re: ",
    "ru": "Re: ",
    "el": "ΑΠ: ",
    "zh": "回复: ",
}
FORWARD_PREFIX = {
    "en": "Fwd: ", "de": "WG: ", "fr": "TR : ", "ja": "Fw: ", "ru": "Fwd: ", "el": "ΠΡΘ: ", "zh": "转发: ",
}  # fmt: skip
AUTO_REPLY_SUBJECT = {"en": "Automatic reply: ", "de": "Abwesend: ", "fr": "Réponse automatique : "}

NAMES = {
    "en": (
        ["James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Emily"],
        ["Smith", "Johnson", "Brown", "O'Neil", "Taylor", "Wilson"],
    ),
    "de": (
        ["Jürgen", "Käthe", "Hans", "Anna", "Jörg", "Sabine"],
        ["Müller", "Schäfer", "Weiß", "Bauer", "Groß"],
    ),
    "fr": (
        ["Hélène", "François", "Chloé", "Jérôme", "Marie"],
        ["Lefèvre", "Dubois", "Gaël", "Martin", "Bézier"],
    ),
    "ja": (["太郎", "花子", "健一", "由美"], ["山田", "佐藤", "鈴木", "高橋"]),
    "ru": (["Ольга", "Иван", "Наталья"], ["Иванова", "Петров", "Смирнова"]),
    "el": (["Νίκος", "Μαρία"], ["Παπαδόπουλος", "Γεωργίου"]),
    "zh": (["伟", "芳", "娜"], ["王", "李", "张"]),
}
ROMAN = {"ja": "tanaka", "ru": "ivanova", "el": "nikos", "zh": "wang"}
DOMAINS = {
    "en": ["example.com", "mail.example.org", "customer.example.net", "gmail.example.com"],
    "de": ["kunde.example.de", "beispiel.example.de", "web.example.de"],
    "fr": ["client.example.fr", "orange.example.fr"],
    "ja": ["example.co.jp", "mail.example.ne.jp"],
    "ru": ["mail.example.ru", "yandex.example.ru"],
    "el": ["example.gr"],
    "zh": ["example.cn", "qq.example.com"],
}
MAILERS = [
    "Microsoft Outlook 16.0",
    "Mozilla Thunderbird 115.8.0",
    "Apple Mail (2.3774.500.171.1.1)",
    "Roundcube Webmail/1.6.6",
    "K-9 Mail for Android",
]
# (kind, MIME type, file name template, leading bytes): the leading bytes make a file look like its kind.
ATTACHMENT_KINDS = [
    ("pdf", "application/pdf", "invoice-{n}.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    ("pdf", "application/pdf", "Rechnung_{n}_März.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
    ("pdf", "application/pdf", "見積書_{n}.pdf", b"%PDF-1.6\n%\xe2\xe3\xcf\xd3\n"),
    ("jpeg", "image/jpeg", "IMG_{n}.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00"),
    ("png", "image/png", "screenshot {n}.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("zip", "application/zip", "logs-{n}.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Devis {n}.docx",
        b"PK\x03\x04\x14\x00\x06\x00",
    ),
    ("bin", "application/octet-stream", "export_{n}.dat", b"\x00\x01\x02\x03"),
]

CRLF = b"\r\n"
Chunk = bytes | memoryview  # a piece of a mail; attachment data are views of one shared buffer
_BASE_TIME = datetime(2024, 3, 4, 7, 30, tzinfo=UTC)

# --- what each mail is -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    kind: str
    content_type: str
    filename: str
    size: int  # decoded bytes


@dataclass(frozen=True)
class MailSpec:
    """What mail number `index` is, decided without rendering it (cheap; used for replies and by tests)."""

    index: int
    shape: str  # one of SMALL, RICH or "attachments"
    lang: str
    charset: str
    codec: str
    transfer: str  # body Content-Transfer-Encoding
    message_id: str  # without angle brackets
    subject: str  # decoded
    base_subject: str  # the thread's subject, without prefixes
    sender: tuple[str, str]  # display name, address
    parent: int | None  # the earlier mail this one replies to
    references: tuple[str, ...]  # Message-IDs, oldest first (the parent's last)
    date: datetime
    attachments: tuple[Attachment, ...]


def _rng(seed: int, *parts: object) -> random.Random:
    """A random source for one decision; string seeds are hashed with SHA-512, so runs are repeatable."""
    return random.Random("/".join(map(str, (seed, *parts))))


@lru_cache(maxsize=512)
def _block(seed: int, block: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The shapes of one block of 21 mails, and for each attachment mail its ordinal among them."""
    shapes = list(SHAPES_PER_BLOCK)
    _rng(seed, "block", block).shuffle(shapes)
    ordinals, count = [], 0
    for shape in shapes:
        ordinals.append(block * SHAPES_PER_BLOCK.count("attachments") + count)
        count += shape == "attachments"
    return tuple(shapes), tuple(ordinals)


@lru_cache(maxsize=64)
def _bucket_group(seed: int, group: int) -> tuple[int, ...]:
    sizes = [size for size, count in ATTACHMENT_BUCKETS for _ in range(count)]
    _rng(seed, "buckets", group).shuffle(sizes)
    return tuple(sizes)


@lru_cache(maxsize=8192)
def spec(index: int, seed: int = 1) -> MailSpec:
    """The plan of mail number `index`: shape, language, thread, sender and attachments."""
    rng = _rng(seed, "mail", index)
    shapes, ordinals = _block(seed, index // BLOCK)
    shape = shapes[index % BLOCK]
    if shape == "small":
        shape = rng.choices(SMALL, weights=(50, 45, 5))[0]
    elif shape == "rich":
        shape = rng.choice(RICH)
    parent = _parent(rng, index, shape)
    up = spec(parent, seed) if parent is not None else None
    lang = up.lang if up else _weighted(rng, {k: v[0] for k, v in LANGUAGES.items()})
    charset, codec, transfer = (up.charset, up.codec, up.transfer) if up else _charset(rng, lang)
    sender = up.sender if up and rng.random() < 0.7 else _person(rng, lang)
    base_subject = up.base_subject if up else rng.choice(SUBJECTS[lang]).format(n=rng.randint(1000, 99999))
    return MailSpec(
        index=index,
        shape=shape,
        lang=lang,
        charset=charset,
        codec=codec,
        transfer=transfer,
        message_id=_message_id(rng, seed, index, sender[1]),
        subject=_subject(shape, lang, base_subject, up),
        base_subject=base_subject,
        sender=sender,
        parent=parent,
        references=(*up.references[-9:], up.message_id) if up else (),
        date=_BASE_TIME + timedelta(seconds=index * 420 + rng.randint(0, 400)),
        attachments=_attachments(rng, seed, ordinals[index % BLOCK]) if shape == "attachments" else (),
    )


def _parent(rng: random.Random, index: int, shape: str) -> int | None:
    is_reply = shape == "auto_reply" or rng.random() < REPLY_SHARE
    if index == 0 or shape == "forward" or not is_reply:
        return None
    return rng.randint(max(0, index - 300), index - 1)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _charset(rng: random.Random, lang: str) -> tuple[str, str, str]:
    options = LANGUAGES[lang][1]
    charset, codec, transfer, _ = rng.choices(options, weights=[o[3] for o in options])[0]
    return charset, codec, transfer


def _person(rng: random.Random, lang: str) -> tuple[str, str]:
    first, last = rng.choice(NAMES[lang][0]), rng.choice(NAMES[lang][1])
    name = f"{last}{first}" if lang in ("ja", "zh") else f"{first} {last}"
    local = ROMAN.get(lang) or f"{first}.{last}".lower().encode("ascii", "ignore").decode().replace("'", "")
    return name, f"{local}{rng.randint(1, 99)}@{rng.choice(DOMAINS[lang])}"


def _message_id(rng: random.Random, seed: int, index: int, address: str) -> str:
    return f"{rng.getrandbits(64):016x}.{seed}.{index}@{address.rsplit('@', 1)[1]}"


def _subject(shape: str, lang: str, base: str, up: MailSpec | None) -> str:
    if shape == "auto_reply":
        return AUTO_REPLY_SUBJECT.get(lang, "Automatic reply: ") + base
    if shape == "forward":
        return FORWARD_PREFIX[lang] + base
    return REPLY_PREFIX[lang] + base if up else base


def _attachments(rng: random.Random, seed: int, ordinal: int) -> tuple[Attachment, ...]:
    largest = _bucket_group(seed, ordinal // GROUP)[ordinal % GROUP]
    files = [_attachment(rng, int(largest * rng.uniform(0.6, 1.0)))]
    if rng.random() < 0.3:
        files.append(_attachment(rng, rng.randint(2_000, 40_000)))
    return tuple(files)


def _attachment(rng: random.Random, size: int) -> Attachment:
    kind, content_type, template, _ = rng.choice(ATTACHMENT_KINDS)
    return Attachment(kind, content_type, template.format(n=rng.randint(100, 9999)), size)


# --- public API -------------------------------------------------------------------------------------------


def generate(n: int, seed: int = 1, to: str = DEFAULT_TO) -> Iterator[bytes]:
    """Mails 0 .. n-1 as raw RFC 5322 bytes (CRLF line ends); the same n, seed and to give the same bytes."""
    for index in range(n):
        yield message(index, seed, to)


def message(index: int, seed: int = 1, to: str = DEFAULT_TO) -> bytes:
    """Mail number `index` alone, without generating the ones before it."""
    return b"".join(_chunks(index, seed, to))


def size(index: int, seed: int = 1, to: str = DEFAULT_TO) -> int:
    """The length of message(index) in bytes, without joining its (possibly large) attachment data."""
    return sum(len(chunk) for chunk in _chunks(index, seed, to))


def total_size(n: int, seed: int = 1, to: str = DEFAULT_TO) -> int:
    """The bytes of generate(n, seed, to) together."""
    return sum(size(index, seed, to) for index in range(n))


# --- rendering --------------------------------------------------------------------------------------------


def _chunks(index: int, seed: int, to: str) -> list[Chunk]:
    s = spec(index, seed)
    rng = _rng(seed, "render", index)
    body = _RENDERERS[s.shape](s, rng, seed)
    return [_headers(s, rng, to), *body]


def _headers(s: MailSpec, rng: random.Random, to: str) -> bytes:
    name, address = s.sender
    lines = [f"Return-Path: <{address}>", *_received(s, rng, to)]
    if rng.random() < 0.6:
        lines.append(_dkim(rng, address))
    lines += [
        f"From: {_address(name, address, s)}",
        f"To: {to}",
        _fold("Subject:", _header_words(s.subject, s)),
        f"Date: {format_datetime(s.date.astimezone(_zone(s.lang)))}",
        f"Message-ID: <{s.message_id}>",
    ]
    if s.references:
        lines.append(f"In-Reply-To: <{s.references[-1]}>")
        lines.append(_fold("References:", [f"<{ref}>" for ref in s.references]))
    if s.shape == "auto_reply":
        lines += ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"]
    lines += [f"X-Mailer: {rng.choice(MAILERS)}", "MIME-Version: 1.0"]
    return "\r\n".join(lines).encode("ascii") + CRLF


def _received(s: MailSpec, rng: random.Random, to: str) -> list[str]:
    domain = to.rsplit("@", 1)[1]
    when = s.date + timedelta(seconds=rng.randint(2, 30))
    hops = [
        f"Received: from mail-out{rng.randint(1, 40)}.{s.sender[1].rsplit('@', 1)[1]} "
        f"(mail-out.{s.sender[1].rsplit('@', 1)[1]} [203.0.113.{rng.randint(1, 254)}])\r\n"
        f"\tby mx{rng.randint(1, 3)}.{domain} (Postfix) with ESMTPS id 4T{rng.getrandbits(40):010X}\r\n"
        f"\tfor <{to}>; {format_datetime(when)}",
        f"Received: from mx1.{domain} (localhost [127.0.0.1])\r\n"
        f"\tby mail.{domain} (Dovecot) with LMTP id {rng.getrandbits(64):016x}\r\n"
        f"\tfor <{to}>; {format_datetime(when + timedelta(seconds=1))}",
    ]
    return hops[::-1]


def _dkim(rng: random.Random, address: str) -> str:
    signature = base64.b64encode(rng.randbytes(256)).decode()
    body_hash = base64.b64encode(rng.randbytes(32)).decode()
    domain = address.rsplit("@", 1)[1]
    tags = ["v=1;", "a=rsa-sha256;", "c=relaxed/relaxed;", f"d={domain};", "s=s1;"]
    tags += ["h=from:to:subject:date:message-id;", f"bh={body_hash};", "b="]
    parts = tags + [signature[i : i + 70] for i in range(0, len(signature), 70)]
    return _fold("DKIM-Signature:", parts)


def _zone(lang: str) -> timezone:
    return timezone(timedelta(hours=LANGUAGES[lang][2]))


def _fold(name: str, words: list[str]) -> str:
    """A header with its words folded at spaces so lines stay within 78 characters."""
    lines, line = [], name
    for word in words:
        if len(line) + 1 + len(word) > 78 and line.strip() and line != name:
            lines.append(line)
            line = " " + word
        else:
            line += " " + word
    return "\r\n".join([*lines, line])


def _header_words(text: str, s: MailSpec) -> list[str]:
    """Text as header words: plain when ASCII, else RFC 2047 encoded words (B or Q) in the mail's charset."""
    if text.isascii():
        return text.split(" ")
    charset, codec = (s.charset, s.codec) if _encodable(text, s.codec) else ("utf-8", "utf-8")
    q = s.lang in ("de", "fr", "en")
    return _encoded_words(text, charset, codec, "Q" if q else "B")


def _encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _encoded_words(text: str, charset: str, codec: str, mode: str) -> list[str]:
    words, chunk = [], ""
    for char in text:
        if chunk and len(_encoded_word(chunk + char, charset, codec, mode)) > 75:
            words.append(_encoded_word(chunk, charset, codec, mode))
            chunk = ""
        chunk += char
    return [*words, _encoded_word(chunk, charset, codec, mode)]


def _encoded_word(text: str, charset: str, codec: str, mode: str) -> str:
    data = text.encode(codec)
    if mode == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/"
    encoded = "".join("_" if b == 32 else chr(b) if b in safe else f"={b:02X}" for b in data)
    return f"=?{charset}?Q?{encoded}?="


def _address(name: str, address: str, s: MailSpec) -> str:
    if name.isascii():
        return f'"{name}" <{address}>' if "'" in name or "," in name else f"{name} <{address}>"
    return " ".join(_header_words(name, s)) + f" <{address}>"


# --- bodies ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _own_text(index: int, seed: int) -> str:
    """What the sender of mail `index` wrote (its quoted history excluded)."""
    s = spec(index, seed)
    rng = _rng(seed, "text", index)
    sentences = SENTENCES[s.lang]
    paragraphs = [" ".join(rng.choices(sentences, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 4))]
    return "\n\n".join([*paragraphs, f"-- \n{s.sender[0]}"])


def _text(s: MailSpec, seed: int) -> str:
    """The plain text of a mail: its own text, then for a reply the parent's text quoted (40 lines)."""
    own = _own_text(s.index, seed)
    if s.parent is None:
        return own
    up = spec(s.parent, seed)
    quoted = "\n".join(f"> {line}".rstrip() for line in _text(up, seed).split("\n")[:40])
    return f"{own}\n\nOn {format_datetime(up.date)}, {up.sender[0]} <{up.sender[1]}> wrote:\n{quoted}"


def _html(text: str, rng: random.Random, repeat: int = 1) -> str:
    paragraphs = []
    for block in text.split("\n\n"):
        if block.startswith(">") or "\n>" in block:
            inner = "<br>\n".join(_escape(line.lstrip("> ")) for line in block.split("\n"))
            paragraphs.append(
                f'<blockquote style="border-left:2px solid #ccc;padding-left:8px">{inner}</blockquote>'
            )
        else:
            paragraphs.append(f"<p>{_escape(block).replace(chr(10), '<br>')}</p>")
    body = "\n".join(paragraphs * repeat)
    font = rng.choice(["Calibri, sans-serif", "Arial, Helvetica", "Georgia, serif"])
    return (
        '<!DOCTYPE html>\n<html><head><meta http-equiv="Content-Type" content="text/html">'
        f"<style>body {{font-family: {font}; font-size: 11pt}}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text_part(text: str, s: MailSpec, subtype: str = "plain") -> bytes:
    charset, codec, transfer = s.charset, s.codec, s.transfer
    if not _encodable(text, codec):
        charset, codec, transfer = "utf-8", "utf-8", "quoted-printable"
    data = text.replace("\r\n", "\n").encode(codec)
    if transfer == "base64":  # encoded text carries its canonical CRLF line ends
        data = data.replace(b"\n", CRLF)
    if transfer == "7bit" and not data.isascii():
        transfer = "quoted-printable"
    head = (
        f'Content-Type: text/{subtype}; charset="{charset}"\r\nContent-Transfer-Encoding: {transfer}\r\n\r\n'
    )
    return head.encode("ascii") + _encode_body(data, transfer)


def _encode_body(data: bytes, transfer: str) -> bytes:
    if transfer == "base64":
        encoded = base64.encodebytes(data)
    elif transfer == "quoted-printable":
        encoded = quopri.encodestring(data)
    else:
        encoded = data
    return encoded.replace(b"\n", CRLF).rstrip(CRLF) + CRLF


def _multipart(subtype: str, parts: list[list[Chunk]], rng: random.Random, extra: str = "") -> list[Chunk]:
    boundary = f"----=_Part_{rng.getrandbits(48):012x}"
    head = f'Content-Type: multipart/{subtype};{extra}\r\n\tboundary="{boundary}"\r\n\r\n'
    chunks: list[Chunk] = [head.encode("ascii"), b"This is a multi-part message in MIME format.\r\n"]
    for part in parts:
        chunks.append(f"\r\n--{boundary}\r\n".encode("ascii"))
        chunks.extend(part)
    chunks.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return chunks


def _render_plain(s: MailSpec, rng: random.Random, seed: int) -> list[Chunk]:
    return [_text_part(_text(s, seed), s)]


def _render_auto_reply(s: MailSpec, rng: random.Random, seed: int) -> list[Chunk]:
    text = (
        f"I am out of the office until {format_datetime(s.date + timedelta(days=7))[:16]}.\n\n{s.sender[0]}"
    )
    return [_text_part(text, s)]


def _render_alternative(s: MailSpec, rng: random.Random, seed: int, repeat: int = 1) -> list[Chunk]:
    text = _text(s, seed)
    long_text = "\n\n".join([text] * repeat)
    return _multipart(
        "alternative", [[_text_part(long_text, s)], [_text_part(_html(text, rng, repeat), s, "html")]], rng
    )


def _render_long_html(s: MailSpec, rng: random.Random, seed: int) -> list[Chunk]:
    return _render_alternative(s, rng, seed, repeat=rng.randint(8, 30))


def _render_inline_image(s: MailSpec, rng: random.Random, seed: int) -> list[Chunk]:
    text = _text(s, seed)
    cid = f"image001.png@{rng.getrandbits(32):08X}.{s.index}"
    html = _html(text, rng).replace("</body>", f'<p><img src="cid:{cid}" width="320"></p>\n</body>')
    alternative = _multipart("alternative", [[_text_part(text, s)], [_text_part(html, s, "html")]], rng)
    image = Attachment("png", "image/png", "image001.png", rng.randint(8_000, 40_000))
    picture = _binary_part(image, rng, inline_cid=cid)
    return _multipart("related", [alternative, picture], rng, ' type="multipart/alternative";')


def _render_forward(s: MailSpec, rng: random.Random, seed: int) -> list[Chunk]:
    inner_sender = _person(rng, s.lang)
    inner = MailSpec(
        **{
            **vars(s),
            "shape": "plain",
            "message_id": f"fwd.{s.message_id}",
            "subject": s.base_subject,
            "sender": inner_sender,
            "references": (),
            "parent": None,
            "date": s.date - timedelta(days=rng.randint(1, 30)),
        }
    )
    note = _text_part(_own_text(s.index, seed), s)
    attached = [
        b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n",
        *_chunks_for(inner, rng),
    ]
    return _multipart("mixed", [[note], attached], rng)


def _chunks_for(inner: MailSpec, rng: random.Random) -> list[Chunk]:
    head = (
        f"From: {_address(*inner.sender, inner)}\r\nTo: {inner.sender[1]}\r\n"
        f"{_fold('Subject:', _header_words(inner.subject, inner))}\r\n"
        f"Date: {format_datetime(inner.date)}\r\nMessage-ID: <{inner.message_id}>\r\nMIME-Version: 1.0\r\n"
    )
    text = "\n\n".join(rng.choices(SENTENCES[inner.lang], k=rng.randint(2, 6)))
    return [head.encode("ascii"), _text_part(text, inner)]


def _render_attachments(s: MailSpec, rng: random.Random, seed: int) -> list[Chunk]:
    text_shape = _render_plain if rng.random() < 0.4 else _render_alternative
    parts = [text_shape(s, rng, seed)]
    parts += [_binary_part(attachment, rng) for attachment in s.attachments]
    return _multipart("mixed", parts, rng)


_RENDERERS = {
    "plain": _render_plain,
    "auto_reply": _render_auto_reply,
    "alternative": _render_alternative,
    "long_html": _render_long_html,
    "inline_image": _render_inline_image,
    "forward": _render_forward,
    "attachments": _render_attachments,
}

# --- attachment data: cached per size bucket, made unique per mail by its first line ------------------------

_LINE = 57  # bytes per base64 line of 76 characters
_POOL_LINES = 3_600_000 // _LINE  # room for the largest attachment at a random line offset


def _binary_part(attachment: Attachment, rng: random.Random, inline_cid: str | None = None) -> list[Chunk]:
    """Head and base64 body of exactly attachment.size bytes: a first line unique to this mail (starting with
    the kind's magic bytes), then full lines sliced from a shared pool (no copy), then the remainder."""
    magic = next(m for kind, _, _, m in ATTACHMENT_KINDS if kind == attachment.kind)
    first = (magic + rng.randbytes(_LINE))[: min(_LINE, attachment.size)]
    full, rest = divmod(attachment.size - len(first), _LINE)
    offset = rng.randint(0, _POOL_LINES - full) * 78
    return [
        _binary_head(attachment, inline_cid),
        _base64(first),
        memoryview(_pool())[offset : offset + full * 78],
        _base64(rng.randbytes(rest)),
    ]


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


def _binary_head(attachment: Attachment, inline_cid: str | None) -> bytes:
    name = attachment.filename
    if inline_cid:
        disposition = f'inline; filename="{name}"\r\nContent-ID: <{inline_cid}>'
    elif name.isascii():
        disposition = f'attachment; filename="{name}"'
    else:  # RFC 2231, as most clients write it
        disposition = f"attachment;\r\n\tfilename*=utf-8''{urllib.parse.quote(name)}"
    head = (
        f'Content-Type: {attachment.content_type}; name="{name if name.isascii() else "attachment"}"\r\n'
        f"Content-Transfer-Encoding: base64\r\nContent-Disposition: {disposition}\r\n\r\n"
    )
    return head.encode("ascii")


@lru_cache(maxsize=1)
def _pool() -> bytes:
    """Base64 lines (CRLF) of seeded random bytes, generated once; attachments are slices of it."""
    return _base64(random.Random("mailgen-attachment-pool").randbytes(_LINE * _POOL_LINES))


# --- command line -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, help="how many mails")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--to", default=DEFAULT_TO, help="the department address")
    parser.add_argument("--out", type=Path, help="write NNNNNN.eml files into this directory")
    args = parser.parse_args(argv)
    started, total = time.perf_counter(), 0
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(generate(args.n, args.seed, args.to)):
        total += len(raw)
        if args.out:
            (args.out / f"{index:06d}.eml").write_bytes(raw)
    elapsed = time.perf_counter() - started
    print(f"{args.n} mails, {total / 1e6:.1f} MB, {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
