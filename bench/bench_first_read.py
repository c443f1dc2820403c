"""The first read after a score, on the demo challenge (issue 54: "the first read after a
score is as fast as a warm read"; issue 50's 13 s first track board after new scores).

Builds the demo challenge (``manage.py load_demo``: every demo task, the same code paths as
``make run``; its AutoGluon baselines stay queued: no baseline worker runs) on a site of its
own (a temporary ``DATA_DIR`` with SQLite and a private Redis, as ``make run``), adds
``--teams`` teams with an API token each, and starts the processes of ``make run`` that a
score goes through: gunicorn (``web``), the scoring worker (``worker``) and, where the
revision has it, the ``renders`` worker (``leaderboard/cache/prerender.py``). Then ``--scores``
times, in turn over the teams and the classification track's tasks: a team uploads a
prediction file over the API, its submission is read every 20 ms until it is scored (the
same for every revision, so that only the read after it differs), and at once the reads a
user makes after a score are timed, each the first of its kind since the score:

- ``track API (token)``: ``GET /api/v1/tracks/classification/leaderboard/`` as the team
  (``chal leaderboard classification`` after ``chal submit --wait``; issue 50's read);
- ``track page (anonymous)``: ``GET /tracks/classification/`` without cookie;
- ``task API (token)``: the scored task's board;
- ``transfer API (token)``: the track's transfer matrix;

then the track API again (a warm read, the reference). Prints p50 / p95 / max of each
(target: the first read's p95 <= 0.5 s) and the ratio to the warm read.

``--code PATH`` runs the server processes with another checkout (its ``.venv`` if it has
one): the starting code's figures, measured alternating with this one's in the same sitting.

Run: .venv/bin/python bench/bench_first_read.py [--scores 50] [--teams 5] [--code PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests
from load_test import LOOPBACK, Process, percentile, wait_until
from run_from_request import local_site, manage, python_of, site_env

from runtime.localredis import free_port

REPO = Path(__file__).resolve().parents[1]
TRACK = "classification"
READS = ("track API (token)", "track page (anonymous)", "task API (token)", "transfer API (token)")
TARGET = 0.5


FIXTURE = """
import json, numpy as np, pandas as pd
from django.contrib.auth import get_user_model
try:
    from challenges.models import Challenge, Team, TeamMembership, Track
    from challenges.tokens import api_token_create
except ImportError:  # a checkout from before challenge_platform's split (--code, --before-code)
    from challenge_platform.models import Challenge, Team, TeamMembership, Track
    from challenge_platform.tokens import api_token_create
from datasets.models import Task
Challenge.objects.filter(slug="demo").update(daily_submission_limit=100000, rules="")
track = Track.objects.get(slug={track!r})
tasks = list(Task.objects.filter(track=track).order_by("order", "pk"))
tokens = []
for i in range({teams}):
    user = get_user_model().objects.create_user(f"first{{i}}", password=None)
    team = Team.objects.create(challenge=track.challenge, name=f"First read {{i}}")
    TeamMembership.objects.create(team=team, user=user, challenge=track.challenge)
    tokens.append(api_token_create(user=user)[1])
files = {{}}
rng = np.random.default_rng(0)
for task in tasks:
    with task.test_parquet.open("rb") as fh:
        ids = pd.read_parquet(fh, columns=["id"])["id"]
    with task.train_parquet.open("rb") as fh:
        labels = pd.read_parquet(fh, columns=["label"])["label"].unique()
    for k in range(4):
        path = {folder!r} + f"/{{task.slug}}-{{k}}.csv"
        pd.DataFrame({{"id": ids, "label": rng.choice(labels, len(ids))}}).to_csv(path, index=False)
        files.setdefault(task.slug, []).append(path)
