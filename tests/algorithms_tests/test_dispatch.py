"""Runs dispatch from the database (issue 24): the claim takes the best queued run, by
priority class, the team's share (running now, CPU used recently), then age; the message
is only a doorbell. These tests claim in-process, on the test database (SQLite, and
PostgreSQL with ``DATABASE_URL``), without running anything; the real workers' tests are
in ``test_dispatch_workers.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.common import AlgorithmRefused
from algorithms.services.dispatch import queued_in_claim_order, run_claim_next
from algorithms.services.profiles import (
    ALGORITHM_RUNS,
    BASELINE_RUNS,
    BENCHMARK,
    PROFILES,
    STRESS,
    TEAM,
)
from algorithms.services.runs import algorithm_runs_queue, run_create
from jobs import lifecycle
from jobs.registry import registered
from testkit.archives import algorithm_zip
from tests.algorithms_tests.services_helpers import post_archive

from .dispatch_helpers import version_of

pytestmark = pytest.mark.slow

SERVED = ALGORITHM_RUNS


def queue_runs(version, task, n: int, *, profile=TEAM) -> list[AlgorithmRun]:
    with transaction.atomic():
        return [
            run_create(profile=profile, version=version, task=task, audit=False) for _ in range(n)
        ]


def claim(token: str, served=SERVED) -> AlgorithmRun | None:
    return run_claim_next(served=served, token=token, worker="test")


def finish(run: AlgorithmRun, *, cpu_seconds: float = 1.0) -> None:
    AlgorithmRun.objects.filter(pk=run.pk).update(
        status=AlgorithmRunStatus.SUCCEEDED,
        claim_token="",
        finished_at=timezone.now(),
        cpu_seconds=cpu_seconds,
    )


@pytest.fixture
def teams(world, broker):
    a = version_of(world.participant, world.challenge, "A")
    b = version_of(world.rival, world.challenge, "B")
    return a, b


def test_a_team_with_one_run_goes_before_a_team_with_fifty(world, teams):
    a, b = teams
    a_runs = queue_runs(a, world.classification, 50)
    (b_run,) = queue_runs(b, world.classification, 1)  # queued last
    first = claim("w1")
    assert first.pk == a_runs[0].pk  # equal shares: the oldest
    # One of A's runs is running: B's is next, though 49 of A's are older.
    assert queued_in_claim_order(served=SERVED)[0].pk == b_run.pk
    second = claim("w2")
    assert second.pk == b_run.pk
    # With none running, CPU used recently decides: A used some, B none yet.
    finish(first, cpu_seconds=5.0)
    finish(second, cpu_seconds=0.5)
    (b_again,) = queue_runs(b, world.classification, 1)
    assert claim("w3").pk == b_again.pk
    finish(AlgorithmRun.objects.get(pk=b_again.pk), cpu_seconds=0.5)
    assert claim("w4").pk == a_runs[1].pk  # B's CPU (1 s) is below A's (5 s), none queued
    # Each run was claimed once, by the delivery that holds it.
    held = AlgorithmRun.objects.filter(claim_token__startswith="w")
    assert sorted(held.values_list("claim_token", flat=True)) == ["w4"]


def test_cpu_outside_the_window_no_longer_counts(world, teams, settings):
    a, b = teams
    settings.ALGORITHM_FAIR_SHARE_WINDOW_SECONDS = 3600
    (old,) = queue_runs(a, world.classification, 1)
    finish(old, cpu_seconds=10_000)
    AlgorithmRun.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(hours=2))
    a_next = queue_runs(a, world.classification, 1)[0]
    b_next = queue_runs(b, world.classification, 1)[0]
    assert claim("w").pk == a_next.pk  # equal shares again: the older one
    assert claim("v").pk == b_next.pk


def test_priority_classes_and_eligibility(world, teams, monkeypatch):
    """A profile of a lower class (a benchmark re-run) waits for every run a person asked
    for; one whose ``eligible`` is closed (a spent budget) is not claimed at all."""
    a, b = teams
    open_ = replace(BENCHMARK, eligible=None)
    assert open_.priority > TEAM.priority
    (rerun,) = queue_runs(a, world.classification, 1, profile=open_)
    (asked,) = queue_runs(b, world.classification, 1)
    assert claim("x", with_profile(open_)).pk == asked.pk
    closed = replace(BENCHMARK, eligible=lambda worker: Q(pk__in=[]))
    monkeypatch.setitem(PROFILES, BENCHMARK.name, closed)
    assert claim("y", with_profile(closed)) is None
    assert AlgorithmRun.objects.get(pk=rerun.pk).status == AlgorithmRunStatus.QUEUED
    monkeypatch.setitem(PROFILES, BENCHMARK.name, open_)
    assert claim("z", with_profile(open_)).pk == rerun.pk


def with_profile(profile):
    """The algorithms queue's profiles with ``profile`` in place of its namesake."""
    return tuple(profile if p.name == profile.name else p for p in SERVED)


