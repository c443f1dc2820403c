"""Bootstrap recomputations coalesced per task, on the session's real Redis and broker.

The job body (``bootstrap_task_leaderboard.run``) is what a worker executes, taken from the
messages really published to Redis; scoring runs through ``score_submission.run``. The
only wrapper is a counter around ``leaderboard_bootstrap_compute`` that calls the real one.
"""

from __future__ import annotations

import base64
import json

import pytest

from leaderboard import services as board_services
from leaderboard import task_names
from leaderboard.models import LeaderboardEntry
from leaderboard.tasks import bootstrap_task_leaderboard
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.factories import (
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)
from tests.support.broker import pop_message, queued_messages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_broker")]


@pytest.fixture
def clean_broker(redis_client):
    """No message or coalescing key of these tests outlives them (task ids are reused)."""
    redis_client.flushall()
    yield
    redis_client.flushall()


def bootstrap_messages(redis_client) -> list[dict]:
    out = []
    for message in queued_messages(redis_client, "scoring"):
        if message["headers"]["task"] == task_names.BOOTSTRAP_TASK_LEADERBOARD:
            out.append(message)
    return out


def queued(task, n: int, *, wrong: float, step: float) -> list:
    """``n`` submissions of ``n`` new teams, queued, each a little worse than the last."""
    subs = []
    for i in range(n):
        who = make_participant(task.track.challenge)
        frame = predictions_frame(task, wrong=wrong + step * i, seed=i)
        subs.append(submission_create(task=task, user=who.user, file=upload(csv_bytes(frame))))
    return subs


def score_committed(sub, capture) -> None:
    """Score ``sub`` as a worker would, running what its commit runs (the refresh's)."""
    solution_cache.items.clear()
    with capture(execute=True):
        score_submission.run(submission_pk=sub.pk)


def take(redis_client) -> tuple[int, dict]:
    """Deliver the oldest bootstrap message like a worker; the computations made and its
    headers. The champion checks each scoring queues on the same queue are dropped (not
    what these tests count)."""
    message = pop_message(redis_client, "scoring")
    while (
        message is not None and message["headers"]["task"] != task_names.BOOTSTRAP_TASK_LEADERBOARD
    ):
        message = pop_message(redis_client, "scoring")
    _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return board_services.leaderboard_bootstrap_run(**kwargs), message["headers"]


def test_a_burst_of_twenty_scores_makes_at_most_two_bootstrap_computations(
    tmp_path, redis_client, monkeypatch, django_capture_on_commit_callbacks
):
    task = imported_task(tmp_path, rows=80)
    subs = queued(task, 20, wrong=0.05, step=0.02)

    def score(sub) -> None:
        score_committed(sub, django_capture_on_commit_callbacks)

    computations: list[int] = []
    real_compute = board_services.leaderboard_bootstrap_compute

    def counted(**kwargs) -> None:
        computations.append(LeaderboardEntry.objects.filter(task=task).count())
        real_compute(**kwargs)
        if len(computations) == 1:
            for sub in subs[1:]:  # the burst lands while the first computation runs
                score(sub)

    monkeypatch.setattr(board_services, "leaderboard_bootstrap_compute", counted)

    score(subs[0])
    assert len(bootstrap_messages(redis_client)) == 1
    handled = 0
    while len(bootstrap_messages(redis_client)) > handled:  # a worker draining the queue
        message = bootstrap_messages(redis_client)[handled]
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        bootstrap_task_leaderboard.run(**kwargs)
        handled += 1

    assert len(computations) <= 2, computations
    assert handled <= 2
    entries = list(LeaderboardEntry.objects.filter(task=task))
    assert len(entries) == 40  # 20 teams on both splits
    assert all(e.score_low is not None and e.rank_low is not None for e in entries)


def test_a_job_finding_the_task_held_comes_back_later_instead_of_computing(
    tmp_path, redis_client, monkeypatch, django_capture_on_commit_callbacks
):
    """A run holding the lock (or a dead worker's lock, until it expires) is not doubled;
    the job re-queues itself once, late, so the intervals still come."""
    task = imported_task(tmp_path, rows=60)
    who = make_participant(task.track.challenge)
    sub = submission_create(
        task=task, user=who.user, file=upload(csv_bytes(predictions_frame(task)))
    )
    score_committed(sub, django_capture_on_commit_callbacks)
    assert len(bootstrap_messages(redis_client)) == 1
    redis_client.set(f"leaderboard:bootstrap:{task.pk}:running", "a dead worker", ex=300)

    assert take(redis_client)[0] == 0
    [late] = bootstrap_messages(redis_client)
    assert late["headers"]["eta"] is not None  # re-queued late, not at once
    computed, headers = take(redis_client)
    assert computed == 0 and headers["eta"] is not None  # still held...
    assert len(bootstrap_messages(redis_client)) == 1  # ...and still one pending, not two

    redis_client.delete(f"leaderboard:bootstrap:{task.pk}:running")  # the lock expired
    assert take(redis_client)[0] == 1
    assert bootstrap_messages(redis_client) == []
    assert all(e.score_low is not None for e in LeaderboardEntry.objects.filter(task=task))
    assert board_services.leaderboard_bootstrap_run(task_id=task.pk) == 0  # nothing new


