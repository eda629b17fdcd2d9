"""The test SMTP server itself, through stdlib smtplib: TLS verified for real, AUTH, answers, restarts."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

import pytest

from tests.support.builders import mail
from tests.support.dovecot import DovecotServer
from tests.support.smtp import (
    RCPT_REJECT_REPLY,
    RCPT_TEMPFAIL_REPLY,
    REJECT_REPLY,
    TEMPFAIL_REPLY,
    Received,
    SmtpServer,
    deliver_to_dovecot,
)

FROM, TO = "desk@postroom.test", "alice@example.com"
USER, PASSWORD = "sender", "s3cret-smtp-pass"


def raw(message_id: str = "<m1@postroom.test>", to: str = TO, subject: str = "Your ticket") -> bytes:
    """A mail as a client puts it on the wire (CRLF), with a dot-leading line to exercise dot-stuffing."""
    body = "Thanks, we are on it.\n.leading dot\n"
    return mail(subject=subject, to=to, body=body, message_id=message_id).replace(b"\n", b"\r\n")


def trusting(server: SmtpServer) -> ssl.SSLContext:
    """What Postroom does with ``ca_file``: the system's trust plus the test CA, verification on."""
    return ssl.create_default_context(cafile=str(server.ca_file))


def connect(server: SmtpServer, context: ssl.SSLContext | None = None, login: bool = False) -> smtplib.SMTP:
    """An smtplib session set up the way the server's ``security`` asks for, optionally logged in."""
    context = context or trusting(server)
    client: smtplib.SMTP
    if server.security == "ssl":
        client = smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=5)
        if server.security == "starttls":
            client.starttls(context=context)
    if login:
        client.login(USER, PASSWORD)
    return client


def send(server: SmtpServer, data: bytes, to: list[str] | None = None, login: bool = False) -> dict:
    with connect(server, login=login) as client:
        return client.sendmail(FROM, to or [TO], data)


# -- security: none, STARTTLS, implicit TLS; the certificate really is checked ------------------------


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_a_message_arrives_as_sent_over_each_security(security: str) -> None:
    with SmtpServer(security) as server:  # type: ignore[arg-type]
        data = raw()
        assert send(server, data) == {}
        [got] = server.wait_for(1)
    assert (got.mail_from, got.rcpt_tos, got.data) == (FROM, [TO], data)
    assert got.message["Subject"] == "Your ticket" and got.message_id == "<m1@postroom.test>"
    assert ".leading dot" in got.message.get_content()
    assert got.tls is (security != "none") and got.login is None


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_client_that_does_not_trust_the_test_ca_is_refused_the_handshake(security: str) -> None:
    with SmtpServer(security) as server:  # type: ignore[arg-type]
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
            connect(server, context=ssl.create_default_context())  # the system's CAs only
        assert server.received == []


def test_the_certificate_names_127_0_0_1_and_localhost_and_nothing_else() -> None:
    with SmtpServer("ssl") as server:
        context = trusting(server)
        for name in ("127.0.0.1", "localhost"):
            with socket.create_connection((server.host, server.port), timeout=5) as raw_sock:
                context.wrap_socket(raw_sock, server_hostname=name).close()
        with (
            socket.create_connection((server.host, server.port), timeout=5) as raw_sock,
            pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
        ):
            context.wrap_socket(raw_sock, server_hostname="smtp.example.com")


def test_starttls_is_required_before_mail_unless_switched_off() -> None:
    with SmtpServer("starttls") as server, smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.ehlo()[0] == 250 and client.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(FROM, [TO], raw())
        assert refused.value.smtp_code == 530
    with SmtpServer("starttls", require_starttls=False) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail(FROM, [TO], raw())
        assert server.wait_for(1)[0].tls is False


# -- AUTH --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_auth_is_required_before_mail_and_checks_the_password(security: str) -> None:
    with SmtpServer(security, USER, PASSWORD) as server:  # type: ignore[arg-type]
        with connect(server) as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(FROM, [TO], raw())
        assert refused.value.smtp_code == 530
        with connect(server) as client, pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login(USER, "wrong password")
        assert wrong.value.smtp_code == 535
        send(server, raw(), login=True)
        assert server.wait_for(1)[0].login == USER


def test_auth_is_offered_only_after_starttls() -> None:
    with (
        SmtpServer("starttls", USER, PASSWORD, require_starttls=False) as server,
        smtplib.SMTP(server.host, server.port, timeout=5) as client,
    ):
        client.ehlo()
        assert not client.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(USER, PASSWORD)
        client.starttls(context=trusting(server))
        client.ehlo()
        assert client.has_extn("auth")
        client.login(USER, PASSWORD)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_login_without_tls_when_the_server_allows_it(mechanism: str) -> None:
    with SmtpServer("none", USER, PASSWORD, auth_require_tls=False) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("auth")
            client.user, client.password = USER, PASSWORD
            code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
            assert code == 235
            client.sendmail(FROM, [TO], raw())
        [got] = server.wait_for(1)
        assert (got.tls, got.login) == (False, USER)
    with (
        SmtpServer("none", USER, PASSWORD) as server,
        smtplib.SMTP(server.host, server.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPNotSupportedError),
    ):
        client.login(USER, PASSWORD)  # plain text and auth_require_tls left on: AUTH is not offered


def test_a_server_without_an_account_offers_no_auth(smtp_server: SmtpServer) -> None:
    with connect(smtp_server) as client:
        client.ehlo()
        assert not client.has_extn("auth")


# -- scripted answers --------------------------------------------------------------------------------


