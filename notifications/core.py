"""Pure helpers of notifications: webhook bodies, signatures, URL checks, schedules.

No Django here, so the rules are tested without a database.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Signature-256"
REMINDERS: tuple[tuple[str, timedelta], ...] = (
    ("7d", timedelta(days=7)),
    ("1d", timedelta(days=1)),
)


def sign_body(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body keyed with secret>`` (the X-Signature-256 value)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of a received signature header (what a receiver does)."""
    return bool(header) and hmac.compare_digest(sign_body(secret, body), header or "")


def slack_body(
    *, event: str, text: str, fields: Sequence[tuple[str, str]], data: Mapping[str, object]
) -> bytes:
    """A Slack-compatible JSON body: ``text`` plus ``blocks`` with the fields, and the
    structured ``event``/``data`` for other receivers. Compact, keys sorted (stable bytes)."""
    payload = {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            *(
                [
                    {
                        "type": "section",
                        "fields": [
                            {"type": "mrkdwn", "text": f"*{name}*\n{value}"}
                            for name, value in fields[:10]  # Slack's limit per section
                        ],
                    }
                ]
                if fields
                else []
            ),
        ],
        "event": event,
        "data": dict(data),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class UnsafeUrl(ValueError):
    """A webhook URL the platform refuses to call."""


def check_webhook_url(url: str) -> str:
    """Accept only absolute http(s) URLs with a host and no credentials; return it stripped."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeUrl("Webhook URLs must start with http:// or https://.")
    if not parts.hostname:
        raise UnsafeUrl("The webhook URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Put credentials in the secret, not in the URL.")
    return url


def address_is_private(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), reserved or multicast."""
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def retry_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff after the ``attempt``-th failure (1-based): base, 2·base, 4·base…"""
    return min(base * (2 ** max(attempt - 1, 0)), cap)


def reminders_due(*, now: datetime, start: datetime, end: datetime) -> list[str]:
    """The reminder names whose time has come (``end - lead <= now < end``), while open.

    The caller sends each name once; when several are due at once (e.g. the platform was
    down), only the nearest one is worth sending, so the others are returned too, for the
    caller to mark as done, by ``reminders_to_send``.
    """
    if not (start <= now < end):
        return []
    return [name for name, lead in REMINDERS if now >= end - lead]


def reminders_to_send(due: Sequence[str]) -> tuple[str | None, list[str]]:
    """(the one to send: the last due, i.e. nearest the end; those to mark without sending)."""
    if not due:
        return None, []
    return due[-1], list(due[:-1])
