"""Deadline rush: many readers on the boards while teams upload, with the board cache on and off.

Starts, on loopback only: a private Redis, a private PostgreSQL cluster (``initdb`` in a
temporary folder, removed at exit; or ``--database-url``, where a database is created and
dropped), one Celery worker (scoring and notifications queues, as the Procfile) and
gunicorn (``gthread`` workers, as the Procfile). Then two phases of ``--duration`` seconds
on the same database and worker, the web server restarted between them:
``BOARD_CACHE=1`` (boards from the Redis cache, versioned keys) and ``BOARD_CACHE=0``.
gunicorn runs with the Procfile's hooks (``challenge_platform.gunicorn_config``): at the
platform's CPU priority for the web (``WEB_CPU_NICE``, ``--web-nice``).

In each phase ``--readers`` threads read the boards in a loop (task and track, page and
API) and ``--teams`` threads each upload a prediction file, wait until it is final (polling
its API), and upload again. It prints per phase: req/s and p50/p95 per board page,
upload-to-scored p50/p95 (the database's ``created_at`` to ``finished_at``), and submissions
lost (a 201 without a final row) and doubled (an id returned twice, or scored twice per the
worker's log); then the cached/uncached ratios. The readers and teams run as threads spread
over ``--client-processes`` processes (readers and teams apart), so no one interpreter lock
serializes 150 clients; they still share the machine's CPUs with the server, at a lower
priority (``--client-nice``).

A measurement, not a test (STYLE: timing belongs in bench/); exit status 1 only when a
submission is lost or doubled.

Run: .venv/bin/python bench/rush.py [--duration 120] [--readers 100] [--teams 50] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_test import (
    LOOPBACK,
    Fixture,
    Process,
    dedicated_database,
    percentile,
    prediction_file,
    prepare,
    private_postgres,
    run_manage,
    wait_until,
)

from challenge_platform.cpu_priority import lower as lower_cpu_priority
from challenge_platform.cpu_priority import web_nice
from challenge_platform.localredis import free_port, start_local_redis

REPO = Path(__file__).resolve().parents[1]


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Phase:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Why reads and uploads failed: "HTTP 429", "ReadTimeout"... (a count each).
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted: list[int] = field(default_factory=list)
    refused: int = 0
    seconds: float = 0.0

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error is not None:
                self.errors[kind] += 1
                self.reasons[error] += 1

    def refuse(self, reason: str) -> None:
        with self.lock:
            self.refused += 1
            self.reasons[f"upload {reason}"] += 1

    def figures(self) -> dict:
        """What a client process sends back (a Phase holds a lock, which does not pickle)."""
        with self.lock:
            return {
                "latencies": dict(self.latencies),
                "errors": dict(self.errors),
                "reasons": dict(self.reasons),
                "accepted": list(self.accepted),
                "refused": self.refused,
            }

    def merge(self, figures: dict) -> None:
        for kind, values in figures["latencies"].items():
            self.latencies[kind].extend(values)
        for kind, n in figures["errors"].items():
            self.errors[kind] += n
        for reason, n in figures["reasons"].items():
            self.reasons[reason] += n
        self.accepted.extend(figures["accepted"])
        self.refused += figures["refused"]


def pages(fixture: Fixture) -> dict[str, str]:
    task, track = fixture.task_slug, fixture.track_slug
    return {
        "task board (API)": f"/api/v1/tasks/{task}/leaderboard/",
        "task board (page)": f"/tasks/{task}/leaderboard/",
        "track board (API)": f"/api/v1/tracks/{track}/leaderboard/",
        "track board (page)": f"/tracks/{track}/",
    }


def reader(base: str, fixture: Fixture, phase: Phase, stop: threading.Event, seed: int) -> None:
    session = requests.Session()
    items = list(pages(fixture).items())
    i = seed
    while not stop.is_set():
        kind, path = items[i % len(items)]
        i += 1
        start = time.perf_counter()
        try:
            status = session.get(base + path, timeout=60).status_code
            error = None if status == 200 else f"HTTP {status}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        phase.record(kind, time.perf_counter() - start, error)


def team(
    base: str,
    token: str,
    fixture: Fixture,
    phase: Phase,
    stop: threading.Event,
    seed: int,
    poll: float,
) -> None:
    rng = np.random.default_rng(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    while not stop.is_set():
        try:
            response = session.post(
                f"{base}/api/v1/tasks/{fixture.task_slug}/submissions/",
                files={"file": ("predictions.csv", prediction_file(fixture, rng), "text/csv")},
                timeout=120,
            )
        except requests.RequestException as exc:  # e.g. a kept-alive connection closed
            phase.refuse(type(exc).__name__)
            time.sleep(1.0)
            continue
        if response.status_code != 201:
            phase.refuse(f"HTTP {response.status_code}")
            time.sleep(1.0)
            continue
        pk = response.json()["id"]
        with phase.lock:
            phase.accepted.append(pk)
        while not stop.is_set():  # wait for the score like a participant would
            time.sleep(poll)
            try:
                body = session.get(f"{base}/api/v1/submissions/{pk}/", timeout=60).json()
            except (requests.RequestException, ValueError):
                continue
            if body.get("status") in ("scored", "failed"):
                break
        time.sleep(float(rng.uniform(0.5, 2.0)))  # a look at the board, then the next try


def client_process(
    role: str,
    indices: list[int],
    base: str,
    fixture: Fixture,
    poll: float,
    start_at: float,
    duration: float,
    nice: int,
    results: multiprocessing.Queue,
) -> None:
    """One client process: a thread per reader (or team) in ``indices``, from ``start_at``
    (wall clock, shared by every client process) for ``duration`` seconds, at a lower CPU
    priority (``nice``): the clients stand for users' machines, which would not take the
    server's cores. Each client process is a session of its own, so that its priority counts
    against the server's sessions (see ``challenge_platform.cpu_priority``)."""
    os.setsid()
    lower_cpu_priority(nice)
    phase = Phase()
    stop = threading.Event()
    if role == "readers":
        threads = [
            threading.Thread(target=reader, args=(base, fixture, phase, stop, i), daemon=True)
            for i in indices
        ]
    else:
        threads = [
            threading.Thread(
                target=team,
                args=(base, fixture.tokens[i], fixture, phase, stop, 1000 + i, poll),
                daemon=True,
            )
            for i in indices
        ]
    time.sleep(max(start_at - time.time(), 0))
    for thread in threads:
        thread.start()
    time.sleep(max(start_at + duration - time.time(), 0))
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    results.put(phase.figures())


