"""The whole flow of a question, through the API: ann asks about a task, bo replies, an
organizer replies, ann marks the answer; the followers hear of each by mail (a real SMTP
server, through the broker as a worker takes the messages) and the challenge's webhook (a
local receiver checking the signature); a hidden post is told to nobody."""

from __future__ import annotations

import json

import pytest

from discussion.models import ThreadFollow
from notifications.models import Topic, Webhook, WebhookDelivery
from notifications.services import preferences_set
from notifications.webhooks import webhook_deliver
from tests.support.mails import deliver_taken

pytestmark = pytest.mark.django_db


def mails(inbox, broker) -> list[tuple[str, str]]:
    """Send what waits on the notifications queue; (to, subject) of what arrived."""
    inbox.clear()
    sent = deliver_taken(broker.take())
    assert len(inbox.messages) == sent
    return sorted((str(m["To"]), str(m["Subject"])) for m in inbox.messages)


def test_ask_reply_answer_follow_mail_and_webhook(
    world, api, smtp_settings, broker, webhook_receiver, django_capture_on_commit_callbacks
):
    inbox = smtp_settings
    receiver = webhook_receiver("hook-secret")
    Webhook.objects.create(
        challenge=world.challenge, url=receiver.url, secret="hook-secret", events=["discussion"]
    )
    broker.take()  # the new-member mails of the world
    slug = world.challenge.slug

    with django_capture_on_commit_callbacks(execute=True):
        asked = api("ann").post(
            f"/api/v1/challenges/{slug}/threads/",
            {"title": "What does col_7 mean?", "body": "Is it **days**?", "task": world.task.slug},
            format="json",
        )
    assert asked.status_code == 201, asked.content
    thread = asked.json()
    assert thread["task"] == world.task.slug and thread["author"] == "ann"
    assert thread["answered"] is False and thread["locked"] is False
    assert thread["posts"][0]["body_html"] == "<p>Is it <strong>days</strong>?</p>\n"
    assert thread["following"] is True
    assert mails(inbox, broker) == []  # nobody else follows yet

    ann2 = api("ann2").post(f"/api/v1/threads/{thread['id']}/follow/", {}, format="json")
    assert ann2.json() == {"following": True}

    with django_capture_on_commit_callbacks(execute=True):
        reply = api("bo").post(
            f"/api/v1/threads/{thread['id']}/posts/", {"body": "I think hours."}, format="json"
        )
    assert reply.status_code == 201, reply.content
    assert reply.json()["team"] == "Team Bo" and reply.json()["by_organizers"] is False
    assert mails(inbox, broker) == [
        ("ann2@example.org", "[Challenge] Re: What does col_7 mean?"),
        ("ann@example.org", "[Challenge] Re: What does col_7 mean?"),
    ]
    assert ThreadFollow.objects.filter(thread_id=thread["id"], user=world.users["bo"]).exists()

    # ann2 turns the discussion mails off: she no longer hears, the others still do.
    preferences_set(user=world.users["ann2"], choices={Topic.DISCUSSION: False})
    with django_capture_on_commit_callbacks(execute=True):
        org = api("org").post(
            f"/api/v1/threads/{thread['id']}/posts/",
            {"body": "It counts **days** since the first visit."},
            format="json",
        )
    assert org.status_code == 201 and org.json()["by_organizers"] is True
    assert mails(inbox, broker) == [
        ("ann@example.org", "[Challenge] The organizers replied: What does col_7 mean?"),
        ("bo@example.org", "[Challenge] The organizers replied: What does col_7 mean?"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        answered = api("ann").post(f"/api/v1/posts/{org.json()['id']}/answer/", format="json")
    assert answered.status_code == 200, answered.content
    doc = answered.json()
    assert doc["answered"] is True
    assert [p["is_answer"] for p in doc["posts"]] == [False, False, True]
    assert mails(inbox, broker) == [
        ("ann@example.org", "[Challenge] Answered: What does col_7 mean?"),
        ("bo@example.org", "[Challenge] Answered: What does col_7 mean?"),
        ("org@example.org", "[Challenge] Answered: What does col_7 mean?"),
    ]
    (mail,) = [m for m in inbox.messages if str(m["To"]) == "bo@example.org"]
    assert "http://testserver/threads/" in mail.get_body().get_content()
    assert mail["X-Notification-Kind"] == "discussion"

    # The list says the thread is answered; the task filter and the search find it.
    listed = api(None).get(f"/api/v1/challenges/{slug}/threads/?task={world.task.slug}").json()
    assert [(t["id"], t["answered"], t["posts"]) for t in listed["results"]] == [
        (thread["id"], True, 3)
    ]
    assert (
        api(None).get(f"/api/v1/challenges/{slug}/threads/?q=SINCE the first").json()["count"] == 1
    )
    assert api(None).get(f"/api/v1/challenges/{slug}/threads/?q=col_7").json()["count"] == 1
    assert api(None).get(f"/api/v1/challenges/{slug}/threads/?q=nowhere").json()["count"] == 0
    other = f"/api/v1/challenges/{slug}/threads/?task={world.other_task.slug}"
    assert api(None).get(other).json()["count"] == 0

    # The webhook got the reply, the organizers' post and the answer, each signed, once.
    deliveries = WebhookDelivery.objects.filter(event="discussion").order_by("pk")
    assert [json.loads(d.body)["data"]["kind"] for d in deliveries] == ["post", "post", "answer"]
    for delivery in deliveries:
        assert webhook_deliver(delivery_pk=delivery.pk, delivery_id=f"m-{delivery.pk}") == (
            "delivered"
        )
    assert all(r["signature_ok"] for r in receiver.requests)
    assert [b["data"]["kind"] for b in receiver.accepted] == ["post", "post", "answer"]
    assert receiver.accepted[1]["data"]["by_organizers"] is True


def test_a_post_hidden_before_its_notice_is_told_to_nobody(
    world, api, smtp_settings, broker, django_capture_on_commit_callbacks
):
    from discussion.models import Post
    from discussion.services import post_hide

    inbox = smtp_settings
    broker.take()
    with django_capture_on_commit_callbacks(execute=True):
        thread = (
            api("ann")
            .post(
                f"/api/v1/challenges/{world.challenge.slug}/threads/",
                {"title": "Labels", "body": "Row 12 looks wrong."},
                format="json",
            )
            .json()
        )
    Webhook.objects.create(challenge=world.challenge, url="http://127.0.0.1:9/x", secret="s")
    # The spam is hidden in the same transaction as it is posted (before the notice goes).
    with django_capture_on_commit_callbacks(execute=True):
        from django.db import transaction

        with transaction.atomic():
            spam = api("bo").post(
                f"/api/v1/threads/{thread['id']}/posts/", {"body": "BUY NOW"}, format="json"
            )
            post_hide(
                post=Post.objects.get(pk=spam.json()["id"]),
                user=world.users["org"],
                reason="spam",
            )
    assert mails(inbox, broker) == []
    assert not WebhookDelivery.objects.filter(event="discussion").exists()
    # Readers see that it was hidden and why, never its text; organizers still read it.
    posts = api(None).get(f"/api/v1/threads/{thread['id']}/").json()["posts"]
    assert posts[1] | {"created": None} == posts[1] | {
        "body_html": "",
        "hidden": True,
        "hidden_reason": "spam",
        "created": None,
    }
    org_view = api("org").get(f"/api/v1/threads/{thread['id']}/").json()["posts"][1]
    assert org_view["body_html"] == "<p>BUY NOW</p>\n" and org_view["hidden"] is True
    # A hidden post cannot become the answer.
    refused = api("ann").post(f"/api/v1/posts/{spam.json()['id']}/answer/")
    assert refused.status_code == 409 and refused.json()["code"] == "post_hidden"
