"""A local HTTP receiver for webhook tests (127.0.0.1), checking every signature itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0  # answer 500 to this many requests before accepting
    requests: list[dict] = field(default_factory=list)  # every request, signature checked
    accepted: list[dict] = field(default_factory=list)  # the JSON bodies answered with 200
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers, body: bytes) -> int:
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, headers.get("X-Signature-256", ""))
        with self.lock:
            self.requests.append({"signature_ok": good, "headers": dict(headers), "body": body})
            if not good:
                return 401
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500
            self.accepted.append(json.loads(body))
            return 200


@pytest.fixture
def webhook_receiver() -> Iterator:
    """``make(secret, fail_first=0) -> Receiver`` listening on 127.0.0.1; all stopped after."""
    servers = []

    def make(secret: str, *, fail_first: int = 0) -> Receiver:
        receiver = Receiver(secret=secret, fail_first=fail_first)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status = receiver.handle(self.headers, self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()
