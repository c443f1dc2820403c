"""One HTTP POST to a webhook receiver, connected to exactly the address that was checked.

No Django here (the delivery service passes the settings in). The SSRF rules:

- The host is resolved **once**; with ``block_non_public`` every address it resolves to must
  be public (:func:`notifications.core.address_allowed`), else the try is refused. The
  connection then goes to one of those very addresses: there is no second resolution, so
  a name that answers a public address to the check and a private one to the connection
  (DNS rebinding) reaches nothing private.
- For https the TLS handshake still names the host (SNI) and the certificate is verified
  against the host name, through urllib3's own ``server_hostname`` (its documented way of
  connecting to one IP while speaking to a name), with certifi's roots or ``ca_bundle``.
- No redirect is followed, no proxy from the environment is used, the answer's body is
  never read, and the whole try (connect, TLS, request, the answer's head) has one
  deadline: a receiver that drips bytes cannot hold the worker past it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .core import address_allowed

DEFAULT_PORTS = {"http": 80, "https": 443}
TIMED_OUT = "no answer within the time limit (WEBHOOK_TIMEOUT_SECONDS)"


class Refused(Exception):
    """The platform will not call this receiver (a rule, not a failure: no retry)."""


class TryFailed(Exception):
    """The receiver could not be reached or did not answer in time (worth a retry)."""

    def __init__(self, message: str, *, address: str = "") -> None:
        super().__init__(message)
        self.address = address


@dataclass(frozen=True)
class Answer:
    status: int
    address: str  # the IP address the request went to


def resolve(*, host: str, port: int, block_non_public: bool) -> list[str]:
    """The addresses of ``host`` in the resolver's order, each checked; resolved once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TryFailed(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TryFailed(f"{host} has no address")
    if block_non_public:
        blocked = [a for a in addresses if not address_allowed(a)]
        if blocked:
            raise Refused(
                f"{host} resolves to {', '.join(blocked)}, which is not a public address "
                "(WEBHOOK_BLOCK_PRIVATE_NETWORKS)"
            )
    return addresses


def post(
    *, url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    block_non_public: bool,
    ca_bundle: str | None = None,
) -> Answer:
    """POST ``body`` to ``url`` (already checked by ``check_webhook_url``) within ``timeout``
    seconds in all; the answer's status and the address used. Raises :class:`Refused` or
    :class:`TryFailed`."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except (KeyError, ValueError) as exc:
        raise Refused(f"unusable URL: {exc}") from None
    deadline = time.monotonic() + timeout
    addresses = resolve(host=host, port=port, block_non_public=block_non_public)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {**headers, "Host": parts.netloc, "Content-Length": str(len(body))}
    context = _tls_context(ca_bundle) if scheme == "https" else None
    failures = []
    for address in addresses:  # only checked addresses; the next one if one is unreachable
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection = (
            HTTPSConnection(
                address, port, timeout=remaining, server_hostname=host, ssl_context=context
            )
            if context is not None
            else HTTPConnection(address, port, timeout=remaining)
        )
        try:
            return Answer(
                status=_exchange(connection, target, body, headers, deadline), address=address
            )
        except _Unreachable as exc:
            failures.append(f"{address}: {exc}")
        finally:
            connection.close()
    raise TryFailed(
        f"could not connect to {host} ({'; '.join(failures) or 'no time left'})",
        address=addresses[0],
    )


class _Unreachable(Exception):
    """Connecting to one address failed before anything was sent: try the next one."""


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle or certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _exchange(
    connection: HTTPConnection, target: str, body: bytes, headers: dict[str, str], deadline: float
) -> int:
    """Connect, send, read the answer's head; a watchdog ends the socket at ``deadline``."""
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # wakes a blocked connect, handshake or read
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as exc:
            raise TryFailed(
                f"TLS certificate refused: {exc.verify_message}", address=connection.host
            ) from None
        except Exception as exc:  # refused, unreachable, not TLS... (urllib3 or OSError)
            if expired.is_set():
                raise TryFailed(TIMED_OUT, address=connection.host) from None
            raise _Unreachable(str(exc) or type(exc).__name__) from None
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
        except Exception as exc:  # a broken or too slow answer, whatever the library raised
            if expired.is_set() or isinstance(exc, TimeoutError | Urllib3Timeout):
                raise TryFailed(TIMED_OUT, address=connection.host) from None
            raise TryFailed(f"{type(exc).__name__}: {exc}", address=connection.host) from None
        return int(response.status)
    finally:
        watchdog.cancel()
