"""The demo challenge's questions and answers: a few threads written by the demo accounts
(``manage.py ensure_accounts``), one about a task and answered by the organizers, made once
by ``load_demo`` through the discussion's services (docs/participants/ask-and-answer.md)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from challenges.models import Challenge
from challenges.rules import RulesNotAccepted
from datasets.models import Task
from discussion.models import Thread
from discussion.services import (
    DiscussionRefused,
    answer_mark,
    post_create,
    thread_create,
    thread_pin,
)

WELCOME = (
    "Ask here what the data, the metrics or the rules leave unclear. Questions about one task "
    "go in its own threads (the task page links them). We mark the answer when there is one, "
    "and everyone who follows a thread hears of its replies."
)
QUESTION = (
    "In the task's training file, what exactly does the `label` column hold, and are the "
    "classes balanced in the test rows too?"
)
ANSWER = (
    "The `label` column holds the class of each row, one of the classes the task page lists. "
    "The test rows are drawn the same way as the training rows, so the **class balance** on "
    "the dataset card holds for them as well."
)
THANKS = "Thanks, that settles it."
OPEN_QUESTION = "May we use pretrained text encoders, or only what we train on the given data?"


def demo_threads_ensure(*, challenge: Challenge) -> str:
    """Write the demo threads unless the challenge has threads; returns a line to print."""
    if Thread.objects.filter(challenge=challenge).exists():
        return "demo threads: present, skipped"
    users = get_user_model().objects.in_bulk(["organizer", "alice", "bob"], field_name="username")
    if len(users) < 3:
        return "demo threads: skipped (no demo accounts: manage.py ensure_accounts)"
    organizer, alice, bob = users["organizer"], users["alice"], users["bob"]
    task = Task.objects.filter(track__challenge=challenge).order_by("slug").first()
    try:
        welcome = thread_create(
            challenge=challenge, user=organizer, title="Welcome: ask your questions here",
            body=WELCOME,
        )  # fmt: skip
        thread_pin(thread=welcome, user=organizer, reason="the demo's welcome thread")
        asked = thread_create(
            challenge=challenge,
            user=alice,
            title="What does the label column hold?",
            body=QUESTION,
            task_slug=task.slug if task else None,
        )
        answer = post_create(thread=asked, user=organizer, body=ANSWER)
        post_create(thread=asked, user=alice, body=THANKS)
        answer_mark(post=answer, user=alice)
        thread_create(
            challenge=challenge, user=bob, title="Pretrained text encoders?", body=OPEN_QUESTION
        )
    except (DiscussionRefused, RulesNotAccepted) as exc:
        return f"demo threads: not written ({exc})"
    return "demo threads: 3 written, one answered"