def test_with_a_spacing_computations_of_a_task_start_that_far_apart(
    tmp_path, redis_client, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """In a rush the intervals are computed once per spacing: a score during or right after a
    computation queues the next one for the end of the spacing (an ETA), never back to back."""
    from datetime import datetime

    settings.BOARD_INTERVALS_SPACING_SECONDS = 30
    task = imported_task(tmp_path, rows=60)
    subs = queued(task, 3, wrong=0.1, step=0.1)

    def score(sub) -> None:
        score_committed(sub, django_capture_on_commit_callbacks)

    computations = []
    real_compute = board_services.leaderboard_bootstrap_compute

    def counted(**kwargs) -> None:
        computations.append(1)
        real_compute(**kwargs)
        if len(computations) == 1:
            score(subs[1])  # lands while the first computation runs

    monkeypatch.setattr(board_services, "leaderboard_bootstrap_compute", counted)
    score(subs[0])
    [first] = bootstrap_messages(redis_client)
    assert first["headers"]["eta"] is None  # nothing computed lately: at once
    started = datetime.now().astimezone()
    # One computation, no second one back to back:
    assert take(redis_client)[0] == 1 and len(computations) == 1
    [later] = bootstrap_messages(redis_client)
    eta = datetime.fromisoformat(later["headers"]["eta"])
    assert 20 < (eta - started).total_seconds() <= 31

    score(subs[2])  # one more before that time: the same queued job covers it
    assert len(bootstrap_messages(redis_client)) == 1
    assert take(redis_client)[0] == 1  # run at its ETA: one computation for both scores
    assert len(computations) == 2
    entries = LeaderboardEntry.objects.filter(task=task)
    assert entries.count() == 6 and all(e.score_low is not None for e in entries)


def test_intervals_give_way_to_queued_scorings_for_at_most_the_deferral_limit(
    tmp_path, redis_client, settings, django_capture_on_commit_callbacks
):
    """While submissions are queued for scoring, a bootstrap job does not take a worker's slot:
    it comes back a little later (an ETA) with the board still due; once the jobs of the task
    have given way for ``BOARD_INTERVALS_DEFER_SECONDS`` it computes however busy the worker
    is, and with nothing queued it computes at once. Nothing new: no job at all."""
    from datetime import datetime

    settings.BOARD_INTERVALS_DEFER_SECONDS = 60
    task = imported_task(tmp_path, rows=60)
    first, waiting = queued(task, 2, wrong=0.1, step=0.1)
    score_committed(first, django_capture_on_commit_callbacks)  # ``waiting`` stays queued
    assert len(bootstrap_messages(redis_client)) == 1

    for _ in range(2):  # gives way each time it is delivered while a scoring waits
        asked = datetime.now().astimezone()
        computed, _headers = take(redis_client)
        assert computed == 0
        [again] = bootstrap_messages(redis_client)  # still one job, due a little later
        eta = datetime.fromisoformat(again["headers"]["eta"])
        assert 0 < (eta - asked).total_seconds() <= 3
    entries = LeaderboardEntry.objects.filter(task=task)
    assert entries.count() == 2 and all(e.score_low is None for e in entries)

    # The jobs have given way for the whole limit: the next one computes, busy or not.
    redis_client.set(f"leaderboard:bootstrap:{task.pk}:deferred", datetime.now().timestamp() - 61)
    assert take(redis_client)[0] == 1
    assert all(e.score_low is not None for e in LeaderboardEntry.objects.filter(task=task))
    assert bootstrap_messages(redis_client) == []
    assert not redis_client.exists(f"leaderboard:bootstrap:{task.pk}:deferred")

    # Nothing changed since: a job has nothing to do and does not come back, busy or not.
    assert board_services.leaderboard_bootstrap_run(task_id=task.pk) == 0
    assert bootstrap_messages(redis_client) == []

    score_committed(waiting, django_capture_on_commit_callbacks)  # nothing queued any more
    assert take(redis_client)[0] == 1  # computed at once
    assert bootstrap_messages(redis_client) == []
    entries = LeaderboardEntry.objects.filter(task=task)
    assert entries.count() == 4 and all(e.score_low is not None for e in entries)
