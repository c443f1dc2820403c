"""Lost messages are found by reading the broker (:mod:`jobs.republish`), here on the run
types (doorbells: a message claims the best queued run) and on scorings (a message names its
row), in-process on the real Redis broker.

A message a worker took and has not acknowledged is in kombu's ``unacked`` hash: it still
waits for a row when the worker runs nothing with it yet, and waits for nothing when its
id is the claim token of a run that is running (the worker holds it until the run ends).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.profiles import TEAM
from algorithms.services.runs import run_create
from jobs import broker as broker_view
from jobs.celery import app
from jobs.health import jobs_unsettled
from jobs.liveness import broker_redis
from jobs.models import JobRepublished
from jobs.republish import jobs_republish
from testkit.bundles import write_classification_bundle
from tests.algorithms_tests.benchmark_helpers import beating
from tests.algorithms_tests.dispatch_helpers import version_of
from tests.support.broker import pop_message, queue_length, queued_messages, task_of
from tests.support.celery_worker import REPO, manage_env

pytestmark = pytest.mark.slow


def old_runs(world, n: int) -> list[AlgorithmRun]:
    version = version_of(world.participant, world.challenge, "A")
    with transaction.atomic():  # their messages go out at commit
        runs = [
            run_create(profile=TEAM, version=version, task=world.classification, audit=False)
            for _ in range(n)
        ]
    AlgorithmRun.objects.filter(pk__in=[r.pk for r in runs]).update(
        status_changed_at=timezone.now() - timedelta(minutes=5)
    )
    return runs


@pytest.fixture
def take_without_ack():
    """A consumer that takes the next message of a queue and keeps it unacknowledged, as a
    worker does with late acknowledgement (until its connection closes: kombu then puts its
    messages back); returns the message's id."""
    connection = app.connection_for_read()

    def take(queue: str) -> str:
        message = connection.default_channel.basic_get(queue=queue, no_ack=False)
        assert message is not None
        return message.headers["id"]

    yield take
    connection.release()


def test_a_doorbell_type_gets_one_message_per_claimable_run_no_message_waits_for(
    world, broker, take_without_ack
):
    runs = old_runs(world, 3)
    assert queue_length(broker, "algorithms") == 3  # one doorbell each, at commit
    assert jobs_republish(job_types=[TEAM.job_type]) == {}  # all three wait: nothing to do

    held = take_without_ack("algorithms")  # a worker took one and runs the first run with it
    AlgorithmRun.objects.filter(pk=runs[0].pk).update(
        status=AlgorithmRunStatus.RUNNING, claim_token=held
    )
    taken = take_without_ack("algorithms")  # another worker took one, running nothing yet
    view = broker_view.broker_view(
        client=broker_redis(),
        queues=["algorithms"],
        pk_kwargs={TEAM.task_name: "run_pk"},
        steps=[0, 3],
    )
    waiting = view.of(TEAM.task_name)
    assert (waiting.queued, set(waiting.unacked)) == (1, {held, taken})
    # Two runs queued, two messages that may claim them (one queued, one held idle).
    assert jobs_republish(job_types=[TEAM.job_type]) == {}

    broker.delete(*[k for k in broker.keys("algorithms*")])  # the queued one is lost
    published = jobs_republish(job_types=[TEAM.job_type])
    assert list(published) == [TEAM.task_name] and len(published[TEAM.task_name]) == 1
    assert published[TEAM.task_name][0] in {runs[1].pk, runs[2].pk}
    (message,) = queued_messages(broker, "algorithms")
    assert task_of(message)[0] == TEAM.task_name and task_of(message)[2] == 0  # urgent
    assert jobs_republish(job_types=[TEAM.job_type]) == {}  # sent once, not every look


def taken_ago(broker, message_id: str, seconds: float) -> None:
    """Date the worker's take of ``message_id`` (kombu's ``unacked_index``) ``seconds`` back."""
    import json
    import time

    for tag, raw in broker.hgetall("unacked").items():
        if json.loads(raw)[0]["headers"]["id"] == message_id:
            broker.zadd("unacked_index", {tag: time.time() - seconds})
            return
    raise AssertionError(f"{message_id} is not unacknowledged")


