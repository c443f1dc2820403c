"""The chaos run's own receivers of what the platform sends out (bench/chaos.py): an SMTP
server (aiosmtpd, as tests/support/smtp_server.py) and a webhook endpoint that checks each
signature on its own (testkit/webhook_receiver.py's ``authentic``), both on the client
host. They keep every message they accept, however often it comes: the invariants count
each id at least once and tell the repeats apart (a receiver deduplicates by the mail's
``Message-ID`` and the webhook's ``X-Webhook-Delivery``).
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from testkit.webhook_receiver import authentic


@dataclass
class Received:
    lock: threading.Lock = field(default_factory=threading.Lock)
    mails: list[dict] = field(default_factory=list)
    hooks: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        with self.lock:
            return {"mails": list(self.mails), "hooks": list(self.hooks)}


class _Mails:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.received.lock:
            self.received.mails.append(
                {
                    "message_id": str(message["Message-ID"] or ""),
                    "to": str(message["To"] or ""),
                    "topic": str(message["X-Notification-Kind"] or ""),
                    "subject": str(message["Subject"] or ""),
                    "at": time.time(),
                }
            )
        return "250 Message accepted for delivery"


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def start_receivers(host: str, *, smtp_port: int, webhook_port: int, secret: str):
    """Start both on ``host``; returns ``(received, stop)``."""
    received = Received()
    smtp = Controller(_Mails(received), hostname=host, port=smtp_port)
    smtp.start()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            good = authentic(secret, body, self.headers)
            try:
                event = json.loads(body).get("event", "")
            except ValueError:
                event = ""
            with received.lock:
                received.hooks.append(
                    {
                        "delivery": self.headers.get("X-Webhook-Delivery", ""),
                        "event": self.headers.get("X-Webhook-Event", event),
                        "signature_ok": good,
                        "at": time.time(),
                    }
                )
            self.send_response(200 if good else 401)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = _Server((host, webhook_port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        smtp.stop()

    return received, stop
