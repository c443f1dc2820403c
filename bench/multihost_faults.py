"""The faults of the many-hosts run (bench/multihost.py): a scoring host killed mid-scoring,
the broker's link cut, PostgreSQL restarted, a web host stopped; each next one waits until
the previous one recovered (bounded), so each is measured on its own."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.load_test import wait_until
from bench.multihost_hosts import Cluster, pg_ctl

# --- the faults ----------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float = 0.0  # wall clock
    healed: float = 0.0
    detail: str = ""
    stranded: list[int] = field(default_factory=list)
    recovered: float | None = None  # seconds from its start until it recovered (see below)


def in_flight(log: Path) -> set[str]:
    """Celery task ids a worker received and has not finished, from its log."""
    text = log.read_text(errors="replace")
    received = set(
        re.findall(r"Task scoring\.tasks\.score_submission\[([0-9a-f-]+)\] received", text)
    )
    done = set(
        re.findall(
            r"Task scoring\.tasks\.score_submission\[([0-9a-f-]+)\] (?:succeeded|raised|retry)",
            text,
        )
    )
    return received - done


def db_rows(c: Cluster, query: str, params: tuple = ()) -> list[tuple]:
    """A query from the observer (the client host), retried while PostgreSQL restarts."""
    for _ in range(60):
        try:
            with psycopg.connect(c.database_url, connect_timeout=5) as conn:
                return conn.execute(query, params).fetchall()
        except psycopg.OperationalError:
            time.sleep(1.0)
    raise SystemExit("the database did not answer for a minute")


RUN_WINDOW, FROZEN_WINDOW = 0.01, 0.04  # the workers' duty cycle while a scoring is hunted
COMMIT_SETTLE = 0.2  # seconds a caught scoring is watched, frozen, before its host is killed
SCORING_HOSTS = ("worker1", "worker2")


def kill_worker_mid_scoring(c: Cluster, fault: Fault, more: Callable[[], None]) -> None:
    """SIGKILL every process of a scoring worker host while it holds a submission in
    ``scoring`` (the row's token is a Celery delivery id its log shows received and not
    finished).

    A scoring takes a fraction of a second, faster than a log can be watched, and this
    kernel may have no ``tc netem`` to slow a link, so the scoring hosts are slowed the
    portable way: they run in short windows (SIGCONT, RUN_WINDOW) and are frozen between
    them (SIGSTOP). Each round trip to the database, the broker and S3 then spans windows
    and a scoring lasts many of them; after every window, while they are frozen, the
    database is asked whether a row a host received is in ``scoring``: that host is killed,
    the other one thawed. Both hosts are hunted because the broker may hand one of them
    most messages. While none is caught, ``more()`` lets one more upload through every half
    second."""
    held: list[int] = []
    victim = SCORING_HOSTS[0]
    query = "SELECT id FROM scoring_submission WHERE status = 'scoring' AND claim_token = ANY(%s)"

    def send(pids: list[int], sig: int) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    with psycopg.connect(c.database_url, autocommit=True, connect_timeout=5) as conn:
        start = nudged = time.monotonic()
        try:
            while time.monotonic() - start < 120:
                pids = [pid for host in SCORING_HOSTS for pid in c.pids(host)]
                send(pids, signal.SIGCONT)
                time.sleep(RUN_WINDOW)
                send(pids, signal.SIGSTOP)
                for host in SCORING_HOSTS:
                    tokens = list(in_flight(c.log(host, "worker")))
                    if tokens:
                        held[:] = [r[0] for r in conn.execute(query, (tokens,)).fetchall()]
                    if held:
                        # A commit the host sent just before it froze may still land (the
                        # database runs on): asked again a moment later, a row still in
                        # scoring is held by the frozen host for sure.
                        time.sleep(COMMIT_SETTLE)
                        held[:] = [r[0] for r in conn.execute(query, (tokens,)).fetchall()]
                    if held:
                        victim = host
                        break
                if held:
                    break
                if time.monotonic() - nudged > 0.5:
                    more()
                    nudged = time.monotonic()
                time.sleep(FROZEN_WINDOW)
            else:
                fault.detail = "no scoring caught in flight in 120 s; "
            fault.name = f"scoring worker host {victim} killed mid-scoring"
            fault.started = time.time()
            n = c.signal_host(victim, signal.SIGKILL)
            fault.healed = time.time()
        finally:
            for host in SCORING_HOSTS:
                if host != victim:
                    c.signal_host(host, signal.SIGCONT)
        time.sleep(2.0)
        still = "SELECT id FROM scoring_submission WHERE status = 'scoring' AND id = ANY(%s)"
        fault.stranded = sorted(r[0] for r in conn.execute(still, (held,)).fetchall())
    fault.detail += f"SIGKILL to its {n} processes while it scored submission(s) {held}"


def cut_broker(c: Cluster, fault: Fault, seconds: float) -> None:
    fault.started = time.time()
    subprocess.run(["ip", "-n", c.ns("redis"), "link", "set", "eth0", "down"], check=True)
    time.sleep(seconds)
    subprocess.run(["ip", "-n", c.ns("redis"), "link", "set", "eth0", "up"], check=True)
    fault.healed = time.time()
    fault.detail = f"Redis's link down for {seconds:.0f} s"


def restart_postgres(c: Cluster, fault: Fault) -> None:
    fault.started = time.time()
    pg_ctl(c, "restart", "-m", "fast")
    fault.healed = time.time()
    fault.detail = f"pg_ctl restart -m fast took {fault.healed - fault.started:.1f} s"


def stop_web(c: Cluster, fault: Fault) -> None:
    fault.started = time.time()
    # A graceful stop of the host, as `docker stop` does it to each of its containers:
    # SIGTERM to each one's main process (gunicorn's master of web and of the board server,
    # which lets its workers finish their requests).
    for (host, _), process in c.started.items():
        if host == "web2":
            process.send_signal(signal.SIGTERM)
    try:
        wait_until(lambda: not c.pids("web2"), timeout=60, what="web2 to stop")
        how = "stopped (SIGTERM)"
    except SystemExit:
        c.signal_host("web2", signal.SIGKILL)
        how = "killed after 60 s (SIGTERM not enough)"
    fault.healed = time.time()
    fault.detail = f"web2 {how}"


# --- one fault at a time ----------------------------------------------------------------------

RECOVERY_CAP = 90.0  # seconds the next fault waits for this one's recovery, at most


def recovered(c: Cluster, fault: Fault) -> float | None:
    """Seconds from ``fault``'s start until it recovered, None while it has not: for a killed
    worker, until every submission it held was final again; for any other fault, until the
    first upload made after it began was scored."""
    if fault.stranded:
        rows = db_rows(
            c,
            "SELECT count(*) FILTER (WHERE status IN ('queued', 'scoring')), "
            "max(extract(epoch FROM finished_at)) FROM scoring_submission WHERE id = ANY(%s)",
            (fault.stranded,),
        )
        pending, last = rows[0]
        return None if pending or last is None else float(last) - fault.started
    rows = db_rows(
        c,
        "SELECT min(extract(epoch FROM finished_at)) FROM scoring_submission "
        "WHERE status = 'scored' AND created_at >= to_timestamp(%s)",
        (fault.started,),
    )
    first = rows[0][0]
    return None if first is None else float(first) - fault.started


def wait_recovered(c: Cluster, fault: Fault, *, cap: float = RECOVERY_CAP) -> None:
    """Wait until ``fault`` recovered, so that the next fault's seconds are not counted into
    its recovery; after ``cap`` seconds say so and go on (``fault.recovered`` stays None)."""
    waited = time.monotonic()
    while (seconds := recovered(c, fault)) is None:
        if time.monotonic() - waited >= cap:
            print(f"  not recovered within {cap:.0f} s: the next fault begins anyway", flush=True)
            return
        time.sleep(0.5)
    fault.recovered = seconds
    print(f"  recovered {seconds:.1f} s after it began", flush=True)


def wait_drained(c: Cluster, *, cap: float = RECOVERY_CAP) -> float | None:
    """Wait until no submission is queued or scoring (the uploads are held meanwhile), so the
    next fault meets an empty queue and its figures are its own recovery, not the previous
    fault's backlog scored first; seconds waited, None after ``cap`` (and say so)."""
    waited = time.monotonic()
    query = "SELECT count(*) FROM scoring_submission WHERE status IN ('queued', 'scoring')"
    while db_rows(c, query)[0][0]:
        if time.monotonic() - waited >= cap:
            print(f"  queue not empty within {cap:.0f} s: the next fault begins anyway", flush=True)
            return None
        time.sleep(0.2)
    return time.monotonic() - waited
