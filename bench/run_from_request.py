"""``bench/bench_run_cost.py --from-request``: a run as a user meets it, from the request to
the score, against its ``main.py`` bare (issue 54: within 1.2x).

A site of its own (a temporary ``DATA_DIR`` with SQLite, a private Redis) running the
processes of ``make run`` a run goes through: gunicorn (``web``), the scoring worker, the
algorithms worker (bubblewrap sandbox, every limit on) and the renders worker. For each size
a classification task of that many test rows is imported (as ``bench_run_cost.py``'s), and
``--repeat`` times, in turn:

- **bare**: ``python main.py`` in a fresh process on the task's files;
- **from request**: ``POST /api/v1/algorithms/<id>/runs/`` (``{"tasks": [slug]}``) with the
  team's token, then waiting as ``chal algorithm submit --wait`` waits (its own code,
  ``chal_client.waiting.Watcher``: a read held by the server until the status changes, or
  chal's polling on a server that does not hold one) until the run has succeeded and its
  submission is scored; the clock stops when the client sees it scored.

Printed per size: the medians, from-request / bare (target <= 1.2x), what a run adds to its
program (the median, over the pairs, of each from-request time less the bare time just
before it: steadier than the ratio on a shared host; issue 68's target: <= 0.03 s), and
where the run's time went by the rows' own clocks (request -> created -> claimed -> the
sandbox -> finished -> its submission scored -> seen). ``--code PATH`` runs the server
processes with another checkout (its ``.venv`` if it has one). ``--before-code PATH`` starts
a second site with another checkout (the starting code) beside the first, and each
repetition runs the bare program, then one run on each site, in alternating order: both
under the same load, and the change printed as the median, over the turns, of one site's run
less the other's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from load_test import LOOPBACK, Process, wait_until

from runtime.localredis import free_port, start_local_redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "client"))  # the client's own code: how chal waits

from chal_client.client import Client  # noqa: E402
from chal_client.waiting import Watcher  # noqa: E402

TARGET = 1.2
OVER_TARGET = 0.03  # issue 68: what a run adds to its program, at 10k rows
RUN_SECONDS = 300.0  # a run not scored by then is reported, not waited for
TRIVIAL = """
import json, os
import pyarrow as pa
import pyarrow.parquet as pq

task, out = os.environ["TASK_DIR"], os.environ["OUTPUT_DIR"]
label = json.load(open(os.path.join(task, "task.json")))["classes"][0]
ids = pq.read_table(os.path.join(task, "test.parquet"), columns=["id"]).column("id")
pq.write_table(
    pa.table({"id": ids, "label": pa.repeat(label, len(ids))}),
    os.path.join(out, "predictions.parquet"),
)
"""

SETUP = """
import io, json, zipfile
from datetime import timedelta
from pathlib import Path
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from algorithms.services.upload import algorithm_version_create
from algorithms.services.taskfolder import task_folder_write
try:  # a checkout from before challenge_platform's split (--before-code); the old layout first,
    # as this repository's editable install would find its own `challenges` for an old checkout
    from challenge_platform.models import Challenge, Team, TeamMembership
    from challenge_platform.tokens import api_token_create
except ImportError:
    from challenges.models import Challenge, Team, TeamMembership
    from challenges.tokens import api_token_create
from datasets.services import task_import
work = Path({work!r})
now = timezone.now()
challenge = Challenge.objects.create(slug="bench", title="Bench", start=now - timedelta(days=1),
    end=now + timedelta(days=30), daily_submission_limit=100000)
user = get_user_model().objects.create_user(username="u", password="x")
team = Team.objects.create(challenge=challenge, name="team")
TeamMembership.objects.create(team=team, user=user, challenge=challenge)
token = api_token_create(user=user)[1]
archive = io.BytesIO()
with zipfile.ZipFile(archive, "w") as z:
    z.writestr("algorithm.yaml", "name: Trivial\\nentrypoint: main.py\\n")
    z.writestr("main.py", {trivial!r})
version = algorithm_version_create(challenge=challenge, user=user,
    file=SimpleUploadedFile("a.zip", archive.getvalue()), name="Trivial")
