"""``chal`` as a user meets it, against ``curl`` doing the same (issue 54: "chal starts fast").

A site of its own (a temporary ``DATA_DIR`` with SQLite, a private Redis; gunicorn and the
scoring worker as ``make run`` starts them) with a classification task of ``--rows`` test rows
and a prediction file of as many rows (CSV). Each client runs ``--repeat`` times, in turn
(``--chal`` names another ``chal`` to time too, e.g. the starting code's, against the same
server):

- ``--help``: ``chal --help``, a fresh process (target <= 0.15 s); floor: ``python -c pass``;
- ``submit``: ``chal submit TASK FILE`` and ``curl -F file=@FILE`` of the same file: how long
  after the command started the upload reached the server (the submission's ``created_at``,
  the server's clock: the same machine) and how long the command took (target: within
  0.3 s of curl);
- ``submit --wait``: ``chal submit TASK FILE --wait`` and ``curl`` uploading then reading the
  submission every 0.1 s until scored (the issue's comparison): how long after the score
  existed the command returned (target <= 0.3 s). The score exists once its transaction
  committed (the board refreshed with it, in the same transaction: ``finished_at`` is
  stamped before that), seen here by reading the database every 5 ms.

Medians and maxima are printed; no timed assertion (the machine may be shared).

Run: .venv/bin/python bench/bench_cli.py [--rows 1000000] [--repeat 5] [--chal PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests
from load_test import LOOPBACK, Process, wait_until
from run_from_request import SETUP, TRIVIAL, local_site, manage, python_of, site_env

from runtime.localredis import free_port

REPO = Path(__file__).resolve().parents[1]
CURL_WAIT = """
set -e
auth="Authorization: Token $TOKEN"
answer=$(curl -sf -H "$auth" -F "file=@$FILE" "$BASE/api/v1/tasks/$TASK/submissions/")
id=$(printf '%s' "$answer" | grep -o '"id": *[0-9]*' | head -1 | grep -o '[0-9]*$')
while true; do
  status=$(curl -sf -H "$auth" "$BASE/api/v1/submissions/$id/" \
    | grep -o '"status": *"[a-z]*"' | head -1 | grep -o '[a-z]*"$' | tr -d '"')
  case "$status" in scored|failed) echo "$id"; exit 0 ;; esac
  sleep 0.1
done
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chal", type=Path, action="append", default=[], help="another chal")
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds after each score before the next command (the score's own follow-up "
        "work, intervals and checks, is not the next command's)",
    )
    opts = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed: the bench compares chal with it (install curl)")
    with local_site("bench-cli-") as (work, redis_url, processes):
        return run(opts, work, redis_url, processes)


