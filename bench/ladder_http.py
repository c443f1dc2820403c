"""``bench/bench_ladder.py --attack random|adaptive``: the attackers of decision 0068 and an honest
team, over HTTP through the real pipeline (docs/organizers/ladder.md).

A site of its own (a temporary ``DATA_DIR`` with SQLite, a private Redis; gunicorn and a
scoring worker as ``make run`` starts them). For each board mode and seed, a random-label
task of ``--rows`` test rows (``--public`` of them public) and an attacker's team with a
token; every upload is a Parquet file sent to ``POST /api/v1/tasks/<slug>/submissions/``,
scored by the worker, read back from ``GET /api/v1/submissions/<id>/`` (``climbed``) as a
participant reads it. The attackers (``bench/ladder_simulation.py`` plays the same in numpy):

- ``random``: k random label vectors, keep what the board says is better (plain: a public
  accuracy above 0.5; else: climbed), upload their row-wise majority;
- ``adaptive``: block flips of 40-60 public rows (the attacker knows which: its strongest
  form) of its current best, kept when the entry climbed.

The gap is the leader's shown public score (``GET .../leaderboard/``) minus its private
accuracy (the bench made the labels: it judges). ``--honest`` teams per mode upload a model
right on 70% of the rows, then one 0.03 better (9% of the rows fixed, 6% broken): the share
whose second entry climbed. Decisions per second: scored uploads over the wall time of the
mode's uploads (upload, scoring, the board's refresh and its decision, the read back).
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from load_test import LOOPBACK, Process, wait_until
from run_from_request import local_site, manage, python_of, site_env

from runtime.localredis import free_port

REPO = Path(__file__).resolve().parents[1]

SETUP = """
import json
from datetime import timedelta
from pathlib import Path
import pandas as pd
from django.contrib.auth import get_user_model
from django.utils import timezone
from challenges.models import Challenge, Team, TeamMembership
from challenges.tokens import api_token_create
from datasets.models import Task
from datasets.services import task_import
plan = json.loads(Path({plan!r}).read_text())
now = timezone.now()
Challenge.objects.create(slug="ladder-bench", title="Ladder bench", start=now - timedelta(days=1),
    end=now + timedelta(days=30), daily_submission_limit=100000)
out = {{}}
for name, spec in plan.items():
    task = task_import(source=Path(spec["bundle"]), challenge_slug="ladder-bench",
        track_slug="bench")
    Task.objects.filter(pk=task.pk).update(public_board=spec["mode"])
    with task.solution.open("rb") as handle:
        split = pd.read_parquet(handle)["split"].to_numpy()
    tokens = []
    for i in range(spec["teams"]):
        user = get_user_model().objects.create_user(username=f"{{name}}-{{i}}", password="x")
        team = Team.objects.create(challenge=task.track.challenge, name=f"{{name}}-{{i}}")
        TeamMembership.objects.create(team=team, user=user, challenge=task.track.challenge)
        tokens.append([team.pk, api_token_create(user=user)[1]])
    out[name] = {{"slug": task.slug, "tokens": tokens,
                 "public": [int(i) for i in (split == "public").nonzero()[0]]}}
