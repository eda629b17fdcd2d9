"""Opening a verified connection step by step (dns, tcp, tls, certificate), so a failure names its step."""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from postroom.core.errors import ConfigError, ConnectionStepError, TransientError
from postroom.sources.base import ServerSettings

T = TypeVar("T")

# What a dropped or garbled connection raises, from the socket up to each stdlib client.
TRANSPORT_ERRORS = (OSError, EOFError, imaplib.IMAP4.abort, poplib.error_proto)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trust plus ``ca_file`` when given; certificates and host names are always verified."""
    context = ssl.create_default_context()  # with cafile= it would trust *only* that file: we add to it
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"ca_file {ca_file!r} cannot be used as a CA certificate (PEM): {exc}") from exc
    return context


def port_hint(protocol: str, ports: Mapping[str, int]) -> str:
    """Say e.g. "the usual imap ports are 993 for ssl, 143 for starttls or none"."""
    by_port: dict[int, list[str]] = {}
    for security, port in ports.items():
        by_port.setdefault(port, []).append(security)
    usual = ", ".join(f"{port} for {' or '.join(names)}" for port, names in by_port.items())
    return f"the usual {protocol} ports are {usual}"


def open_socket(settings: ServerSettings, ports: Mapping[str, int]) -> socket.socket:
    """A connected socket, TLS-wrapped and verified when ``settings.security`` is "ssl"."""
    addresses = _resolve(settings)
    sock = _connect(settings, addresses, ports)
    if settings.security != "ssl":
        return sock
    return wrap_tls(
        sock, settings, "this port may expect starttls or none; " + port_hint(settings.protocol, ports)
    )


def wrap_tls(sock: socket.socket, settings: ServerSettings, hint: str) -> ssl.SSLSocket:
    """Handshake on a fresh socket (security "ssl"), naming "certificate" or "tls" on failure."""
    context = tls_context(settings.ca_file)
    try:
        return context.wrap_socket(sock, server_hostname=settings.host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise certificate_error(exc, settings.host) from exc
    except (OSError, ssl.SSLError) as exc:  # includes a server that answered in plain text, and timeouts
        sock.close()
        raise ConnectionStepError("tls", f"TLS handshake with {settings.host} failed: {exc}", hint) from exc


def certificate_error(exc: ssl.SSLCertVerificationError, host: str) -> ConnectionStepError:
    """Say why the certificate was refused, and what would fix it."""
    reason = exc.verify_message or str(exc)
    lowered = reason.lower()
    if "hostname mismatch" in lowered or "ip address mismatch" in lowered:
        hint = f"the certificate does not name {host!r}: connect with a host name it carries"
    elif "expired" in lowered:
        hint = "the server's certificate has expired: it must be renewed on the server"
    elif "self" in lowered or "issuer" in lowered:
        hint = "for a self-signed or private CA certificate, set ca_file to that CA's certificate (PEM)"
    else:
        hint = "set ca_file if the server uses a private CA; verification is never turned off"
    return ConnectionStepError("certificate", f"the certificate of {host} was refused: {reason}", hint)


def _resolve(settings: ServerSettings) -> list[tuple[int, tuple[object, ...]]]:
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionStepError(
            "dns", f"cannot resolve {settings.host!r}: {exc}", "check the host name"
        ) from exc
    return [(family, address) for family, _, _, _, address in infos]


def _connect(
    settings: ServerSettings, addresses: list[tuple[int, tuple[object, ...]]], ports: Mapping[str, int]
) -> socket.socket:
    """Try each address in turn, as socket.create_connection does, keeping the last error."""
    error: OSError | None = None
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(settings.timeout)  # kept for the whole session: a hung server never blocks forever
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    what = "no answer" if isinstance(error, TimeoutError) else str(error)
    raise ConnectionStepError(
        "tcp",
        f"cannot connect to {settings.host}:{settings.port}: {what}",
        f"check the port and any firewall; {port_hint(settings.protocol, ports)}",
    ) from error


def greet(
    settings: ServerSettings, ports: Mapping[str, int], sock: socket.socket, make: Callable[[], T]
) -> T:
    """Build the protocol client on ``sock`` (it reads the greeting); a silent or foreign server is named."""
    usual = port_hint(settings.protocol, ports)
    try:
        return make()
    except TimeoutError as exc:
        sock.close()
        if settings.security == "ssl":
            raise ConnectionStepError(
                "greeting", f"no greeting within {settings.timeout:g} s", usual
            ) from exc
        detail = f"{settings.host}:{settings.port} sent no greeting within {settings.timeout:g} s"
        raise ConnectionStepError("tls", detail, f"this port may expect ssl; {usual}") from exc
    except (*TRANSPORT_ERRORS, imaplib.IMAP4.error) as exc:
        sock.close()
        said = f": it said {exc.args[0]!r}" if exc.args and exc.args[0] else ""
        detail = f"{settings.host}:{settings.port} does not speak {settings.protocol.upper()}{said}"
        raise ConnectionStepError(
            "greeting", detail, f"is this the {settings.protocol} port? {usual}"
        ) from exc


def start_tls(
    settings: ServerSettings,
    ports: Mapping[str, int],
    offered: bool,
    upgrade: Callable[[ssl.SSLContext], object],
) -> None:
    """STARTTLS (IMAP) or STLS (POP3) through the client's own ``upgrade``, naming "tls" or "certificate"."""
    hint = f"this port may expect ssl or none; {port_hint(settings.protocol, ports)}"
    if not offered:
        raise ConnectionStepError("tls", f"{settings.host}:{settings.port} does not offer STARTTLS", hint)
    context = tls_context(settings.ca_file)
    try:
        upgrade(context)
    except ssl.SSLCertVerificationError as exc:
        raise certificate_error(exc, settings.host) from exc
    except (*TRANSPORT_ERRORS, imaplib.IMAP4.error) as exc:
        raise ConnectionStepError("tls", f"STARTTLS with {settings.host} failed: {exc}", hint) from exc


@contextmanager
def transient(what: str) -> Iterator[None]:
    """Turn a dropped or garbled connection into TransientError: the one thing callers catch to retry."""
    try:
        yield
    except TRANSPORT_ERRORS as exc:
        raise TransientError(f"{what}: connection lost ({type(exc).__name__}: {exc})") from exc


def quietly(action: Callable[[], T]) -> T | None:
    """Run a goodbye command whose failure changes nothing (the connection is closed either way)."""
    try:
        return action()
    except (*TRANSPORT_ERRORS, imaplib.IMAP4.error):
        return None


def text_of(value: object) -> str:
    """A server's answer (bytes, a list of them, an exception) as readable text for messages and logs."""
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else ""
    if isinstance(value, list):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value if v is not None)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()
