"""A real SMTP server for the tests (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from runtime.localredis import free_port


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.changed.notify_all()
        return "250 Message accepted for delivery"




class SmtpServer:
    """``with SmtpServer() as smtp:`` ... ``smtp.wait_for(to="x@example.org")``."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)

    def wait_for(self, *, to: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        """The messages sent to ``to``, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        with self.handler.changed:
            while True:
                found = [m for m in self.handler.messages if to in str(m["To"])]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail to {to} within {timeout} s: {self.messages}")
                self.handler.changed.wait(left)


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def links(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", body_text(message))
