"""The living benchmark's scheduler: re-runs it queues against the same runs queued by hand.

    .venv/bin/python bench/bench_scheduler.py                        # 50 algorithms x 20 tasks
    .venv/bin/python bench/bench_scheduler.py --algorithms 10 --tasks 5   # a quick run
    .venv/bin/python bench/bench_scheduler.py --drain-seconds 300   # 50 x 20, time-boxed

A trivial algorithm (reads the test ids, writes one label), uploaded by ``--algorithms``
teams; then ``--tasks`` tasks are imported, and each import queues a re-run of every
benchmark version on it (the ``TaskAdded`` hook; no one acts). One in-process worker loop
drains the queue through the real pipeline and bubblewrap sandbox, claiming as a worker does
(:func:`algorithms.services.execute.algorithm_run_execute`). Printed, each against a reference taken
in the same run (SQLite in a temporary DATA_DIR, a private redis-server for the doorbells):

- **throughput**: runs per second of the scheduler's re-runs, and of the same runs queued
  by hand (the hook unsubscribed for those imports, then ``run_create`` in a loop over the
  benchmark versions) and drained the same way, on fresh tasks of the same shape, in
  ``--rounds`` alternating rounds; the ratio is by hand / by the scheduler (1.0: the
  scheduler costs nothing; reuse of identical results is off for both);
- **reuse**: the same runs queued once more with ``BENCHMARK_REUSE_RESULTS`` on: each takes
  the finished result instead of running (runs per second against the hand-queued drain);
- **participants' wait**: ``--participants`` team runs submitted while the re-runs are
  queued: how many re-runs started between a participant's submission and its start (0: it
  waited only for the run in progress), and its wait against one run's mean wall time.

``--drain-seconds`` time-boxes each drain: every phase still queues all its runs (the
dispatcher picks from 1,000 queued at 50 x 20) and the throughput is of the runs drained in
the box; what is left queued is dropped before the next phase.

No timed assertion: the machine may be shared; the ratios are the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-scheduler-")
os.environ["DJANGO_SETTINGS_MODULE"] = "challenge_platform.settings.test"
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion  # noqa: E402
from algorithms.receivers import rerun_benchmark_on_arrival  # noqa: E402
from algorithms.services.benchmark import benchmark_versions  # noqa: E402
from algorithms.services.execute import algorithm_run_execute  # noqa: E402
from algorithms.services.profiles import BENCHMARK, TEAM, served_with  # noqa: E402
from algorithms.services.runs import run_create  # noqa: E402
from algorithms.services.upload import algorithm_version_create  # noqa: E402
from challenge_platform import hooks  # noqa: E402
from challenges.models import Challenge, Team, TeamMembership  # noqa: E402
from datasets.models import Task  # noqa: E402
from datasets.services import task_import  # noqa: E402
from jobs.celery import app  # noqa: E402
from runtime.localredis import start_local_redis  # noqa: E402
from testkit.archives import make_zip, manifest  # noqa: E402
from testkit.bundles import write_classification_bundle  # noqa: E402

TRIVIAL = """
import json, os  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

task = os.environ["TASK_DIR"]
label = json.load(open(os.path.join(task, "task.json")))["classes"][0]
ids = pq.read_table(os.path.join(task, "test.parquet"), columns=["id"])
with open(os.path.join(os.environ["OUTPUT_DIR"], "predictions.csv"), "w") as out:
    out.write("id,label\\n")
    out.writelines(f"{i},{label}\\n" for i in ids.column("id").to_pylist())
