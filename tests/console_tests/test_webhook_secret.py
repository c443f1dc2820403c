"""A webhook's secret is write-only in the console (issue 25): set when created, replaced
when a new one is typed, kept when left empty, and never in the page's HTML."""

from __future__ import annotations

import pytest

from notifications.models import Webhook
from tests.platform_tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db
SECRET = "s3cr3t-value-never-shown-0123456789"


def form(challenge, secret: str) -> dict:
    return {
        "challenge": challenge.pk,
        "url": "https://hooks.example.org/in",
        "secret": secret,
        "is_active": "on",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }


def test_the_secret_is_never_sent_back_and_empty_keeps_it(client) -> None:
    challenge = ChallengeFactory()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    empty = client.post("/admin/notifications/webhook/add/", form(challenge, ""))
    assert empty.status_code == 200 and not Webhook.objects.exists()  # a secret is needed
    client.post("/admin/notifications/webhook/add/", form(challenge, SECRET))
    hook = Webhook.objects.get()
    assert hook.secret == SECRET
    page = client.get(f"/admin/notifications/webhook/{hook.pk}/change/").content.decode()
    assert SECRET not in page and "Write-only" in page

    client.post(f"/admin/notifications/webhook/{hook.pk}/change/", form(challenge, ""))
    hook.refresh_from_db()
    assert hook.secret == SECRET  # left empty: kept
    client.post(f"/admin/notifications/webhook/{hook.pk}/change/", form(challenge, "new-one-42"))
    hook.refresh_from_db()
    assert hook.secret == "new-one-42"
