"""Outgoing webhooks: queue an event per webhook, deliver it as a job, log every try.

A delivery is a job of the one lifecycle (:mod:`jobs.lifecycle`, type :data:`DELIVERY`):
``queued -> sending -> delivered | failed``. The ``deliver_webhook`` task (queue
``notifications``) claims the row under its lock with a token naming the broker
message, POSTs once, then marks it ``delivered`` on a 2xx answer, or re-queues it for
``due_at`` (exponential backoff: ``WEBHOOK_RETRY_BASE_SECONDS · 2^(try-1)``,
capped) while attempts are left, else ``failed``. A duplicate or early message finds the
row held, final or not due and does nothing; only the holder's token may finish it. A
queued row whose message was lost is published again by :mod:`jobs.republish`; the beat
tick re-queues one left ``sending`` by a dead worker (or fails it when out of attempts). A
receiver may thus see a try again only when a worker died between its POST and the row's
update; it deduplicates on ``X-Webhook-Delivery`` (or the signed body's ``data.sent_for``).

Every try is signed anew: ``X-Signature-Timestamp`` (Unix seconds) and ``X-Signature-256:
sha256=HMAC-SHA256(secret, f"{timestamp}.{body}")`` (:func:`notifications.core.sign_body`),
so a receiver can refuse a replay (docs/organizers/notify-people.md). The row keeps each try (time,
address, answer, error, duration) for the console.

SSRF (:mod:`notifications.outbound`): URLs are set by organizers only, http(s) without
credentials; no redirect is followed; one deadline per try; the answer's body is never
read. With ``WEBHOOK_BLOCK_PRIVATE_NETWORKS`` (production) every address the host resolves
to must be public, and the connection goes to that checked address (no second lookup).
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from challenges.models import Challenge
from jobs import lifecycle, sweeps
from jobs.holders import when_holder_lost

from . import outbound
from .core import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    UnsafeUrl,
    address_allowed,
    check_webhook_url,
    sign_body,
    slack_body,
)
from .job_types import DELIVERY
from .models import DeliveryStatus, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

USER_AGENT = "challenge-platform-webhooks/2"
TRIES_KEPT = 20  # the console's log of a delivery's tries (more than any attempt limit)
STUCK_AFTER = timedelta(seconds=300)  # a sending row this old lost its worker


# --- queueing -------------------------------------------------------------------------------


def _delivery_create(*, webhook: Webhook, event: str, event_key: str, body: str) -> int:
    """One queued delivery, published after commit; raises IntegrityError when this
    occurrence is already queued for the webhook."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=event,
        event_key=event_key,
        body=body,
        status=DeliveryStatus.QUEUED,
        status_changed_at=now,
        due_at=now,
    )
    lifecycle.publish_job_after_commit(job_type=DELIVERY, pk=delivery.pk)
    return delivery.pk


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
                pk = _delivery_create(webhook=webhook, event=event, event_key=event_key, body=body)
        except IntegrityError:
            continue  # this occurrence is already queued for this webhook
        created.append(pk)
    return created


def webhook_test_send(*, webhook: Webhook) -> int:
    """Queue a ``test`` event for one webhook (console action), whatever its event filter."""
    event_key = f"test:{uuid.uuid4().hex}"
    body = slack_body(
        event="test",
        text=f"Test event from the challenge platform for *{webhook.challenge.title}*.",
        fields=[("Challenge", webhook.challenge.title)],
        data={"challenge": webhook.challenge.slug, "sent_for": event_key},
    ).decode()
    with transaction.atomic():
        return _delivery_create(webhook=webhook, event="test", event_key=event_key, body=body)


def webhook_validate_url(*, url: str) -> str:
    """The console's check when a webhook is saved (raises UnsafeUrl with a message): the
    URL's shape, and, when non-public addresses are blocked, a literal address. A host name
    is checked at each try, where it is resolved."""
    url = check_webhook_url(url)
    host = urlsplit(url).hostname or ""
    if settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS and _is_ip(host) and not address_allowed(host):
        raise UnsafeUrl(f"{host} is not a public address; webhooks may not call it.")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- one try ---------------------------------------------------------------------------------


def _gave_up(delivery: WebhookDelivery, now: datetime) -> dict[str, Any]:
    return {"last_error": f"gave up after {delivery.attempts} tries", "due_at": None}


