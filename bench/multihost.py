"""Many hosts: the docker/ deployment with every role on its own host, under faults.

Run by ``scripts/multihost.sh``, which creates the hosts (Linux network namespaces joined by
a bridge in a namespace of its own, on a private /24 that exists nowhere else), runs this
driver inside the ``client`` namespace and removes everything at exit. ``--layout`` prints
the hosts and their addresses for that script (one source for both).

The driver starts, each on its own host with its own ``DATA_DIR`` (no shared disk):
PostgreSQL (own cluster), Redis, an S3 server (moto's server mode), two web hosts (gunicorn
through ``docker/entrypoint.sh web``, and the board server, ``entrypoint.sh boards``) behind
HAProxy (``manage.py haproxy_config`` with ``--boards-server``), two scoring worker hosts,
one host for the ``baselines``, ``algorithms`` and ``renders`` workers and one beat host,
all with the production settings: the manual's multi-host deployment. Migrations run once
(``entrypoint.sh migrate`` on web1); a small task is imported through the S3 storage. Then
``--uploads`` prediction files go through the balancer while these faults happen in order: a
scoring worker host killed mid-scoring (SIGKILL; another worker sees it stop beating and
re-queues what it held: the seconds from the kill to the new score and the reason kept on
the claim are printed), the broker's link cut, PostgreSQL restarted, a web host stopped.
Each fault begins once the previous one recovered (the killed worker's submissions scored
again; for the others an upload made after it scored) and no submission is queued any more
(the uploads wait meanwhile), each at most ``RECOVERY_CAP`` seconds later, so no fault's
seconds count into another's, nor its backlog into the next one's "scored". It waits
(bounded) until every submission is final and prints a summary; exit status 1 if a
submission is lost or doubled, the board is wrong, or an upload met a server error.

Run: scripts/multihost.sh [--uploads 200] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from bench.load_test import Fixture, prediction_file, prepare, run_manage, wait_until
from bench.multihost_faults import (
    RECOVERY_CAP,
    Fault,
    cut_broker,
    db_rows,
    kill_worker_mid_scoring,
    restart_postgres,
    stop_web,
    wait_drained,
    wait_recovered,
)
from bench.multihost_hosts import (
    ENTRYPOINT,
    HOSTS,
    SUBNET,
    TEAMS,
    Cluster,
    addr,
    http,
    start_services,
    wait_ready,
)
from bench.phase_switch import ORGANIZER_SCRIPT, PHASE_ROWS_SQL, PhaseSwitch, phase_verdict
from scoring.task_names import SCORE_SUBMISSION

# --- the uploads ---------------------------------------------------------------------------------


@dataclass
class Attempt:
    upload: int
    started: float  # wall clock, comparable with the database's timestamps
    ended: float
    status: int | str  # HTTP status, or the exception's name
    submission: int | None
    detail: str = ""  # the refusal's body or the exception's message


@dataclass
class Uploads:
    total: int
    rate: float  # uploads started per second, at most
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Attempt] = field(default_factory=list)
    next_upload: int = 0
    next_start: float = 0.0
    accepted: dict[int, int] = field(default_factory=dict)  # upload -> submission id
    given_up: list[int] = field(default_factory=list)

    hold_at: int = 0  # uploads past this one wait (for the next fault), at most HOLD_SECONDS

    def take(self) -> int | None:
        """The next upload to make, paced at ``rate``; None when all are taken. Uploads from
        ``hold_at`` on wait until the fault planned there has started, so each fault meets
        uploads before and after it whatever the pace of the machine."""
        held_since = time.monotonic()
        while True:
            with self.lock:
                if self.next_upload >= self.total:
                    return None
                if self.next_upload < self.hold_at or time.monotonic() - held_since > HOLD_SECONDS:
                    n = self.next_upload
                    self.next_upload += 1
                    now = time.monotonic()
                    wait = max(self.next_start - now, 0.0)
                    self.next_start = max(now, self.next_start) + 1.0 / self.rate
                    break
            time.sleep(0.1)
        time.sleep(wait)
        return n

    def answered(self) -> int:
        """Uploads finished: accepted, or given up after every try."""
        with self.lock:
            return len(self.accepted) + len(self.given_up)


HOLD_SECONDS = 300
UPLOAD_TRIES = 6


def board_reader(url: str, stop: threading.Event, statuses: Counter) -> None:
    """A visitor reading the task board (API, through the balancer) every second."""
    session = http()
    while not stop.wait(1.0):
        try:
            statuses[session.get(url, timeout=60).status_code] += 1
        except requests.RequestException as exc:
            statuses[type(exc).__name__] += 1


def uploader(base: str, token: str, fixture: Fixture, uploads: Uploads, seed: int) -> None:
    """One team's client: take the next upload, send it (note ``mh-<n>``, an
    ``Idempotency-Key`` of its own, as ``chal`` sends one); on an error response or a broken
    connection, try again a few times with the same key (a user would), bounded: an upload
    whose answer was lost is then one submission."""
    rng = np.random.default_rng(seed)
    session = http()
    session.headers["Authorization"] = f"Token {token}"
    url = f"{base}/api/v1/tasks/{fixture.task_slug}/submissions/"
    while (n := uploads.take()) is not None:
        body = prediction_file(fixture, rng)
        key = str(uuid.uuid4())
        for attempt in range(UPLOAD_TRIES):
            started = time.time()
            try:
                response = session.post(
                    url,
                    files={"file": ("predictions.csv", body, "text/csv")},
                    data={"note": f"mh-{n}"},
                    headers={"Idempotency-Key": key},
                    timeout=150,
                )
                status: int | str = response.status_code
                pk = response.json()["id"] if status == 201 else None
                detail = "" if pk else response.text[:300]
            except (requests.RequestException, ValueError) as exc:
                status, pk, detail = type(exc).__name__, None, str(exc)[:300]
            with uploads.lock:
                uploads.attempts.append(Attempt(n, started, time.time(), status, pk, detail))
                if pk is not None:
                    uploads.accepted[n] = pk
            if pk is not None:
                break
            time.sleep(min(2.0 * (attempt + 1), 8.0))
        else:
            with uploads.lock:
                uploads.given_up.append(n)


# --- the verdict ---------------------------------------------------------------------------------


def taken_back(c: Cluster, fault: Fault, by_id: dict[int, tuple]) -> str:
    """How the submissions a killed worker held came back: the reason kept on each one's lost
    claim (worker liveness, the sweeper's stale time, a redelivery) and the seconds from the
    kill to the re-queue and to the new score."""
    rows = db_rows(
        c,
        "SELECT object_id, lost_reason, extract(epoch FROM lost_at) "
        "FROM jobs_jobclaim WHERE job_type = %s "
        "AND object_id = ANY(%s) AND lost_at IS NOT NULL ORDER BY lost_at",
        (SCORE_SUBMISSION, fault.stranded),
    )
    first = {}
    for pk, reason, at in rows:
        first.setdefault(pk, (reason, float(at)))
    liveness = [pk for pk, (reason, _) in first.items() if " stopped beating " in reason]
    scored = [float(by_id[pk][4]) - fault.started for pk in fault.stranded if by_id[pk][4]]
    requeued = [at - fault.started for _, at in first.values()]
    why = "; ".join(sorted({reason for reason, _ in first.values()})) or "no claim taken back"
    return (
        f"killed worker: {len(liveness)} of {len(fault.stranded)} re-queued because their worker "
        f"was seen dead (liveness), re-queued {fmt(max(requeued, default=None))} and re-scored "
        f"{fmt(max(scored) if len(scored) == len(fault.stranded) else None)} after the kill "
        f"({why}){overtaken(c, fault, min((at for _, at in first.values()), default=None))}"
    )


def overtaken(c: Cluster, fault: Fault, requeued_at: float | None) -> str:
    """How many uploads were waiting for a worker when the killed host's submissions were
    re-queued, and how many of them were claimed only after those (ahead of the queue)."""
    if requeued_at is None:
        return ""
    (waiting, behind), *_ = db_rows(
        c,
        "WITH back AS (SELECT max(started_at) AS at FROM scoring_submission WHERE id = ANY(%s)) "
        "SELECT count(*), count(*) FILTER (WHERE s.started_at > back.at) "
        "FROM scoring_submission s, back WHERE s.id <> ALL(%s) "
        "AND s.created_at < to_timestamp(%s) AND s.started_at > to_timestamp(%s)",
        (fault.stranded, fault.stranded, requeued_at, requeued_at),
    )
    return (
        f"; {waiting} other uploads were waiting at the re-queue, {behind} of them claimed after "
        "the re-queued ones"
    )


def beat_gaps() -> str:
    """The largest gap between two beats each worker saw (its liveness entry in Redis)."""
    import redis

    try:
        entries = redis.Redis(host=addr("redis"), port=6379, socket_timeout=5).hgetall(
            "platform:workers"
        )
    except redis.RedisError as exc:
        return f"worker beats: Redis did not answer ({exc})"
    gaps = []
    for holder, raw in sorted(entries.items()):
        entry = json.loads(raw)
        if "max_gap" in entry:
            gaps.append(f"{holder.decode().split('#')[0]} {entry['max_gap']:.1f} s")
    return "worker beats, largest gap per live worker: " + (", ".join(gaps) or "none")


def rendered_ahead(c: Cluster) -> int:
    """How many board renders the ``renders`` process ran (its log: it runs no other task)
    after the scores, for the boards the visitor read."""
    log = c.log("jobs", "renders").read_text(errors="replace")
    return len(re.findall(r"^.*Task \S+\[[0-9a-f-]+\] succeeded", log, re.M))


# The renders of the last scores may still be on their way when every submission is final
# (one renders process, a board at a time): the queues are read once they had this long.
RENDERS_DRAIN_SECONDS = 30.0


def queues_seen(c: Cluster) -> tuple[str, float]:
    """Each queue on the broker as the organizers' health panel shows it (its selector, run
    on a host of the deployment): messages waiting, live consumers, warnings; read once the
    board renders the last scores set off are consumed, or :data:`RENDERS_DRAIN_SECONDS`
    passed (then they show as waiting: piling up); and the seconds that took."""
    script = """