classes = pa.array(["bird", "cat", "dog"])
tasks = {{}}
for rows in {sizes!r}:
    rng = np.random.default_rng(rows)
    folder = work / f"bundle-{{rows}}"
    folder.mkdir()
    (folder / "task.yaml").write_text(
        f"slug: cost-{{rows}}\\ntitle: cost {{rows}}\\nkind: classification\\n")
    train_ids = pa.array(np.char.add("t", np.arange(10000).astype(str)))
    pq.write_table(pa.table({{"id": train_ids, "f": rng.random(10000),
        "label": classes.take(rng.integers(0, 3, 10000))}}), folder / "train.parquet")
    ids = pa.array(np.char.add("r", np.arange(rows).astype(str)))
    pq.write_table(pa.table({{"id": ids, "f": rng.random(rows)}}), folder / "test.parquet")
    pq.write_table(pa.table({{"id": ids, "label": classes.take(rng.integers(0, 3, rows))}}),
        folder / "solution.parquet")
    task = task_import(source=folder, challenge_slug="bench", track_slug="bench")
    bare = task_folder_write(task=task, folder=work / f"bare-task-{{rows}}")
    tasks[rows] = {{"slug": task.slug, "folder": str(bare)}}
print(json.dumps({{"token": token, "algorithm": version.algorithm_id, "tasks": tasks}}))
"""


@contextmanager
def local_site(prefix: str, *, keep: bool = False) -> Iterator[tuple[Path, str, list[Process]]]:
    """A work folder with a private Redis for a bench's server processes: yields the folder,
    the Redis URL and the list the bench adds its processes to; at the end the processes stop
    (last started first), then Redis, and the folder goes (``keep``: it stays, and is named)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    redis = start_local_redis(work / "redis", port=None)
    processes: list[Process] = []
    try:
        yield work, redis.url, processes
    finally:
        for process in reversed(processes):
            process.stop()
        redis.stop()
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def site_env(
    *, redis_url: str, data_dir: Path, log_level: str = "INFO", **extra: str
) -> dict[str, str]:
    """The environment of a bench's server processes and manage.py commands: local settings
    without DEBUG, a secret of this run's own, loopback only, this run's Redis and data."""
    return {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.local",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": LOOPBACK,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": log_level,
        **extra,
    }


def python_of(code: Path) -> str:
    own = code / ".venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