"""


def drain(*, on_each=None, seconds: float = 0.0) -> tuple[int, float]:
    """Run queued runs one at a time until none is eligible, or (``seconds`` > 0) until that
    many seconds have passed; (runs ended, seconds)."""
    done, started = 0, time.perf_counter()
    while not seconds or time.perf_counter() - started < seconds:
        status = algorithm_run_execute(served=served_with(profile=TEAM), worker="bench")
        if status == "skipped":
            break
        done += 1
        if on_each is not None:
            on_each(done)
    return done, time.perf_counter() - started


def drop_queued(runs) -> int:
    """Remove the runs a time-boxed drain left queued, so the next phase drains its own."""
    left = runs.filter(status=AlgorithmRunStatus.QUEUED, profile=BENCHMARK.name)
    n = left.count()
    left.delete()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--participants", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="of each phase, alternating")
    parser.add_argument("--rows", type=int, default=40, help="rows of each task's bundle")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=0.0,
        help="time-box each phase's drain (0: until the queue is empty); every phase still"
        " queues all its runs, the throughput is of the runs drained in the box",
    )
    args = parser.parse_args()
    work = Path(os.environ["DATA_DIR"])
    redis = start_local_redis(work / "redis", port=None)
    app.conf.broker_url = redis.url
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 10_000
    settings.BENCHMARK_REUSE_RESULTS = False
    settings.ALGORITHM_MAX_PENDING_RUNS_PER_TEAM = 0
    settings.REPRODUCTION_SHARE = 0
    try:
        call_command("migrate", verbosity=0)
        run(args, work)
    finally:
        redis.stop()


def run(args: argparse.Namespace, work: Path) -> None:
    now = timezone.now()
    challenge = Challenge.objects.create(
        slug="bench",
        title="Bench",
        start=now - timedelta(days=1),
        end=now + timedelta(days=30),
        daily_submission_limit=1000,
    )
    users = []
    archive = make_zip({"algorithm.yaml": manifest("Trivial"), "main.py": TRIVIAL})
    for i in range(args.algorithms):
        user = get_user_model().objects.create_user(username=f"u{i}", password="x")
        team = Team.objects.create(challenge=challenge, name=f"team {i}")
        TeamMembership.objects.create(team=team, user=user, challenge=challenge)
        users.append(user)
        algorithm_version_create(
            challenge=challenge,
            user=user,
            file=SimpleUploadedFile("a.zip", archive),
            name=f"Trivial {i}",
        )
    # 0. A warm-up run (the interpreter's files into the page cache), not counted.
    warm = task_import(
        source=write_classification_bundle(work / "warm", rows=args.rows, task={"slug": "warm"}),
        challenge_slug="warm",
        track_slug="warm",
    )
    with transaction.atomic():
        run_create(
            profile=BENCHMARK,
            version=AlgorithmVersion.objects.first(),
            task=warm,
            audit=False,
        )
    drain()
    AlgorithmRun.objects.all().delete()
    totals = {"scheduler": [0, 0.0], "hand": [0, 0.0]}  # runs, seconds
    asked: list[AlgorithmRun] = []
    walls: list[float] = []
    last_tasks: list[Task] = []
    left_queued = 0
    for r in range(args.rounds):  # alternating order, so both see the same load and caches
        for phase in ("scheduler", "hand") if r % 2 == 0 else ("hand", "scheduler"):
            before = set(AlgorithmRun.objects.values_list("pk", flat=True))
            tasks = import_tasks(work, f"{phase}-{r}", args, scheduler=phase == "scheduler")
            if phase == "hand":  # 2. the same runs by hand: every benchmark version, a loop
                with transaction.atomic():
                    for task in tasks:
                        for version in benchmark_versions(challenge=challenge):
                            run_create(profile=BENCHMARK, version=version, task=task, audit=False)
                last_tasks = tasks
            queued = AlgorithmRun.objects.exclude(pk__in=before)
            assert queued.count() == args.algorithms * args.tasks, queued.count()

            def participants_arrive(done: int, tasks: list[Task] = tasks) -> None:
                if done == 3 and not asked:  # while the queue is full of re-runs
                    version = AlgorithmVersion.objects.get(algorithm__name="Trivial 0")
                    with transaction.atomic():
                        for p in range(args.participants):
                            asked.append(
                                run_create(
                                    profile=TEAM,
                                    version=version,
                                    task=tasks[p % len(tasks)],
                                    user=users[0],
                                    audit=False,
                                )
                            )

            hook = participants_arrive if phase == "scheduler" and r == 0 else None
            ran, seconds = drain(on_each=hook, seconds=args.drain_seconds)
            if hook is not None:  # a time box may end before the participants' runs ran
                mine = AlgorithmRun.objects.filter(pk__in=[a.pk for a in asked])
                while mine.filter(status=AlgorithmRunStatus.QUEUED).exists():
                    more, more_seconds = drain(seconds=1e-9)  # one run: theirs come first
                    ran, seconds = ran + more, seconds + more_seconds
            left_queued += drop_queued(queued)
            if hook is not None:  # the participants' runs ran in this drain: not re-runs
                extra = AlgorithmRun.objects.filter(pk__in=[a.pk for a in asked])
                seconds -= sum((a.finished_at - a.started_at).total_seconds() for a in extra)
                ran -= len(asked)
            totals[phase][0] += ran
            totals[phase][1] += seconds
            walls += [w for w in queued.values_list("seconds", flat=True) if w is not None]
    reruns = AlgorithmRun.objects.filter(profile=BENCHMARK.name)
    failed = reruns.exclude(status=AlgorithmRunStatus.SUCCEEDED).count()

    # 3. The last hand-queued runs once more with reuse on: identical inputs take the results.
    settings.BENCHMARK_REUSE_RESULTS = True
    with transaction.atomic():
        for task in last_tasks:
            for version in benchmark_versions(challenge=challenge):
                run_create(profile=BENCHMARK, version=version, task=task, audit=False)
    reused_ran, reused_seconds = drain(seconds=args.drain_seconds)
    reused = AlgorithmRun.objects.filter(reused_from__isnull=False).count()

    waits, behind = [], []
    for run in AlgorithmRun.objects.filter(pk__in=[a.pk for a in asked]).order_by("started_at"):
        waits.append((run.started_at - run.created_at).total_seconds())
        behind.append(
            AlgorithmRun.objects.filter(
                profile=BENCHMARK.name, started_at__gt=run.created_at, started_at__lt=run.started_at
            ).count()
        )
    mean_wall = statistics.mean(walls) if walls else float("nan")
    per_phase = args.algorithms * args.tasks
    print(
        f"{args.algorithms} algorithms x {args.tasks} tasks = {per_phase} runs per phase, "
        f"{args.rounds} round(s) of each ({failed} of {reruns.count()} not succeeded); one "
        f"worker loop; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if args.drain_seconds:
        print(
            f"drains time-boxed to {args.drain_seconds:.0f} s: {totals['scheduler'][0]} re-runs"
            f" queued by the scheduler and {totals['hand'][0]} by hand ran, {left_queued} left"
            " queued were dropped"
        )
    sched_rate = totals["scheduler"][0] / totals["scheduler"][1]
    hand_rate = totals["hand"][0] / totals["hand"][1]
    print(
        f"throughput: queued by the scheduler {sched_rate:.2f} runs/s, by hand "
        f"{hand_rate:.2f} runs/s -> by hand / scheduler {hand_rate / sched_rate:.2f}x"
    )
    reuse_rate = reused_ran / reused_seconds
    print(
        f"reuse: {reused} of {reused_ran} identical re-runs took a finished result, "
        f"{reuse_rate:.2f} runs/s -> {reuse_rate / hand_rate:.1f}x the hand-queued drain"
    )
    if not asked:
        print("participants: not measured (the time box ended before three re-runs ran)")
    else:
        print(
            f"participants: {len(asked)} runs submitted at once behind {per_phase - 3} queued "
            f"re-runs; re-runs started between their submission and their start: max {max(behind)};"
            f" the first waited {waits[0]:.2f} s = {waits[0] / mean_wall:.2f}x one re-run's mean "
            f"wall time ({mean_wall:.2f} s; the others waited for the participants' runs before "
            "them only)"
        )


def import_tasks(work: Path, prefix: str, args: argparse.Namespace, *, scheduler: bool) -> list:
    """``args.tasks`` fresh tasks of the same shape; with ``scheduler`` the hook queues the
    re-runs as each is imported, else it is unsubscribed for the imports."""
    if not scheduler:
        hooks.unsubscribe(event=hooks.TaskAdded, receiver=rerun_benchmark_on_arrival)
    try:
        return [
            task_import(
                source=write_classification_bundle(
                    work / f"bundle-{prefix}-{t}", rows=args.rows, task={"slug": f"{prefix}-{t}"}
                ),
                challenge_slug="bench",
                track_slug="bench",
            )
            for t in range(args.tasks)
        ]
    finally:
        hooks.subscribe(event=hooks.TaskAdded, receiver=rerun_benchmark_on_arrival)


if __name__ == "__main__":
    main()
