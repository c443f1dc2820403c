"""The deadline rush's clients (``bench/rush.py``): readers of the boards and uploading teams,
as threads spread over client processes at a lower CPU priority."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import requests
import urllib3
from load_test import Fixture, prediction_file

from runtime.cpu_priority import lower as lower_cpu_priority

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
    # Uploads sent again (same Idempotency-Key) after a connection closed without an
    # answer, and how many of those the server answered with the first attempt's submission.
    resent: int = 0
    replayed: int = 0
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

    def resend(self) -> None:
        with self.lock:
            self.resent += 1

    def replay(self) -> None:
        with self.lock:
            self.replayed += 1

    def board_verdict(self, p95: float) -> str:
        """The board target: p95 <= 0.5 s with every read answered (a 503 in a millisecond
        is no board: a phase whose reads failed does not meet it, however fast they failed)."""
        failed = sum(self.errors.values())
        if failed:
            return f"not met: {failed} reads failed"
        return "met" if p95 <= 0.5 else "not met"

    def figures(self) -> dict:
        """What a client process sends back (a Phase holds a lock, which does not pickle)."""
        with self.lock:
            return {
                "latencies": dict(self.latencies),
                "errors": dict(self.errors),
                "reasons": dict(self.reasons),
                "accepted": list(self.accepted),
                "refused": self.refused,
                "resent": self.resent,
                "replayed": self.replayed,
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
        self.resent += figures["resent"]
        self.replayed += figures["replayed"]


def pages(fixture: Fixture) -> dict[str, str]:
    task, track = fixture.task_slug, fixture.track_slug
    return {
        "task board (API)": f"/api/v1/tasks/{task}/leaderboard/",
        "task board (page)": f"/tasks/{task}/leaderboard/",
        "track board (API)": f"/api/v1/tracks/{track}/leaderboard/",
        "track board (page)": f"/tracks/{track}/",
    }


READER_AGENT = "rush-reader"


def reader(base: str, fixture: Fixture, phase: Phase, stop: threading.Event, seed: int) -> None:
    """One reader: the boards in turn, each read whole (body decoded as a browser would),
    on one kept-alive connection. Through urllib3, not requests: the readers stand for users'
    machines, yet share this one's CPUs at a lower priority, and requests' own work per read
    (a third of a CPU-millisecond for urllib3's, 1.7 ms for requests' on a 200 KB body) was
    most of what 100 readers in a closed loop measured as the board's latency."""
    pool = urllib3.PoolManager(
        maxsize=1,
        retries=False,
        timeout=urllib3.Timeout(total=60),
        headers={"User-Agent": READER_AGENT},  # how HAProxy's log tells readers from wrk
    )
    items = list(pages(fixture).items())
    i = seed
    while not stop.is_set():
        kind, path = items[i % len(items)]
        i += 1
        start = time.perf_counter()
        try:
            status = pool.request("GET", base + path).status
            error = None if status == 200 else f"HTTP {status}"
        except urllib3.exceptions.HTTPError as exc:
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
        # As chal uploads: a key per upload, and one more send with the same key when the
        # connection closed without an answer (the server makes one submission of both).
        key = str(uuid.uuid4())
        content = prediction_file(fixture, rng)
        response = None
        for attempt in range(2):
            try:
                response = session.post(
                    f"{base}/api/v1/tasks/{fixture.task_slug}/submissions/",
                    files={"file": ("predictions.csv", content, "text/csv")},
                    headers={"Idempotency-Key": key},
                    timeout=120,
                )
                break
            except requests.ConnectionError:
                session.close()
                if attempt == 0:
                    phase.resend()
                    continue
                phase.refuse("connection closed")
            except requests.RequestException as exc:
                phase.refuse(type(exc).__name__)
                break
        if response is None:
            time.sleep(1.0)
            continue
        if response.headers.get("Idempotent-Replayed") == "true":
            phase.replay()
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
    cpus: set[int] | None = None,
) -> None:
    """One client process: a thread per reader (or team) in ``indices``, from ``start_at``
    (wall clock, shared by every client process) for ``duration`` seconds, at a lower CPU
    priority (``nice``): the clients stand for users' machines, which would not take the
    server's cores. Each client process is a session of its own, so that its priority counts
    against the server's sessions (see ``runtime.cpu_priority``)."""
    os.setsid()
    if cpus:  # the clients' own CPUs, apart from the servers' (rush.py --clients-cpus)
        os.sched_setaffinity(0, cpus)
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
    cpus: set[int] | None = None,
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
            args=(role, indices, base, fixture, poll, start_at, duration, nice, results, cpus),
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