def test_a_message_a_dead_worker_took_and_never_started_is_sent_again(
    world, broker, take_without_ack
):
    """A worker killed (SIGKILL) with a message prefetched, its run still queued: kombu puts
    the message back only after its visibility timeout (over an hour). Taken longer ago than
    half the bound and not started, it no longer counts as waiting: a doorbell goes out (the
    CI's many-hosts run lost a scoring this way, its row queued with its message unacked)."""
    runs = old_runs(world, 1)
    taken = take_without_ack("algorithms")  # the worker took it, then died holding it
    assert jobs_republish(job_types=[TEAM.job_type]) == {}  # just taken: it may start yet
    taken_ago(broker, taken, 600)
    view = broker_view.broker_view(
        client=broker_redis(),
        queues=["algorithms"],
        pk_kwargs={TEAM.task_name: "run_pk"},
        steps=[0, 3],
        held_since=timezone.now().timestamp() - 30,
    )
    waiting = view.of(TEAM.task_name)
    assert waiting.held_long == {taken} and waiting.pks == set()  # names no row any more
    assert jobs_republish(job_types=[TEAM.job_type]) == {TEAM.task_name: [runs[0].pk]}
    (message,) = queued_messages(broker, "algorithms")
    assert task_of(message)[2] == 0  # urgent
    assert jobs_republish(job_types=[TEAM.job_type]) == {}  # sent once, not every look


def test_a_run_the_budget_holds_back_gets_no_doorbell(world, broker, settings):
    from algorithms.services.profiles import BENCHMARK

    version = version_of(world.participant, world.challenge, "A")
    with transaction.atomic():
        run = run_create(profile=BENCHMARK, version=version, task=world.classification, audit=False)
    AlgorithmRun.objects.filter(pk=run.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=5)
    )
    broker.flushall()
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 0  # closed: a doorbell would claim nothing
    assert jobs_republish(job_types=[BENCHMARK.job_type]) == {}
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 1  # open again: its doorbell goes out
    assert jobs_republish(job_types=[BENCHMARK.job_type]) == {BENCHMARK.task_name: [run.pk]}


def test_an_unreadable_message_on_the_broker_is_skipped_and_a_broker_down_publishes_nothing(
    world, broker, monkeypatch
):
    runs = old_runs(world, 1)
    broker.delete(*[k for k in broker.keys("algorithms*")])
    broker.lpush("algorithms", b"not json at all")  # from a stranger: never parsed into a job
    assert jobs_republish(job_types=[TEAM.job_type]) == {TEAM.task_name: [runs[0].pk]}

    # A broker that does not answer (nothing listens on port 1): nothing is published, no
    # error escapes; the next look tries again.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    assert jobs_republish(job_types=[TEAM.job_type]) == {}


