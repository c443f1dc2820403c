"""Load test: concurrent teams upload and browse against the production-like process set.

Starts, on loopback only: a private Redis, a dedicated PostgreSQL database (created here and
dropped at the end), gunicorn with ``--web-workers`` workers and one Celery worker on both
queues. ``--clients`` threads, each a team with its own ``requests.Session`` and API token,
upload ``--submissions`` prediction files in total (the daily limit is raised for the run)
and browse the leaderboards between uploads. Once every upload is answered it waits until
every submission is final, then prints:

- throughput (requests/s over the client phase) and p50/p95 latency per endpoint kind;
- scoring: uploads scored, failed, and the time until the last one was scored;
- submissions lost (accepted by the API but not in the database, or never scored) and
  doubled (an id returned twice, or scored more than once according to the worker's log).
  Both must be 0;
- the leaderboard: teams whose public entry is missing or not their best score (must be 0).

A measurement, not a pass/fail test (docs/architecture.md, House style: timing belongs in
bench/). The exit status is 1 only when a submission was lost or doubled, the board is stale, or the
run exceeded ``--deadline``.

Run: .venv/bin/python bench/load_test.py [--clients 50] [--submissions 500]
     [--database-url postgres://challenge:challenge@127.0.0.1:5432/challenge]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg
import requests

from runtime.localredis import free_port, start_local_redis

REPO = Path(__file__).resolve().parents[1]

CLASSES = ["bird", "cat", "dog", "fish"]
LOOPBACK = "127.0.0.1"


# --- setup ----------------------------------------------------------------------------------


def database_urls(admin_url: str, name: str) -> tuple[str, str]:
    """The admin URL (to create/drop) and the bench database's URL, both on loopback."""
    parts = urlsplit(admin_url)
    if parts.hostname not in (LOOPBACK, "localhost"):
        raise SystemExit(f"the load test only talks to loopback; got {parts.hostname}")
    return admin_url, urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def dedicated_database(admin_url: str) -> Iterator[str]:
    name = f"challenge_load_{os.getpid()}"
    admin, url = database_urls(admin_url, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_bundle(
    folder: Path,
    *,
    rows: int,
    seed: int = 0,
    slug: str = "load-task",
    title: str = "Load test task",
) -> Path:
    """A classification bundle: text, numeric and categorical columns, ``rows`` test rows."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)

    def frame(prefix: str, n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": [f"{prefix}{i:06d}" for i in range(n)],
                "title": [f"item {i} of kind {i % 7}" for i in range(n)],
                "price": rng.normal(10, 3, n).round(2),
                "color": rng.choice(["red", "green", "blue"], n),
            }
        )

    train = frame("r", rows)
    train["label"] = rng.choice(CLASSES, rows)
    test = frame("t", rows)
    solution = pd.DataFrame({"id": test["id"], "label": rng.choice(CLASSES, rows)})
    (folder / "task.yaml").write_text(
        f"slug: {slug}\ntitle: {title}\nkind: classification\n", encoding="utf-8"
    )
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    solution.to_csv(folder / "solution.csv", index=False)
    return folder


@dataclass
class Fixture:
    task_slug: str
    track_slug: str
    tokens: list[str]
    test_ids: list[str]
    labels: list[str]


def prepare(
    env: dict[str, str],
    data_dir: Path,
    *,
    clients: int,
    rows: int,
    migrate: bool = True,
    wrap: Sequence[str] = (),
) -> Fixture:
    """Migrate (unless ``migrate=False``), then create the challenge, task, teams and tokens
    in a child process (run under ``wrap``, e.g. ``ip netns exec <host>``)."""
    if migrate:
        run_manage(env, "migrate", "--no-input", "-v", "0", wrap=wrap)
    bundle = write_bundle(data_dir / "bundle", rows=rows)
    script = f"""
import json
from django.contrib.auth import get_user_model
try:
    from challenges.tokens import api_token_create
    from challenges.models import Challenge, Team, TeamMembership
except ImportError:  # a checkout from before challenge_platform's split (--code, --before-code)
    from challenge_platform.tokens import api_token_create
    from challenge_platform.models import Challenge, Team, TeamMembership
from datasets.services import task_import
import pandas as pd
task = task_import(source={str(bundle)!r}, challenge_slug="load", track_slug="load-track")
Challenge.objects.filter(slug="load").update(daily_submission_limit=100000)
# A plain public board: the checks compare exact scores and ranks with a recomputation (the
# ladder's shown scores have their own oracle, tests/leaderboard_tests/test_ladder_oracle.py).
type(task).objects.filter(pk=task.pk).update(public_board="plain")
users = get_user_model()
tokens = []
for i in range({clients}):
    user = users.objects.create_user(f"load{{i}}", password=None)
    team = Team.objects.create(challenge=task.track.challenge, name=f"Load team {{i}}")
    TeamMembership.objects.create(team=team, user=user, challenge=team.challenge)
    tokens.append(api_token_create(user=user)[1])
solution = pd.read_csv({str(bundle / "solution.csv")!r})
print(json.dumps({{"task": task.slug, "track": task.track.slug, "tokens": tokens,
                   "ids": list(solution["id"]), "labels": list(solution["label"])}}))
"""
    out = run_manage(env, "shell", "-c", script, wrap=wrap)
    data = json.loads(out.strip().splitlines()[-1])
    return Fixture(data["task"], data["track"], data["tokens"], data["ids"], data["labels"])


@contextmanager
def private_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port (as ``postgres`` when root)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        raise SystemExit("PostgreSQL is not installed; pass --database-url")
    bin_dir = bins[-1]
    folder = Path(tempfile.mkdtemp(prefix="rush-pg-"))  # its own: the data folder is 0700
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    port = free_port()
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses={LOOPBACK} -c max_connections=200"
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "start",
            "-l",
            str(folder / "postgres.log"),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgres://postgres@{LOOPBACK}:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def run_manage(env: dict[str, str], *args: str, wrap: Sequence[str] = ()) -> str:
    result = subprocess.run(
        [*wrap, sys.executable, str(REPO / "manage.py"), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Process:
    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO
    ) -> None:
        """``args`` started in a session of its own, in ``cwd`` (another revision's code for
        a bench's ``--before``)."""
        self.name = name
        self.log = log
        handle = open(log, "ab")  # noqa: SIM115 - owned by the child
        self.popen = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        """SIGTERM to the main process (a warm shutdown: running tasks finish), then force."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def worker_command(queues: str, concurrency: int, hostname: str) -> list[str]:
    """A Celery worker of ``queues`` (comma-separated) as the benches start it."""
    from runtime.worker_command import celery_worker_command

    return celery_worker_command(queues, concurrency=concurrency, hostname=hostname)


def wait_until(check, *, timeout: float, what: str, every: float = 0.2) -> None:
    """Poll ``check`` every ``every`` s until true, or exit after ``timeout`` s. A service
    still starting (refused, reset, a log file not yet written) counts as false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    accepted: list[int] = field(default_factory=list)  # submission ids the API returned
    refused: int = 0

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1


def prediction_file(fixture: Fixture, rng: np.random.Generator) -> bytes:
    labels = np.array(fixture.labels, dtype=object)
    wrong = rng.random(len(labels)) < rng.uniform(0.2, 0.7)
    shifted = np.array([CLASSES[(CLASSES.index(x) + 1) % len(CLASSES)] for x in labels])
    predicted = np.where(wrong, shifted, labels)
    return pd.DataFrame({"id": fixture.test_ids, "label": predicted}).to_csv(index=False).encode()


def client(
    base: str, token: str, uploads: int, fixture: Fixture, results: Results, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"

    def call(kind: str, method: str, path: str, **kwargs) -> requests.Response:
        start = time.perf_counter()
        response = session.request(method, base + path, timeout=120, **kwargs)
        results.record(kind, time.perf_counter() - start, response.status_code)
        return response

    task, track = fixture.task_slug, fixture.track_slug
    for _ in range(uploads):
        response = call(
            "upload (API)",
            "POST",
            f"/api/v1/tasks/{task}/submissions/",
            files={"file": ("predictions.csv", prediction_file(fixture, rng), "text/csv")},
        )
        if response.status_code == 201:
            with results.lock:
                results.accepted.append(response.json()["id"])
        else:
            with results.lock:
                results.refused += 1
        call("task leaderboard (API)", "GET", f"/api/v1/tasks/{task}/leaderboard/")
        call("task leaderboard (page)", "GET", f"/tasks/{task}/leaderboard/")
        call("track leaderboard (page)", "GET", f"/tracks/{track}/")
        call("my submissions (API)", "GET", "/api/v1/submissions/?limit=20")


# --- report ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def submission_statuses(db_url: str, task_slug: str) -> dict[int, str]:
    """Every submission row of the task: id -> status (read straight from PostgreSQL)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT s.id, s.status FROM scoring_submission s JOIN datasets_task t "
            "ON t.id = s.task_id WHERE t.slug = %s",
            (task_slug,),
        ).fetchall()
    return dict(rows)


def stale_board_teams(db_url: str, task_slug: str) -> int:
    """Teams whose public leaderboard entry is missing or not their best scored submission."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            """
            SELECT count(*) FROM (
                SELECT s.team_id, s.task_id, max(s.public_score) AS best
                FROM scoring_submission s JOIN datasets_task t ON t.id = s.task_id
                WHERE t.slug = %s AND s.status = 'scored' GROUP BY s.team_id, s.task_id
            ) b LEFT JOIN leaderboard_leaderboardentry e
                ON e.team_id = b.team_id AND e.task_id = b.task_id AND e.split = 'public'
            WHERE e.id IS NULL OR abs(e.score - b.best) > 1e-12
            """,
            (task_slug,),
        ).fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=500)
    parser.add_argument("--rows", type=int, default=2000, help="test rows of the task")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=1200, help="seconds for the run")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LOAD_TEST_DATABASE_URL", "postgres://challenge:challenge@127.0.0.1:5432/challenge"
        ),
        help="a PostgreSQL role that may create databases (loopback only)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    opts = parser.parse_args()
    if opts.submissions < opts.clients:
        parser.error("--submissions must be at least --clients")
    started = time.monotonic()

    data_dir = Path(tempfile.mkdtemp(prefix="load-test-"))
    redis = start_local_redis(data_dir / "redis", port=None)
    processes: list[Process] = []
    try:
        with dedicated_database(opts.database_url) as db_url:
            try:
                port = free_port()
                env = {
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.local",
                    "DEBUG": "0",
                    "SECRET_KEY": secrets.token_urlsafe(60),
                    "ALLOWED_HOSTS": LOOPBACK,
                    "DATABASE_URL": db_url,
                    "REDIS_URL": redis.url,
                    "DATA_DIR": str(data_dir),
                    "LOG_LEVEL": "INFO",
                    "PYTHONUNBUFFERED": "1",
                }
                fixture = prepare(env, data_dir, clients=opts.clients, rows=opts.rows)
                run_manage(env, "collectstatic", "--no-input", "-v", "0")
                worker_log = data_dir / "worker.log"
                processes.append(
                    Process(
                        "worker",
                        worker_command("scoring,baselines", opts.worker_concurrency, "load@%h"),
                        env,
                        worker_log,
                    )
                )
                processes.append(
                    Process(
                        "web",
                        [
                            sys.executable,
                            "-m",
                            "gunicorn",
                            "challenge_platform.wsgi:application",
                            "--bind",
                            f"{LOOPBACK}:{port}",
                            "--workers",
                            str(opts.web_workers),
                            "--timeout",
                            "120",
                        ],
                        env,
                        data_dir / "web.log",
                    )
                )
                base = f"http://{LOOPBACK}:{port}"
                wait_until(
                    lambda: requests.get(base + "/api/v1/challenges/", timeout=5).ok,
                    timeout=60,
                    what="gunicorn",
                )
                wait_until(
                    lambda: "ready." in worker_log.read_text(), timeout=60, what="the worker"
                )

                # The client phase.
                results = Results()
                per_client = [opts.submissions // opts.clients] * opts.clients
                for i in range(opts.submissions % opts.clients):
                    per_client[i] += 1
                threads = [
                    threading.Thread(
                        target=client,
                        args=(base, fixture.tokens[i], per_client[i], fixture, results, i),
                        daemon=True,
                    )
                    for i in range(opts.clients)
                ]
                t0 = time.monotonic()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=max(opts.deadline - (time.monotonic() - started), 1))
                client_seconds = time.monotonic() - t0
                if any(t.is_alive() for t in threads):
                    print("the client phase did not finish before the deadline", file=sys.stderr)
                    return 1

                # Wait until every submission is final (or the deadline).
                deadline_hit = False
                while True:
                    rows = submission_statuses(db_url, fixture.task_slug)
                    if not any(status in ("queued", "scoring") for status in rows.values()):
                        break
                    if time.monotonic() - started > opts.deadline:
                        deadline_hit = True
                        break
                    time.sleep(0.5)
                all_scored_after = time.monotonic() - t0
                counts = defaultdict(int)
                for status in rows.values():
                    counts[status] += 1
                scored_times = defaultdict(int)  # how often the worker logged "scored" per id
                for pk in re.findall(r"submission (\d+) scored:", worker_log.read_text("utf-8")):
                    scored_times[int(pk)] += 1

                # The last scoring refreshes the board just after its status: give it a moment.
                stale = stale_board_teams(db_url, fixture.task_slug)
                settle = time.monotonic() + 30
                while stale and time.monotonic() < settle:
                    time.sleep(0.5)
                    stale = stale_board_teams(db_url, fixture.task_slug)
                refresh_errors = len(
                    re.findall(
                        r"refreshing the leaderboard of task \d+ failed", worker_log.read_text()
                    )
                )

                accepted = set(results.accepted)
                # Lost: the API said 201 but there is no row, or it never reached a final status.
                lost = len(accepted - set(rows)) + sum(
                    1 for pk in accepted if rows.get(pk) in ("queued", "scoring")
                )
                # Doubled: one id returned twice, or one submission scored more than once.
                doubled = len(results.accepted) - len(accepted)
                doubled += sum(1 for n in scored_times.values() if n > 1)
                extra_rows = len(set(rows) - accepted)  # rows no 201 announced

                total = sum(len(v) for v in results.latencies.values())
                print(
                    f"\nLoad test: {opts.clients} clients, {opts.submissions} uploads, "
                    f"gunicorn x{opts.web_workers}, 1 Celery worker (concurrency "
                    f"{opts.worker_concurrency}), PostgreSQL, Redis; {opts.rows} test rows; "
                    f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
                )
                print(
                    f"client phase: {total} requests in {client_seconds:.1f} s = "
                    f"{total / client_seconds:.1f} req/s"
                )
                print(f"{'endpoint':<28}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}  statuses")
                for kind, values in results.latencies.items():
                    codes = ", ".join(
                        f"{c}: {n}" for c, n in sorted(results.statuses[kind].items())
                    )
                    print(
                        f"{kind:<28}{len(values):>9}{percentile(values, 50) * 1000:>9.0f}"
                        f"{percentile(values, 95) * 1000:>9.0f}  {codes}"
                    )
                print(
                    f"scoring: {counts.get('scored', 0)} scored, {counts.get('failed', 0)} failed; "
                    f"every submission final {all_scored_after:.1f} s after the first upload"
                    + (" (DEADLINE HIT)" if deadline_hit else "")
                )
                print(
                    f"uploads accepted: {len(accepted)}, refused: {results.refused}; rows in the "
                    f"database: {len(rows)} ({extra_rows} not accepted by the API)"
                )
                print(
                    f"leaderboard: {stale} team(s) missing or stale; "
                    f"{refresh_errors} failed refresh(es) in the worker's log"
                )
                print(f"submissions lost: {lost}, doubled: {doubled}")
                ok = not (lost or doubled or extra_rows or stale or deadline_hit)
                return 0 if ok else 1
            finally:
                # Before the database is dropped: no task may still be writing to it.
                for process in reversed(processes):
                    process.stop()
    finally:
        for process in reversed(processes):
            process.stop()  # already stopped unless setup failed half-way
        redis.stop()
        if opts.keep:
            print(f"data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
