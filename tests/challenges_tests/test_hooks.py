"""The one event path (``challenges.hooks``): typed events, receivers subscribed in
``AppConfig.ready()``, and each event's rule of when its receivers run."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.signals import post_save

from challenges import hooks
from challenges.models import AuditEvent, Challenge, TeamMembership
from jobs import lifecycle
from scoring.models import Submission
from scoring.services.lifecycle import SCORING
from scoring.services.upload import submission_create
from tests.challenges_tests.factories import ChallengeFactory
from tests.scoring_tests.factories import (
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "challenge_platform",
    "common",
    "datasets",
    "scoring",
    "leaderboard",
    "algorithms",
    "operations",
    "standings",
    "notifications",
    "site_pages",
)


@pytest.fixture
def subscribed():
    """Subscribe test receivers for one test; unsubscribed after, whatever happens."""
    added: list[tuple[type[hooks.HookEvent], object]] = []

    def add(event, receiver):
        added.append((event, hooks.subscribe(event=event, receiver=receiver)))
        return receiver

    yield add
    for event, receiver in added:
        hooks.unsubscribe(event=event, receiver=receiver)


@pytest.mark.django_db
def test_a_failing_receiver_is_rolled_back_alone_and_the_others_still_run(subscribed, caplog):
    seen = []

    def broken(event: hooks.TaskResultsChanged) -> None:
        Challenge.objects.all().delete()  # a write its savepoint must undo
        raise RuntimeError("receiver bug")

    subscribed(hooks.TaskResultsChanged, broken)
    subscribed(hooks.TaskResultsChanged, seen.append)
    ChallengeFactory()
    with transaction.atomic():
        hooks.emit(event=hooks.TaskResultsChanged(task_id=7, team_id=3))
        assert seen == [hooks.TaskResultsChanged(task_id=7, team_id=3)]  # ran in the call
    assert Challenge.objects.count() == 1
    assert "broken failed on TaskResultsChanged(task_id=7, team_id=3)" in caplog.text


@pytest.mark.django_db
def test_an_in_transaction_receiver_is_undone_with_the_change_that_emitted(subscribed):
    """In the caller's transaction: the reaction commits or rolls back with the change."""
    subscribed(hooks.ChallengeTeamsChanged, lambda e: ChallengeFactory(slug="reaction"))

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        ChallengeFactory(slug="change")
        hooks.emit(event=hooks.ChallengeTeamsChanged(challenge_id=1))
        assert Challenge.objects.filter(slug="reaction").exists()
        raise Abort
    assert not Challenge.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_after_commit_receivers_run_only_once_the_change_is_committed(subscribed, caplog):
    seen = []

    def broken(event):
        raise RuntimeError("notice bug")

    subscribed(hooks.ChallengeFinished, broken)
    subscribed(hooks.ChallengeFinished, lambda e: seen.append(e.challenge_id))
    with transaction.atomic():
        hooks.emit(event=hooks.ChallengeFinished(challenge_id=5))
        assert seen == []  # not before the commit
    assert seen == [5]
    assert "broken failed on ChallengeFinished(challenge_id=5)" in caplog.text

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        hooks.emit(event=hooks.ChallengeFinished(challenge_id=6))
        raise ZeroDivisionError  # the change rolls back
    assert seen == [5]  # nothing for a change that never happened


def test_each_event_is_a_frozen_typed_payload_with_its_rule():
    events = [
        cls
        for cls in vars(hooks).values()
        if isinstance(cls, type) and issubclass(cls, hooks.HookEvent) and cls is not hooks.HookEvent
    ]
    assert {e.__name__ for e in events} == {
        "TaskResultsChanged",
        "BoardRefreshed",
        "SubmissionFinished",
        "TaskDataChanged",
        "TaskAdded",
        "ChallengeTeamsChanged",
        "ChallengeRevealChanged",
        "StressResultsChanged",
        "TeamMemberJoined",
        "AuditRecorded",
        "ChallengeFinished",
        "AlgorithmRunScored",
        "AlgorithmRunFailed",
        "ChampionChanged",
        "ChallengePhasesChanged",
        "DiscussionPosted",
    }
    after_commit = {e.__name__ for e in events if e.when is hooks.When.AFTER_COMMIT}
    assert after_commit == {"ChallengeFinished", "DiscussionPosted"}
    for event in events:
        assert event.__name__ in hooks.__doc__  # the table says who emits it and when
        assert dataclasses.fields(event), event
    with pytest.raises(dataclasses.FrozenInstanceError):
        hooks.BoardRefreshed(task_id=1).task_id = 2  # type: ignore[misc]


