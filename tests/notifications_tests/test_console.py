"""The organizer console: webhooks (URL checks), their delivery log, announcements."""

from __future__ import annotations

import pytest
from django.test import Client

from notifications.models import Announcement, Webhook, WebhookDelivery
from tests.challenges_tests.factories import ChallengeFactory, TeamFactory, UserFactory, add_member
from tests.support.mails import mail_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_console_refuses_non_http_webhooks_and_lists_deliveries(org):
    challenge = ChallengeFactory()
    add = "/admin/notifications/webhook/add/"
    data = {"challenge": challenge.pk, "secret": "s", "is_active": "on", "events": ["reveal"]}
    data.update({"deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0"})
    refused = org.post(add, {**data, "url": "file:///etc/passwd"})
    assert refused.status_code == 200 and b"must start with http" in refused.content
    assert not Webhook.objects.exists()
    assert org.post(add, {**data, "url": "https://hooks.example.org/a"}).status_code == 302
    hook = Webhook.objects.get()
    assert hook.events == ["reveal"]
    WebhookDelivery.objects.create(
        webhook=hook,
        event="reveal",
        event_key="k",
        body="{}",
        status="delivered",
        attempts=4,
        response_code=200,
    )
    page = org.get(f"/admin/notifications/webhook/{hook.pk}/change/").content.decode()
    assert "delivered" in page and ">4<" in page and ">200<" in page
    log = org.get("/admin/notifications/webhookdelivery/").content.decode()
    assert "reveal" in log and "hooks.example.org" in log
    action = {"action": "send_test_event", "_selected_action": [hook.pk]}
    assert org.post("/admin/notifications/webhook/", action).status_code == 302
    test = WebhookDelivery.objects.get(event="test")
    assert test.status == "queued" and '"event":"test"' in test.body


def test_console_announcement_is_posted_once_and_mailed(
    org, broker, django_capture_on_commit_callbacks
):
    challenge = ChallengeFactory(slug="ann")
    team = TeamFactory(challenge=challenge)
    add_member(team, UserFactory(email="p@example.org"))
    broker.take()
    with django_capture_on_commit_callbacks(execute=True):
        response = org.post(
            "/admin/notifications/announcement/add/",
            {"challenge": challenge.pk, "title": "Deadline moved", "body": "By *one* week."},
        )
    assert response.status_code == 302
    (a,) = Announcement.objects.all()
    mails = mail_rows(broker.take())
    assert [m.subject for m in mails] == [f"{challenge.title}: Deadline moved"]
    assert "<em>one</em>" in Client().get("/c/ann/").content.decode()
    assert org.get(f"/admin/notifications/announcement/{a.pk}/change/").status_code == 200
