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
serializes 300 clients; they still share the machine's CPUs with the server, at a lower
priority (``--client-nice``).

By default the readers and the teams go through HAProxy, configured by the platform's own
``manage.py haproxy_config`` (``leaderboard/cache/proxy.py``: the boards' cache for anonymous
reads, the keep-alive of the multi-host deployment; ``--no-proxy``: straight to gunicorn).
The teams upload as ``chal`` does: an ``Idempotency-Key`` per upload, sent once more with
the same key when the connection closed without an answer. In the cache-on phase ``wrk``
(Debian's package) reads one board during the uploads, ``--wrk-seconds`` through gunicorn
directly and then as long through the proxy. The table at the end (docs/developers/benchmarks.md's)
gives per phase: board req/s and p50/p95 (target p95 <= 0.5 s), uploads scored, refused uploads by
cause (a connection closed: target 0), uploads sent again and how many were answered with
the first attempt's submission, upload-to-scored p50/p95, lost, doubled, and wrk's req/s of
gunicorn and the proxy (target >= 10x).

A measurement, not a test (timing belongs in bench/); exit status 1 only when a
submission is lost or doubled.

With ``--before <git revision>`` every phase is run first with that revision's code (its
worker and web, from a ``git archive`` in the data folder), then with this one's, on the
same database, Redis and fixture: a before/after in one run.

Run: .venv/bin/python bench/rush.py [--duration 120] [--readers 200] [--teams 100] [--quick]
     [--before main] [--no-proxy] [--wrk-seconds 15]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_test import (
    LOOPBACK,
    Fixture,
    Process,
    dedicated_database,
    percentile,
    prepare,
    private_postgres,
    run_manage,
    wait_until,
    worker_command,
)
from rush_clients import run_phase
from rush_proxy import (
    WrkDuringPhase,
    gunicorn_command,
    start_board_server,
    start_proxy,
)
from rush_report import (
    Outcome,
    cpu_seconds,
    outcome,
    print_table,
    report,
    report_cpu,
    report_served_by,
    report_wrk,
    table_row,
)

from runtime.cpu_priority import web_nice
from runtime.localredis import free_port, start_local_redis

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds per phase")
    # Twice the rush of round 4 (issue 54): a company-wide benchmark has more teams than the
    # seed's 50 and more readers than its 100.
    parser.add_argument("--readers", type=int, default=200, help="clients reading boards")
    parser.add_argument("--teams", type=int, default=100, help="teams uploading")
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
        "--board-workers",
        type=int,
        default=2,
        help="workers of the board server (the Procfile's boards process, BOARDS_CONCURRENCY)",
    )
    parser.add_argument(
        "--board-threads",
        type=int,
        default=8,
        help="threads of the board server's worker (BOARDS_THREADS); 0: no board server, the"
        " web answers the reads the proxy's cache cannot (as a revision without one)",
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
    parser.add_argument(
        "--clients-cpus",
        type=lambda text: {int(cpu) for cpu in text.split(",")},
        default=None,
        help="CPUs (comma-separated) the clients and wrk run on, apart from every server, "
        "which runs on the others: the clients as on machines of their own (default: all "
        "share every CPU)",
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
        "--no-proxy",
        action="store_true",
        help="readers and teams talk to gunicorn directly (default: through HAProxy, as the"
        " multi-host deployment; needs the haproxy package)",
    )
    parser.add_argument(
        "--wrk-seconds",
        type=float,
        default=None,
        help="seconds of wrk against one board, gunicorn then the proxy, during the cache-on"
        " phase's uploads (default: 15, or 5 with --quick; 0: none)",
    )
    parser.add_argument("--wrk-connections", type=int, default=50)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("RUSH_DATABASE_URL"),
        help="a PostgreSQL role that may create databases (loopback only); "
        "default: a private cluster started here",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument(
        "--before",
        help="also run both phases with the code of this git revision (worker and web), "
        "each right before this code's: a before/after in one run (same database schema)",
    )
    parser.add_argument(
        "--cache-on-only",
        action="store_true",
        help="only the cache-on phases (the targets'); the uncached phases' reads mostly time "
        "out at these sizes and take the longest",
    )
    parser.add_argument(
        "--before-code",
        type=Path,
        help="as --before, with a checkout already made (e.g. a worktree of the base commit)",
    )
    opts = parser.parse_args()
    tools = missing_tools(opts)
    if opts.quick:
        opts.duration, opts.readers, opts.teams, opts.board_teams = 20, 20, 10, 60
        opts.client_processes = min(opts.client_processes, 3)
    if opts.wrk_seconds is None:
        opts.wrk_seconds = 5.0 if opts.quick else 15.0
    if not opts.no_proxy and shutil.which("haproxy") is None:
        raise SystemExit(
            "the rush reads through HAProxy, which is not installed: install it (as root: "
            "bash scripts/system_packages.sh bench), or use --no-proxy"
        )
    for line in tools:
        print(line)
    if opts.clients_cpus:
        servers = os.sched_getaffinity(0) - opts.clients_cpus
        if not servers or not opts.clients_cpus <= os.sched_getaffinity(0):
            raise SystemExit(
                f"--clients-cpus {sorted(opts.clients_cpus)}: each must be one of this "
                f"process's CPUs {sorted(os.sched_getaffinity(0))}, and one left for the servers"
            )
        os.sched_setaffinity(0, servers)  # every server started from here inherits it
        print(f"CPUs: clients and wrk on {sorted(opts.clients_cpus)}, servers on {sorted(servers)}")
    print(f"machine: {machine()}")
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


def machine() -> str:
    """What of this machine a rush's figures depend on, printed with them so that two
    machines' runs can be told apart (issue 54: 812 reads/s in one, 279 in another): the
    CPUs this process may use and any cgroup quota on them, the load, the kernel's
    autogroup (without it the web's nice and the clients' nice apply per thread), the
    versions of HAProxy, Redis, PostgreSQL and Python, and whether wrk is there."""

    def first_line(command: list[str]) -> str:
        if shutil.which(command[0]) is None:
            return "missing"
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        text = (done.stdout or done.stderr).strip().splitlines()
        return text[0] if text else "?"

    def read(path: str) -> str:
        try:
            return Path(path).read_text().strip()
        except OSError:
            return "-"

    postgres = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return "; ".join(
        [
            f"CPUs usable {len(os.sched_getaffinity(0))} of {os.cpu_count()}",
            f"cgroup cpu.max {read('/sys/fs/cgroup/cpu.max')}",
            f"load {os.getloadavg()[0]:.1f}",
            f"autogroup {read('/proc/sys/kernel/sched_autogroup_enabled')}",
            f"haproxy {first_line(['haproxy', '-v']).split(' - ')[0]}",
            f"redis {first_line(['redis-server', '--version']).split(' sha=')[0]}",
            f"postgres {postgres[-1].parts[-3] if postgres else 'missing'}",
            f"python {sys.version.split()[0]}",
            f"wrk {'yes' if shutil.which('wrk') else 'missing'}",
        ]
    )


def missing_tools(opts) -> list[str]:
    """Install what the bench needs when this machine can (``scripts/system_packages.sh
    bench``: root and apt-get), then say plainly what is still missing and which figure it
    costs: without wrk the proxy's comparison with gunicorn (target >= 10x) is not measured,
    and the table says so instead of a dash."""
    subprocess.run(["bash", str(REPO / "scripts" / "system_packages.sh"), "bench"], check=False)
    lines = []
    if shutil.which("wrk") is None and opts.wrk_seconds != 0:
        lines.append(
            "wrk is not installed: the proxy / gunicorn comparison (target >= 10x) is not "
            "measured in this run (install it as root: bash scripts/system_packages.sh bench)"
        )
    return lines


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
    codes: list[tuple[str, Path]] = [("", REPO)]
    if opts.before:
        from bench_scoring import code_at  # the bench's folder is the script's path

        codes.insert(0, (f"before ({opts.before})", code_at(opts.before, data_dir / "before")))
    elif opts.before_code:
        codes.insert(0, (f"before ({opts.before_code.name})", opts.before_code.resolve()))
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
    outcomes: dict[str, Outcome] = {}
    rows: dict[str, list[str]] = {}
    # The same cache setting of every revision back to back: the load of a shared machine
    # drifts less between them than between the two settings.
    settings = (("cache on", "1"), ("cache off", "0"))[: 1 if opts.cache_on_only else 2]
    for cache_name, flag in settings:
        for label, code in codes:
            name = f"{label} {cache_name}".strip()
            figures[name], outcomes[name], rows[name] = _phase(
                opts, env, fixture, db_url, data_dir, processes, name=name, flag=flag, code=code
            )
    for label, _code in codes if not opts.cache_on_only else ():
        on, off = f"{label} cache on".strip(), f"{label} cache off".strip()
        print(f"\n{(label + ': ') if label else ''}{'cached / uncached':<22}{'req/s':>8}{'p95':>8}")
        for kind, (rate, p95) in figures[on].items():
            off_rate, off_p95 = figures[off].get(kind, (float("nan"), float("nan")))
            p95_ratio = f"{p95 / off_p95:>7.2f}x" if off_p95 else ""
            print(f"{kind:<22}{rate / off_rate:>7.1f}x{p95_ratio}")
    if (opts.before or opts.before_code) and not opts.cache_on_only:
        print(f"\n{'phase':<32}{'boards x':>9}{'scored':>8}{'p95 s':>7}{'queued p95 s':>13}")
        for label, _code in codes:
            on, off = f"{label} cache on".strip(), f"{label} cache off".strip()
            ratio = figures[on]["all boards"][0] / figures[off]["all boards"][0]
            for name in (on, off):
                result = outcomes[name]
                print(
                    f"{name:<32}{ratio if name == on else 1.0:>8.1f}x{len(result.times):>8}"
                    f"{percentile(result.times, 95):>7.2f}{percentile(result.waits, 95):>13.2f}"
                )
    print_table(opts, rows)
    bad = any(result.lost or result.doubled for result in outcomes.values())
    return 1 if bad else 0


def _phase(
    opts,
    env: dict[str, str],
    fixture: Fixture,
    db_url: str,
    data_dir: Path,
    processes: list[Process],
    *,
    name: str,
    flag: str,
    code: Path,
) -> tuple[dict[str, tuple[float, float]], Outcome, list[str]]:
    """One phase: a worker and gunicorn of ``code``'s revision (started afresh, so that a
    ``--before`` revision's worker never takes this one's messages), ``BOARD_CACHE=flag``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    env = {**env, "PYTHONPATH": str(code)}
    worker_log = data_dir / f"worker-{slug}.log"
    worker = Process(
        "worker",
        worker_command("scoring,notifications", opts.worker_concurrency, "rush@%h"),
        env,
        worker_log,
        cwd=code,
    )
    processes.append(worker)
    wait_until(lambda: "ready." in worker_log.read_text(), timeout=120, what="the worker")
    start_renders(code, {**env, "BOARD_CACHE": flag}, data_dir, slug, processes)
    nice_env = {} if opts.web_nice is None else {"WEB_CPU_NICE": str(opts.web_nice)}
    port = free_port()
    web = Process(
        "web",
        gunicorn_command(port, opts.web_workers, opts.web_threads),
        {**env, "BOARD_CACHE": flag, **nice_env},
        data_dir / f"web-{slug}.log",
        cwd=code,
    )
    processes.append(web)
    base = f"http://{LOOPBACK}:{port}"
    wait_until(
        lambda: requests.get(base + "/api/v1/challenges/", timeout=5).ok,
        timeout=120,
        what="gunicorn",
    )
    clients_base = base
    if not opts.no_proxy:
        web_env = {**env, "BOARD_CACHE": flag, **nice_env}
        boards = start_board_server(opts, code, web_env, data_dir, slug)
        if boards is not None:
            processes.append(boards[0])
        proxy, clients_base = start_proxy(
            env,
            data_dir,
            web_port=port,
            per_server=opts.web_workers * opts.web_threads,
            slug=slug,
            board_port=None if boards is None else boards[1],
            per_board_server=opts.board_workers * opts.board_threads,
            code=code,
        )
        processes.append(proxy)
    measured = None
    board = f"/api/v1/tasks/{fixture.task_slug}/leaderboard/"
    if flag == "1" and shutil.which("wrk") is not None and opts.wrk_seconds > 0:
        targets = [("gunicorn", base + board)]
        if not opts.no_proxy:
            targets.append(("proxy", clients_base + board))
        delay = max(2.0, (opts.duration - len(targets) * opts.wrk_seconds) / 2)
        measured = WrkDuringPhase(
            targets,
            delay=delay,
            seconds=opts.wrk_seconds,
            connections=opts.wrk_connections,
            cpus=opts.clients_cpus,
        )
    cpu_before = cpu_seconds(processes)
    phase = run_phase(
        clients_base,
        fixture,
        readers=opts.readers,
        teams=opts.teams,
        duration=opts.duration,
        poll=opts.poll,
        processes=opts.client_processes,
        nice=opts.client_nice,
        cpus=opts.clients_cpus,
    )
    if measured is not None:
        measured.join()
    cpu_after = cpu_seconds(processes)
    result = outcome(db_url, phase, worker_log, settle=120)
    figures = report(f"{name} (BOARD_CACHE={flag})", phase, result)
    report_cpu(cpu_before, cpu_after, phase.seconds)
    if not opts.no_proxy:
        report_served_by(data_dir / f"haproxy-{slug}.log", fixture)
    if measured is not None:
        report_wrk(measured, board)
    for process in [p for p in processes if p.name in ("haproxy", "boards", "renders")] + [
        web,
        worker,
    ]:
        process.stop()
        processes.remove(process)
    return figures, result, table_row(phase, result, measured)


def start_renders(
    code: Path, env: dict[str, str], data_dir: Path, slug: str, processes: list[Process]
) -> None:
    """The Procfile's ``renders`` process (the boards rendered after each score, before a
    reader asks: ``leaderboard/cache/prerender.py``), when ``code``'s revision has one; added to
    ``processes`` (stopped with them)."""
    procfile = (code / "Procfile").read_text("utf-8")
    found = re.search(r"^renders:.* -Q (\S+)", procfile, re.M)
    if found is None:
        return
    log = data_dir / f"renders-{slug}.log"
    processes.append(
        Process("renders", worker_command(found.group(1), 1, "renders@%h"), env, log, cwd=code)
    )
    wait_until(lambda: "ready." in log.read_text(), timeout=120, what="the renders worker")


def seed_board(env: dict[str, str], fixture: Fixture, *, teams: int) -> None:
    """A board worth caching: one scored submission per team, written like a score would be
    (rows, then one refresh)."""
    script = f"""
import io, numpy as np, pandas as pd
from django.core.files.base import ContentFile
from django.utils import timezone
try:
    from challenges.models import Team
except ImportError:  # a checkout from before challenge_platform's split (--code, --before-code)
    from challenge_platform.models import Team
from datasets.models import Task
from leaderboard.refresh import task_leaderboard_refresh
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
