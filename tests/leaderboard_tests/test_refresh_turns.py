"""Board refreshes of one task coalesce: a refresh that finds the task's turn taken does not
wait for it, and the holder refreshes again after its commit (``leaderboard.refresh``).

On the session's real Redis; the concurrent case on PostgreSQL (its advisory lock), with two
real connections from two threads.
"""

from __future__ import annotations

import threading

import pytest
import redis
from django.db import connection, connections, transaction

from leaderboard import refresh
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.tasks import refresh_lagging_boards
from runtime.localredis import free_port
from scoring.models import Submission, SubmissionStatus
from tests.leaderboard_tests.factories import make_task, make_team, scored


@pytest.fixture
def clean_redis(redis_client):
    """Task ids are reused between tests: no count of one test reaches the next."""

    def clean() -> None:
        for key in redis_client.scan_iter("leaderboard:refresh:*"):
            redis_client.delete(key)

    clean()
    yield redis_client
    clean()


def public_board(task) -> dict[str, float]:
    return {
        e.team.name: e.score
        for e in LeaderboardEntry.objects.filter(task=task, split="public").select_related("team")
    }


def scored_quietly(task, team, score: float) -> Submission:
    """A scored submission whose refresh has not run (as between a commit and its refresh)."""
    sub = scored(task, make_team(task.track.challenge, team), score, score)
    return sub


