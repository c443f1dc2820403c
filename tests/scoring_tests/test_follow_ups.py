"""A score goes ahead of the follow-ups of the scores before it (the champion's check, the
intervals, the mail): they are declared ``follow_up`` and published at the broker's follow-up
priority, so a worker takes every waiting score first
(docs/decisions/0062-a-score-goes-ahead-of-its-follow-ups.md). On the real Redis broker,
with a real worker.
"""

from __future__ import annotations

import re

import pytest

from jobs import lifecycle
from jobs.celery import FOLLOW_UP_TASKS, TASK_QUEUES
from leaderboard import task_names as leaderboard_tasks
from notifications import task_names as notification_tasks
from scoring import task_names as scoring_tasks
from scoring.models import Submission, SubmissionStatus
from tests.scoring_tests import factories
from tests.support.broker import queued_messages, task_of
from tests.support.waiting import wait_for


@pytest.fixture
def task(tmp_path, transactional_db):
    challenge = factories.ChallengeFactory(daily_submission_limit=50)
    return factories.imported_task(tmp_path, kind="classification", challenge=challenge)


def _upload(client, task, seed: int) -> int:
    response = client.post(
        f"/api/v1/tasks/{task.slug}/submissions/",
        {
            "file": factories.upload(
                factories.csv_bytes(factories.predictions_frame(task, seed=seed))
            )
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_what_a_score_sets_off_is_declared_a_follow_up_and_the_score_is_not():
    assert {
        leaderboard_tasks.CHECK_CHAMPION,
        leaderboard_tasks.BOOTSTRAP_TASK_LEADERBOARD,
        leaderboard_tasks.TRANSFER_DECOMPOSITION_REFIT,
        notification_tasks.SEND_NOTIFICATION_MAIL,
        notification_tasks.DELIVER_WEBHOOK,
    } <= FOLLOW_UP_TASKS
    assert scoring_tasks.SCORE_SUBMISSION not in FOLLOW_UP_TASKS
    assert FOLLOW_UP_TASKS.issubset(TASK_QUEUES)


def test_a_follow_up_published_first_waits_behind_a_later_score(broker, task):
    client = factories.make_participant(task.track.challenge).api()
    assert lifecycle.publish(task_name=leaderboard_tasks.CHECK_CHAMPION, check_pk=999_999)
    assert lifecycle.publish(
        task_name=notification_tasks.SEND_NOTIFICATION_MAIL, notification_pk=999_999
    )
    pk = _upload(client, task, seed=1)

    scoring = [task_of(m) for m in queued_messages(broker, "scoring")]
    assert [(name, priority) for name, _kwargs, priority in scoring] == [
        (scoring_tasks.SCORE_SUBMISSION, 3),
        (leaderboard_tasks.CHECK_CHAMPION, lifecycle.FOLLOW_UP_PRIORITY),
    ]
    assert scoring[0][1] == {"submission_pk": pk}
    [(name, _kwargs, priority)] = [task_of(m) for m in queued_messages(broker, "notifications")]
    assert (name, priority) == (notification_tasks.SEND_NOTIFICATION_MAIL, 6)
    # A job taken back from a dead worker still goes ahead of everything.
    assert lifecycle.publish(task_name=leaderboard_tasks.CHECK_CHAMPION, urgent=True, check_pk=1)
    assert task_of(queued_messages(broker, "scoring")[0])[2] == lifecycle.URGENT_PRIORITY


@pytest.mark.celery_worker
@pytest.mark.slow
def test_a_worker_takes_a_later_upload_before_the_follow_ups_waiting_ahead_of_it(
    scoring_worker_factory, task, broker
):
    # A worker of one process, each scoring held 2 s. Two uploads wait before it starts;
    # while it scores the second, the first's follow-ups wait in the queue, and a third
    # upload arrives behind them. The worker takes the third upload next, then the follow-ups.
    client = factories.make_participant(task.track.challenge).api()
    first, second = (_upload(client, task, seed=10 + i) for i in range(2))
    worker = scoring_worker_factory(concurrency=1, env={"SCORING_TEST_DELAY_SECONDS": "2"})
    worker.wait_ready()
    wait_for(
        lambda: Submission.objects.get(pk=second).status == SubmissionStatus.SCORING,
        timeout=60,
        what="the worker to score the second upload",
        worker=worker,
    )
    waiting = [
        task_of(m)[0] for q in ("scoring", "notifications") for m in queued_messages(broker, q)
    ]
    assert set(waiting) & FOLLOW_UP_TASKS, f"no follow-up of the first score waits: {waiting}"
    third = _upload(client, task, seed=12)
    for pk in (first, second, third):
        wait_for(
            lambda pk=pk: Submission.objects.get(pk=pk).status == SubmissionStatus.SCORED,
            timeout=60,
            what=f"submission {pk} to be scored",
            worker=worker,
        )

    def received() -> list[str]:
        return re.findall(r"Task ([\w.]+)\[[^\]]+\] received", worker.log_path.read_text())

    wait_for(
        lambda: received()[-1] in FOLLOW_UP_TASKS,
        timeout=60,
        what="the worker to take the follow-ups after the scores",
        worker=worker,
    )
    order = received()
    scores = [i for i, name in enumerate(order) if name == scoring_tasks.SCORE_SUBMISSION]
    follow_ups = [i for i, name in enumerate(order) if name in FOLLOW_UP_TASKS]
    assert len(scores) == 3 and follow_ups, order
    assert max(scores) < min(follow_ups), order
