"""The demo's threads (written once by load_demo, one answered by the organizers) and the
names a post shows (a participant's name that imitates the organizers' reads as a
participant's; only an organizer's post carries the organizers' mark)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from discussion.models import Post, Thread
from operations.demo_threads import demo_threads_ensure
from tests.challenges_tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def test_the_demo_threads_are_written_once_with_one_answered(world):
    assert demo_threads_ensure(challenge=world.challenge).startswith("demo threads: skipped")
    assert not Thread.objects.exists()
    call_command("ensure_accounts", stdout=io.StringIO())
    assert demo_threads_ensure(challenge=world.challenge) == "demo threads: 3 written, one answered"
    assert demo_threads_ensure(challenge=world.challenge) == "demo threads: present, skipped"
    threads = list(Thread.objects.filter(challenge=world.challenge).order_by("pk"))
    assert len(threads) == 3
    answered = [t for t in threads if t.answer_id]
    assert len(answered) == 1 and answered[0].task is not None
    assert answered[0].answer.by_organizers and answered[0].answer.author.username == "organizer"
    assert threads[0].pinned  # the welcome
    page = Client().get(f"/c/{world.challenge.slug}/threads/").content.decode()
    assert page.count('class="badge answered"') == 1 and "pinned" in page


def test_a_name_that_imitates_the_organizers_reads_as_a_participant_s(world, api):
    impostor = UserFactory(username="0rganizer")  # an old account, from before the name rules
    add_member(world.teams["b"], impostor)
    thread = (
        api("ann")
        .post(
            f"/api/v1/challenges/{world.challenge.slug}/threads/",
            {"title": "Q", "body": "Q?"},
            format="json",
        )
        .json()
    )
    api("org").post(f"/api/v1/threads/{thread['id']}/posts/", {"body": "Organizers here."})
    client = api(None)
    client.force_authenticate(impostor)
    client.post(f"/api/v1/threads/{thread['id']}/posts/", {"body": "Organizers here too."})
    posts = api(None).get(f"/api/v1/threads/{thread['id']}/").json()["posts"]
    assert [(p["author"], p["by_organizers"], p["team"]) for p in posts] == [
        ("ann", False, "Team Ann"),
        ("org", True, None),
        ("0rganizer (participant)", False, "Team Bo"),
    ]
    page = Client().get(f"/threads/{thread['id']}/").content.decode()
    assert page.count('class="badge organizers"') == 1
    assert Post.objects.filter(by_organizers=True).count() == 1