def test_tempfail_and_reject_surface_as_451_and_550_and_every_attempt_is_counted(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.answer = "tempfail"
    with pytest.raises(smtplib.SMTPDataError) as tempfail:
        send(smtp_server, raw())
    assert (tempfail.value.smtp_code, tempfail.value.smtp_error) == (451, TEMPFAIL_REPLY[4:].encode())
    smtp_server.answer = "reject"
    with pytest.raises(smtplib.SMTPDataError) as reject:
        send(smtp_server, raw())
    assert (reject.value.smtp_code, reject.value.smtp_error) == (550, REJECT_REPLY[4:].encode())
    assert smtp_server.received == []
    smtp_server.answer = "accept"
    send(smtp_server, raw())
    send(smtp_server, raw("<other@postroom.test>"))
    assert len(smtp_server.wait_for(2)) == 2
    assert smtp_server.attempts == {"<m1@postroom.test>": 3, "<other@postroom.test>": 1}
    assert len(smtp_server.refusals) == 2


def test_per_recipient_answers_at_rcpt_time(smtp_server: SmtpServer) -> None:
    smtp_server.reject_recipients = {"Gone@Example.com"}
    smtp_server.tempfail_recipients = {"full@example.com"}
    refused = send(smtp_server, raw(), to=[TO, "gone@example.com", "full@example.com"])
    assert refused == {
        "gone@example.com": (550, RCPT_REJECT_REPLY.format(address="gone@example.com")[4:].encode()),
        "full@example.com": (451, RCPT_TEMPFAIL_REPLY.format(address="full@example.com")[4:].encode()),
    }
    assert smtp_server.wait_for(1)[0].rcpt_tos == [TO]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as all_refused:
        send(smtp_server, raw("<m2@postroom.test>"), to=["full@example.com"])
    assert all_refused.value.recipients["full@example.com"][0] == 451
    assert smtp_server.rcpt_attempts == {TO: 1, "gone@example.com": 1, "full@example.com": 2}
    assert smtp_server.attempts == {"<m1@postroom.test>": 1}  # m2 never got to DATA
    smtp_server.tempfail_recipients.clear()
    send(smtp_server, raw("<m2@postroom.test>"), to=["full@example.com"])
    assert smtp_server.wait_for(2)[1].rcpt_tos == ["full@example.com"]


# -- down and up again -------------------------------------------------------------------------------


def test_stop_refuses_connections_and_start_listens_again_on_the_same_port(smtp_server: SmtpServer) -> None:
    port = smtp_server.port
    open_session = connect(smtp_server)
    smtp_server.stop()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        open_session.sendmail(FROM, [TO], raw())  # a session open at stop() is dropped
    open_session.close()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(smtp_server.host, port, timeout=5)
    smtp_server.start()
    assert smtp_server.port == port
    send(smtp_server, raw())
    assert len(smtp_server.wait_for(1)) == 1


def test_a_taken_port_is_an_error_that_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = SmtpServer("none")
        server.port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=r"cannot listen on 127\.0\.0\.1"):
            server.start()
        server.close()


def test_wait_for_says_what_arrived_when_the_count_is_not_reached(smtp_server: SmtpServer) -> None:
    send(smtp_server, raw())
    smtp_server.answer = "reject"
    with pytest.raises(smtplib.SMTPDataError):
        send(smtp_server, raw("<m2@postroom.test>"))
    started = time.monotonic()
    with pytest.raises(AssertionError) as missing:
        smtp_server.wait_for(2, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3
    text = str(missing.value)
    assert "expected 2 message(s) within 0.3 s" in text and "received 1" in text
    assert "<m1@postroom.test>" in text and "refused DATA <m2@postroom.test>: 550" in text


# -- the fixture with other settings, and the round trip into Dovecot -------------------------------


@pytest.mark.parametrize(
    "smtp_server", [{"security": "ssl", "username": USER, "password": PASSWORD}], indirect=True
)
def test_the_fixture_takes_settings_and_gives_a_config_section(smtp_server: SmtpServer) -> None:
    config = smtp_server.config()
    assert config == {
        "host": "127.0.0.1",
        "port": smtp_server.port,
        "security": "ssl",
        "username": USER,
        "password": PASSWORD,
        "ca_file": str(smtp_server.ca_file),
    }
    assert smtp_server.url == f"smtps://127.0.0.1:{smtp_server.port}"
    context = ssl.create_default_context(cafile=config["ca_file"])
    with smtplib.SMTP_SSL(config["host"], config["port"], context=context, timeout=5) as client:
        client.login(config["username"], config["password"])
        client.sendmail(FROM, [TO], raw())
    assert smtp_server.wait_for(1)[0].tls


@pytest.mark.dovecot
def test_deliver_puts_mail_for_a_mailbox_into_its_dovecot_folder(
    smtp_server: SmtpServer, dovecot: DovecotServer, mailbox_folder: str
) -> None:
    smtp_server.deliver = deliver_to_dovecot(dovecot, {"Support@Desk.test": mailbox_folder})
    to_desk, elsewhere = raw(to="support@desk.test"), raw("<m2@postroom.test>")
    send(smtp_server, to_desk, to=["support@desk.test", TO])
    send(smtp_server, elsewhere)
    smtp_server.wait_for(2)  # 250 comes after the append: the mail is in Dovecot by now
    assert dovecot.list_raw(mailbox_folder) == [to_desk]


def test_a_deliver_callback_that_fails_answers_451_and_keeps_the_error() -> None:
    def broken(received: Received) -> None:
        raise OSError("mailbox store unreachable")

    with SmtpServer("none", deliver=broken) as server:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            send(server, raw())
        assert failed.value.smtp_code == 451 and b"mailbox store unreachable" in failed.value.smtp_error
        assert server.received == [] and [str(e) for e in server.errors] == ["mailbox store unreachable"]
