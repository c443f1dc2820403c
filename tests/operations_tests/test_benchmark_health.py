"""``manage.py benchmark_health`` and the console's health page (docs/architecture.md,
"Settled"): everything not final, with its state, age and bound; exit 1 once something is past
its bound, 0 while everything is final or within its bound.

A real matching task, a team's real algorithm run in the real sandbox (run here, through the
Celery tasks' own code), and what the beat would queue: the baseline's queued run makes a
board cell and the champion wait; the team's entry waits for its stress run, its
reproduction and its champion check; each of them past its bound turns the exit to 1; once
all are done, the command says "settled" and exits 0.
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.baseline import baseline_run_queue
from algorithms.services.benchmark import reproductions_queue
from algorithms.services.builtin import baseline_algorithm_version
from algorithms.services.stress_queue import stress_queue
from datasets.services import task_import
from jobs import registry
from jobs.celery import celery_app
from jobs.health import jobs_unsettled
from leaderboard.champion.beat import champion_tick
from scoring.job_types import SCORING
from scoring.models import Submission
from testkit.archives import algorithm_zip
from tests.algorithms_tests.stress_data import ROBUST_MAIN, write_products_bundle
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.scoring_tests.factories import ChallengeFactory, UserFactory, make_participant, upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def health(*args: str) -> tuple[int, str]:
    """The command's exit code and output."""
    out = StringIO()
    try:
        call_command("benchmark_health", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def items(what: str | None = None) -> list[dict]:
    code, out = health("--json")
    found = json.loads(out)["items"]
    return [i for i in found if what is None or i["what"] == what]


def drain() -> None:
    """Run every queued job here through its own Celery task, as a worker would, in rounds
    until none is left (a job may queue others: a scored entry its champion check)."""
    for _ in range(20):
        queued = [job for job in jobs_unsettled() if job.state == "queued"]
        if not queued:
            return
        for job in queued:
            job_type = registry.job_type_named(key=job.job_type)
            celery_app().tasks[job_type.task_name].apply(kwargs={job_type.pk_kwarg: job.pk})
    raise AssertionError(f"jobs still queued: {jobs_unsettled()}")


def _backdate_run(run: AlgorithmRun, **fields) -> None:
    AlgorithmRun.objects.filter(pk=run.pk).update(**fields)


def test_an_empty_platform_is_settled():
    code, out = health()
    assert code == 0 and out.strip() == "settled: everything is final"
    body = json.loads(health("--json")[1])
    assert body["settled"] is True and body["items"] == [] and body["over"] == 0


def test_everything_moving_is_listed_with_its_bound_and_the_exit_says_when_one_is_past_it(
    tmp_path: Path, settings, small_limits, broker
):
    settings.REPRODUCTION_SHARE = 1.0  # every run is sampled
    challenge = ChallengeFactory(daily_submission_limit=20, private_revealed=False)
    task = task_import(
        source=write_products_bundle(tmp_path / "bundle"),
        challenge_slug=challenge.slug,
        track_slug="products",
    )

    # The AutoGluon baseline queued: its job, the baseline's board cell and the champion wait.
    baseline = baseline_run_queue(task=task, time_limit=600)
    listed = {(i["what"], i["name"]) for i in items()}
    assert ("board cell", f"AutoGluon baseline on {task.slug}") in listed
    assert ("champion", f"champion of {task.slug}") in listed
    (job,) = [i for i in items("job") if i["name"].startswith(f"baseline #{baseline.pk}")]
    assert job["state"] == "queued" and not job["over"] and job["bound_seconds"] > 0
    assert "ahead of it" in job["bound_reason"]
    code, out = health()
    assert code == 0 and "not settled: " in out and "all within their bounds" in out

    # Waiting far longer than its bound: over, and the exit says so.
    long_ago = timezone.now() - timedelta(days=3)
    _backdate_run(baseline, status_changed_at=long_ago, created_at=long_ago)
    code, out = health()
    assert code == 1 and "past its bound" in out and out.splitlines()[0].startswith("OVER")
    body = json.loads(health("--json")[1])
    assert body["over"] >= 3  # the job, and the cell and champion that wait for it
    page = _health_page()
    assert 'data-settled="no"' in page and 'data-over="yes"' in page
    AlgorithmRun.objects.filter(pk=baseline.pk).delete()

    # A team's method, run in the sandbox here; its entry is scored.
    ada = make_participant(challenge, username="ada")
    response = ada.api().post(
        f"/api/v1/challenges/{challenge.slug}/algorithms/",
        {"file": upload(algorithm_zip(ROBUST_MAIN, name="Robust"), "algo.zip")},
        format="multipart",
    )
    runs = ada.api().post(
        f"/api/v1/algorithms/{response.json()['id']}/runs/", {"tasks": [task.slug]}, format="json"
    )
    (queued,) = runs.json()["runs"]
    assert {i["what"] for i in items()} >= {"job", "board cell"}
    drain()
    clean = AlgorithmRun.objects.get(pk=queued["id"])
    assert clean.status == AlgorithmRunStatus.SUCCEEDED, clean.error

    # What the beat queues next is listed before it is queued, with the tick's bound.
    robustness = items("robustness")
    assert [(i["name"], i["state"]) for i in robustness] == [
        (f"{ada.team.name} on {task.slug}", "stress run to be queued")
    ]
    assert "stress-tick" in robustness[0]["bound_reason"]
    reproduction = items("reproduction")
    assert [i["name"] for i in reproduction] == [f"reproduction of run #{clean.pk} on {task.slug}"]
    assert health()[0] == 0
    _backdate_run(clean, finished_at=timezone.now() - timedelta(hours=2))
    code, out = health()
    assert code == 1
    assert {i["what"] for i in items() if i["over"]} == {"robustness", "reproduction"}
    _backdate_run(clean, finished_at=timezone.now())

    # The beat's ticks queue them: now they are jobs (a stress run, a reproduction) whose
    # bound is their queue's; the robustness cell waits for its stress run.
    stress_queue()
    reproductions_queue()
    assert {i["what"] for i in items()} >= {"stress run", "reproduction", "robustness"}
    (cell,) = items("robustness")
    assert cell["state"] == "queued" and "stress run #" in cell["bound_reason"]

    drain()
    champion_tick()  # the verdicts of the board's entries, queued by the beat
    drain()
    assert AlgorithmRun.objects.get(stress_of=clean).status == "succeeded"
    assert AlgorithmRun.objects.get(reproduces=clean).status == "succeeded"
    code, out = health()
    assert (code, out.strip()) == (0, "settled: everything is final"), out
    page = _health_page()
    assert 'data-settled="yes"' in page and "Settled: every champion" in page


def _health_page() -> str:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get("/admin/health/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def small_limits(settings):
    from tests.support.algorithms_worker import LIMITS

    for name, value in LIMITS.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def broker(redis_server, redis_client):
    from django.core.cache import cache

    redis_client.flushall()
    cache.clear()
    return redis_client


def _submission(task, team, *, status: str, since, started=None, finished=None):
    submission = scored(task, team, 0.5 if status == "scored" else None, status=status)
    Submission.objects.filter(pk=submission.pk).update(
        status_changed_at=since, started_at=started, finished_at=finished
    )
    return submission


@pytest.mark.django_db(transaction=False)
def test_a_queued_job_s_bound_counts_the_work_it_waited_behind_not_only_what_is_left():
    """The bound is anchored when the job was queued: five scorings of 100 s each ran since,
    so a scoring queued 600 s ago is within it; with none run since, it is past it."""
    now = timezone.now()
    task = make_task(slug="t1")
    team = make_team(task.track.challenge, "ann")
    for k in range(5):
        end = now - timedelta(seconds=500 - 100 * k)
        _submission(
            task,
            team,
            status="scored",
            since=end,
            started=end - timedelta(seconds=100),
            finished=end,
        )
    waiting = _submission(task, team, status="queued", since=now - timedelta(seconds=600))
    (job,) = jobs_unsettled(now=now, job_types=[SCORING])
    assert job.pk == waiting.pk and job.state == "queued"
    assert 600 < job.bound_seconds < 700 and not job.over, job.bound_reason
    assert "its queue has been full since it was queued" in job.bound_reason

    hour = timedelta(hours=1)  # the same five ran an hour earlier: none since it was queued
    Submission.objects.exclude(pk=waiting.pk).update(
        started_at=F("started_at") - hour, finished_at=F("finished_at") - hour
    )
    (job,) = jobs_unsettled(now=now, job_types=[SCORING])
    assert job.bound_seconds < 200 and job.over  # its queue did not move: over


@pytest.mark.django_db(transaction=False)
def test_a_run_is_listed_once_under_its_own_type():
    """The algorithm runs' types share one model; each lists only its own profiles' runs
    (``JobType.scope``), so a baseline run is one job, on the baselines queue, with the
    baselines' bound, and the health list names it once."""
    from algorithms.job_types import RUN_TYPES
    from operations import settled

    task = make_task(slug="t1")
    version = baseline_algorithm_version(challenge=task.track.challenge)
    run = AlgorithmRun.objects.create(version=version, task=task, profile="baseline")
    now = timezone.now()
    listed = jobs_unsettled(now=now, job_types=list(RUN_TYPES.values()))
    assert [(job.pk, job.queue) for job in listed] == [(run.pk, "baselines")]
    for job_type in RUN_TYPES.values():
        owns = job_type.filter(pk=run.pk).exists()
        assert owns == (job_type.task_name == listed[0].job_type)
    found = settled.benchmark_health(now=now)
    jobs = [i for i in found.items if i.what == "job"]
    assert [i.name for i in jobs] == [f"baseline #{run.pk} of AutoGluon baseline on t1"]
    assert {i.what for i in found.items} == {"job", "board cell", "champion"}