def manage(code: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [python_of(code), str(code / "manage.py"), *args],
        env={**env, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        tail = f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        raise SystemExit(f"manage.py {args[0]} failed:\n{tail}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-request", action="store_true", required=True)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each way, in turn")
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout the server runs")
    parser.add_argument(
        "--before-code",
        type=Path,
        help="another checkout (the starting code) run as a second site beside the first: "
        "each repetition runs the bare program, then a run on each site, in alternating order",
    )
    parser.add_argument("--keep", action="store_true")
    opts = parser.parse_args()
    codes = [opts.code.resolve()] + ([opts.before_code.resolve()] if opts.before_code else [])
    with contextlib.ExitStack() as stack:
        sites = []
        for code in codes:
            work, redis_url, processes = stack.enter_context(
                local_site("run-from-request-", keep=opts.keep)
            )
            sites.append(_start_site(opts, code, work, redis_url, processes))
        return measure(opts, sites)


@dataclass
class Site:
    """A running site of one checkout: its code, environment, folder, client and fixture,
    and what was measured on it."""

    code: Path
    env: dict[str, str]
    work: Path
    client: Client
    fixture: dict
    label: str
    runs: dict[int, list[Timed]] = field(default_factory=dict)


def _start_site(opts, code: Path, work: Path, redis_url: str, processes: list[Process]) -> Site:
    env = site_env(
        redis_url=redis_url,
        data_dir=work / "data",
        PYTHONUNBUFFERED="1",
        BENCHMARK_ON_ARRIVAL="0",
        BENCHMARK_REUSE_RESULTS="0",
        REPRODUCTION_SHARE="0",
        BENCHMARK_CPU_HOURS_PER_DAY="10000",
    )
    manage(code, env, "migrate", "--no-input", "-v", "0")
    setup = SETUP.format(work=str(work), trivial=TRIVIAL, sizes=list(opts.rows))
    fixture = json.loads(manage(code, env, "shell", "-c", setup).strip().splitlines()[-1])
    env = {**env, "PYTHONPATH": str(code)}
    python = python_of(code)
    celery = [python, "-m", "celery", "-A", "challenge_platform", "worker", "--loglevel", "INFO"]
    workers = [
        ("worker", ["-Q", "scoring,notifications", "-c", "2", "-n", "scoring@%h"]),
        ("algorithms", ["-Q", "algorithms", "-c", "2", "--prefetch-multiplier", "1",
                        "-n", "algorithms@%h"]),
    ]  # fmt: skip
    if "\nrenders:" in (code / "Procfile").read_text("utf-8"):
        workers.append(("renders", ["-Q", "board_renders", "-c", "1", "-n", "renders@%h"]))
    for name, args in workers:
        log = work / f"{name}.log"
        processes.append(Process(name, [*celery, *args], env, log, cwd=code))
        wait_until(lambda log=log: "ready." in log.read_text(), timeout=180, what=name)
    port = free_port()
    gunicorn = [
        python, "-m", "gunicorn", "challenge_platform.wsgi:application",
        "--bind", f"{LOOPBACK}:{port}", "--workers", "2", "--worker-class", "gthread",
        "--threads", "8", "--timeout", "120",
        "--config", "python:challenge_platform.gunicorn_config",
    ]  # fmt: skip
    processes.append(Process("web", gunicorn, env, work / "web.log", cwd=code))
    base = f"http://{LOOPBACK}:{port}"
    wait_until(
        lambda: requests.get(base + "/api/v1/challenges/", timeout=5).ok,
        timeout=180,
        what="gunicorn",
    )
    label = f"{code.name} at {_revision(code)}"
    return Site(code, env, work, Client(base, fixture["token"]), fixture, label)


def measure(opts, sites: list[Site]) -> int:
    work = sites[0].work
    main_py = work / "main.py"
    main_py.write_text(TRIVIAL)
    names = " and ".join(site.label for site in sites)
    print(
        f"a run from the request to its score ({names}), bare and from the request, "
        f"{opts.repeat} times each in turn; load {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    results = []
    for rows in opts.rows:
        for site in sites:  # warms each site's processes
            slug = site.fixture["tasks"][str(rows)]["slug"]
            _from_request(site.client, site.fixture["algorithm"], slug)
            site.runs[rows] = []
        bares = []
        folder = Path(sites[0].fixture["tasks"][str(rows)]["folder"])
        for turn in range(opts.repeat):
            bares.append(_bare(folder, main_py, work))
            for site in sites if turn % 2 == 0 else sites[::-1]:
                slug = site.fixture["tasks"][str(rows)]["slug"]
                site.runs[rows].append(_from_request(site.client, site.fixture["algorithm"], slug))
        results.append((rows, bares))
        for site in sites:
            seen = site.runs[rows]
            median = statistics.median(t.seconds for t in seen)
            print(f"\n{rows:,} test rows, {site.label}: bare {statistics.median(bares):.3f} s, "
                  f"from request {median:.3f} s (medians of {opts.repeat}); by the rows' clocks:")
            parts = _parts(site.code, site.env, seen)
            for name in dict.fromkeys(name for part in parts for name in part):
                values = [part[name] for part in parts if part.get(name) is not None]
                if values:
                    print(f"  {name:<66} {statistics.median(values):>7.3f} s ({len(values)})")
    _summary(sites, results)
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    return 0


def _summary(sites: list[Site], results: list[tuple[int, list[float]]]) -> None:
    print(f"\n{'rows':>11} {'code':>16} {'bare s':>8} {'request s':>10} {'request / bare':>15}"
          f" {'target':>7} {'met?':>5} {'over bare s':>12} {f'<= {OVER_TARGET:g} s?':>11}")
    for rows, bares in results:
        for site in sites:
            runs = [t.seconds for t in site.runs[rows]]
            ratio = statistics.median(runs) / statistics.median(bares)
            # What a run adds to its program, each run against the bare one of its turn: a
            # shared host's load drifts less within a turn than across the sitting.
            over = statistics.median(run - bare for bare, run in zip(bares, runs, strict=True))
            print(f"{rows:>11,} {site.label[:16]:>16} {statistics.median(bares):>8.3f}"
                  f" {statistics.median(runs):>10.3f} {ratio:>14.2f}x {TARGET:>6.1f}x"
                  f" {'yes' if ratio <= TARGET else 'no':>5} {over:>12.3f}"
                  f" {'yes' if over <= OVER_TARGET else 'no':>11}")
        if len(sites) == 2:
            first, second = (site.runs[rows] for site in sites)
            change = statistics.median(
                a.seconds - b.seconds for a, b in zip(first, second, strict=True)
            )
            print(f"{'':>11} {'change':>16} {change:+.3f} s a run, median of the turns"
                  f" ({sites[0].label} less {sites[1].label})")


def _bare(folder: Path, main_py: Path, work: Path) -> float:
    out = work / "bare-output"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TASK_DIR": str(folder),
           "OUTPUT_DIR": str(out), "SEED": "0"}  # fmt: skip
    started = time.perf_counter()
    subprocess.run([sys.executable, "-B", "-s", str(main_py)], env=env, check=True)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Timed:
    """One run from the request: its id, the seconds until the client saw it scored, and the
    wall clock (``time.time()``, the rows' clock on this host) at the request and then."""

    run: int
    seconds: float
    requested: float
    seen: float


def _from_request(client: Client, algorithm: int, slug: str) -> Timed:
    """Seconds from the request to the client seeing the run's submission scored."""
    requested, started = time.time(), time.perf_counter()
    queued = client.post(f"algorithms/{algorithm}/runs/", {"tasks": [slug]})
    (run,) = queued["runs"]
    watcher = Watcher(client, f"algorithm-runs/{run['id']}/")
    while True:
        waited = time.perf_counter() - started
        if waited > RUN_SECONDS:  # stranded (this bench starts no beat, so no sweeper)
            raise SystemExit(
                f"run {run['id']} was not scored {RUN_SECONDS:.0f} s after its request: "
                f"{run.get('status')}, its submission {run.get('submission_status')}"
            )
        fresh = watcher.next(RUN_SECONDS - waited)
        if fresh is None:
            continue
        run = fresh
        if run["status"] in ("failed", "cancelled"):
            raise SystemExit(f"run {run['id']} {run['status']}: {run.get('error')}")
        if run["status"] == "succeeded" and run.get("submission_status") in ("scored", "failed"):
            seconds = time.perf_counter() - started
            return Timed(run=run["id"], seconds=seconds, requested=requested, seen=time.time())


CLOCKS = """
import json
from algorithms.models import AlgorithmRun
def at(value):
    return value.timestamp() if value else None
out = {{}}
for run in AlgorithmRun.objects.filter(pk__in={runs!r}).select_related("submission"):
    sub = run.submission
    out[run.pk] = {{
        "created": at(run.created_at), "claimed": at(run.started_at),
        "finished": at(run.finished_at),
        "wall": (run.manifest or {{}}).get("wall_seconds", run.seconds),
        "sub_claimed": at(sub.started_at) if sub else None,
        "sub_scored": at(sub.finished_at) if sub else None,
        "scoring_seconds": sub.scoring_seconds if sub else None,
    }}
print(json.dumps(out))
"""


def _parts(code: Path, env: dict[str, str], seen: list[Timed]) -> list[dict[str, float]]:
    """Where each run's time went, by the rows' own clocks (the run's and its submission's,
    read from the database after the runs: the API shows only some of them)."""
    out = manage(code, env, "shell", "-c", CLOCKS.format(runs=[t.run for t in seen]))
    clocks = json.loads(out.strip().splitlines()[-1])
    parts = []
    for timed in seen:
        c = clocks[str(timed.run)]
        scored = max(c["finished"], c["sub_scored"] or c["finished"])
        part = {
            "from request to scored, seen by the client": timed.seconds,
            "request -> run created (the web)": c["created"] - timed.requested,
            "created -> a worker claimed it (broker, pickup)": c["claimed"] - c["created"],
            "the program in the sandbox (wall)": float(c["wall"] or 0.0),
            "claimed -> run finished, less the sandbox (stage, check, outcome)": (
                c["finished"] - c["claimed"] - float(c["wall"] or 0.0)
            ),
        }
        if c["sub_claimed"] is not None and c["sub_claimed"] >= c["finished"]:
            part["run finished -> submission claimed (a second job)"] = (
                c["sub_claimed"] - c["finished"]
            )
            part["submission claimed -> scored (its scoring_seconds)"] = (
                c["sub_scored"] - c["sub_claimed"]
            )
        else:  # scored in the run's own transaction
            part["submission scored in the run (its scoring_seconds)"] = c["scoring_seconds"]
        part["scored -> seen by the client"] = timed.seen - scored
        parts.append(part)
    return parts


def _revision(code: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
