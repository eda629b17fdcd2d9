"""`postroom check` against the real Dovecot: success over every security, and each failing step named."""

from __future__ import annotations

import socket

import pytest

from postroom.core.errors import ConfigError, ConnectionStepError
from postroom.sources.diagnose import check, explain
from tests.sources.conftest import MakeSettings, raw_mail
from tests.support.cutproxy import CutProxy
from tests.support.dovecot import DovecotServer

pytestmark = pytest.mark.dovecot


def failed_step(settings_for: MakeSettings, **overrides: object) -> ConnectionStepError:
    with pytest.raises(ConnectionStepError) as caught:
        check(settings_for(**overrides))
    return caught.value


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_imap_check_succeeds(
    dovecot: DovecotServer, mailbox_folder: str, settings_for: MakeSettings, security: str
) -> None:
    dovecot.append([raw_mail(1), raw_mail(2)], folder=mailbox_folder)
    report = check(settings_for("imap", security))
    assert report.message_count == 2
    assert {"IMAP4REV1", "UIDPLUS", "MOVE"} <= set(report.capabilities)
    assert int(report.details["uidvalidity"]) > 0 and report.details["uidnext"] == "3"


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_pop3_check_succeeds(pop3_inbox: DovecotServer, settings_for: MakeSettings, security: str) -> None:
    pop3_inbox.append([raw_mail(1)], folder="INBOX")
    report = check(settings_for("pop3", security))
    assert report.message_count == 1
    assert "UIDL" in report.capabilities
    assert report.details["greeting"].startswith("+OK")


def test_unknown_host_fails_at_dns(settings_for: MakeSettings) -> None:
    error = failed_step(settings_for, host="no-such-host.invalid")
    assert (error.step, error.hint) == ("dns", "check the host name")


@pytest.mark.parametrize(("protocol", "usual"), [("imap", "993 for ssl"), ("pop3", "995 for ssl")])
def test_closed_port_fails_at_tcp(settings_for: MakeSettings, protocol: str, usual: str) -> None:
    with socket.socket() as unused:  # bound but not listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        error = failed_step(settings_for, protocol=protocol, port=unused.getsockname()[1])
    assert error.step == "tcp" and "refused" in error.detail
    assert "firewall" in error.hint and usual in error.hint


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_ssl_against_the_plain_port_fails_at_tls(
    dovecot: DovecotServer, settings_for: MakeSettings, protocol: str
) -> None:
    error = failed_step(settings_for, protocol=protocol, security="ssl", port=dovecot.ports[protocol])
    assert error.step == "tls" and "may expect starttls or none" in error.hint


def test_starttls_against_the_ssl_port_fails_at_tls(
    dovecot: DovecotServer, settings_for: MakeSettings
) -> None:
    error = failed_step(settings_for, security="starttls", port=dovecot.ports["imaps"], timeout=0.5)
    assert error.step == "tls" and "no greeting" in error.detail and "may expect ssl" in error.hint


@pytest.mark.parametrize(("protocol", "security"), [("imap", "ssl"), ("imap", "starttls"), ("pop3", "ssl")])
def test_tls_without_ca_file_fails_at_certificate(
    settings_for: MakeSettings, protocol: str, security: str
) -> None:
    error = failed_step(settings_for, protocol=protocol, security=security, ca_file=None)
    assert error.step == "certificate" and "unable to get local issuer certificate" in error.detail
    assert "ca_file" in error.hint


def test_certificate_for_another_name_fails_at_certificate(
    dovecot: DovecotServer, settings_for: MakeSettings
) -> None:
    with CutProxy(dovecot.host, dovecot.ports["imaps"], listen_host="127.0.0.2") as proxy:
        error = failed_step(settings_for, security="ssl", host=proxy.host, port=proxy.port)
    assert error.step == "certificate" and "mismatch" in error.detail
    assert "does not name '127.0.0.2'" in error.hint


def test_imap_client_on_the_pop3_port_fails_at_greeting(
    dovecot: DovecotServer, settings_for: MakeSettings
) -> None:
    error = failed_step(settings_for, port=dovecot.ports["pop3"])
    assert error.step == "greeting" and "does not speak IMAP" in error.detail


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_wrong_password_fails_at_login(settings_for: MakeSettings, protocol: str) -> None:
    error = failed_step(settings_for, protocol=protocol, password="wrong")
    assert error.step == "login" and "Authentication failed" in error.detail
    assert error.hint == "check the username and password"


def test_missing_folder_fails_at_folder_and_lists_the_others(
    mailbox_folder: str, settings_for: MakeSettings
) -> None:
    error = failed_step(settings_for, folder="No such folder")
    assert error.step == "folder" and "No such folder" in error.detail
    assert error.hint.startswith("folders on the server: ")
    assert {"INBOX", mailbox_folder} <= set(error.hint.removeprefix("folders on the server: ").split(", "))


def test_a_server_that_never_answers_times_out(settings_for: MakeSettings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog) but never says a word
        error = failed_step(settings_for, port=silent.getsockname()[1], timeout=0.3)
    assert error.step == "tls" and "no greeting within 0.3 s" in error.detail


def test_unreadable_ca_file_is_a_config_error(settings_for: MakeSettings) -> None:
    with pytest.raises(ConfigError, match=r"ca_file '/nonexistent/ca\.pem'"):
        check(settings_for(security="ssl", ca_file="/nonexistent/ca.pem"))


def test_explain_names_the_step_and_the_hint() -> None:
    text = explain(ConnectionStepError("login", "'bob' was refused", "check the username and password"))
    assert text == "failed at step 6/7 (login): 'bob' was refused\nhint: check the username and password"
