"""The chaos run's faults (bench/chaos.py): each planned fault of bench/chaos_schedule.py done
to the many-hosts deployment, at its time, in a thread of its own (so they overlap), with
what it hit written down when it began and when it healed. A killed process is started
again by the run's supervisor after the planned delay, as a container's restart policy
would. Every fault and every heal is printed with its time.

What each fault records for its recovery (computed at the end, bench/chaos.py):

- ``held``: the jobs the hit host's workers held (claims) when it began, and for a cut or a
  full disk also those it claimed until it healed: they must all end;
- ``pending``: the submissions queued or scoring when it began;
- ``republished``: for a broker restart, seconds until every job queued in the database had
  a message on the broker again (or had been claimed);
- ``beating``: for a cut of the broker link, seconds after the heal until the host's
  workers beat again.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from algorithms import task_names as algorithm_tasks
from bench.chaos_schedule import KINDS, Planned
from bench.multihost_faults import db_rows
from bench.multihost_hosts import Cluster, addr, pg_ctl, wait_until
from jobs import broker
from scoring import task_names as scoring_tasks

# The Celery worker processes of each worker host (the Procfile's names).
HOST_WORKERS = {"worker1": ("worker",), "worker2": ("worker",), "jobs": ("algorithms",)}
NODE_NAMES = {"worker": "scoring", "algorithms": "algorithms"}


@dataclass
class Fault:
    planned: Planned
    started: float = 0.0  # wall clock
    healed: float = 0.0
    detail: str = ""
    held: list[tuple[str, int]] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    republished: float | None = None
    beating: float | None = None
    progress: float | None = None  # after a cut or a full disk: until its held jobs moved on
    error: str = ""

    @property
    def kind(self) -> str:
        return self.planned.kind

    @property
    def host(self) -> str:
        return self.planned.host


@dataclass
class Injector:
    c: Cluster
    job_types: dict[str, dict]  # task name -> table, statuses, pk keyword, doorbell, queue
    t0: float  # wall clock of the load's start
    web_concurrency: int
    faults: list[Fault] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    # One fault at a time per host resource (a restart waits for the kill before it).
    host_locks: dict[str, threading.Lock] = field(default_factory=dict)
    # Processes a fault stopped on purpose (the supervisor leaves them to it), and the
    # processes that ended on their own (the supervisor started them again).
    down: set[tuple[str, str]] = field(default_factory=set)
    crashes: list[dict] = field(default_factory=list)

    def supervise(self, stop: threading.Event) -> None:
        """The deployment's restart policy (docker's ``restart: unless-stopped``): a process
        that ended while no fault holds it down is started again, and said."""
        while not stop.wait(1.0):
            for key, process in list(self.c.started.items()):
                code = process.poll()
                if code is None or key in self.down:
                    continue
                with self.lock:
                    if key in self.down or self.c.started[key] is not process:
                        continue
                    host, name = key
                    self.crashes.append(
                        {
                            "at": time.time(),
                            "host": host,
                            "name": name,
                            "code": code,
                            "why": last_error(self.c.log(host, name)),
                        }
                    )
                    self.c.restart(host, name)
                self.say(f"{name} on {host} ended by itself (exit {code}); started again")

    def stopped(self, host: str, names: tuple[str, ...]) -> None:
        with self.lock:
            self.down.update((host, name) for name in names)

    def restart(self, host: str, names: tuple[str, ...]) -> None:
        """Start ``names`` on ``host`` again (after their fault)."""
        with self.lock:
            for name in names:
                self.c.restart(host, name)
                self.down.discard((host, name))

    def say(self, text: str) -> None:
        now = time.time()
        line = f"[{time.strftime('%H:%M:%S', time.localtime(now))} +{now - self.t0:6.1f} s] {text}"
        with self.lock:
            self.log.append(line)
        print(line, flush=True)

    def run(self, plan: list[Planned], stop: threading.Event) -> None:
        """Start each planned fault at its time (a thread each) until the plan or ``stop``
        ends; the threads are joined by :meth:`join`."""
        for planned in plan:
            wait = self.t0 + planned.at - time.time()
            if stop.wait(max(wait, 0)):
                return
            fault = Fault(planned)
            with self.lock:
                self.faults.append(fault)
            thread = threading.Thread(target=self.inject, args=(fault,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(deadline - time.monotonic(), 1))

    def inject(self, fault: Fault) -> None:
        name = f"fault {fault.planned.n} {fault.kind} on {fault.host}"
        try:
            with self.host_locks.setdefault(fault.host, threading.Lock()):
                getattr(self, fault.kind)(fault)
        except Exception as exc:  # a fault that could not be done is reported, not fatal
            fault.error = f"{type(exc).__name__}: {exc}"
            self.say(f"{name}: could not be done ({fault.error})")
            return
        self.say(f"{name}: healed after {fault.healed - fault.started:.1f} s ({fault.detail})")

    # --- what the faults read ----------------------------------------------------------------

    def held_by(self, host: str) -> list[tuple[str, int]]:
        """The jobs the workers of ``host`` hold now (their live claims)."""
        rows = db_rows(
            self.c,
            "SELECT job_type, object_id FROM jobs_jobclaim WHERE lost_at IS NULL "
            "AND holder LIKE %s",
            (f"%@mh-{host}#%",),
        )
        return [(r[0], int(r[1])) for r in rows]

    def claimed_since(self, host: str, since: float) -> list[tuple[str, int]]:
        """Jobs the workers of ``host`` claimed since ``since`` (held or taken back)."""
        rows = db_rows(
            self.c,
            "SELECT job_type, object_id FROM jobs_jobclaim WHERE holder LIKE %s "
            "AND claimed_at >= to_timestamp(%s)",
            (f"%@mh-{host}#%", since),
        )
        return [(r[0], int(r[1])) for r in rows]

    def hunt(self, host: str, job_type: str, *, seconds: float) -> bool:
        """Wait (at most ``seconds``) until a worker of ``host`` holds a job of ``job_type``,
        looking every 50 ms on one connection (a scoring lasts a fraction of a second)."""
        query = (
            "SELECT 1 FROM jobs_jobclaim WHERE lost_at IS NULL AND holder LIKE %s "
            "AND job_type = %s LIMIT 1"
        )
        deadline = time.monotonic() + seconds
        try:
            with psycopg.connect(self.c.database_url, autocommit=True, connect_timeout=5) as conn:
                while time.monotonic() < deadline:
                    if conn.execute(query, (f"%@mh-{host}#%", job_type)).fetchone():
                        return True
                    time.sleep(0.05)
        except psycopg.Error:
            pass
        return False

    def pending_submissions(self) -> list[int]:
        rows = db_rows(
            self.c, "SELECT id FROM scoring_submission WHERE status IN ('queued', 'scoring')"
        )
        return [r[0] for r in rows]

    def begin(self, fault: Fault, *, holding: str | None = None, pending: bool = True) -> None:
        """Write down what the fault hits, then its start (a kill follows at once)."""
        if pending:
            fault.pending = self.pending_submissions()
        if holding is not None:
            fault.held = self.held_by(holding)
        fault.started = time.time()
        self.say(f"fault {fault.planned.n} {fault.kind} on {fault.host}: {KINDS[fault.kind]}")

    # --- process faults ------------------------------------------------------------------------

    def worker_kill(self, fault: Fault) -> None:
        """SIGKILL every process of a scoring host while it scores (waiting up to 10 s for
        one), then start its worker again after the planned delay."""
        self.stopped(fault.host, HOST_WORKERS[fault.host])
        self.hunt(fault.host, scoring_tasks.SCORE_SUBMISSION, seconds=20)
        self.begin(fault, holding=fault.host, pending=False)
        n = self.c.signal_host(fault.host, signal.SIGKILL)
        fault.detail = f"SIGKILL to {n} processes holding {len(fault.held)} job(s)"
        time.sleep(fault.planned.seconds)
        wait_until(lambda: not self.c.pids(fault.host), timeout=30, what=f"{fault.host} dead")
        self.restart(fault.host, HOST_WORKERS[fault.host])
        fault.healed = time.time()

    def algorithms_kill(self, fault: Fault) -> None:
        """SIGKILL the algorithms worker (its main process, pool and every sandbox under it)
        while it runs a job (waiting up to 60 s for one); start it again later."""
        self.hunt("jobs", algorithm_tasks.RUN_ALGORITHM, seconds=60)
        process = self.c.started[("jobs", "algorithms")]
        self.stopped("jobs", ("algorithms",))
        tree = process_tree(process.pid)
        fault.held = self.held_by_node("algorithms", "jobs")
        self.begin(fault, pending=False)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        fault.detail = f"SIGKILL to {len(tree)} processes holding {len(fault.held)} run(s)"
        process.wait(timeout=30)
        time.sleep(fault.planned.seconds)
        self.restart("jobs", ("algorithms",))
        fault.healed = time.time()

    def held_by_node(self, node: str, host: str) -> list[tuple[str, int]]:
        rows = db_rows(
            self.c,
            "SELECT job_type, object_id FROM jobs_jobclaim WHERE lost_at IS NULL "
            "AND holder LIKE %s",
            (f"{node}@mh-{host}#%",),
        )
        return [(r[0], int(r[1])) for r in rows]

    def beat_kill(self, fault: Fault) -> None:
        self.begin(fault)
        self.stopped("beat", ("beat",))
        n = self.c.signal_host("beat", signal.SIGKILL)
        fault.detail = f"SIGKILL to {n} processes"
        time.sleep(fault.planned.seconds)
        wait_until(lambda: not self.c.pids("beat"), timeout=30, what="beat dead")
        self.restart("beat", ("beat",))
        fault.healed = time.time()

    def web_kill(self, fault: Fault) -> None:
        self.begin(fault)
        self.stopped(fault.host, ("web", "boards"))
        n = self.c.signal_host(fault.host, signal.SIGKILL)
        fault.detail = f"SIGKILL to {n} processes; down {fault.planned.seconds:.0f} s"
        time.sleep(fault.planned.seconds)
        wait_until(lambda: not self.c.pids(fault.host), timeout=30, what=f"{fault.host} dead")
        self.restart(fault.host, ("web", "boards"))
        fault.healed = time.time()

    # --- the broker and the database ---------------------------------------------------------

    def broker_empty(self, fault: Fault) -> None:
        self._broker_restart(fault, empty=True)

    def broker_aof(self, fault: Fault) -> None:
        self._broker_restart(fault, empty=False)

    def _broker_restart(self, fault: Fault, *, empty: bool) -> None:
        queued = self.queued_jobs()
        self.begin(fault)
        self.stopped("redis", ("redis",))
        self.c.signal_host("redis", signal.SIGKILL)
        wait_until(lambda: not self.c.pids("redis"), timeout=30, what="redis dead")
        if empty:
            folder = self.c.dir("redis")
            for path in [*folder.glob("appendonlydir/*"), *folder.glob("*.rdb")]:
                path.unlink()
        self.restart("redis", ("redis",))
        wait_until(self.broker_answers, timeout=60, what="Redis")
        fault.healed = time.time()
        fault.detail = f"{'emptied' if empty else 'from its AOF'}, {len(queued)} job(s) queued"
        fault.republished = self.wait_republished(queued, since=fault.started)

    def broker_answers(self) -> bool:
        try:
            return bool(self.redis().ping())
        except redis.RedisError:
            return False

    def redis(self) -> redis.Redis:
        return redis.Redis(host=addr("redis"), port=6379, socket_timeout=5)

    def queued_jobs(self) -> dict[str, set[int]]:
        """Every job queued in the database now, by its task (each type's own query)."""
        found: dict[str, set[int]] = {}
        for task, jt in self.job_types.items():
            sql, params = jt["queued_sql"]
            found[task] = {r[0] for r in db_rows(self.c, sql, tuple(params))}
        return found

    def wait_republished(self, queued: dict[str, set[int]], *, since: float) -> float | None:
        """Seconds from ``since`` until every job in ``queued`` (still queued) has a message
        on the broker again, or was claimed; None after 120 s."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not self.without_message(queued):
                return time.time() - since
            time.sleep(0.5)
        return None

    def without_message(self, queued: dict[str, set[int]]) -> dict[str, set[int]]:
        try:
            view = broker.broker_view(
                client=self.redis(),
                queues={jt["queue"] for jt in self.job_types.values()},
                pk_kwargs={task: jt["pk_kwarg"] for task, jt in self.job_types.items()},
                steps=[0, 3, 6, 9],
            )
        except redis.RedisError:
            return queued
        still = self.queued_jobs()
        missing: dict[str, set[int]] = {}
        for task, pks in queued.items():
            left = pks & still.get(task, set())
            waiting = view.of(task)
            if self.job_types[task]["doorbell"]:
                if len(left) > waiting.queued + len(waiting.unacked):
                    missing[task] = left
            elif left - waiting.pks:
                missing[task] = left - waiting.pks
        return missing

    def db_restart(self, fault: Fault) -> None:
        self.begin(fault)
        pg_ctl(self.c, "restart", "-m", "fast")
        fault.healed = time.time()
        fault.detail = f"pg_ctl restart -m fast took {fault.healed - fault.started:.1f} s"

    def db_connections(self, fault: Fault) -> None:
        self.begin(fault)
        with psycopg.connect(self.c.database_url, autocommit=True, connect_timeout=5) as conn:
            killed = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = 'challenge' AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchone()[0]
        fault.healed = time.time()
        fault.detail = f"{killed} connection(s) terminated"

    # --- links and disks ---------------------------------------------------------------------

    def link_broker(self, fault: Fault) -> None:
        self._cut(fault, "redis")
        fault.beating = self.wait_beating(fault.host, since=fault.healed)
        fault.progress = self.wait_progress(fault.held, since=fault.healed)

    def link_db(self, fault: Fault) -> None:
        self._cut(fault, "db")
        fault.progress = self.wait_progress(fault.held, since=fault.healed)

    def wait_progress(self, held: list[tuple[str, int]], *, since: float) -> float | None:
        """Seconds after ``since`` until every job in ``held`` moved on: final, changed
        after ``since`` (back in the queue, claimed again), or (an algorithm run, minutes
        long) beating again in its worker; None after 180 s."""
        deadline = time.monotonic() + 180
        left = set(held)
        while time.monotonic() < deadline:
            left = {job for job in left if not self.moved_on(job, since)}
            if not left:
                return max(time.time() - since, 0.0)
            time.sleep(0.5)
        return None

    def moved_on(self, job: tuple[str, int], since: float) -> bool:
        task, pk = job
        jt = self.job_types.get(task)
        if jt is None:
            return True
        run = jt["table"] == "algorithms_algorithmrun"
        extra = ", extract(epoch FROM heartbeat_at)" if run else ", NULL"
        rows = db_rows(
            self.c,
            f"SELECT status, extract(epoch FROM status_changed_at){extra} "
            f"FROM {jt['table']} WHERE id = %s",
            (pk,),
        )
        if not rows:
            return True
        status, changed, beat = rows[0]
        if status in jt["final"]:
            return True
        # Its row changed after the heal (back in the queue, claimed again: in line again,
        # whatever backoff its retry keeps), or a run beats again in its worker.
        return (changed is not None and float(changed) > since) or (
            beat is not None and float(beat) > since
        )

    def _cut(self, fault: Fault, other: str) -> None:
        """Drop every packet between ``fault.host`` and ``other`` (a blackhole route on both
        sides: new connections fail, open ones hear nothing) for the planned time."""
        self.begin(fault, holding=fault.host)
        routes = [(fault.host, addr(other)), (other, addr(fault.host))]
        for host, to in routes:
            ip_route(self.c, host, "add", to)
        try:
            time.sleep(fault.planned.seconds)
        finally:
            for host, to in routes:
                ip_route(self.c, host, "del", to)
        fault.healed = time.time()
        fault.held = sorted(set(fault.held) | set(self.claimed_since(fault.host, fault.started)))
        fault.detail = f"{fault.host} <-> {other} cut for {fault.planned.seconds:.0f} s"

    def wait_beating(self, host: str, *, since: float) -> float | None:
        """Seconds after ``since`` until every worker of ``host`` beats again (its entry in
        the workers' hash), None after 120 s."""
        nodes = [f"{NODE_NAMES[n]}@mh-{host}" for n in HOST_WORKERS[host]]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                entries = self.redis().hgetall("platform:workers")
            except redis.RedisError:
                entries = {}
            beats = {}
            for raw in entries.values():
                entry = _json(raw)
                if entry.get("node") in nodes and isinstance(entry.get("beat"), float):
                    beats[entry["node"]] = max(beats.get(entry["node"], 0.0), entry["beat"])
            if all(beats.get(node, 0.0) > since for node in nodes):
                return max(beats.values()) - since
            time.sleep(0.5)
        return None

    def disk_full(self, fault: Fault) -> None:
        """Fill the host's data folder (its own small tmpfs) until ENOSPC, for the planned
        time, then free it."""
        folder = self.c.data_dir(fault.host)
        filler = folder / "chaos-fill.bin"
        self.begin(fault, holding=fault.host)
        written = fill(filler)
        fault.detail = f"{written >> 20} MiB written to {folder} until ENOSPC"
        try:
            time.sleep(fault.planned.seconds)
        finally:
            filler.unlink(missing_ok=True)
        fault.healed = time.time()
        fault.held = sorted(set(fault.held) | set(self.claimed_since(fault.host, fault.started)))
        fault.progress = self.wait_progress(fault.held, since=fault.healed)


def ip_route(c: Cluster, host: str, action: str, to: str) -> None:
    subprocess.run(
        ["ip", "-n", c.ns(host), "route", action, "blackhole", f"{to}/32"],
        check=True,
        capture_output=True,
    )


def fill(path: Path) -> int:
    """Write zeros to ``path`` until its filesystem is full; the bytes written."""
    chunk = b"\0" * (1 << 20)
    written = 0
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                written += handle.write(chunk)
        except OSError:
            pass
    return written


def last_error(log: Path) -> str:
    """The last line of ``log`` that says why a process ended (an error or its last line)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for line in reversed(lines[-400:]):
        if "CRITICAL" in line or "Error" in line or "error" in line:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else ""


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _json(raw: bytes) -> dict:
    import json

    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


STAMP = re.compile(r"^\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})")


def beat_sent_after(log: Path, since: float) -> float | None:
    """When the beat (its log) first sent a due task at or after ``since``."""
    for line in log.read_text(errors="replace").splitlines():
        found = STAMP.match(line)
        if found is None or "Sending due task" not in line:
            continue
        at = time.mktime(time.strptime(found[1], "%Y-%m-%d %H:%M:%S")) + int(found[2]) / 1000
        if at >= since:
            return at
    return None


Hook = Callable[[Fault], None]
