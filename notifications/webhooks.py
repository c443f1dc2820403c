"""Outgoing webhooks: queue an event per webhook, deliver it with retries, log every try.

Delivery (the ``deliver_webhook`` task, queue ``notifications``): the row is the truth. A
delivery is claimed with a conditional update ``pending -> sending`` (so a duplicate message
does nothing), POSTed once, then marked ``delivered`` on a 2xx answer, or back to ``pending``
with ``next_attempt_at`` after an exponential backoff, or ``failed`` when out of attempts.
The beat tick re-publishes pending deliveries whose message was lost and frees deliveries
left ``sending`` by a dead worker. A receiver may thus see an event again only when a worker
died between its POST and the database update; it can deduplicate on ``X-Webhook-Delivery``.

SSRF: webhook URLs are set by organizers only (the console), must be http(s), carry no
credentials, and are called without following redirects, with a short timeout; at most 500
characters of an error are kept and the response body is never shown. Production settings
also refuse hosts that resolve to loopback, private, link-local (cloud metadata) or reserved
addresses (``WEBHOOK_BLOCK_PRIVATE_NETWORKS``); the check runs at each delivery.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from challenge_platform.models import Challenge

from .core import (
    SIGNATURE_HEADER,
    UnsafeUrl,
    address_is_private,
    check_webhook_url,
    retry_delay,
    sign_body,
    slack_body,
)
from .models import DeliveryStatus, Webhook, WebhookDelivery
from .publishing import publish

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.tasks.deliver_webhook"
USER_AGENT = "challenge-platform-webhooks/1"


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def webhook_event_emit(
    *,
    challenge: Challenge,
    event: str,
    event_key: str,
    text: str,
    fields: Sequence[tuple[str, str]] = (),
    data: Mapping[str, object] | None = None,
) -> list[int]:
    """Queue ``event`` for every active webhook of ``challenge`` that wants it, once per
    ``event_key`` (a repeated call changes nothing). Returns the new deliveries' ids."""
    body = slack_body(
        event=event,
        text=text,
        fields=list(fields),
        data={**(data or {}), "sent_for": event_key},
    ).decode()
    created: list[int] = []
    for webhook in Webhook.objects.filter(challenge=challenge, is_active=True):
        if not webhook.wants(event):
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    webhook=webhook,
                    event=event,
                    event_key=event_key,
                    body=body,
                    next_attempt_at=timezone.now(),
                )
        except IntegrityError:
            continue  # this occurrence is already queued for this webhook
        publish(DELIVER_TASK, delivery_pk=delivery.pk)
        created.append(delivery.pk)
    return created


def webhook_test_send(*, webhook: Webhook) -> int:
    """Queue a ``test`` event for one webhook (console action), whatever its event filter."""
    body = slack_body(
        event="test",
        text=f"Test event from the challenge platform for *{webhook.challenge.title}*.",
        fields=[("Challenge", webhook.challenge.title)],
        data={"challenge": webhook.challenge.slug},
    ).decode()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            webhook=webhook,
            event="test",
            event_key=f"test:{uuid.uuid4().hex}",
            body=body,
            next_attempt_at=timezone.now(),
        )
        publish(DELIVER_TASK, delivery_pk=delivery.pk)
    return delivery.pk


def webhook_validate_url(url: str) -> str:
    """The console's check when a webhook is saved (raises UnsafeUrl with a message)."""
    return check_webhook_url(url)


def _refuse_private(url: str) -> None:
    if not getattr(settings, "WEBHOOK_BLOCK_PRIVATE_NETWORKS", False):
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        raise UnsafeUrl(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        if address_is_private(info[4][0]):
            raise UnsafeUrl(f"{host} resolves to a private address; refused")


def _claim(delivery_pk: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)),
        pk=delivery_pk,
        status=DeliveryStatus.PENDING,
    ).update(status=DeliveryStatus.SENDING, last_attempt_at=now)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook").get(pk=delivery_pk)


def webhook_deliver(*, delivery_pk: int) -> str:
    """Try one delivery once; schedule the next try on failure. Returns the new status."""
    delivery = _claim(delivery_pk)
    if delivery is None:
        return "skipped"
    webhook = delivery.webhook
    body = delivery.body.encode()
    code: int | None = None
    error = ""
    started = time.monotonic()
    try:
        url = check_webhook_url(webhook.url)
        _refuse_private(url)
        response = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign_body(webhook.secret, body),
                "X-Webhook-Event": delivery.event,
                "X-Webhook-Delivery": str(delivery.pk),
            },
            timeout=_setting("WEBHOOK_TIMEOUT_SECONDS", 5.0),
            allow_redirects=False,
        )
        code = response.status_code
        response.close()
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except UnsafeUrl as exc:
        error = f"refused: {exc}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    elapsed_ms = int((time.monotonic() - started) * 1000)
    attempts = delivery.attempts + 1
    now = timezone.now()
    fields: dict[str, object] = {
        "attempts": attempts,
        "response_code": code,
        "duration_ms": elapsed_ms,
        "last_error": error[:500],
    }
    if not error:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif attempts >= int(_setting("WEBHOOK_MAX_ATTEMPTS", 6)) or error.startswith("refused"):
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        delay = retry_delay(
            attempts,
            base=_setting("WEBHOOK_RETRY_BASE_SECONDS", 30.0),
            cap=_setting("WEBHOOK_RETRY_MAX_SECONDS", 3600.0),
        )
        fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            **fields
        )
        if fields["status"] == DeliveryStatus.PENDING:
            publish(DELIVER_TASK, delivery_pk=delivery.pk, countdown=delay)
    logger.info(
        "webhook delivery %s (%s) try %s: %s",
        delivery.pk,
        delivery.event,
        attempts,
        error or f"HTTP {code}",
    )
    return str(fields["status"])


def deliveries_sweep(*, now=None, stale_after: float = 300.0) -> dict[str, int]:
    """Beat: re-publish overdue pending deliveries (lost messages) and free ``sending`` ones
    a dead worker left behind (they count the try)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stale_after)
    stuck = WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, last_attempt_at__lt=cutoff
    )
    freed = list(stuck.values_list("pk", flat=True)[:500])
    WebhookDelivery.objects.filter(pk__in=freed, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, last_error="worker lost"
    )
    overdue = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lt=now - timedelta(seconds=60)
        ).values_list("pk", flat=True)[:500]
    )
    with transaction.atomic():
        for pk in [*freed, *overdue]:
            publish(DELIVER_TASK, delivery_pk=pk)
    return {"freed": len(freed), "republished": len(overdue)}
