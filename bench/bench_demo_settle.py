"""The first hour: from "the platform is up" to the demo settled, as a newcomer meets it.

    .venv/bin/python bench/bench_demo_settle.py                      # a fresh clone of HEAD
    .venv/bin/python bench/bench_demo_settle.py --code /tmp/start    # a given checkout
    .venv/bin/python bench/bench_demo_settle.py --load               # beside a second one

The code (a fresh ``git clone`` of this repository's HEAD, or ``--code PATH``, e.g. a
``git worktree`` of the starting code to measure beside it in the same sitting) is started as
``make run`` starts it: ``manage.py runplatform`` (migrate, the accounts, ``load_demo``, then
every process of the Procfile) with a temporary ``DATA_DIR`` (its own SQLite database, Redis
and media), on ports of its own. The bench waits for "The platform is up", then asks
``manage.py benchmark_health --json`` every ``--poll`` seconds until it says ``settled`` (every
baseline, stress run, reproduction and champion decision final), and prints:

- the minutes from "up" to settled, and the load average (1 min) seen during them;
- each job's duration from the rows: the AutoGluon baselines, their stress runs and every
  other algorithm run (queued -> started -> finished), and the champion checks.

``--load`` starts a second ``make run``-like instance of the same code alongside (its own data
folder and ports, its own demo), the load of a second install on the same cores. Every process
started is stopped on exit, failure and Ctrl-C included (SIGTERM to each instance's process
group, as Ctrl-C stops ``make run``, then SIGKILL to what is left). No figure is asserted: the
machine's load decides the seconds, so the load is printed beside them.

The Python used is this checkout's ``.venv`` (``--python``): the same locked packages a fresh
clone's ``make run`` installs. The demo's downloaded sources are copied in from ``--demo-cache``
(default ``var/cache``) when there, so the bench measures no download (they happen before "up").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UP = "The platform is up"
NOT_INHERITED = ("REDIS_URL", "DATABASE_URL", "DEBUG", "DEV_SERVER", "STORAGE_BACKEND")
# The jobs' durations, read through the instance's own models (the code measured).
JOBS_SCRIPT = """
import json
from algorithms.models import AlgorithmRun
from leaderboard.models import ChampionCheck

def t(x):
    return x.timestamp() if x else None

rows = []
for r in AlgorithmRun.objects.select_related("task").order_by("created_at", "pk"):
    rows.append({"kind": r.profile, "task": r.task.slug, "status": r.status,
                 "queued": t(r.created_at), "started": t(r.started_at),
                 "finished": t(r.finished_at),
                 "options": {k: v for k, v in (r.options or {}).items()
                             if k in ("presets", "max_train_rows", "without_models", "max_rows")}})
for c in ChampionCheck.objects.select_related("task").order_by("created_at", "pk"):
    rows.append({"kind": "champion_check", "task": c.task.slug, "status": c.status,
                 "queued": t(c.created_at), "started": t(c.started_at),
                 "finished": t(c.finished_at), "options": {}})
print(json.dumps(rows))
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    """One ``runplatform`` started by the bench: its data folder, ports and log."""

    name: str
    code: Path
    python: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"{self.name}-runplatform.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update(DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1")
        env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py's own default, as make run
        return env

    def start(self, demo_cache: Path | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if demo_cache and demo_cache.is_dir():
            shutil.copytree(demo_cache, self.data_dir / "cache", dirs_exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [self.python, "manage.py", "runplatform",
                 "--port", str(self.port), "--redis-port", str(self.redis_port)],
                cwd=self.code, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def is_up(self) -> bool:
        return UP in self.log.read_text(errors="replace")

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, "manage.py", *args],
            cwd=self.code, env=self.env(), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def stop(self) -> None:
        """SIGTERM to the process group (runplatform stops every process it started), then
        SIGKILL to whatever is left of the group."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=90)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait(timeout=30)


def checkout(args: argparse.Namespace, work: Path) -> Path:
    """The code to start: ``--code``, else a fresh clone of this repository's HEAD."""
    if args.code:
        return args.code.resolve()
    target = work / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(target)],
                   check=True)  # fmt: skip
    return target


