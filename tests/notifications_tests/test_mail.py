"""Notification mails against a real SMTP server (aiosmtpd): unsubscribe link and header,
one-click unsubscribe, defaults and the settings page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from notifications.mail import mail_send
from notifications.models import Topic
from notifications.services import preferences_get, preferences_set
from tests.challenges_tests.factories import UserFactory
from tests.support.smtp import body_text

pytestmark = pytest.mark.django_db


def test_every_mail_has_a_one_click_unsubscribe_that_works(smtp_settings):
    inbox = smtp_settings
    user = UserFactory(email="ann@example.org")
    assert mail_send(user_id=user.pk, topic=Topic.ANNOUNCEMENT, subject="Hello", body="News.")
    (msg,) = inbox.to("ann@example.org")
    assert msg["Subject"] == "[Challenge] Hello"
    header = str(msg["List-Unsubscribe"]).strip()
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(http://testserver/notifications/unsubscribe/[^>]+/)>", header).group(1)
    assert url in body_text(msg)

    client = Client()
    path = urlsplit(url).path
    # Opening the link (a mail scanner does) changes nothing; the one-click POST does.
    assert client.get(path).status_code == 200
    assert preferences_get(user=user)[Topic.ANNOUNCEMENT] is True
    response = client.post(path)  # what a mail client sends for List-Unsubscribe-Post
    assert response.status_code == 200 and b"no longer receive" in response.content
    prefs = preferences_get(user=user)
    assert prefs[Topic.ANNOUNCEMENT] is False
    assert prefs[Topic.SUBMISSION_FAILED] is True  # only that topic

    assert not mail_send(user_id=user.pk, topic=Topic.ANNOUNCEMENT, subject="Again", body="x")
    assert len(inbox.messages) == 1


def test_forged_unsubscribe_token_is_refused_and_changes_nothing(smtp_settings):
    user = UserFactory(email="bo@example.org")
    response = Client().post("/notifications/unsubscribe/not-a-token/")
    assert response.status_code == 400 and b"not valid" in response.content
    assert all(v for k, v in preferences_get(user=user).items() if k != Topic.SUBMISSION_SCORED)


def test_failed_is_on_and_scored_is_opt_in(smtp_settings):
    inbox = smtp_settings
    user = UserFactory(email="cy@example.org")
    assert not mail_send(user_id=user.pk, topic=Topic.SUBMISSION_SCORED, subject="s", body="b")
    assert mail_send(user_id=user.pk, topic=Topic.SUBMISSION_FAILED, subject="f", body="b")
    preferences_set(user=user, choices={Topic.SUBMISSION_SCORED: True})
    assert mail_send(user_id=user.pk, topic=Topic.SUBMISSION_SCORED, subject="s", body="b")
    assert [m["X-Notification-Kind"] for m in inbox.to("cy@example.org")] == [
        "submission_failed",
        "submission_scored",
    ]
    nobody = UserFactory(email="")
    assert not mail_send(user_id=nobody.pk, topic=Topic.SUBMISSION_FAILED, subject="f", body="b")


def test_settings_page_saves_choices(smtp_settings):
    user = UserFactory(email="di@example.org")
    client = Client()
    client.force_login(user)
    page = client.get("/notifications/settings/")
    assert page.status_code == 200 and b"A submission of my team failed" in page.content
    response = client.post("/notifications/settings/", {"submission_scored": "on", "team": "on"})
    assert response.status_code == 302
    prefs = preferences_get(user=user)
    assert prefs[Topic.SUBMISSION_SCORED] and prefs[Topic.TEAM]
    assert not prefs[Topic.SUBMISSION_FAILED] and not prefs[Topic.DEADLINE]
    assert Client().get("/notifications/settings/").status_code == 302  # login required


def test_the_footer_also_unsubscribes_from_everything(smtp_settings):
    inbox = smtp_settings
    user = UserFactory(email="eve@example.org")
    mail_send(user_id=user.pk, topic=Topic.DEADLINE, subject="s", body="b")
    text = body_text(inbox.messages[0])
    every = re.search(r"every notification mail: (http://testserver(\S+))", text).group(2)
    assert Client().post(every).status_code == 200
    assert not any(preferences_get(user=user).values())


def test_a_mail_sent_again_keeps_its_message_id(smtp_settings):
    """A worker lost after the server took a mail and before its row said so sends it again:
    the second copy has the first one's Message-ID, so the receiver sees one message."""
    from django.utils import timezone

    from notifications.mail import mail_deliver, mail_message_id
    from notifications.models import MailDelivery, MailStatus

    inbox = smtp_settings
    user = UserFactory(email="fay@example.org")
    mail = MailDelivery.objects.create(
        user=user, topic=Topic.ANNOUNCEMENT, subject="News", body="b",
        status_changed_at=timezone.now(),
    )  # fmt: skip
    other = MailDelivery.objects.create(
        user=user, topic=Topic.ANNOUNCEMENT, subject="More", body="b",
        status_changed_at=timezone.now(),
    )  # fmt: skip
    assert mail_deliver(mail_pk=mail.pk) == MailStatus.SENT
    # As the lifecycle re-queues a mail whose worker died while sending it.
    MailDelivery.objects.filter(pk=mail.pk).update(status=MailStatus.QUEUED, claim_token="")
    assert mail_deliver(mail_pk=mail.pk) == MailStatus.SENT
    assert mail_deliver(mail_pk=other.pk) == MailStatus.SENT
    first, again, news = inbox.to("fay@example.org")
    assert first["Message-ID"] == again["Message-ID"] == mail_message_id(mail_pk=mail.pk)
    assert first["Message-ID"] == f"<notification-{mail.pk}@testserver>"
    assert news["Message-ID"] != first["Message-ID"]