import json
from operations.selectors import queue_health
print(json.dumps(queue_health()))
"""
    started = time.monotonic()
    while True:
        out = c.run("beat", [ENTRYPOINT, sys.executable, "manage.py", "shell", "-c", script])
        seen = json.loads(out.strip().splitlines()[-1])
        if seen["error"]:
            return f"unknown ({seen['error']})", time.monotonic() - started
        renders = [q["waiting"] for q in seen["queues"] if q["name"] == "board_renders"]
        waited = time.monotonic() - started
        if not any(renders) or waited > RENDERS_DRAIN_SECONDS:
            break
        time.sleep(1.0)
    queues = ", ".join(
        f"{q['name']} {q['waiting']} ({' '.join(q['consumers']) or 'NO CONSUMER'})"
        for q in seen["queues"]
    )
    return f"{queues}; warnings: {'; '.join(seen['warnings']) or 'none'}", waited


def board_check(c: Cluster, fixture: Fixture) -> tuple[bool, str]:
    """The task board through HAProxy against a recomputation from the scored submissions
    (the ranking core over the database's rows) and against the stored entries."""
    script = f"""
import json
from datasets.models import Task
from leaderboard.core.ranking import rank_entries, select_team_best
from leaderboard.selectors import leaderboard_for_task
from leaderboard.stored_board import submission_inputs
task = Task.objects.get(slug={fixture.task_slug!r})
inputs, by_id = submission_inputs(task=task)
recomputed = [[r.rank, by_id[r.entry.payload.id].team.name, r.entry.score]
              for r in rank_entries(select_team_best(inputs, split="public"))]
stored = [[e.rank, e.team.name, e.score] for e in leaderboard_for_task(task=task)]
print(json.dumps({{"recomputed": recomputed, "stored": stored, "scored": len(inputs)}}))
"""
    out = c.run("beat", [ENTRYPOINT, sys.executable, "manage.py", "shell", "-c", script])
    local = json.loads(out.strip().splitlines()[-1])
    # As a participant: an anonymous reader may get a board up to BOARD_CACHE_GRACE_SECONDS
    # old (the cache's grace), a participant always gets the newest version.
    body = (
        http()
        .get(
            f"http://{addr('lb')}/api/v1/tasks/{fixture.task_slug}/leaderboard/",
            headers={"Authorization": f"Token {fixture.tokens[0]}"},
            timeout=60,
        )
        .json()
    )
    api = [[e["rank"], e["team"], e["score"]] for e in body["entries"] if e.get("team_id")]

    def same(a: list, b: list) -> bool:
        return len(a) == len(b) and all(
            x[0] == y[0] and x[1] == y[1] and abs(x[2] - y[2]) < 1e-12
            for x, y in zip(a, b, strict=True)
        )

    ok = same(api, local["recomputed"]) and same(local["stored"], local["recomputed"])
    what = (
        f"{len(api)} teams via HAProxy, recomputed from {local['scored']} scored submissions, "
        f"stored entries: {'agree' if ok else 'DIFFER'}"
    )
    if not ok:
        what += f"\n  api={api}\n  recomputed={local['recomputed']}\n  stored={local['stored']}"
    return ok, what


def first_after(values: list[float], t: float) -> float | None:
    later = [v - t for v in values if v >= t]
    return min(later) if later else None


def fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", action="store_true", help="print the hosts and exit")
    parser.add_argument("--prefix", help="namespace name prefix (set by multihost.sh)")
    parser.add_argument("--run-dir", type=Path, help="this run's folder (set by multihost.sh)")
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--cut", type=float, default=20.0, help="seconds the broker is cut off")
    parser.add_argument("--rate", type=float, default=3.0, help="uploads started per second")
    parser.add_argument("--rows", type=int, default=5000, help="test rows of the task")
    parser.add_argument(
        "--sweep-stale",
        type=int,
        default=30,
        help="SWEEPER_STALE_AFTER_SECONDS: the last resort, for the uploads whose message the"
        " broker cut lost (a killed worker's jobs come back through liveness, by default)",
    )
    parser.add_argument(
        "--worker-lost-after",
        type=float,
        help="WORKER_LOST_AFTER_SECONDS on every host (default: the platform's); a huge value"
        " turns worker liveness off, to measure the sweeper alone",
    )
    parser.add_argument("--settle", type=float, default=420, help="seconds to wait for scores")
    parser.add_argument("--quick", action="store_true", help="40 uploads, a 5 s broker cut")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="two phases (dev, then final), switched by an organizer's API edit during the "
        "load; checks that no submission is lost or lands in another phase (bench/phase_switch.py)",
    )
    opts = parser.parse_args()
    if opts.layout:
        for host, last in HOSTS.items():
            print(host, f"{SUBNET}.{last}")
        return 0
    if not opts.prefix or not opts.run_dir:
        parser.error("run through scripts/multihost.sh (it creates the hosts)")
    if opts.quick:
        opts.uploads, opts.cut, opts.rate = min(opts.uploads, 40), 5.0, 2.0
        opts.settle = min(opts.settle, 240)

    t0 = time.monotonic()
    c = Cluster(
        prefix=opts.prefix,
        run_dir=opts.run_dir,
        sweep_stale=opts.sweep_stale,
        worker_lost_after=opts.worker_lost_after,
    )
    start_services(c, web_concurrency=2)
    fixture = prepare(
        c.env("web1"),
        c.dir("web1"),
        clients=TEAMS,
        rows=opts.rows,
        migrate=False,
        wrap=[*c.wrap("web1"), ENTRYPOINT],
    )
    wait_ready(c)
    print(
        f"Many hosts: {len(HOSTS)} hosts on {SUBNET}.0/24 ({', '.join(HOSTS)}), up in "
        f"{time.monotonic() - t0:.0f} s; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} "
        f"(namespaces {c.prefix}*, folders under {c.run_dir})",
        flush=True,
    )

    def one_more_upload() -> None:  # never past the PostgreSQL restart's mark
        with uploads.lock:
            uploads.hold_at = min(uploads.hold_at + 1, marks[2] - 1)

    plan = [
        (
            0.15,
            Fault("a scoring worker host killed mid-scoring"),
            lambda f: kill_worker_mid_scoring(c, f, one_more_upload),
        ),
        (0.35, Fault("broker (Redis) link cut"), lambda f: cut_broker(c, f, opts.cut)),
        (0.60, Fault("PostgreSQL restarted"), lambda f: restart_postgres(c, f)),
        (0.80, Fault("web host web2 stopped"), lambda f: stop_web(c, f)),
    ]
    marks = [max(round(share * opts.uploads), 1) for share, _, _ in plan] + [opts.uploads]
    uploads = Uploads(total=opts.uploads, rate=opts.rate, hold_at=marks[0])
    base = f"http://{addr('lb')}"
    phases = None
    if opts.phases:  # docs/decisions/0066-phases.md: switched before the second fault
        out = run_manage(
            c.env("web1"), "shell", "-c", ORGANIZER_SCRIPT, wrap=[*c.wrap("web1"), ENTRYPOINT]
        )
        phases = PhaseSwitch(base, out.strip().splitlines()[-1], "load")
        phases.prepare()
    threads = [
        threading.Thread(
            target=uploader, args=(base, fixture.tokens[i], fixture, uploads, i), daemon=True
        )
        for i in range(TEAMS)
    ]
    reads: Counter = Counter()
    stop_reading = threading.Event()
    reader = threading.Thread(
        target=board_reader,
        args=(f"{base}/api/v1/tasks/{fixture.task_slug}/leaderboard/", stop_reading, reads),
        daemon=True,
    )
    reader.start()
    for thread in threads:
        thread.start()
    faults = []
    drains: list[float | None] = []  # seconds each next fault waited for an empty queue
    for k, (_, fault, inject) in enumerate(plan):
        wait_until(
            lambda mark=marks[k]: uploads.answered() >= mark,
            timeout=600,
            what=f"{marks[k]} uploads answered",
        )
        if faults:  # one fault at a time: the previous one's recovery is measured first
            wait_recovered(c, faults[-1])
            drains.append(wait_drained(c))
        if phases is not None and k == 1:
            print(f"phases: the final phase opens {phases.switch() - time.time():.0f} s from now")
        print(f"fault: {fault.name}", flush=True)
        with uploads.lock:
            uploads.hold_at = marks[k + 1]  # uploads go on during the fault, up to the next
        inject(fault)
        faults.append(fault)
    for thread in threads:
        thread.join(timeout=max(600 - (time.monotonic() - t0), 1))
    stop_reading.set()
    reader.join(timeout=90)
    upload_phase = time.monotonic()

    # Every accepted submission final (the sweeper re-queues what the faults stranded).
    ids = sorted(set(uploads.accepted.values()))
    pending = ids
    waited = 0.0
    while pending and waited < opts.settle:
        rows = db_rows(c, "SELECT id FROM scoring_submission WHERE status IN ('queued', 'scoring')")
        pending = [r[0] for r in rows]
        if pending:
            time.sleep(2.0)
            waited = time.monotonic() - upload_phase
    settled = time.monotonic() - upload_phase

    rows = db_rows(
        c,
        "SELECT id, note, status, extract(epoch FROM created_at), "
        "extract(epoch FROM finished_at), attempts, error FROM scoring_submission",
    )
    by_id = {r[0]: r for r in rows}
    scored_logged = Counter()
    for host in ("worker1", "worker2"):
        for pk in re.findall(r"submission (\d+) scored:", c.log(host, "worker").read_text()):
            scored_logged[int(pk)] += 1

    (c.dir("client") / "attempts.json").write_text(
        json.dumps([a.__dict__ for a in uploads.attempts], indent=1), encoding="utf-8"
    )
    accepted = set(uploads.accepted.values())
    not_scored = [pk for pk in accepted if by_id.get(pk, (0, 0, "missing"))[2] != "scored"]
    ids_twice = len(uploads.accepted) - len(accepted)
    per_note = Counter(r[1] for r in rows if r[1].startswith("mh-"))
    rows_twice = sum(n - 1 for n in per_note.values() if n > 1)
    scored_twice = sum(n - 1 for n in scored_logged.values() if n > 1)
    doubled = ids_twice + rows_twice + scored_twice
    # The run's uploads (their notes): the task's AutoGluon baseline, queued at the import
    # (BENCHMARK_ON_ARRIVAL), submits a row of the platform's own team when it ends.
    unannounced = [r[0] for r in rows if r[1].startswith("mh-") and r[0] not in accepted]
    statuses = Counter(a.status for a in uploads.attempts if a.status != 201)
    server_errors = sum(n for s, n in statuses.items() if s == 500) + reads.get(500, 0)
    boards_ok, board_text = board_check(c, fixture)

    print("\n== multihost summary ==")
    print(
        f"uploads: {opts.uploads} through HAProxy by {TEAMS} teams; attempts answered "
        f"otherwise than 201: {dict(statuses) or 0} (retried); given up: {len(uploads.given_up)}"
    )
    details = Counter(f"{a.status}: {a.detail[:150]}" for a in uploads.attempts if a.status != 201)
    for text, n in details.most_common(6):
        print(f"  {n} x {text}")
    print(f"submissions accepted: {len(accepted)}")
    print(
        f"lost: {len(not_scored)} (an accepted upload not scored in the end; every file is valid)"
        + (f" ids={sorted(not_scored)[:20]}" if not_scored else "")
    )
    print(
        f"doubled: {doubled} (ids returned twice {ids_twice}, rows per upload beyond one "
        f"{rows_twice}, scores written twice per the workers' logs {scored_twice})"
    )
    print(
        f"board read every second during the uploads: {dict(reads)}; rows without a 201: "
        f"{len(unannounced)}; server errors (500, uploads and board reads): {server_errors}"
    )
    print(f"boards right: {'yes' if boards_ok else 'NO'} ({board_text})")
    print(f"boards rendered ahead: {rendered_ahead(c)} by the renders process on jobs")
    queues, waited = queues_seen(c)
    print(
        f"queues at the end (the health panel's: waiting, consumers; read {waited:.0f} s after "
        f"every submission was final): {queues}"
    )
    print(
        f"all final {settled:.0f} s after the last upload; "
        f"attempts per submission: {dict(Counter(r[5] for r in rows))}"
    )
    accepted_at = [a.ended for a in uploads.attempts if a.status == 201]
    print(
        "time to recover (from the fault's start: an upload made after it accepted / scored;"
        " attempts refused until the next fault):"
    )
    for i, fault in enumerate(faults):
        until = faults[i + 1].started if i + 1 < len(faults) else float("inf")
        made_after = [
            float(r[4]) for r in rows if r[2] == "scored" and r[4] and float(r[3]) >= fault.started
        ]
        refused = Counter(
            a.status
            for a in uploads.attempts
            if a.status != 201 and fault.started <= a.ended < until
        )
        line = (
            f"  {fault.name}: {fmt(first_after(accepted_at, fault.started))} / "
            f"{fmt(first_after(made_after, fault.started))}; refused {dict(refused) or 0} "
            f"({fault.detail}"
        )
        if fault.stranded:
            back = [float(by_id[pk][4]) for pk in fault.stranded if by_id[pk][4]]
            line += (
                f"; {len(fault.stranded)} left scoring, all scored "
                f"{fmt(max(back) - fault.started) if len(back) == len(fault.stranded) else 'NOT'}"
                " after it"
            )
        print(line + ")")
    for fault in faults:
        if fault.stranded:
            print(taken_back(c, fault, by_id))
    waits = [fmt(f.recovered) if f.recovered is not None else "not" for f in faults[:-1]]
    drained = [fmt(d) if d is not None else "not" for d in drains]
    print(
        f"faults apart: each next fault began once the previous one recovered (its held "
        f"submissions scored again, or an upload made after it scored) and the queue was "
        f"empty, each at most {RECOVERY_CAP:.0f} s later: recovered after {', '.join(waits)}; "
        f"queue empty {', '.join(drained)} later"
    )
    print(beat_gaps())
    bad = bool(not_scored or doubled or unannounced or server_errors or not boards_ok)
    if phases is not None:
        phases_ok, phases_text, phases_wrong = phase_verdict(
            db_rows(c, PHASE_ROWS_SQL), accepted=accepted, switched_at=phases.switched_at
        )
        print(f"phases right: {'yes' if phases_ok else 'NO'} ({phases_text})")
        for line in phases_wrong[:12]:
            print(f"  {line}")
        bad = bad or not phases_ok
    bad = bad or bool(uploads.given_up) or len(accepted) != opts.uploads
    print(f"result: {'FAIL' if bad else 'PASS'}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