def wait_up(instance: Instance, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if instance.is_up():
            return time.time()
        if instance.process and instance.process.poll() is not None:
            raise SystemExit(f"{instance.name} stopped before it was up:\n{tail(instance)}")
        time.sleep(1)
    raise SystemExit(f"{instance.name} was not up within {timeout:.0f} s:\n{tail(instance)}")


def tail(instance: Instance, chars: int = 4000) -> str:
    return instance.log.read_text(errors="replace")[-chars:]


def health(instance: Instance) -> dict:
    done = instance.manage("benchmark_health", "--json", timeout=120)
    start = done.stdout.find("{")
    if start < 0:
        return {"settled": False, "error": (done.stderr or done.stdout)[-500:]}
    return json.loads(done.stdout[start:])


def jobs(instance: Instance) -> list[dict]:
    done = instance.manage("shell", "-c", JOBS_SCRIPT, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else []


def report(rows: list[dict], up: float) -> None:
    print("\n| job | task | options | status | queued (min after up) | waited s | ran s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        queued = (r["queued"] - up) / 60 if r["queued"] else None
        waited = r["started"] - r["queued"] if r["started"] and r["queued"] else None
        ran = r["finished"] - r["started"] if r["finished"] and r["started"] else None
        options = ", ".join(f"{k}={v}" for k, v in sorted(r["options"].items())) or "—"
        print(
            f"| {r['kind']} | {r['task']} | {options} | {r['status']} |"
            f" {fmt(queued, 1)} | {fmt(waited, 0)} | {fmt(ran, 0)} |"
        )
    ran = [r for r in rows if r["finished"] and r["started"]]
    by_kind: dict[str, list[float]] = {}
    for r in ran:
        by_kind.setdefault(r["kind"], []).append(r["finished"] - r["started"])
    for kind, seconds in sorted(by_kind.items()):
        total, longest = sum(seconds), max(seconds)
        print(f"{kind}: {len(seconds)} jobs, {total:.0f} s in all, longest {longest:.0f} s")


def fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def revision(code: Path) -> str:
    done = subprocess.run(["git", "-C", str(code), "log", "-1", "--format=%h %s"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip() or "(not a git checkout)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=None, help="a checkout (default: a clone)")
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"))
    parser.add_argument("--load", action="store_true", help="a second instance alongside")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between polls")
    parser.add_argument("--up-timeout", type=float, default=1800.0)
    parser.add_argument("--timeout", type=float, default=3 * 3600.0, help="give up after, s")
    parser.add_argument("--demo-cache", type=Path, default=REPO / "var" / "cache")
    parser.add_argument("--work", type=Path, default=None, help="keep the data folders here")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-settle-"))
    work.mkdir(parents=True, exist_ok=True)
    instances: list[Instance] = []

    def stop_all(signum: int | None = None, frame: object = None) -> None:
        for instance in instances:
            instance.stop()
        if signum is not None:
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    try:
        code = checkout(args, work)
        print(f"code: {code} ({revision(code)}); work folder {work}", flush=True)
        main_one = Instance("measured", code, args.python, work / "measured-data")
        instances.append(main_one)
        if args.load:
            instances.append(Instance("load", code, args.python, work / "load-data"))
        for instance in instances:
            instance.start(args.demo_cache)
        up = wait_up(main_one, args.up_timeout)
        print(f"up at {time.strftime('%H:%M:%S', time.gmtime(up))} UTC"
              f" (load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
        loads: list[float] = []
        state: dict = {}
        while time.time() - up < args.timeout:
            loads.append(os.getloadavg()[0])
            state = health(main_one)
            if state.get("settled"):
                break
            if main_one.process and main_one.process.poll() is not None:
                raise SystemExit(f"the platform stopped before it settled:\n{tail(main_one)}")
            print(
                f"  {(time.time() - up) / 60:5.1f} min: {state.get('counts') or state}", flush=True
            )
            time.sleep(args.poll)
        settled = time.time()
        minutes = (settled - up) / 60
        word = "settled" if state.get("settled") else "NOT settled (timeout)"
        print(
            f"\n{word} {minutes:.1f} min after up"
            f" ({'beside a second instance' if args.load else 'alone'});"
            f" load average (1 min) during it: mean {sum(loads) / len(loads):.1f},"
            f" min {min(loads):.1f}, max {max(loads):.1f}; {os.cpu_count()} cores"
        )
        report(jobs(main_one), up)
    finally:
        stop_all()


if __name__ == "__main__":
    main()
