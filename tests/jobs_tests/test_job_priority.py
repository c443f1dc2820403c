"""Message priorities on the real Redis broker: a job re-queued ahead of the queue is the next
one a worker takes on every queue; everything else goes at the default priority, behind it,
and a follow-up (``declare_task(..., follow_up=True)``) behind that
(``tests/scoring_tests/test_follow_ups.py``).

Only the broker here (what a worker will take next is the order of kombu's lists); a real
worker taking a dead worker's submission before the backlog is
``tests/scoring_tests/test_faults.py``, the sweeper's re-queue ``test_sweeper.py``.
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from challenges.tasks import ping
from jobs import lifecycle
from jobs.celery import FOLLOW_UP_TASKS, TASK_QUEUES
from tests.support.broker import pop_message, queued_messages, task_of

NORMAL = settings.CELERY_TASK_DEFAULT_PRIORITY

# One task of each queue the platform has (its name says which keyword it takes).
TASKS = {
    "scoring": ("scoring.tasks.score_submission", "submission_pk"),
    "algorithms": ("algorithms.tasks.run_algorithm", "run_pk"),
    "baselines": ("algorithms.tasks.run_baseline", "run_pk"),
    "notifications": ("notifications.tasks.deliver_webhook", "delivery_pk"),
}


@pytest.fixture
def broker(redis_client):
    redis_client.flushall()
    yield redis_client
    redis_client.flushall()


def test_the_normal_priority_leaves_room_ahead_of_it():
    assert lifecycle.URGENT_PRIORITY == 0 < NORMAL < lifecycle.FOLLOW_UP_PRIORITY
    steps = settings.CELERY_BROKER_TRANSPORT_OPTIONS["priority_steps"]
    # a list each, not shared
    assert {lifecycle.URGENT_PRIORITY, NORMAL, lifecycle.FOLLOW_UP_PRIORITY} <= set(steps)


@pytest.mark.parametrize("queue", sorted(TASKS))
def test_on_every_queue_an_urgent_job_is_taken_before_those_queued_earlier(broker, queue):
    name, key = TASKS[queue]
    for pk in (1, 2, 3):
        assert lifecycle.publish(task_name=name, **{key: pk})
    assert lifecycle.publish(task_name=name, urgent=True, **{key: 99})
    assert TASK_QUEUES[name] == queue

    taken = [task_of(message) for message in queued_messages(broker, queue)]
    usual = lifecycle.FOLLOW_UP_PRIORITY if name in FOLLOW_UP_TASKS else NORMAL
    assert taken == [
        (name, {key: 99}, lifecycle.URGENT_PRIORITY),
        (name, {key: 1}, usual),
        (name, {key: 2}, usual),
        (name, {key: 3}, usual),
    ]
    others = [q for q in TASKS if q != queue]
    assert not any(queued_messages(broker, q) for q in others)
    assert task_of(pop_message(broker, queue))[1] == {key: 99}  # as a worker pops them


def test_tasks_sent_without_publish_go_at_the_normal_priority_too(broker):
    # The beat sends its periodic tasks with apply_async, and a retry re-sends its task the
    # same way: none of them may jump ahead of the queue (a message without a priority
    # would count as 0, the urgent one).
    value = uuid.uuid4().hex
    ping.delay(value=value)
    ping.apply_async(kwargs={"value": "beat"}, queue="scoring", expires=25)
    assert [task_of(m)[2] for m in queued_messages(broker, "scoring")] == [NORMAL, NORMAL]


@pytest.mark.django_db
def test_publishing_after_commit_keeps_the_urgency(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.publish_after_commit(task_name="scoring.tasks.score_submission", submission_pk=1)
        lifecycle.publish_after_commit(
            task_name="scoring.tasks.score_submission", urgent=True, submission_pk=2
        )
    taken = [task_of(message)[1:] for message in queued_messages(broker, "scoring")]
    assert taken == [({"submission_pk": 2}, 0), ({"submission_pk": 1}, NORMAL)]