print(json.dumps(out))
"""


def _bundle(folder: Path, *, slug: str, rows: int, public: int, seed: int) -> np.ndarray:
    """A random-label binary task's bundle; returns its labels (0/1, the solution's order)."""
    rng = np.random.default_rng(100 + seed)
    truth = rng.permutation(np.repeat([0, 1], rows // 2))
    ids = np.array([f"r{i:06d}" for i in range(rows)])
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(
        f"slug: {slug}\ntitle: {slug}\nkind: classification\npublic_fraction: {public / rows}\n"
        f"split_seed: {seed}\ncolumns:\n  x: numeric\n"
    )
    pd.DataFrame(
        {"id": [f"t{i}" for i in range(40)], "x": np.arange(40.0), "label": ["0", "1"] * 20}
    ).to_parquet(folder / "train.parquet", index=False)
    pd.DataFrame({"id": ids, "x": rng.normal(size=rows)}).to_parquet(
        folder / "test.parquet", index=False
    )
    pd.DataFrame({"id": ids, "label": truth.astype(str)}).to_parquet(
        folder / "solution.parquet", index=False
    )
    return truth


class Team:
    """One team's uploads over HTTP, each read back once scored."""

    def __init__(self, base: str, slug: str, token: str, ids: np.ndarray) -> None:
        self.base, self.slug, self.ids = base, slug, ids
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"
        self.sent: dict[int, np.ndarray] = {}
        self.climbs = 0
        self.last_climb: int | None = None  # the board's entry: the last that climbed

    def send(self, values: np.ndarray) -> dict:
        buffer = io.BytesIO()
        pd.DataFrame({"id": self.ids, "label": values.astype(str)}).to_parquet(buffer, index=False)
        response = self.http.post(
            f"{self.base}/api/v1/tasks/{self.slug}/submissions/",
            files={"file": ("p.parquet", buffer.getvalue())},
            timeout=120,
        )
        response.raise_for_status()
        pk = response.json()["id"]
        self.sent[pk] = values
        while True:
            seen = self.http.get(f"{self.base}/api/v1/submissions/{pk}/", timeout=60).json()
            if seen["status"] in ("scored", "failed"):
                if seen["climbed"]:
                    self.climbs += 1
                    self.last_climb = pk
                return seen
            time.sleep(0.05)

    def leader(self, team_id: int) -> tuple[float, int]:
        """The team's shown score on the board, and its entry (the last that climbed)."""
        board = self.http.get(f"{self.base}/api/v1/tasks/{self.slug}/leaderboard/", timeout=60)
        (mine,) = [e for e in board.json()["entries"] if e["team_id"] == team_id]
        assert self.last_climb is not None
        return float(mine["score"]), self.last_climb


def _random(team: Team, k: int, rng: np.random.Generator, laddered: bool, rows: int) -> None:
    vectors = rng.integers(0, 2, size=(k, rows))
    kept = []
    for j in range(k):
        seen = team.send(vectors[j])
        public = (seen["scores"].get("public") or {}).get("accuracy", 0.0)
        if seen["climbed"] if laddered else public > 0.5:
            kept.append(j)
    if kept:
        team.send((vectors[kept].sum(axis=0) * 2 >= len(kept)).astype(int))


def _adaptive(team: Team, k: int, rng: np.random.Generator, public: np.ndarray, rows: int) -> None:
    best = rng.integers(0, 2, size=rows)
    team.send(best)
    for _ in range(k - 1):
        candidate = best.copy()
        block = rng.choice(public, int(rng.integers(40, 61)), replace=False)
        candidate[block] ^= 1
        if team.send(candidate)["climbed"]:
            best = candidate


def run(args) -> None:
    with local_site("bench-ladder-") as (work, redis_url, processes):
        _run(args, work, redis_url, processes)


