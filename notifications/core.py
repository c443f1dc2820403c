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
TIMESTAMP_HEADER = "X-Signature-Timestamp"
# How old a signed timestamp a receiver accepts (seconds, either way), in the documented check.
SIGNATURE_TOLERANCE = 300
REMINDERS: tuple[tuple[str, timedelta], ...] = (
    ("7d", timedelta(days=7)),
    ("1d", timedelta(days=1)),
)


def sign_body(secret: str, body: bytes, *, timestamp: int) -> str:
    """The X-Signature-256 value of one try: ``sha256=`` and the hex HMAC-SHA256, keyed
    with the webhook's secret, of ``f"{timestamp}.".encode() + body``, where ``timestamp``
    (Unix seconds) is the try's X-Signature-Timestamp. Signing the time with the body lets a
    receiver refuse a replayed request."""
    signed = str(int(timestamp)).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_valid(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE,
) -> bool:
    """What a receiver checks (the manual's snippet does the same): the timestamp is an
    integer within ``tolerance`` seconds of ``now``, and the signature matches it and the
    body, compared in constant time."""
    try:
        stamp = int(timestamp or "")
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    expected = sign_body(secret, body, timestamp=stamp)
    return hmac.compare_digest(expected.encode(), (signature or "").encode())


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


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address behind a NAT64


def address_allowed(address: str) -> bool:
    """Whether a webhook may connect to ``address``: a public (``is_global``) unicast address,
    and so is every IPv4 address it carries (IPv4-mapped, NAT64, 6to4). Refused: loopback,
    private, shared (100.64.0.0/10), link-local (cloud metadata), unique-local (fc00::/7),
    documentation, reserved, multicast and unspecified addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_allowed(str(ip.ipv4_mapped))
        if ip in NAT64:
            return address_allowed(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.sixtofour is not None and not address_allowed(str(ip.sixtofour)):
            return False
        if ip.teredo is not None:
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


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
