"""Who may do what in a discussion, and what each refusal answers: anonymous reading,
anonymous writing refused, the rules gate, another team's post, the edit window, the
organizers' moderation with its audit rows, the daily budget and the team's upload rate
(429), the size cap. A refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from challenges.models import AuditEvent, RulesAcceptance
from challenges.rules import rules_accept
from discussion.models import Post, PostRevision, Thread

pytestmark = pytest.mark.django_db


def ask(api, world, role="ann", **extra) -> dict:
    answer = api(role).post(
        f"/api/v1/challenges/{world.challenge.slug}/threads/",
        {"title": "A question", "body": "What is *this*?", **extra},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def reply(api, thread_id: int, role: str, body: str = "A reply."):
    return api(role).post(f"/api/v1/threads/{thread_id}/posts/", {"body": body}, format="json")


def test_anyone_reads_but_only_a_logged_in_person_writes(world, api):
    thread = ask(api, world)
    assert api(None).get(f"/api/v1/threads/{thread['id']}/").status_code == 200
    listed = api(None).get(f"/api/v1/challenges/{world.challenge.slug}/threads/")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    page = Client().get(f"/threads/{thread['id']}/")
    assert page.status_code == 200 and "What is <em>this</em>?" in page.content.decode()
    assert Client().get(f"/c/{world.challenge.slug}/threads/").status_code == 200

    before = Post.objects.count()
    assert reply(api, thread["id"], None).status_code == 401
    anonymous = api(None).post(
        f"/api/v1/challenges/{world.challenge.slug}/threads/",
        {"title": "t", "body": "b"},
        format="json",
    )
    assert anonymous.status_code == 401
    for path in (f"/threads/{thread['id']}/reply/", f"/posts/{thread['posts'][0]['id']}/answer/"):
        assert Client().post(path, {"body": "x"}).status_code == 302  # to the login page
    assert Post.objects.count() == before
    assert api(None).get("/api/v1/threads/999999/").status_code == 404


def test_posting_needs_the_accepted_rules(world, api):
    thread = ask(api, world)
    world.challenge.rules, world.challenge.rules_version = "# Rules\n\nBe kind.", 2
    world.challenge.save()
    refused = reply(api, thread["id"], "bo")
    assert refused.status_code == 403
    assert refused.json()["code"] == "rules_not_accepted" and refused.json()["version"] == 2
    new = api("bo").post(
        f"/api/v1/challenges/{world.challenge.slug}/threads/",
        {"title": "t", "body": "b"},
        format="json",
    )
    assert new.status_code == 403 and new.json()["code"] == "rules_not_accepted"
    # The page sends a person to the rules page instead.
    client = Client()
    client.force_login(world.users["bo"])
    page = client.post(f"/threads/{thread['id']}/reply/", {"body": "x"})
    assert page.status_code == 302 and f"/c/{world.challenge.slug}/rules/" in page["Location"]
    assert Post.objects.filter(thread_id=thread["id"]).count() == 1
    assert reply(api, thread["id"], "org").status_code == 201  # organizers are never asked

    rules_accept(challenge=world.challenge, user=world.users["bo"], version=2)
    assert RulesAcceptance.objects.filter(user=world.users["bo"]).exists()
    assert reply(api, thread["id"], "bo").status_code == 201


def test_another_team_cannot_edit_or_delete_a_post_and_its_author_can_for_a_while(
    world, api, settings
):
    thread = ask(api, world)
    post_id = thread["posts"][0]["id"]
    for role in ("bo", "ann2", "org"):  # another team, a teammate, an organizer
        edit = api(role).patch(f"/api/v1/posts/{post_id}/", {"body": "mine now"}, format="json")
        assert edit.status_code == 403 and edit.json()["code"] == "not_author"
        gone = api(role).post(f"/api/v1/posts/{post_id}/delete/")
        assert gone.status_code == 403 and gone.json()["code"] == "not_author"
    client = Client()
    client.force_login(world.users["bo"])
    assert client.post(f"/posts/{post_id}/edit/", {"body": "mine"}).status_code == 403
    assert Post.objects.get(pk=post_id).body == "What is *this*?"

    edited = api("ann").patch(f"/api/v1/posts/{post_id}/", {"body": "What is **this**?"})
    assert edited.status_code == 200
    assert edited.json()["body_html"] == "<p>What is <strong>this</strong>?</p>\n"
    assert edited.json()["edited"] is not None

    Post.objects.filter(pk=post_id).update(
        created_at=timezone.now() - timedelta(minutes=settings.DISCUSSION_EDIT_MINUTES + 1)
    )
    late = api("ann").patch(f"/api/v1/posts/{post_id}/", {"body": "again"}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "edit_window_closed"

    deleted = api("ann").post(f"/api/v1/posts/{post_id}/delete/")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    shown = api(None).get(f"/api/v1/threads/{thread['id']}/").json()["posts"][0]
    assert shown["deleted"] is True and shown["body_html"] == ""
    assert "What is" not in Client().get(f"/threads/{thread['id']}/").content.decode()
    # The organizers keep the history: the first text and the edited one.
    assert list(PostRevision.objects.filter(post_id=post_id).values_list("body", "reason")) == [
        ("What is *this*?", "edited"),
        ("What is **this**?", "deleted"),
    ]


def test_only_the_thread_author_or_an_organizer_marks_the_answer(world, api):
    thread = ask(api, world)
    answer_id = reply(api, thread["id"], "bo").json()["id"]
    for role in ("bo", "ann2"):
        refused = api(role).post(f"/api/v1/posts/{answer_id}/answer/")
        assert refused.status_code == 403 and refused.json()["code"] == "not_thread_author"
    assert Thread.objects.get(pk=thread["id"]).answer_id is None
    assert api("org").post(f"/api/v1/posts/{answer_id}/answer/").json()["answered"] is True


def test_moderation_needs_an_organizer_and_a_reason_and_is_audited(world, api):
    thread = ask(api, world)
    post_id = reply(api, thread["id"], "bo", "Off topic.").json()["id"]
    actions = (
        (f"/api/v1/posts/{post_id}/hide/", {}),
        (f"/api/v1/threads/{thread['id']}/lock/", {}),
        (f"/api/v1/threads/{thread['id']}/pin/", {}),
    )
    for path, body in actions:
        refused = api("ann").post(path, {**body, "reason": "because"}, format="json")
        assert refused.status_code == 403 and refused.json()["code"] == "organizers_only"
        blank = api("org").post(path, {**body, "reason": "  "}, format="json")
        assert blank.status_code == 400, blank.content
    assert not AuditEvent.objects.filter(action__startswith="discussion.").exists()

    hidden = api("org").post(f"/api/v1/posts/{post_id}/hide/", {"reason": "off topic"})
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    locked = api("org").post(f"/api/v1/threads/{thread['id']}/lock/", {"reason": "answered"})
    assert locked.json()["locked"] is True
    pinned = api("org").post(f"/api/v1/threads/{thread['id']}/pin/", {"reason": "FAQ"})
    assert pinned.json()["pinned"] is True

    events = AuditEvent.objects.filter(action__startswith="discussion.").order_by("pk")
    assert [(e.action, e.reason, e.actor_name) for e in events] == [
        ("discussion.post.hide", "off topic", "org"),
        ("discussion.thread.lock", "answered", "org"),
        ("discussion.thread.pin", "FAQ", "org"),
    ]
    assert all(e.challenge_id == world.challenge.pk for e in events)

    # A locked thread refuses posts with a code, and changes nothing.
    before = Post.objects.count()
    refused = reply(api, thread["id"], "bo")
    assert refused.status_code == 409 and refused.json()["code"] == "thread_locked"
    assert Post.objects.count() == before
    page = Client().get(f"/threads/{thread['id']}/").content.decode()
    assert "Hidden by the organizers: off topic" in page and "Off topic." not in page
    assert "locked" in page

    again = api("org").post(
        f"/api/v1/threads/{thread['id']}/lock/", {"reason": "reopened", "locked": False}
    )
    assert again.json()["locked"] is False and reply(api, thread["id"], "bo").status_code == 201
    assert AuditEvent.objects.filter(action="discussion.thread.unlock", reason="reopened").exists()

    # The web forms do the same, with a reason.
    client = Client()
    client.force_login(world.users["org"])
    assert client.post(f"/threads/{thread['id']}/lock/", {"value": "on"}).status_code == 400
    done = client.post(f"/threads/{thread['id']}/lock/", {"value": "on", "reason": "closed"})
    assert done.status_code == 302 and Thread.objects.get(pk=thread["id"]).locked
    participant = Client()
    participant.force_login(world.users["bo"])
    refused = participant.post(f"/threads/{thread['id']}/pin/", {"value": "", "reason": "x"})
    assert refused.status_code == 403


def test_the_daily_budget_answers_429_past_it(world, api, settings):
    settings.DISCUSSION_POSTS_PER_DAY = 3
    thread = ask(api, world, role="bo")
    assert reply(api, thread["id"], "bo").status_code == 201
    assert reply(api, thread["id"], "bo").status_code == 201
    over = reply(api, thread["id"], "bo")
    assert over.status_code == 429, over.content
    assert over.json()["code"] == "discussion_daily_limit" and "Retry-After" in over
    assert "today's 3 posts" in over.json()["detail"]
    assert Post.objects.filter(author=world.users["bo"]).count() == 3
    assert reply(api, thread["id"], "ann").status_code == 201  # her own budget
    for _ in range(5):  # organizers have none
        assert reply(api, thread["id"], "org").status_code == 201
    client = Client()
    client.force_login(world.users["bo"])
    page = client.post(f"/threads/{thread['id']}/reply/", {"body": "once more"})
    assert page.status_code == 429 and "Retry-After" in page


def test_posts_count_against_the_team_upload_rate(world, api, settings):
    settings.TEAM_UPLOAD_RATE = "2/hour"
    thread = ask(api, world, role="ann")  # one
    assert reply(api, thread["id"], "ann2").status_code == 201  # two: the same team
    over = reply(api, thread["id"], "ann")
    assert over.status_code == 429 and over.json()["code"] == "rate_limited"
    assert "uploads and posts" in over.json()["detail"] and "Retry-After" in over
    assert reply(api, thread["id"], "bo").status_code == 201  # another team's rate
    loner = reply(api, thread["id"], "cy")  # in no team: the daily budget alone
    assert loner.status_code == 201 and loner.json()["team"] is None
    assert Post.objects.filter(author__in=[world.users["ann"], world.users["ann2"]]).count() == 2


def test_size_titles_and_tasks_are_checked_before_anything_is_written(world, api, settings):
    settings.DISCUSSION_POST_MAX_CHARS = 50
    path = f"/api/v1/challenges/{world.challenge.slug}/threads/"
    cases = (
        ({"title": "ok", "body": "x" * 51}, "post_too_long"),
        ({"title": "ok", "body": "   "}, "post_empty"),
        ({"title": "\u200b", "body": "fine"}, "title_invalid"),
        ({"title": "ok", "body": "fine", "task": "not-a-task"}, "unknown_task"),
    )
    for body, code in cases:
        refused = api("ann").post(path, body, format="json")
        assert refused.status_code == 400, (body, refused.content)
        assert refused.json().get("code") == code, refused.json()
    assert not Thread.objects.exists()
    thread = ask(api, world)
    long = reply(api, thread["id"], "bo", "y" * 51)
    assert long.status_code == 400 and long.json()["code"] == "post_too_long"
    assert Post.objects.count() == 1