def test_a_doorbell_without_a_queued_run_does_nothing(world, teams):
    assert claim("nobody") is None
    a, _ = teams
    (run,) = queue_runs(a, world.classification, 1)
    assert claim("first").pk == run.pk
    assert claim("second") is None  # a duplicate message: the run is taken
    stored = AlgorithmRun.objects.get(pk=run.pk)
    assert (stored.claim_token, stored.attempts) == ("first", 1)


def test_a_redelivered_message_resumes_its_own_run_not_another(world, teams):
    a, b = teams
    (mine,) = queue_runs(a, world.classification, 1)
    (other,) = queue_runs(b, world.classification, 1)
    assert run_claim_next(served=SERVED, token="d1", delivery_id="d1").pk == mine.pk
    # The worker died; the broker redelivers the same message (same id).
    again = run_claim_next(served=SERVED, token="d1", delivery_id="d1")
    assert again.pk == mine.pk and again.attempts == 2
    assert AlgorithmRun.objects.get(pk=other.pk).status == AlgorithmRunStatus.QUEUED


def test_the_baseline_queue_serves_baseline_runs_only(world, teams):
    a, _ = teams
    queue_runs(a, world.classification, 1)
    assert run_claim_next(served=BASELINE_RUNS, token="b") is None


def test_a_team_cannot_fill_the_queue(world, broker, settings):
    settings.ALGORITHM_MAX_PENDING_RUNS_PER_TEAM = 3
    client = world.participant.api()
    body = post_archive(client, world.challenge, algorithm_zip()).json()
    tasks = [world.classification.slug, world.matching.slug]
    assert (
        client.post(
            f"/api/v1/algorithms/{body['id']}/runs/", {"tasks": tasks}, format="json"
        ).status_code
        == 202
    )
    refused = client.post(f"/api/v1/algorithms/{body['id']}/runs/", {"tasks": tasks}, format="json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "queue_full"
    assert "at most 3 at once" in refused.json()["detail"]
    assert AlgorithmRun.objects.count() == 2  # nothing of the refused request was queued
    # The question chal asks before uploading gets the same answer.
    admission = client.get(
        f"/api/v1/challenges/{world.challenge.slug}/algorithm-runs/admission/",
        {"tasks": ",".join(tasks)},
    )
    assert admission.status_code == 429 and admission.json()["code"] == "queue_full"
    # Another team is not affected.
    rival = post_archive(world.rival.api(), world.challenge, algorithm_zip()).json()
    version = AlgorithmVersion.objects.get(algorithm_id=rival["id"])
    assert algorithm_runs_queue(
        algorithm=version.algorithm, user=world.rival.user, task_slugs=tasks
    )
    with pytest.raises(AlgorithmRefused):
        algorithm_runs_queue(algorithm=version.algorithm, user=world.rival.user, task_slugs=tasks)


def test_first_answers_go_before_work_already_answered_stress_and_reproductions(world, teams):
    """Issue 50: a kept method's first run on a task (a new task, or a new data version of
    it) goes before its re-run of a cell that already has its answer, stress runs and
    reproductions, whatever their age; a run a person asked for goes first of all. The
    extras share one class: among them, the order they were queued in."""
    from algorithms.services.profiles import BENCHMARK, REPRODUCTION, STRESS

    a, b = teams
    (done,) = queue_runs(a, world.classification, 1, profile=BENCHMARK)
    finish(done)
    AlgorithmRun.objects.filter(pk=done.pk).update(manifest={"task_data_version": 1})
    (stress,) = queue_runs(a, world.classification, 1, profile=STRESS)
    with transaction.atomic():
        reproduction = run_create(
            profile=REPRODUCTION, version=a, task=world.classification, audit=False,
            reproduces=done,
        )  # fmt: skip
    (again,) = queue_runs(a, world.classification, 1, profile=BENCHMARK)  # answered already
    (first,) = queue_runs(b, world.classification, 1, profile=BENCHMARK)  # B: no answer yet
    (new_task,) = queue_runs(a, world.matching, 1, profile=BENCHMARK)  # A on another task
    (asked,) = queue_runs(b, world.matching, 1)  # a person's run, queued last

    def order() -> list[tuple[int, int]]:
        return [(r.pk, r.priority_class) for r in queued_in_claim_order(served=SERVED)]

    assert order() == [
        (asked.pk, 0), (first.pk, 10), (new_task.pk, 10),
        (stress.pk, 15), (reproduction.pk, 15), (again.pk, 15),
    ]  # fmt: skip
    # A new data version of the task: the answer on version 1 no longer answers it, so A's
    # re-run is a first answer again (B used less CPU, then the oldest).
    world.classification.data_version = 2
    world.classification.save(update_fields=["data_version"])
    assert order() == [
        (asked.pk, 0), (first.pk, 10), (again.pk, 10), (new_task.pk, 10),
        (stress.pk, 15), (reproduction.pk, 15),
    ]  # fmt: skip
    assert claim("w").pk == asked.pk  # the claim takes them in that order


BUDGET_SUM = 'SUM("algorithms_algorithmrun"."cpu_seconds")'


def test_a_claim_of_the_only_candidate_computes_no_order_and_sums_the_budget_once(
    world, teams
):
    """One queued run (a doorbell on a quiet queue): the claim takes it without the share
    order's query, and without the background profiles' budget when none of their runs is
    queued; with some queued, the budget is summed once per claim, not once per profile
    that asks; with two candidates the order decides as before."""
    a, b = teams
    (only,) = queue_runs(a, world.classification, 1)
    with CaptureQueriesContext(connection) as seen:
        assert claim("one").pk == only.pk
    sql = [query["sql"] for query in seen.captured_queries]
    assert not any("team_cpu_seconds" in text for text in sql), sql
    assert not any(BUDGET_SUM in text for text in sql), sql
    assert AlgorithmRun.objects.get(pk=only.pk).claim_token == "one"

    older = queue_runs(a, world.classification, 1)[0]
    (newer,) = queue_runs(b, world.classification, 1)
    (rerun,) = queue_runs(b, world.classification, 1, profile=BENCHMARK)
    (stress,) = queue_runs(b, world.classification, 1, profile=STRESS)
    with CaptureQueriesContext(connection) as seen:
        assert claim("two").pk == newer.pk  # A runs one already: B's share is smaller
    sql = [query["sql"] for query in seen.captured_queries]
    assert any("team_cpu_seconds" in text for text in sql)
    assert sum(BUDGET_SUM in text for text in sql) == 1
    assert AlgorithmRun.objects.get(pk=older.pk).status == AlgorithmRunStatus.QUEUED
    # The background runs were asked about, and are claimed in their turn.
    assert claim("three").pk == older.pk
    assert {claim("four").pk, claim("five").pk} == {rerun.pk, stress.pk}


def test_a_claim_asks_a_closed_rule_of_a_profile_with_runs_queued(world, teams, monkeypatch):
    """A profile's rule is skipped only when it has no run queued: a queued re-run under a
    closed budget is still refused, whatever else is queued beside it."""
    a, b = teams
    closed = replace(BENCHMARK, eligible=lambda worker: Q(pk__in=[]))
    monkeypatch.setitem(PROFILES, BENCHMARK.name, closed)
    (rerun,) = queue_runs(a, world.classification, 1, profile=BENCHMARK)
    served = with_profile(closed)
    assert claim("closed", served=served) is None
    (asked,) = queue_runs(b, world.classification, 1)
    assert claim("asked", served=served).pk == asked.pk
    assert claim("again", served=served) is None
    assert AlgorithmRun.objects.get(pk=rerun.pk).status == AlgorithmRunStatus.QUEUED


def test_a_retried_run_waits_out_its_backoff_whatever_doorbell_rings(world, teams):
    """A run an internal error gave back (``job_retry_or_fail``: a full disk while staging,
    say) is retried after its backoff: another run's doorbell that rings at once must not
    claim it (a doorbell claims the best queued run, so a countdown on the retry's own
    message alone held nothing back: in a chaos run every queued run spent its two tries
    within a second of each other on one full disk and failed)."""
    a, b = teams
    (run,) = queue_runs(a, world.classification, 1)
    claimed = claim("first")
    assert claimed.pk == run.pk
    job_type = PROFILES[TEAM.name].job_type
    status = lifecycle.job_retry_or_fail(
        job_type=job_type, job=claimed, token="first", fail=lambda: "failed"
    )
    assert status == AlgorithmRunStatus.QUEUED
    stored = AlgorithmRun.objects.get(pk=run.pk)
    assert stored.due_at is not None and stored.due_at > timezone.now()
    (other,) = queue_runs(b, world.classification, 1)
    assert claim("other's doorbell").pk == other.pk  # rings at once: the retry is not due
    assert claim("another") is None
    AlgorithmRun.objects.filter(pk=run.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    again = claim("the retry's own")
    assert again.pk == run.pk and again.attempts == 2


def test_every_doorbell_type_keeps_a_retry_s_time_on_its_row():
    """The rule in one place (``jobs.registry.JobType``): a doorbell type is ``scheduled``;
    planted: one that is not is refused when it is declared."""
    doorbells = [job_type for job_type in registered() if job_type.doorbell]
    assert doorbells and all(job_type.scheduled for job_type in doorbells)
    with pytest.raises(ValueError, match="scheduled"):
        replace(doorbells[0], scheduled=False)
