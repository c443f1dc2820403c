"""Webhook deliveries are jobs of the one lifecycle (:mod:`jobs.lifecycle`): claimed
with a token naming the broker message, retried with backoff at a stored time, swept when a
message or a worker was lost, and every try logged for the console. Receivers are real
servers on loopback; the broker is the session's real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from jobs import lifecycle
from jobs.republish import jobs_republish
from notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from notifications.webhooks import DELIVERY, STUCK_AFTER, deliveries_sweep, webhook_deliver
from tests.challenges_tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db

DELIVER = "notifications.tasks.deliver_webhook"


def delivery_to(url: str, *, key: str = "k", **fields) -> WebhookDelivery:
    hook = Webhook.objects.filter(url=url).first() or Webhook.objects.create(
        challenge=ChallengeFactory(), url=url, secret="s3cret-value"
    )
    now = timezone.now()
    return WebhookDelivery.objects.create(
        webhook=hook,
        event="reveal",
        event_key=key,
        body='{"event":"reveal"}',
        status_changed_at=now,
        due_at=now,
        **fields,
    )


def fresh(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_failing_receiver_is_retried_at_the_stored_time_then_given_up(
    settings, webhook_receiver, broker, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    down = webhook_receiver("s3cret-value", fail_first=100)
    d = delivery_to(down.url)
    broker.take()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-1") == DeliveryStatus.QUEUED
    d = fresh(d)
    assert (d.attempts, d.claim_token, d.last_error, d.response_code) == (1, "", "HTTP 500", 500)
    wait = (d.due_at - d.status_changed_at).total_seconds()
    assert 29 <= wait <= 31  # base · 2^(1-1)
    assert broker.queued() == [(DELIVER, {"delivery_pk": d.pk})]  # published with that delay

    # The message arriving early (a duplicate) finds the row not due: nothing happens.
    assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-early") == "skipped"
    assert len(down.requests) == 1 and fresh(d).attempts == 1

    WebhookDelivery.objects.filter(pk=d.pk).update(due_at=timezone.now())
    assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-2") == DeliveryStatus.QUEUED
    d = fresh(d)
    assert 59 <= (d.due_at - d.status_changed_at).total_seconds() <= 61  # base · 2
    WebhookDelivery.objects.filter(pk=d.pk).update(due_at=timezone.now())
    assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-3") == DeliveryStatus.FAILED
    d = fresh(d)
    assert (d.status, d.attempts, d.due_at) == (DeliveryStatus.FAILED, 3, None)
    assert [t["response_code"] for t in d.tries] == [500, 500, 500]
    assert all(t["address"] == "127.0.0.1" and t["error"] == "HTTP 500" for t in d.tries)
    assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-4") == "skipped"  # final
    assert len(down.requests) == 3


def test_a_duplicate_message_does_nothing_and_only_the_holder_may_finish(webhook_receiver):
    ok = webhook_receiver("s3cret-value")
    d = delivery_to(ok.url)
    held = lifecycle.job_claim(job_type=DELIVERY, pk=d.pk, token="msg-A", delivery_id="msg-A")
    assert held is not None and fresh(d).status == DeliveryStatus.SENDING
    assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-B") == "skipped"
    assert ok.requests == []
    # msg-A redelivered (its worker died mid-try): it takes the row back and sends.
    assert webhook_deliver(delivery_pk=d.pk, delivery_id="msg-A") == DeliveryStatus.DELIVERED
    d = fresh(d)
    assert (d.attempts, d.claim_token, len(ok.requests)) == (2, "msg-A", 1)
    assert ok.requests[0]["headers"]["X-Webhook-Delivery"] == str(d.pk)


def test_the_sweeper_requeues_lost_work_and_the_old_holder_cannot_finish(
    settings, broker, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    now = timezone.now()
    long_ago = now - STUCK_AFTER - timedelta(seconds=5)
    stuck = delivery_to(
        "http://a.test/", key="1", status="sending", claim_token="dead", attempts=1
    )
    exhausted = delivery_to(
        "http://a.test/", key="2", status="sending", claim_token="dead2", attempts=3
    )
    busy = delivery_to("http://a.test/", key="3", status="sending", claim_token="live")
    lost = delivery_to("http://a.test/", key="4")
    later = delivery_to("http://a.test/", key="5")
    WebhookDelivery.objects.filter(pk__in=[stuck.pk, exhausted.pk, lost.pk]).update(
        status_changed_at=long_ago
    )
    WebhookDelivery.objects.filter(pk=lost.pk).update(due_at=now - timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=later.pk).update(due_at=now + timedelta(minutes=5))
    broker.take()
    with django_capture_on_commit_callbacks(execute=True):
        report = deliveries_sweep(now=now)
    # The sweep takes back what a dead worker left sending; a queued delivery whose message
    # was lost is the lifecycle's republish's, at its time (not before: ``later`` waits).
    assert sorted(report.requeued) == [stuck.pk]
    assert report.failed == [exhausted.pk]
    assert jobs_republish(job_types=[DELIVERY], now=now) == {DELIVERY.task_name: [lost.pk]}
    assert sorted(k["delivery_pk"] for _, k in broker.queued()) == sorted([stuck.pk, lost.pk])

    stuck = fresh(stuck)
    assert (stuck.status, stuck.claim_token) == (DeliveryStatus.QUEUED, "")
    assert stuck.last_error == "the worker was lost during the try" and stuck.tries
    assert fresh(exhausted).status == DeliveryStatus.FAILED
    assert "gave up" in fresh(exhausted).last_error
    assert fresh(busy).status == DeliveryStatus.SENDING  # not stale yet
    assert fresh(later).due_at > now  # waits for its time
    # The dead worker's message comes back after all: its token no longer holds the row.
    assert not lifecycle.job_transition(
        job_type=DELIVERY, pk=stuck.pk, token="dead", status=DeliveryStatus.DELIVERED
    )
    assert fresh(stuck).status == DeliveryStatus.QUEUED


def test_every_try_is_in_the_console_without_the_secret(settings, webhook_receiver):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    flaky = webhook_receiver("s3cret-value", fail_first=1)
    d = delivery_to(flaky.url)
    webhook_deliver(delivery_pk=d.pk)
    WebhookDelivery.objects.filter(pk=d.pk).update(due_at=timezone.now())
    webhook_deliver(delivery_pk=d.pk)
    org = Client()
    org.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = org.get(f"/admin/notifications/webhookdelivery/{d.pk}/change/").content.decode()
    assert page.count("<td>127.0.0.1</td>") == 2
    assert "<td>HTTP 500</td>" in page and "<td>ok</td>" in page and "delivered" in page
    hook_page = org.get(f"/admin/notifications/webhook/{d.webhook_id}/change/").content.decode()
    for html in (page, hook_page, org.get("/admin/notifications/webhook/").content.decode()):
        assert "s3cret-value" not in html


# --- the secret is write-only in the console -----------------------------------------------------


def test_the_webhook_secret_is_write_only_kept_when_empty_and_replaceable(webhook_receiver):
    org = Client()
    org.force_login(UserFactory(is_staff=True, is_superuser=True))
    challenge = ChallengeFactory()
    base = {
        "challenge": challenge.pk,
        "url": "https://hooks.example.org/a",
        "is_active": "on",
        "events": ["reveal"],
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    add = "/admin/notifications/webhook/add/"
    refused = org.post(add, {**base, "secret": ""})
    assert (
        refused.status_code == 200 and "A new webhook needs a secret." in refused.content.decode()
    )
    assert org.post(add, {**base, "secret": "first-secret-value"}).status_code == 302
    hook = Webhook.objects.get()
    change = f"/admin/notifications/webhook/{hook.pk}/change/"
    page = org.get(change).content.decode()
    assert "first-secret-value" not in page
    assert 'type="password" name="secret"' in page and "leave empty to keep" in page

    assert (
        org.post(change, {**base, "secret": "", "url": "https://hooks.example.org/b"}).status_code
        == 302
    )
    hook.refresh_from_db()
    assert (hook.secret, hook.url) == ("first-secret-value", "https://hooks.example.org/b")
    assert org.post(change, {**base, "secret": "second-secret-value"}).status_code == 302
    hook.refresh_from_db()
    assert hook.secret == "second-secret-value"
    assert "second-secret-value" not in org.get(change).content.decode()
    history = org.get(f"/admin/notifications/webhook/{hook.pk}/history/").content.decode()
    assert "secret-value" not in history


# --- the data migration -----------------------------------------------------------------------

BEFORE = ("notifications", "0001_notifications_announcements_webhooks")
AFTER = ("notifications", "0003_webhook_delivery_status_check")


@pytest.mark.django_db(transaction=True)
def test_migration_maps_old_statuses_onto_the_lifecycle():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        old = executor.loader.project_state([BEFORE]).apps
        challenge = ChallengeFactory()  # the other apps' tables are as today
        hook = old.get_model("notifications", "Webhook").objects.create(
            challenge_id=challenge.pk, url="https://h.example.org/", secret="s"
        )
        Delivery = old.get_model("notifications", "WebhookDelivery")
        sent_at = timezone.now() - timedelta(hours=2)
        rows = {
            status: Delivery.objects.create(
                webhook=hook,
                event="reveal",
                event_key=status,
                body="{}",
                status=status,
                attempts=2,
                last_attempt_at=sent_at if status != "pending" else None,
                delivered_at=sent_at if status == "delivered" else None,
            ).pk
            for status in ("pending", "sending", "delivered", "failed")
        }
        executor.loader.build_graph()
        executor.migrate([AFTER])
        after_apps = executor.loader.project_state([AFTER]).apps
        new = after_apps.get_model("notifications", "WebhookDelivery")
        after = {status: new.objects.get(pk=pk) for status, pk in rows.items()}
        assert {s: d.status for s, d in after.items()} == {
            "pending": "queued",
            "sending": "queued",  # no worker can present a token for it: sent again
            "delivered": "delivered",
            "failed": "failed",
        }
        assert all(d.delivery_token == "" and d.status_changed_at for d in after.values())
        assert after["delivered"].status_changed_at == sent_at
        assert after["pending"].status_changed_at == after["pending"].created_at
        assert "interrupted by an upgrade" in after["sending"].last_error
        assert after["sending"].attempts == 2 and after["sending"].next_attempt_at is not None
        with pytest.raises(IntegrityError), transaction.atomic():
            new.objects.filter(pk=rows["failed"]).update(status="pending")
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())  # the schema as the others expect