@pytest.mark.django_db(transaction=True)
def test_a_refresh_finding_the_turn_taken_returns_at_once_and_the_holder_shows_its_score(
    clean_redis,
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (set DATABASE_URL=postgres://...): the turn is an advisory lock, "
            "and SQLite runs one write transaction at a time, so no refresh ever finds it taken"
        )
    task = make_task(slug="rush")
    holder_team = scored_quietly(task, "holder", 0.6).team_id
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:  # a scoring that refreshed and has not committed yet
        try:
            with transaction.atomic():
                task_leaderboard_refresh(task_id=task.pk, team_id=holder_team, bootstrap=False)
                holding.set()
                assert release.wait(30)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            holding.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(30)
        # A second scoring commits its score and refreshes while the turn is held: its thread
        # is not held up (the holder would block it until its commit before).
        later = scored_quietly(task, "later", 0.9)
        done = threading.Event()

        def second() -> None:
            try:
                with transaction.atomic():
                    Submission.objects.filter(pk=later.pk).update(status=SubmissionStatus.SCORED)
                    task_leaderboard_refresh(
                        task_id=task.pk, team_id=later.team_id, bootstrap=False
                    )
                done.set()
            finally:
                connections.close_all()

        other = threading.Thread(target=second)
        other.start()
        other.join(30)
        assert done.is_set(), "the refresh waited for the turn held by the other transaction"
        assert int(clean_redis.hget(refresh.REQUESTED, str(task.pk))) == 1
        assert public_board(task) == {}  # nothing committed by the holder yet
    finally:
        release.set()
        thread.join(30)
    assert not errors, errors
    # The holder's commit found the count moved during its turn and refreshed again (the
    # pending team's entries).
    assert public_board(task) == {"later": 0.9, "holder": 0.6}
    assert refresh.refreshes_behind() == []
    assert refresh.refresh_generation(task_id=task.pk).pending == {}


@pytest.mark.django_db(transaction=True)
def test_the_beat_refreshes_a_board_whose_holder_died_before_its_second_look(clean_redis):
    task = make_task(slug="orphan")
    scored_quietly(task, "first", 0.5)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    # A refresh passed its turn on (its request counted) and the holder died after its
    # commit: the score is committed, the board does not show it.
    orphaned = scored_quietly(task, "orphaned", 0.8)
    assert refresh.refresh_requested(task_id=task.pk, team_id=orphaned.team_id)
    assert public_board(task) == {"first": 0.5}
    assert refresh.refreshes_behind() == [task.pk]

    assert refresh_lagging_boards.run() == 1

    assert public_board(task) == {"orphaned": 0.8, "first": 0.5}
    assert refresh.refreshes_behind() == []
    assert refresh_lagging_boards.run() == 0


@pytest.mark.django_db(transaction=True)
def test_without_redis_a_refresh_waits_for_its_turn_and_shows_the_score(monkeypatch):
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    monkeypatch.setattr(refresh, "broker_client", lambda: dead)  # a Redis nobody listens on
    task = make_task(slug="no-redis")
    scored_quietly(task, "alone", 0.7)

    with transaction.atomic():
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
        assert public_board(task) == {"alone": 0.7}  # in the caller's transaction, as before
    assert refresh.refreshes_behind() == []  # unreachable: nothing to report


def board_state(task) -> list[tuple]:
    return sorted(
        LeaderboardEntry.objects.filter(task=task).values_list(
            "split",
            "position",
            "rank",
            "team_id",
            "submission_id",
            "score",
            "is_baseline",
            "submission_count",
            "last_submission_at",
            "best_submitted_at",
        )
    )


@pytest.mark.django_db
def test_a_refresh_for_one_team_gives_the_board_a_whole_rebuild_gives(clean_redis):
    """Scoring after scoring, the refresh of the scored team's entries (the other teams' kept
    and ranked again) equals the whole rebuild: ties broken by time, worse tries, finals,
    a hidden submission, the baseline, a team that drops off the board."""
    import random

    rng = random.Random(7)
    task = make_task(slug="incremental")
    challenge = task.track.challenge
    challenge.max_final_selections = 2
    challenge.save()
    teams = [make_team(challenge, f"team {i}") for i in range(8)]
    teams.append(make_team(challenge, "Baseline", baseline=True))
    for step in range(60):
        team = rng.choice(teams)
        score = rng.choice([0.5, 0.6, 0.7, round(rng.uniform(0.3, 0.9), 3)])  # ties too
        sub = scored(
            task,
            team,
            score,
            round(rng.uniform(0.3, 0.9), 3),
            minutes=step + 1,
            final=rng.random() < 0.2,
        )
        if step % 17 == 5:  # an organizer hides one; a later refresh of that team drops it
            Submission.objects.filter(pk=sub.pk).update(is_hidden=True)
        task_leaderboard_refresh(task_id=task.pk, team_id=team.pk, bootstrap=False)
        incremental = board_state(task)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
        assert incremental == board_state(task), f"step {step}"


@pytest.mark.django_db(transaction=True)
def test_a_refresh_for_one_team_also_recomputes_the_teams_whose_refresh_is_pending(
    clean_redis,
):
    """A request no rebuild has covered is another team's committed score: a refresh for
    one team recomputes that team too, and covers its request."""
    task = make_task(slug="outstanding")
    scored_quietly(task, "first", 0.5)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    skipped = scored_quietly(task, "skipped", 0.9)  # its refresh found the turn taken
    assert refresh.refresh_requested(task_id=task.pk, team_id=skipped.team_id)
    mine = scored_quietly(task, "mine", 0.7)

    task_leaderboard_refresh(task_id=task.pk, team_id=mine.team_id, bootstrap=False)

    assert public_board(task) == {"skipped": 0.9, "mine": 0.7, "first": 0.5}
    assert refresh.refreshes_behind() == []
    assert refresh.refresh_generation(task_id=task.pk).pending == {}


@pytest.mark.django_db(transaction=True)
def test_a_pending_change_of_any_team_makes_the_next_refresh_rebuild_the_whole_board(
    clean_redis,
):
    task = make_task(slug="any-team")
    hidden = scored_quietly(task, "hidden later", 0.9)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    # An organizer hid a submission while a scoring held the turn: a change of no one team.
    Submission.objects.filter(pk=hidden.pk).update(is_hidden=True)
    assert refresh.refresh_requested(task_id=task.pk, team_id=None)
    mine = scored_quietly(task, "mine", 0.6)

    task_leaderboard_refresh(task_id=task.pk, team_id=mine.team_id, bootstrap=False)

    assert public_board(task) == {"mine": 0.6}
    assert refresh.refresh_generation(task_id=task.pk).pending == {}