def webhook_deliver(*, delivery_pk: int, delivery_id: str | None = None) -> str:
    """Try one delivery once (the task's body); schedule the next try on failure. Returns
    the status reached, ``"skipped"`` (nothing to do) or ``"superseded"``."""
    token = delivery_id or uuid.uuid4().hex
    delivery = lifecycle.job_claim(
        job_type=DELIVERY,
        pk=delivery_pk,
        token=token,
        delivery_id=delivery_id,
        exhausted=_gave_up,
        select_related=("webhook",),
    )
    if delivery is None:
        return "skipped"
    code, address, error, permanent, elapsed_ms = _post(delivery)
    record = {
        "at": timezone.now().isoformat(),
        "address": address,
        "response_code": code,
        "error": error[:300],
        "duration_ms": elapsed_ms,
    }
    fields: dict[str, Any] = {
        "response_code": code,
        "duration_ms": elapsed_ms,
        "last_error": error[:500],
        "tries": [*delivery.tries, record][-TRIES_KEPT:],
    }

    def finish(status: str, **extra: Any) -> str:
        done = lifecycle.job_transition(
            job_type=DELIVERY,
            pk=delivery.pk,
            token=token,
            status=status,
            **{
                **fields,
                **extra,
            },
        )
        return status if done else "superseded"

    if not error:
        status = finish(DeliveryStatus.DELIVERED, delivered_at=timezone.now(), due_at=None)
    elif permanent:
        status = finish(DeliveryStatus.FAILED, due_at=None)
    else:
        status = lifecycle.job_retry_or_fail(
            job_type=DELIVERY,
            job=delivery,
            token=token,
            fail=lambda: finish(DeliveryStatus.FAILED, due_at=None),
            **fields,
        )
    logger.info(
        "webhook delivery %s (%s) try %s to %s: %s -> %s",
        delivery.pk,
        delivery.event,
        delivery.attempts,
        address or "-",
        error or f"HTTP {code}",
        status,
    )
    return str(status)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, str, bool, int]:
    """POST the delivery once: (answer code, address, error, permanent?, milliseconds)."""
    webhook = delivery.webhook
    body = delivery.body.encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign_body(webhook.secret, body, timestamp=stamp),
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": str(delivery.pk),
    }
    started = time.monotonic()
    code: int | None = None
    address, error, permanent = "", "", False
    try:
        answer = outbound.post(
            url=check_webhook_url(webhook.url),
            body=body,
            headers=headers,
            timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
            block_non_public=bool(settings.WEBHOOK_BLOCK_PRIVATE_NETWORKS),
            ca_bundle=settings.WEBHOOK_CA_BUNDLE or None,
        )
    except (UnsafeUrl, outbound.Refused) as exc:
        error, permanent = f"refused: {exc}", True
    except outbound.TryFailed as exc:
        address, error = exc.address, str(exc)
    else:
        code, address = answer.status, answer.address
        if 300 <= code < 400:
            error, permanent = (
                f"HTTP {code}: webhooks do not follow redirects; point the webhook at the final "
                "URL",
                True,
            )
        elif not 200 <= code < 300:
            error = f"HTTP {code}"
    return code, address, error, permanent, int((time.monotonic() - started) * 1000)


# --- the sweep -------------------------------------------------------------------------------


@when_holder_lost(job_type=DELIVERY)  # a delivery whose worker was seen dead: as a stuck one
def _decide(delivery: WebhookDelivery, now: datetime) -> tuple[str, dict[str, Any]]:
    if delivery.status != DeliveryStatus.SENDING:  # queued, its message lost
        return lifecycle.REQUEUED, {"due_at": now}
    lost = {
        "at": now.isoformat(),
        "address": "",
        "response_code": None,
        "error": "the worker was lost during this try",
        "duration_ms": None,
    }
    tries = [*delivery.tries, lost][-TRIES_KEPT:]
    if lifecycle.attempts_left(job_type=DELIVERY, job=delivery) <= 0:
        return lifecycle.FAILED, {
            "last_error": "the worker was lost during the last try; gave up",
            "due_at": None,
            "tries": tries,
        }
    return lifecycle.REQUEUED, {
        "last_error": "the worker was lost during the try",
        "due_at": now,
        "tries": tries,
    }


def deliveries_sweep(
    *, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER
) -> sweeps.SweepReport:
    """Beat: re-queue (or fail, out of attempts) the deliveries a dead worker left
    ``sending`` (a queued one whose message was lost is :mod:`jobs.republish`'s)."""
    now = now or timezone.now()
    stale = Q(status=DeliveryStatus.SENDING, status_changed_at__lt=now - stuck_after)
    return sweeps.jobs_sweep(job_type=DELIVERY, stale=stale, now=now, decide=_decide)
