"""Half-sent requests against the web server: gunicorn's ``gthread`` against the worker that
reads a request's head without a thread (runtime/web_worker.py, decision 0070).

For each worker class, gunicorn is started from the Procfile's ``web`` line (production's
3 processes x 8 threads, SQLite under a temporary ``DATA_DIR``, a private Redis), and for
each count of stalled clients (each sends a request line and one header, never the blank
line) ``/healthz`` is read ``--reads`` times, one after another, each with a 5 s bound.
Printed: reads answered, their median and worst seconds; then, with no stalled client, the
median of ``--plain`` sequential reads of ``/healthz`` with each class (what the head-first
read costs a request), ours / gthread.

Run: .venv/bin/python -m bench.bench_slow_clients [--reads 6] [--plain 300]
A measurement: exit 0 whatever it measures.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.bench_downloads import procfile_web
from bench.load_test import LOOPBACK, REPO, Process, run_manage, wait_until
from runtime.localredis import free_port, start_local_redis

CLASSES = ("gthread", "runtime.web_worker.HeadFirstWorker")
STALLS = (0, 12, 24, 48)
HALF_SENT = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"


def start(env: dict[str, str], worker_class: str, log: Path) -> tuple[Process, str]:
    port = free_port()
    line = procfile_web().replace("runtime.web_worker.HeadFirstWorker", worker_class)
    web_env = {**env, "WEB_BIND": f"{LOOPBACK}:{port}", "WEB_CONCURRENCY": "3"}
    process = Process(log.stem, ["/bin/sh", "-c", f"exec {line}"], web_env, log)
    base = f"http://{LOOPBACK}:{port}"
    wait_until(lambda: requests.get(f"{base}/healthz", timeout=5).ok, timeout=300, what="web")
    return process, base


def read_times(base: str, reads: int, bound: float) -> list[float | None]:
    times: list[float | None] = []
    for _ in range(reads):
        started = time.perf_counter()
        try:
            ok = requests.get(f"{base}/healthz", timeout=bound).ok
        except requests.RequestException:
            ok = False
        times.append(time.perf_counter() - started if ok else None)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=6)
    parser.add_argument("--plain", type=int, default=300)
    parser.add_argument("--classes", nargs="+", default=list(CLASSES), choices=CLASSES)
    opts = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-slow-clients-"))
    redis = start_local_redis(root / "redis", port=None)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.local",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": LOOPBACK,
        "REDIS_URL": redis.url,
        "DATA_DIR": str(root),
        "DATABASE_URL": f"sqlite:///{root}/db.sqlite3",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    plain: dict[str, float] = {}
    try:
        run_manage(env, "migrate", "--no-input", "-v", "0")
        print(f"{'worker class':<36} {'stalled':>7} {'answered':>9} {'median s':>9} {'worst s':>8}")
        for worker_class in opts.classes:
            process, base = start(env, worker_class, root / f"{worker_class}.log")
            try:
                times = read_times(base, opts.plain, 5.0)
                plain[worker_class] = statistics.median(t for t in times if t is not None)
                for stalled in STALLS:
                    host, port = base.removeprefix("http://").split(":")
                    conns = [socket.create_connection((host, int(port))) for _ in range(stalled)]
                    for conn in conns:
                        conn.sendall(HALF_SENT)
                    time.sleep(1)
                    times = read_times(base, opts.reads, 5.0)
                    for conn in conns:
                        conn.close()
                    done = [t for t in times if t is not None]
                    median = f"{statistics.median(done):.3f}" if done else "-"
                    worst = f"{max(done):.3f}" if done else "-"
                    print(f"{worker_class:<36} {stalled:>7} {len(done):>5}/{len(times):<3} "
                          f"{median:>9} {worst:>8}")  # fmt: skip
            finally:
                process.stop()
        for worker_class, seconds in plain.items():
            print(f"plain /healthz, median of {opts.plain}: {worker_class} {seconds * 1000:.2f} ms")
        if len(plain) == len(CLASSES):
            print(f"ours / gthread {plain[CLASSES[1]] / plain[CLASSES[0]]:.2f}")
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
