"""A local HTTP(S) receiver for webhook tests, checking every signature itself.

It verifies the documented scheme on its own (not with the platform's code): the
hex HMAC-SHA256 of ``f"{X-Signature-Timestamp}.{body}"`` keyed with the secret, and a
timestamp within five minutes. Options make hostile receivers: one that answers 500 a few
times, one that redirects, one that answers too slowly, one that listens on another loopback
address, one that speaks TLS with a test CA's certificate (recording the SNI name asked for).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def authentic(secret: str, body: bytes, headers, *, now: float | None = None) -> bool:
    stamp = headers.get("X-Signature-Timestamp") or ""
    try:
        sent = int(stamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > 300:
        return False
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), headers.get("X-Signature-256") or "")


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0  # answer 500 to this many requests before accepting
    redirect_to: str = ""  # answer 302 with this Location to every request
    delay: float = 0.0  # seconds to wait before answering
    requests: list[dict] = field(default_factory=list)  # every request, signature checked
    accepted: list[dict] = field(default_factory=list)  # the JSON bodies answered with 200
    server_names: list[str | None] = field(default_factory=list)  # SNI names (TLS)
    url: str = ""
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)  # ends any delay

    def handle(self, headers, body: bytes) -> int:
        good = authentic(self.secret, body, headers)
        with self.lock:
            self.requests.append({"signature_ok": good, "headers": dict(headers), "body": body})
            if not good:
                return 401
            if self.redirect_to:
                return 302
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500
            self.accepted.append(json.loads(body))
            return 200


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (the platform cut a slow answer off) is expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


@pytest.fixture
def webhook_receiver() -> Iterator:
    """``make(secret, *, fail_first=0, redirect_to="", delay=0, host="127.0.0.1", port=0,
    tls=None) -> Receiver`` listening on ``host``; all stopped after. ``tls`` is an
    ``ssl.SSLContext`` for the server side (e.g. from trustme)."""
    servers = []

    def make(
        secret: str,
        *,
        fail_first: int = 0,
        redirect_to: str = "",
        delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> Receiver:
        receiver = Receiver(
            secret=secret, fail_first=fail_first, redirect_to=redirect_to, delay=delay
        )

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:  # think it over before answering (and accepting)
                    receiver.stopped.wait(receiver.delay)
                status = receiver.handle(self.headers, body)
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        server = QuietServer((host, port), Handler)
        scheme = "http"
        if tls is not None:

            def sni(sock, name, context) -> None:
                receiver.server_names.append(name)

            tls.sni_callback = sni
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, receiver))
        receiver.port = server.server_address[1]
        receiver.url = f"{scheme}://{host}:{receiver.port}/hook"
        return receiver

    yield make
    for server, receiver in servers:
        receiver.stopped.set()
        server.shutdown()
        server.server_close()