def test_a_command_whose_jobs_cannot_reach_the_broker_says_so_in_one_line_and_exits_3(
    world, broker, tmp_path
):
    version_of(world.participant, world.challenge, "A")  # in the benchmark: a re-run per task
    bundle = write_classification_bundle(
        tmp_path / "later", rows=60, task={"slug": "later", "title": "Later"}
    )
    env = {**manage_env(), "REDIS_URL": "redis://:secret-pw@127.0.0.1:1/0"}  # nothing there
    result = subprocess.run(
        [sys.executable, "manage.py", "import_task", str(bundle),
         "--challenge", world.challenge.slug, "--track", world.classification.track.slug],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "Imported task 'later'" in result.stdout
    # One line says it (the rest of stderr is the command's INFO log: no warning, no trace).
    lines = [x for x in result.stderr.splitlines() if "broker" in x or "WARNING" in x]
    (line,) = lines
    assert line.startswith("1 job(s) could not be sent to the broker at redis://:***@127.0.0.1:1/0")
    assert " ERROR " not in result.stderr
    assert "secret-pw" not in result.stderr and "Traceback" not in result.stderr
    assert "is the platform running (make run)?" in line
    rerun = AlgorithmRun.objects.get(profile="benchmark", task__slug="later")
    assert rerun.status == AlgorithmRunStatus.QUEUED  # saved: it runs once the broker answers


# --- the bound on trying (issue 50) --------------------------------------------------------


def only(jobs, pk: int):
    (job,) = [job for job in jobs if job.pk == pk]
    return job


def test_a_run_no_worker_starts_is_failed_at_the_republish_limit_and_shown_until_then(
    world, broker, settings
):
    """Each worker that takes the doorbell finds nothing it may run (as every worker did for
    the reproduction of issue 50): the run is published again each look, counted, shown as
    not final with its count, and failed with the reason once the limit is reached, instead
    of looping for ever."""
    settings.JOB_REPUBLISH_LIMIT = 3
    (run,) = old_runs(world, 1)
    for n in (1, 2, 3):
        assert pop_message(broker, "algorithms") is not None  # taken, nothing claimed
        assert jobs_republish(job_types=[TEAM.job_type]) == {TEAM.task_name: [run.pk]}
        job = only(jobs_unsettled(job_types=[TEAM.job_type]), run.pk)
        assert (job.state, job.kind, job.republished, job.republish_limit) == (
            "queued",
            "team",
            n,
            3,
        )
        assert job.over == (n == 3)  # at its limit: the next look fails it
    assert pop_message(broker, "algorithms") is not None
    assert jobs_republish(job_types=[TEAM.job_type]) == {}
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.FAILED and run.finished_at is not None
    assert "No worker started this algorithm run: it was published again 3 times" in run.error
    assert "'algorithms' queue" in run.error and "JOB_REPUBLISH_LIMIT is 3" in run.error
    assert queue_length(broker, "algorithms") == 0  # not sent once more
    assert jobs_unsettled(job_types=[TEAM.job_type]) == []
    assert not JobRepublished.objects.exists()


def test_a_publication_after_a_broker_restart_is_not_counted_towards_the_limit(
    world, broker, settings
):
    """The broker lost the run's message (restarted empty, seen by a worker's beat: the
    ``fresh`` republish). No worker refused it, so however many restarts a long wait sees,
    the bound on trying does not fail it; a look that finds it refused still counts."""
    settings.JOB_REPUBLISH_LIMIT = 2
    (run,) = old_runs(world, 1)
    for _ in range(3):  # three restarts, each emptying the queue
        assert pop_message(broker, "algorithms") is not None
        assert jobs_republish(job_types=[TEAM.job_type], fresh=True) == {TEAM.task_name: [run.pk]}
    assert not JobRepublished.objects.exists()
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.QUEUED
    assert pop_message(broker, "algorithms") is not None
    assert jobs_republish(job_types=[TEAM.job_type]) == {TEAM.task_name: [run.pk]}
    assert only(jobs_unsettled(job_types=[TEAM.job_type]), run.pk).republished == 1


def test_the_count_starts_again_once_the_job_started(world, broker, settings):
    """A job that a worker did start (and that came back to the queue: a retry, a lost
    worker) is not charged with the publications of its earlier wait."""
    settings.JOB_REPUBLISH_LIMIT = 2
    (run,) = old_runs(world, 1)
    for _ in range(2):
        pop_message(broker, "algorithms")
        assert jobs_republish(job_types=[TEAM.job_type]) == {TEAM.task_name: [run.pk]}
    assert only(jobs_unsettled(job_types=[TEAM.job_type]), run.pk).republished == 2
    # Counted from a minute ago; claimed since, and given back to the queue 30 s ago (its
    # worker was lost) between two looks.
    now = timezone.now()
    JobRepublished.objects.update(first_at=now - timedelta(minutes=1))
    AlgorithmRun.objects.filter(pk=run.pk).update(status_changed_at=now - timedelta(seconds=30))
    assert only(jobs_unsettled(job_types=[TEAM.job_type]), run.pk).republished == 0
    pop_message(broker, "algorithms")
    assert jobs_republish(job_types=[TEAM.job_type]) == {TEAM.task_name: [run.pk]}
    assert only(jobs_unsettled(job_types=[TEAM.job_type]), run.pk).republished == 1
    run.refresh_from_db()
    assert run.status == AlgorithmRunStatus.QUEUED


def test_each_unsettled_job_has_a_bound_from_its_queue_s_own_run_times(world, broker, settings):
    """Two finished runs took 10 s and 30 s (90th percentile: 28 s); one started 5 s ago and
    runs, two wait (queued 40 s and 20 s ago). Their bounds count from when they were queued
    and add the time the queue has been full since (the running one's 5 s on one worker;
    nothing on two, one of them idle): on one algorithms worker the first waiting run is
    owed 2 x 28 s more (plus the time to resend a lost message), the second 3 x 28 s; on two
    workers 1 and 2 rounds. A running run's bound is its task's hard time
    limit plus the time to see its worker lost. A run no worker may take now (the day's
    budget is spent) is held: no bound."""
    from algorithms.services.profiles import BENCHMARK

    version = version_of(world.participant, world.challenge, "A")
    now = timezone.now()
    with transaction.atomic():
        runs = [
            run_create(profile=TEAM, version=version, task=world.classification, audit=False)
            for _ in range(5)
        ]
        rerun = run_create(profile=BENCHMARK, version=version, task=world.matching, audit=False)
    for run, seconds in zip(runs[:2], (10, 30), strict=True):
        AlgorithmRun.objects.filter(pk=run.pk).update(
            status=AlgorithmRunStatus.SUCCEEDED,
            started_at=now - timedelta(minutes=5),
            finished_at=now - timedelta(minutes=5) + timedelta(seconds=seconds),
            status_changed_at=now - timedelta(minutes=5) + timedelta(seconds=seconds),
        )
    AlgorithmRun.objects.filter(pk=runs[2].pk).update(
        status=AlgorithmRunStatus.RUNNING,
        started_at=now - timedelta(seconds=5),
        status_changed_at=now - timedelta(seconds=5),
    )
    for age, run in ((40, runs[3]), (20, runs[4]), (60, rerun)):
        AlgorithmRun.objects.filter(pk=run.pk).update(
            status_changed_at=now - timedelta(seconds=age)
        )
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 0  # the re-run is held back
    slack = float(settings.JOB_REPUBLISH_SECONDS)
    lost = float(settings.WORKER_LOST_AFTER_SECONDS)
    hard = float(settings.ALGORITHM_HARD_TIME_LIMIT)

    def bounds() -> dict[int, tuple]:
        return {
            job.pk: (job.state, job.age_seconds, job.bound_seconds, job.over, job.held)
            for job in jobs_unsettled(job_types=[TEAM.job_type], now=now)
        }

    beating(broker, "algorithms@a", ("algorithms",))
    beating(broker, "scoring@a", ("scoring",))  # another queue's worker: not counted
    assert bounds() == {
        runs[2].pk: ("running", 5.0, hard + lost, False, False),
        runs[3].pk: ("queued", 40.0, 5 + slack + 2 * 28, False, False),
        runs[4].pk: ("queued", 20.0, 5 + slack + 3 * 28, False, False),
        rerun.pk: ("queued", 60.0, None, False, True),
    }
    beating(broker, "algorithms@b", ("algorithms",))
    assert bounds()[runs[3].pk][2] == slack + 28
    assert bounds()[runs[4].pk][2] == slack + 2 * 28
    # One long run on one of two workers: the other could have taken the first waiting run
    # and did not; past its bound, it is over it.
    AlgorithmRun.objects.filter(pk=runs[2].pk).update(started_at=now - timedelta(seconds=600))
    AlgorithmRun.objects.filter(pk=runs[3].pk).update(
        status_changed_at=now - timedelta(seconds=slack + 28 + 1)
    )
    assert bounds()[runs[3].pk][2:4] == (slack + 28, True)
    (job,) = [j for j in jobs_unsettled(job_types=[TEAM.job_type], now=now) if j.pk == runs[3].pk]
    assert "90th percentile of its last 2" in job.bound_reason
    assert job.label == "algorithm run" and job.queue == "algorithms" and job.kind == "team"
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 1  # the budget opens: the re-run is claimable, last
    assert bounds()[rerun.pk][4] is False and bounds()[rerun.pk][2] is not None