def run(opts, work: Path, redis_url: str, processes: list[Process]) -> int:
    data = work / "data"
    env = site_env(
        redis_url=redis_url,
        data_dir=data,
        log_level="WARNING",
        BENCHMARK_ON_ARRIVAL="0",
        SUBMISSION_MAX_BYTES=str(1 << 30),
    )
    manage(REPO, env, "migrate", "--no-input", "-v", "0")
    setup = SETUP.format(work=str(work), trivial=TRIVIAL, sizes=[opts.rows])
    fixture = json.loads(manage(REPO, env, "shell", "-c", setup).strip().splitlines()[-1])
    slug = fixture["tasks"][str(opts.rows)]["slug"]
    predictions = work / "predictions.csv"
    with predictions.open("w") as fh:
        fh.write("id,label\n")
        fh.writelines(f"r{i},bird\n" for i in range(opts.rows))
    env = {**env, "PYTHONPATH": str(REPO)}
    python = python_of(REPO)
    log = work / "worker.log"
    celery = [python, "-m", "celery", "-A", "challenge_platform", "worker", "--loglevel", "INFO"]
    processes.append(Process("worker", [*celery, "-Q", "scoring,notifications", "-c", "2"],
                             {**env, "LOG_LEVEL": "INFO"}, log))  # fmt: skip
    wait_until(lambda: "ready." in log.read_text(), timeout=180, what="the worker")
    port = free_port()
    gunicorn = [
        python, "-m", "gunicorn", "challenge_platform.wsgi:application", "--bind",
        f"{LOOPBACK}:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "8",
        "--config", "python:challenge_platform.gunicorn_config",
    ]  # fmt: skip
    processes.append(Process("web", gunicorn, env, work / "web.log"))
    base = f"http://{LOOPBACK}:{port}"
    wait_until(lambda: requests.get(base + "/api/v1/challenges/", timeout=5).ok, timeout=180,
               what="gunicorn")  # fmt: skip
    chals = {"chal": REPO / ".venv" / "bin" / "chal"}
    for other in opts.chal:
        chals[f"chal ({other})"] = other
    client_env = {
        **os.environ,
        "CHAL_SERVER": base,
        "CHAL_TOKEN": fixture["token"],
        "CHAL_CONFIG": str(work / "chal.json"),
        "TOKEN": fixture["token"],
        "BASE": base,
        "TASK": slug,
        "FILE": str(predictions),
    }
    db = sqlite3.connect(data / "db.sqlite3", check_same_thread=False)
    seen = _ScoredWatch(data / "db.sqlite3")
    size = predictions.stat().st_size
    print(
        f"chal against curl: a {opts.rows:,}-row CSV ({size / 2**20:.1f} MiB), {opts.repeat} "
        f"times each in turn; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    curl = ["curl", "-sf", "-H", f"Authorization: Token {fixture['token']}", "-F",
            f"file=@{predictions}", f"{base}/api/v1/tasks/{slug}/submissions/"]  # fmt: skip
    for turn in range(opts.repeat):
        note("python -c pass (floor of --help)", _timed([python, "-c", "pass"], client_env)[0])
        for name, chal in chals.items():
            note(f"{name} --help", _timed([str(chal), "--help"], client_env)[0])
        for name, command in _turned(turn, [
            ("curl -F (upload)", curl),
            *[(f"{n} submit", [str(c), "submit", slug, str(predictions), "--json"])
              for n, c in chals.items()],
        ]):  # fmt: skip
            started_at = time.time()
            seconds, out = _timed(command, client_env)
            pk = json.loads(out)["id"]
            created, _ = _times(db, pk)
            note(f"{name}: start -> at the server", created - started_at)
            note(f"{name}: whole command", seconds)
            _wait_scored(db, pk)
            time.sleep(opts.settle)
        for name, command in _turned(turn, [
            ("curl upload + read every 0.1 s", ["bash", "-c", CURL_WAIT]),
            *[(f"{n} submit --wait", [str(c), "submit", slug, str(predictions), "--wait"])
              for n, c in chals.items()],
        ]):  # fmt: skip
            started_at = time.time()
            seconds, out = _timed(command, client_env)
            ended_at = started_at + seconds
            pk = _last_submission(db)
            note(f"{name}: score committed -> command returned", ended_at - seen.scored_at(pk))
            note(f"{name}: whole command", seconds)
            time.sleep(opts.settle)
    width = max(len(name) for name in figures) + 2
    print(f"\n{'figure':<{width}}{'median s':>10}{'max s':>9}")
    for name, values in figures.items():
        print(f"{name:<{width}}{statistics.median(values):>10.3f}{max(values):>9.3f}")
    seen.stop()
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    return 0


class _ScoredWatch:
    """When each submission was first seen scored in the database (read every 5 ms): the
    moment its score's transaction committed, within 5 ms."""

    def __init__(self, path: Path) -> None:
        import threading

        self.seen: dict[int, float] = {}
        self.stopped = threading.Event()
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.005):
            rows = self.db.execute(
                "select id from scoring_submission where status = 'scored' and id > ?",
                (max(self.seen, default=0),),
            ).fetchall()
            now = time.time()
            for (pk,) in rows:
                self.seen.setdefault(pk, now)

    def scored_at(self, pk: int) -> float:
        deadline = time.monotonic() + 10
        while pk not in self.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.seen[pk]

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def _turned(turn: int, items: list) -> list:
    """``items`` rotated by ``turn``: each client goes first as often as the others."""
    turn %= len(items)
    return items[turn:] + items[:turn]


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stderr[-2000:]}")
    return seconds, done.stdout


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _times(db: sqlite3.Connection, pk: int) -> tuple[float, float | None]:
    created, finished = db.execute(
        "select created_at, finished_at from scoring_submission where id = ?", (pk,)
    ).fetchone()
    return _epoch(created), _epoch(finished)


def _wait_scored(db: sqlite3.Connection, pk: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _times(db, pk)[1] is not None:
            return
        time.sleep(0.05)
    raise SystemExit(f"submission {pk} was not scored")


def _last_submission(db: sqlite3.Connection) -> int:
    return db.execute("select max(id) from scoring_submission").fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