def test_only_declared_events_can_be_subscribed_or_emitted():
    class NotAnEvent:
        pass

    with pytest.raises(TypeError, match="not an event declared"):
        hooks.subscribe(event=NotAnEvent, receiver=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not an event declared"):
        hooks.emit(event=NotAnEvent())  # type: ignore[arg-type]


def test_subscribing_twice_calls_a_receiver_once(subscribed):
    seen = []
    subscribed(hooks.BoardRefreshed, seen.append)
    hooks.subscribe(event=hooks.BoardRefreshed, receiver=seen.append)
    assert hooks.receivers(event=hooks.BoardRefreshed).count(seen.append) == 1


def test_the_apps_subscribe_in_ready_and_no_model_signal_carries_an_event():
    from algorithms import receivers as algorithm_receivers
    from leaderboard import receivers
    from notifications import hooks as notification_hooks
    from scoring import receivers as scoring_receivers

    assert receivers.refresh_task_board in hooks.receivers(event=hooks.TaskResultsChanged)
    assert receivers.refresh_challenge_boards in hooks.receivers(event=hooks.ChallengeTeamsChanged)
    assert receivers.bump_challenge_boards in hooks.receivers(event=hooks.ChallengeRevealChanged)
    assert scoring_receivers.rescore_on_new_data in hooks.receivers(event=hooks.TaskDataChanged)
    assert algorithm_receivers.rerun_benchmark_on_arrival in hooks.receivers(event=hooks.TaskAdded)
    new_data = hooks.receivers(event=hooks.TaskDataChanged)
    assert algorithm_receivers.rerun_benchmark_on_new_data in new_data
    for event, receiver in notification_hooks.RECEIVERS:
        assert receiver in hooks.receivers(event=event)
    assert not post_save.has_listeners(TeamMembership)
    assert not post_save.has_listeners(AuditEvent)


# The one module allowed a model signal: the storage side of a deletion, not an event
# between apps. A row deleted by a cascade (a task's submissions, runs...) is seen by
# nothing but Django's ``pre_delete``; each app connects it for its own models only, to
# delete the files its rows name (docs/decisions/0026-a-deleted-task-takes-its-files.md, "A deleted
# task takes its files").
STORAGE_SIDE_OF_A_DELETION = "challenges/stored_files.py"


def test_no_product_module_carries_an_event_on_a_django_signal():
    """Events travel through the hooks registry only: a model signal (post_save...) or a
    signal of our own would be a second path. Django's own framework signals (e.g.
    ``setting_changed`` for tests' settings) are not platform events, nor is the deletion
    of a row's stored files (``STORAGE_SIDE_OF_A_DELETION``)."""
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if str(path.relative_to(ROOT)) == STORAGE_SIDE_OF_A_DELETION:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                if any(
                    n.startswith("django.db.models.signals") or n == "django.dispatch.Signal"
                    for n in names
                ):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _lose_the_connection() -> None:
    """What a database restart or pg_terminate_backend does to a receiver: its connection
    is gone, so its query fails and its savepoint cannot be rolled back either."""
    connection.connection.close()
    Challenge.objects.count()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_loses_the_connection_fails_the_emitter_s_transaction(subscribed):
    """Django ends a block whose savepoint could not be rolled back with a silent rollback:
    the emitter must not go on as if its change had committed (a scoring logged "scored"
    while its row stayed running, re-scored by the sweeper minutes later)."""
    challenge = ChallengeFactory(title="Before")
    subscribed(hooks.TaskResultsChanged, lambda event: _lose_the_connection())
    with pytest.raises(DatabaseError), transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(title="After")
        hooks.emit(event=hooks.TaskResultsChanged(task_id=1, team_id=1))
    connection.close()
    challenge.refresh_from_db()
    assert challenge.title == "Before"


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_hook_lost_the_connection_is_not_taken_for_finished(subscribed, tmp_path):
    task = imported_task(tmp_path)
    who = make_participant(task.track.challenge)
    submission = submission_create(
        task=task, user=who.user, file=upload(csv_bytes(predictions_frame(task)))
    )
    assert lifecycle.job_claim(
        job_type=SCORING, pk=submission.pk, token="delivery", delivery_id="delivery"
    )
    subscribed(hooks.TaskResultsChanged, lambda event: _lose_the_connection())
    with pytest.raises(DatabaseError):
        lifecycle.job_transition(
            job_type=SCORING,
            pk=submission.pk,
            token="delivery",
            status="scored",
            then=lambda: hooks.emit(event=hooks.TaskResultsChanged(task_id=task.pk, team_id=1)),
        )
    connection.close()
    row = Submission.objects.get(pk=submission.pk)
    # Still held by its delivery, which takes it back when it runs again (a retry).
    assert (row.status, row.claim_token) == ("scoring", "delivery")
