"""Webhooks and mails through a real Celery worker (queue ``notifications``), a real Redis,
a real SMTP server and a local HTTP receiver that checks every signature."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from notifications.services import announcement_create
from tests.challenges_tests.factories import ChallengeFactory, TeamFactory, UserFactory, add_member
from tests.support.celery_worker import WorkerProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


@pytest.fixture
def notifications_worker(redis_server, redis_client, transactional_db, tmp_path, smtp_server):
    redis_client.flushall()
    host, port, inbox = smtp_server
    worker = WorkerProcess(
        redis_url=redis_server.url,
        log_path=tmp_path / "worker.log",
        queues="notifications",
        settings_module="tests.notifications_tests.worker_settings",
        env={
            "EMAIL_HOST": host,
            "EMAIL_PORT": str(port),
            "WEBHOOK_RETRY_BASE_SECONDS": "0.3",
            "WEBHOOK_MAX_ATTEMPTS": "6",
            "WEBHOOK_TIMEOUT_SECONDS": "1",
        },
    ).start()
    try:
        worker.wait_ready()
        yield worker, inbox
    finally:
        worker.stop()


def test_flaky_receiver_gets_the_event_exactly_once_and_participants_get_the_mail(
    notifications_worker, webhook_receiver
):
    worker, inbox = notifications_worker
    now = timezone.now()
    challenge = ChallengeFactory(
        slug="hooked", title="Hooked", start=now - timedelta(days=1), end=now + timedelta(days=9)
    )
    team = TeamFactory(challenge=challenge, name="alpha")
    add_member(team, UserFactory(email="ann@example.org"))
    flaky = webhook_receiver("flaky-secret", fail_first=3)
    steady = webhook_receiver("other-secret")
    Webhook.objects.create(challenge=challenge, url=flaky.url, secret="flaky-secret", events=[])
    Webhook.objects.create(
        challenge=challenge, url=steady.url, secret="other-secret", events=["announcement"]
    )
    Webhook.objects.create(
        challenge=challenge, url=steady.url, secret="other-secret", events=["reveal"]
    )  # not subscribed: gets nothing

    announcement_create(challenge=challenge, user=None, title="Kick-off", body="Welcome!")

    wait_for(
        lambda: flaky.accepted and steady.accepted,
        timeout=60,
        what="both receivers to accept the announcement",
        worker=worker,
    )
    wait_for(lambda: inbox.to("ann@example.org"), timeout=60, what="the mail", worker=worker)
    delivery = WebhookDelivery.objects.get(webhook__url=flaky.url)
    wait_for(
        lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered",
        timeout=30,
        what="the delivery log",
        worker=worker,
    )
    time.sleep(1.5)  # time for a (wrong) extra retry to arrive
    assert len(flaky.accepted) == 1 and len(steady.accepted) == 1
    assert len(flaky.requests) == 4  # 3 refusals, then the one accepted
    assert all(r["signature_ok"] for r in flaky.requests + steady.requests)
    event = flaky.accepted[0]
    assert event["event"] == "announcement" and "Kick-off" in event["text"]
    assert event["data"]["challenge"] == "hooked" and event["blocks"]
    headers = flaky.requests[-1]["headers"]
    assert headers["X-Webhook-Event"] == "announcement"
    assert headers["X-Webhook-Delivery"] == str(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        DeliveryStatus.DELIVERED,
        4,
        200,
    )
    assert delivery.delivered_at is not None and delivery.duration_ms is not None
    assert json.loads(delivery.body) == event
    assert WebhookDelivery.objects.filter(event="announcement").count() == 2

    (mail,) = inbox.to("ann@example.org")
    assert mail["Subject"] == "[Challenge] Hooked: Kick-off"
    assert str(mail["List-Unsubscribe"]).strip().startswith("<http://testserver/notifications/")


def test_receiver_that_never_accepts_is_given_up_after_the_last_attempt(
    notifications_worker, webhook_receiver
):
    worker, _ = notifications_worker
    challenge = ChallengeFactory(slug="down")
    down = webhook_receiver("s", fail_first=100)
    Webhook.objects.create(challenge=challenge, url=down.url, secret="s")
    announcement_create(challenge=challenge, user=None, title="t", body="b")
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).first(),
        timeout=90,
        what="the delivery to be given up",
        worker=worker,
    )
    assert delivery.attempts == 6 and delivery.response_code == 500
    assert delivery.last_error == "HTTP 500" and len(down.requests) == 6
    assert down.accepted == []


def test_a_receiver_that_never_answers_holds_no_worker(notifications_worker, webhook_receiver):
    """A hostile receiver that keeps the connection open without answering: each try is
    cut off at the time limit and tried again later, and the other webhooks' deliveries go
    out meanwhile (the worker runs two at a time: the hostile tries can take both)."""
    worker, _ = notifications_worker
    challenge = ChallengeFactory(slug="stall")
    stalling = [webhook_receiver("s", delay=600) for _ in range(3)]
    steady = webhook_receiver("s")
    for receiver in [*stalling, steady]:
        Webhook.objects.create(challenge=challenge, url=receiver.url, secret="s")
    announcement_create(challenge=challenge, user=None, title="t", body="b")
    wait_for(lambda: steady.accepted, timeout=60, what="the steady receiver", worker=worker)
    retried = wait_for(
        lambda: list(
            WebhookDelivery.objects.filter(
                webhook__url__in=[r.url for r in stalling], attempts__gte=2
            )
        ),
        timeout=60,
        what="the stalled deliveries to be tried again",
        worker=worker,
    )
    assert all(
        d.tries[0]["error"] == "no answer within the time limit (WEBHOOK_TIMEOUT_SECONDS)"
        for d in retried
    )
    assert all(len(r.accepted) == 0 for r in stalling)