def run_phase(
    base: str,
    fixture: Fixture,
    *,
    readers: int,
    teams: int,
    duration: float,
    poll: float,
    processes: int,
    nice: int,
) -> Phase:
    """The readers and the teams, spread over ``processes`` client processes (readers and
    teams never share one): the clients' own interpreter lock is not part of what is
    measured."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    team_processes = max(1, round(processes * teams / max(readers + teams, 1))) if teams else 0
    reader_processes = max(1, processes - team_processes) if readers else 0
    groups = [
        ("readers", list(range(readers))[k::reader_processes]) for k in range(reader_processes)
    ]
    groups += [("teams", list(range(teams))[k::team_processes]) for k in range(team_processes)]
    groups = [(role, indices) for role, indices in groups if indices]
    start_at = time.time() + 2.0  # every process started and ready
    workers = [
        context.Process(
            target=client_process,
            args=(role, indices, base, fixture, poll, start_at, duration, nice, results),
            daemon=True,
        )
        for role, indices in groups
    ]
    for worker in workers:
        worker.start()
    phase = Phase(seconds=duration)
    for _ in workers:
        phase.merge(results.get(timeout=duration + 300))
    for worker in workers:
        worker.join(timeout=30)
    return phase


# --- report ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    times: list[float]  # upload-to-scored seconds of the phase's scored submissions
    waits: list[float]  # of which queued (upload to the scoring's start)
    lost: int
    doubled: int
    failed: int


def outcome(db_url: str, phase: Phase, worker_log: Path, settle: float) -> Outcome:
    """Wait (up to ``settle`` s) until the phase's uploads are final, then count."""
    accepted = set(phase.accepted)
    deadline = time.monotonic() + settle
    while True:
        with psycopg.connect(db_url) as conn:
            rows = conn.execute(
                "SELECT id, status, extract(epoch FROM finished_at - created_at), "
                "extract(epoch FROM started_at - created_at) "
                "FROM scoring_submission WHERE id = ANY(%s)",
                (list(accepted),),
            ).fetchall()
        pending = [r for r in rows if r[1] in ("queued", "scoring")]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    found = {r[0] for r in rows}
    lost = len(accepted - found) + len(pending)
    scored_times: dict[int, int] = defaultdict(int)
    for pk in re.findall(r"submission (\d+) scored:", worker_log.read_text("utf-8")):
        if int(pk) in accepted:
            scored_times[int(pk)] += 1
    doubled = len(phase.accepted) - len(accepted) + sum(1 for n in scored_times.values() if n > 1)
    return Outcome(
        times=[float(r[2]) for r in rows if r[1] == "scored" and r[2] is not None],
        waits=[float(r[3]) for r in rows if r[1] == "scored" and r[3] is not None],
        lost=lost,
        doubled=doubled,
        failed=sum(1 for r in rows if r[1] == "failed"),
    )