print(json.dumps({{"tokens": tokens, "files": files}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=50)
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout the server runs")
    parser.add_argument(
        "--pause", type=float, default=2.0, help="seconds between a score's reads and the next"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="as make run")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=REPO / "var" / "cache",
        help="load_demo's downloaded sources (default: this checkout's var/cache, if there)",
    )
    parser.add_argument("--keep", action="store_true")
    opts = parser.parse_args()
    code = opts.code.resolve()
    with local_site("first-read-", keep=opts.keep) as (data_dir, redis_url, processes):
        return run(opts, code, data_dir, redis_url, processes)


def run(opts, code: Path, data_dir: Path, redis_url: str, processes: list[Process]) -> int:
    env = site_env(
        redis_url=redis_url, data_dir=data_dir, PYTHONUNBUFFERED="1", BENCHMARK_ON_ARRIVAL="0"
    )
    started = time.monotonic()
    manage(code, env, "migrate", "--no-input", "-v", "0")
    cache = opts.cache_dir
    demo = ["load_demo"] + (["--cache-dir", str(cache)] if cache.is_dir() else [])
    manage(code, env, *demo)
    manage(code, env, "collectstatic", "--no-input", "-v", "0")
    folder = data_dir / "predictions"
    folder.mkdir()
    fixture = json.loads(
        manage(
            code,
            env,
            "shell",
            "-c",
            FIXTURE.format(track=TRACK, teams=opts.teams, folder=str(folder)),
        ).strip().splitlines()[-1]
    )
    env = {**env, "PYTHONPATH": str(code)}
    python = python_of(code)
    worker_log = data_dir / "worker.log"
    celery = [python, "-m", "celery", "-A", "challenge_platform", "worker", "--loglevel", "INFO"]
    processes.append(
        Process(
            "worker",
            [*celery, "-Q", "scoring,notifications", "-c", "2", "-n", "scoring@%h"],
            env,
            worker_log,
            cwd=code,
        )
    )
    wait_until(lambda: "ready." in worker_log.read_text(), timeout=180, what="the worker")
    procfile = (code / "Procfile").read_text("utf-8")
    if "\nrenders:" in procfile:
        log = data_dir / "renders.log"
        command = [*celery, "-Q", "board_renders", "-c", "1", "--prefetch-multiplier", "1"]
        processes.append(Process("renders", [*command, "-n", "renders@%h"], env, log, cwd=code))
        wait_until(lambda: "ready." in log.read_text(), timeout=180, what="the renders worker")
    port = free_port()
    gunicorn = [
        python, "-m", "gunicorn", "challenge_platform.wsgi:application",
        "--bind", f"{LOOPBACK}:{port}", "--workers", str(opts.web_workers),
        "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
        "--config", "python:challenge_platform.gunicorn_config",
    ]  # fmt: skip
    processes.append(Process("web", gunicorn, env, data_dir / "web.log", cwd=code))
    base = f"http://{LOOPBACK}:{port}"
    wait_until(
        lambda: requests.get(base + "/api/v1/challenges/", timeout=5).ok,
        timeout=180,
        what="gunicorn",
    )
    print(
        f"First read after a score: the demo challenge ({code.name} at {_revision(code)}), "
        f"{opts.scores} scores by {opts.teams} teams on track {TRACK}; set up in "
        f"{time.monotonic() - started:.0f} s; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the start"
    )
    reads: dict[str, list[float]] = {name: [] for name in (*READS, "track API warm")}
    waits: list[float] = []
    tasks = sorted(fixture["files"])
    sessions = [requests.Session() for _ in fixture["tokens"]]
    for session, token in zip(sessions, fixture["tokens"], strict=True):
        session.headers["Authorization"] = f"Token {token}"
        session.headers["Accept"] = "application/json"
    anonymous = requests.Session()
    for i in range(opts.scores):
        team = i % len(sessions)
        session = sessions[team]
        slug = tasks[(i // len(sessions)) % len(tasks)]
        path = fixture["files"][slug][(i // (len(sessions) * len(tasks))) % 4]
        began = time.monotonic()
        with open(path, "rb") as fh:
            posted = session.post(
                f"{base}/api/v1/tasks/{slug}/submissions/", files={"file": fh}, timeout=120
            )
        posted.raise_for_status()
        pk = posted.json()["id"]
        while True:
            status = session.get(f"{base}/api/v1/submissions/{pk}/", timeout=60).json()["status"]
            if status in ("scored", "failed"):
                break
            time.sleep(0.02)
        waits.append(time.monotonic() - began)
        if status != "scored":
            raise SystemExit(f"submission {pk} failed")
        urls = {
            "track API (token)": (session, f"{base}/api/v1/tracks/{TRACK}/leaderboard/"),
            "track page (anonymous)": (anonymous, f"{base}/tracks/{TRACK}/"),
            "task API (token)": (session, f"{base}/api/v1/tasks/{slug}/leaderboard/"),
            "transfer API (token)": (session, f"{base}/api/v1/tracks/{TRACK}/transfer/"),
            "track API warm": (session, f"{base}/api/v1/tracks/{TRACK}/leaderboard/"),
        }
        for name, (client, url) in urls.items():
            t0 = time.monotonic()
            answer = client.get(url, timeout=300)
            reads[name].append(time.monotonic() - t0)
            if answer.status_code != 200:
                raise SystemExit(f"{url}: HTTP {answer.status_code}")
        time.sleep(opts.pause)
    print(f"upload to scored (polled every 20 ms): p50 {percentile(waits, 50):.2f} s, "
          f"p95 {percentile(waits, 95):.2f} s")
    warm = percentile(reads["track API warm"], 50)
    print(f"{'read (the first of its kind after each score)':<48}{'p50 s':>8}{'p95 s':>8}"
          f"{'max s':>8}{'p95 / warm p50':>16}")
    for name, times in reads.items():
        p95 = percentile(times, 95)
        print(f"{name:<48}{percentile(times, 50):>8.3f}{p95:>8.3f}{max(times):>8.3f}"
              f"{p95 / warm if warm else float('nan'):>15.1f}x")
    first = percentile(reads["track API (token)"], 95)
    verdict = "met" if first <= TARGET else "not met"
    print(f"first track API read p95 {first:.3f} s (target <= {TARGET} s: {verdict}); "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


def _revision(code: Path) -> str:
    import subprocess

    done = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