def _run(args, work: Path, redis_url: str, processes: list[Process]) -> None:
    data = work / "data"
    env = site_env(redis_url=redis_url, data_dir=data, log_level="WARNING",
                   BENCHMARK_ON_ARRIVAL="0", TEAM_UPLOAD_RATE="0")  # fmt: skip
    manage(REPO, env, "migrate", "--no-input", "-v", "0")
    plan, truths = {}, {}
    for mode in args.modes:
        for seed in args.seeds:
            name = f"{args.attack[:3]}-{mode}-{seed}"
            truths[name] = _bundle(work / name, slug=name, rows=args.rows, public=args.public,
                                   seed=seed)  # fmt: skip
            plan[name] = {"bundle": str(work / name), "mode": mode, "teams": 1}
        if args.honest:
            name = f"honest-{mode}"
            truths[name] = _bundle(work / name, slug=name, rows=args.rows, public=args.public,
                                   seed=999)  # fmt: skip
            plan[name] = {"bundle": str(work / name), "mode": mode, "teams": args.honest}
    (work / "plan.json").write_text(json.dumps(plan))
    made = json.loads(
        manage(REPO, env, "shell", "-c", SETUP.format(plan=str(work / "plan.json")))
        .strip()
        .splitlines()[-1]
    )
    env = {**env, "PYTHONPATH": str(REPO)}
    python = python_of(REPO)
    log = work / "worker.log"
    celery = [python, "-m", "celery", "-A", "challenge_platform", "worker", "--loglevel", "INFO",
              "-Q", "scoring,notifications", "-c", "1"]  # fmt: skip
    processes.append(Process("worker", celery, {**env, "LOG_LEVEL": "INFO"}, log))
    wait_until(lambda: "ready." in log.read_text(), timeout=180, what="the worker")
    port = free_port()
    gunicorn = [
        python, "-m", "gunicorn", "challenge_platform.wsgi:application", "--bind",
        f"{LOOPBACK}:{port}", "--workers", "1", "--worker-class", "gthread", "--threads", "4",
        "--config", "python:challenge_platform.gunicorn_config",
    ]  # fmt: skip
    processes.append(Process("web", gunicorn, env, work / "web.log"))
    base = f"http://{LOOPBACK}:{port}"
    wait_until(lambda: requests.get(base + "/api/v1/challenges/", timeout=5).ok, timeout=180,
               what="gunicorn")  # fmt: skip
    ids = np.array([f"r{i:06d}" for i in range(args.rows)])
    print(f"{args.attack} attack over HTTP: {args.rows:,} rows, {args.public:,} public, "
          f"k = {args.k}; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print("| mode | seed | shown public | private | gap | climbs | decisions/s |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for mode in args.modes:
        gaps, decisions, seconds = [], 0, 0.0
        for seed in args.seeds:
            name = f"{args.attack[:3]}-{mode}-{seed}"
            (team_id, token), = made[name]["tokens"]  # fmt: skip
            team = Team(base, made[name]["slug"], token, ids)
            rng = np.random.default_rng(seed)
            started = time.monotonic()
            if args.attack == "adaptive":
                _adaptive(team, args.k, rng, np.asarray(made[name]["public"]), args.rows)
            else:
                _random(team, args.k, rng, mode != "plain", args.rows)
            seconds += time.monotonic() - started
            decisions += len(team.sent)
            shown, leader = team.leader(team_id)
            private = np.ones(args.rows, dtype=bool)
            private[made[name]["public"]] = False
            right = team.sent[leader] == truths[name]
            gap = shown - float(right[private].mean())
            gaps.append(gap)
            print(f"| {mode} | {seed} | {shown:.4f} | {right[private].mean():.4f} | "
                  f"{gap:+.4f} | {team.climbs} | "
                  f"{len(team.sent) / (time.monotonic() - started):.2f} |", flush=True)  # fmt: skip
        summary[mode] = (float(np.mean(gaps)), decisions / seconds)
    honest = {mode: _honest(base, made, truths, mode, ids) for mode in args.modes if args.honest}
    print("\n| mode | mean gap | honest climbs | decisions/s |")
    print("|---|---|---|---|")
    for mode, (gap, rate) in summary.items():
        climbs = f"{honest[mode]:.0%}" if mode in honest else "-"
        print(f"| {mode} | {gap:+.4f} | {climbs} | {rate:.2f} |")
    print(f"load {os.getloadavg()[0]:.1f} at the end")


def _honest(base: str, made: dict, truths: dict, mode: str, ids: np.ndarray) -> float:
    """The share of honest teams whose better model climbed."""
    name = f"honest-{mode}"
    truth = truths[name]
    rng = np.random.default_rng(7)
    climbed = []
    for _, token in made[name]["tokens"]:
        team = Team(base, made[name]["slug"], token, ids)
        first = rng.random(truth.size) < 0.70
        draw = rng.random(truth.size)
        second = first.copy()
        second[~first & (draw < 0.09 / 0.30)] = True
        second[first & (draw < 0.06 / 0.70)] = False
        team.send(np.where(first, truth, 1 - truth))
        climbed.append(bool(team.send(np.where(second, truth, 1 - truth))["climbed"]))
    return float(np.mean(climbed))