def report(name: str, phase: Phase, result: Outcome) -> dict[str, tuple[float, float]]:
    print(f"\n{name}: {phase.seconds:.0f} s")
    print(f"{'page':<22}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'errors':>8}")
    figures = {}
    for kind, values in sorted(phase.latencies.items()):
        rate = len(values) / phase.seconds
        p95 = percentile(values, 95) * 1000
        figures[kind] = (rate, p95)
        print(
            f"{kind:<22}{len(values):>9}{rate:>8.1f}{percentile(values, 50) * 1000:>8.0f}"
            f"{p95:>8.0f}{phase.errors.get(kind, 0):>8}"
        )
    total = sum(len(v) for v in phase.latencies.values())
    figures["all boards"] = (total / phase.seconds, 0.0)
    print(f"{'all boards':<22}{total:>9}{total / phase.seconds:>8.1f}")
    print(
        f"uploads: {len(phase.accepted)} accepted, {phase.refused} refused; "
        f"{len(result.times)} scored, {result.failed} failed; upload-to-scored "
        f"p50 {percentile(result.times, 50):.2f} s, p95 {percentile(result.times, 95):.2f} s "
        f"(queued p50 {percentile(result.waits, 50):.2f} s, "
        f"p95 {percentile(result.waits, 95):.2f} s)"
    )
    if phase.reasons:
        print(
            "errors and refusals: "
            + ", ".join(f"{r} x{n}" for r, n in sorted(phase.reasons.items()))
        )
    print(f"submissions lost: {result.lost}, doubled: {result.doubled}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds per phase")
    parser.add_argument("--readers", type=int, default=100, help="clients reading boards")
    parser.add_argument("--teams", type=int, default=50, help="teams uploading")
    parser.add_argument("--rows", type=int, default=2000, help="test rows of the task")
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between a team's status checks"
    )
    parser.add_argument("--board-teams", type=int, default=300, help="teams on the board")
    parser.add_argument("--web-workers", type=int, default=3, help="as the Procfile")
    parser.add_argument(
        "--web-threads",
        type=int,
        default=8,
        help="threads per web worker (gthread, as the Procfile)",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=6,
        help="processes the readers and teams are spread over (threads within each)",
    )
    parser.add_argument(
        "--client-nice", type=int, default=10, help="CPU priority of the client processes (nice)"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument(
        "--web-nice",
        type=int,
        default=None,
        help="CPU priority of gunicorn (WEB_CPU_NICE; default: the platform's, 5); "
        "the worker and the database run at 0",
    )
    parser.add_argument("--quick", action="store_true", help="20 s, 20 readers, 10 teams")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("RUSH_DATABASE_URL"),
        help="a PostgreSQL role that may create databases (loopback only); "
        "default: a private cluster started here",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    opts = parser.parse_args()
    if opts.quick:
        opts.duration, opts.readers, opts.teams, opts.board_teams = 20, 20, 10, 60
        opts.client_processes = min(opts.client_processes, 3)
    opts.board_teams = max(opts.board_teams, opts.teams)

    data_dir = Path(tempfile.mkdtemp(prefix="rush-"))
    redis = start_local_redis(data_dir / "redis", port=None)
    processes: list[Process] = []
    try:
        with (
            (
                private_postgres() if opts.database_url is None else _given(opts.database_url)
            ) as admin_url,
            dedicated_database(admin_url) as db_url,
        ):
            try:
                return _run(opts, data_dir, redis.url, db_url, processes)
            finally:
                for process in reversed(processes):
                    process.stop()
    finally:
        for process in reversed(processes):
            process.stop()
        redis.stop()
        if opts.keep:
            print(f"data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def _run(opts, data_dir: Path, redis_url: str, db_url: str, processes: list[Process]) -> int:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.local",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": LOOPBACK,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    fixture = prepare(env, data_dir, clients=opts.board_teams, rows=opts.rows)
    run_manage(env, "collectstatic", "--no-input", "-v", "0")
    seed_board(env, fixture, teams=opts.board_teams)
    worker_log = data_dir / "worker.log"
    processes.append(
        Process(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "challenge_platform",
                "worker",
                "-Q",
                "scoring,notifications",
                "--concurrency",
                str(opts.worker_concurrency),
                "--loglevel",
                "INFO",
                "--hostname",
                "rush@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            worker_log,
        )
    )
    wait_until(lambda: "ready." in worker_log.read_text(), timeout=120, what="the worker")
    print(
        f"Deadline rush: {opts.readers} readers, {opts.teams} uploading teams, "
        f"{opts.duration:.0f} s per phase (status polled every {opts.poll:.0f} s); "
        f"{opts.board_teams} teams on the board; "
        f"gunicorn {opts.web_workers} workers x {opts.web_threads} threads (gthread, "
        f"nice {web_nice() if opts.web_nice is None else opts.web_nice}), "
        f"{opts.client_processes} client processes (nice {opts.client_nice}), "
        f"1 Celery worker (concurrency {opts.worker_concurrency}), "
        f"PostgreSQL, Redis; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    bad = False
    nice_env = {} if opts.web_nice is None else {"WEB_CPU_NICE": str(opts.web_nice)}
    for name, flag in (("cache on", "1"), ("cache off", "0")):
        port = free_port()
        web = Process(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "challenge_platform.wsgi:application",
                "--config",
                "python:challenge_platform.gunicorn_config",
                "--bind",
                f"{LOOPBACK}:{port}",
                "--workers",
                str(opts.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(opts.web_threads),
                "--timeout",
                "120",
            ],
            {**env, "BOARD_CACHE": flag, **nice_env},
            data_dir / f"web-{flag}.log",
        )
        processes.append(web)
        base = f"http://{LOOPBACK}:{port}"
        wait_until(
            lambda base=base: requests.get(base + "/api/v1/challenges/", timeout=5).ok,
            timeout=120,
            what="gunicorn",
        )
        phase = run_phase(
            base,
            fixture,
            readers=opts.readers,
            teams=opts.teams,
            duration=opts.duration,
            poll=opts.poll,
            processes=opts.client_processes,
            nice=opts.client_nice,
        )
        result = outcome(db_url, phase, worker_log, settle=120)
        figures[name] = report(f"{name} (BOARD_CACHE={flag})", phase, result)
        bad = bad or bool(result.lost or result.doubled)
        web.stop()
        processes.remove(web)
    print(f"\n{'cached / uncached':<22}{'req/s':>8}{'p95':>8}")
    for kind, (rate, p95) in figures["cache on"].items():
        off_rate, off_p95 = figures["cache off"].get(kind, (float("nan"), float("nan")))
        p95_ratio = f"{p95 / off_p95:>7.2f}x" if off_p95 else ""
        print(f"{kind:<22}{rate / off_rate:>7.1f}x{p95_ratio}")
    return 1 if bad else 0


def seed_board(env: dict[str, str], fixture: Fixture, *, teams: int) -> None:
    """A board worth caching: one scored submission per team, written like a score would be
    (rows, then one refresh)."""
    script = f"""
import io, numpy as np, pandas as pd
from django.core.files.base import ContentFile
from django.utils import timezone
from challenge_platform.models import Team
from datasets.models import Task
from leaderboard.services import task_leaderboard_refresh
from scoring.models import Submission
task = Task.objects.get(slug={fixture.task_slug!r})
rng = np.random.default_rng(0)
for i, team in enumerate(Team.objects.filter(challenge=task.track.challenge).order_by("pk")):
    score = float(rng.uniform(0.2, 0.8))
    Submission.objects.create(task=task, team=team, file=ContentFile(b"x", name="p.csv"),
        status="scored", public_score=score, private_score=score, finished_at=timezone.now(),
        scores={{"public": {{"accuracy": score}}, "private": {{"accuracy": score}},
                 "all": {{"accuracy": score}}}})
task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
"""
    run_manage(env, "shell", "-c", script)


if __name__ == "__main__":
    sys.exit(main())
