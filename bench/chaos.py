"""Chaos: the many-hosts deployment under steady, mixed load while faults come at random and
overlap; then every promise checked (issue 52, docs/developers/benchmarks.md "Chaos").

    bench/chaos.py --minutes 30 --seed 1        (as root; it runs scripts/multihost.sh)

The hosts are scripts/multihost.sh's (network namespaces on 10.213.7.0/24, every role on its
own host, HAProxy in front of two web hosts, PostgreSQL, Redis, an S3 server); the scoring
and jobs hosts get a small data folder of their own (a tmpfs, so a full disk is never the
machine's). The load (bench/chaos_load.py) uploads from several teams over the API, the web
form and ``chal``, submits algorithms that run on every task, imports a task part-way
(its re-runs and baselines queued), checks releases and reads boards. A seeded injector
(bench/chaos_schedule.py, bench/chaos_faults.py) starts a fault every 10-60 s: a scoring
worker or the algorithms worker or the beat killed, a web host killed, the broker restarted
empty or from its AOF, PostgreSQL restarted or its connections killed, a worker host's link
to the broker or the database cut for 5-30 s, a worker's data folder filled to ENOSPC for
20 s. The run's own SMTP server and webhook endpoint receive what the platform sends.

After the load it waits until every job is final (bounded), then prints one table per fault
kind (injected, recovered, p50/p95/max recovery, lost, doubled, 5xx) and one PASS/FAIL line
per invariant (bench/chaos_invariants.py) and per recovery bound; exit 0 only when all pass.
``--prove-checker`` then plants a deleted scored row and a run marked done without its
result (inside a transaction rolled back after) and shows that each makes the checks FAIL
with the row named. ``--report FILE`` appends the run (time of day, load, table, verdicts)
to FILE in Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

if not __package__:  # run as bench/chaos.py: the repository is the import root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chaos_faults import Injector
from bench.chaos_invariants import (
    Verdict,
)
from bench.chaos_ledger import Ledger
from bench.chaos_load import CHALLENGE, SMTP_PORT, WEBHOOK_PORT, Load, prepare_world
from bench.chaos_receivers import start_receivers
from bench.chaos_report import Report, load_text, prove_checker, verify
from bench.chaos_schedule import KINDS, fault_schedule, overlapping
from bench.chaos_timeline import timelines
from bench.multihost import beat_gaps
from bench.multihost_faults import db_rows
from bench.multihost_hosts import (
    HOSTS,
    REPO,
    SUBNET,
    Cluster,
    addr,
    start_services,
    wait_ready,
)
from bench.phase_switch import PHASE_ROWS_SQL, PhaseSwitch, phase_verdict

WEB_CONCURRENCY = 2
DATA_TMPFS_MB = {"worker1": 64, "worker2": 64, "jobs": 256}
IMPORT_AT = 0.4  # the task import starts at this share of the load's time
PHASES_SWITCH_AT = 0.5  # --phases: the final phase opens at this share of the load's time
# Written in the run folder by a failing run: scripts/multihost.sh then keeps the folder
# (every host's logs and data) as --keep would, and says where.
KEEP_MARKER = "KEEP"


def main() -> int:
    opts = arguments()
    if opts.layout:
        for host, last in HOSTS.items():
            print(host, f"{SUBNET}.{last}")
        return 0
    if not opts.prefix:  # make the hosts first: run through scripts/multihost.sh
        command = ["bash", str(REPO / "scripts" / "multihost.sh"), "--driver", "bench.chaos"]
        os.execvp("bash", [*command, *sys.argv[1:]])
    seconds = opts.minutes * 60
    plan = fault_schedule(seed=opts.seed, seconds=seconds, kinds=opts.kinds)
    print(
        f"Chaos: {opts.minutes:g} min, seed {opts.seed}: {len(plan)} faults of "
        f"{len({p.kind for p in plan})} kinds, {overlapping(plan)} beginning while another "
        f"lasts; {os.cpu_count()} CPUs, load {load_text()} at {time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    c = Cluster(
        prefix=opts.prefix,
        run_dir=opts.run_dir,
        sweep_stale=opts.sweep_stale,
        extra_env={
            "EMAIL_HOST": addr("client"),
            "EMAIL_PORT": str(SMTP_PORT),
            "WEBHOOK_BLOCK_PRIVATE_NETWORKS": "0",  # the receiver is on the run's own subnet
            "SITE_URL": f"http://{addr('lb')}",
        },
        data_tmpfs=DATA_TMPFS_MB,
    )
    started = time.monotonic()
    start_services(c, web_concurrency=WEB_CONCURRENCY)
    job_types = json.loads(verify(c, "--job-types").strip().splitlines()[-1])
    world = prepare_world(c, teams=opts.teams, rows=opts.rows)
    received, stop_receivers = start_receivers(
        addr("client"), smtp_port=SMTP_PORT, webhook_port=WEBHOOK_PORT, secret=world.webhook_secret
    )
    wait_ready(c)
    print(
        f"deployment up in {time.monotonic() - started:.0f} s; load {load_text()} "
        f"(namespaces {c.prefix}*, folders under {c.run_dir})",
        flush=True,
    )

    phases = None
    if opts.phases:  # docs/decisions/0066-phases.md: switched halfway through the load
        phases = PhaseSwitch(f"http://{addr('lb')}", world.organizer_token, CHALLENGE)
        phases.prepare()
    ledger = Ledger()
    load_at_start = load_text()
    load = Load(c, world, ledger, seed=opts.seed, rate=opts.rate)
    t0 = time.time()
    injector = Injector(c, job_types, t0, web_concurrency=WEB_CONCURRENCY)
    threads = load.threads()
    for thread in threads:
        thread.start()
    faults_stop, supervisor_stop = threading.Event(), threading.Event()
    injecting = threading.Thread(target=injector.run, args=(plan, faults_stop), daemon=True)
    injecting.start()
    threading.Thread(target=injector.supervise, args=(supervisor_stop,), daemon=True).start()
    importer = threading.Timer(seconds * IMPORT_AT, load.import_task)
    importer.daemon = True
    importer.start()
    if phases is not None:
        switcher = threading.Timer(seconds * PHASES_SWITCH_AT, phases.switch)
        switcher.daemon = True
        switcher.start()
    time.sleep(max(t0 + seconds - time.time(), 0))
    print(f"load ends; load {load_text()}", flush=True)
    load.stop.set()
    faults_stop.set()
    finishing = time.monotonic() + 660  # a client tries an upload for 600 s at most
    for thread in threads:
        thread.join(timeout=max(finishing - time.monotonic(), 1))
    importer.join(timeout=900)
    injector.join(timeout=300)
    settled = settle(c, job_types, opts.settle)
    print(f"settled ({settled}) {time.time() - t0 - seconds:.0f} s after the load", flush=True)
    supervisor_stop.set()

    (c.dir("beat") / "ledger.json").write_text(json.dumps(ledger.as_json()), encoding="utf-8")
    facts = json.loads(verify(c, str(c.dir("beat") / "ledger.json")).strip().splitlines()[-1])
    stop_receivers()
    report = Report(c, opts, plan, injector.faults, ledger, facts, received.as_json(), job_types)
    report.token, report.t0 = world.teams[1].token, t0
    report.crashes = list(injector.crashes)
    report.load_at_start = load_at_start
    report.beats = beat_gaps()
    report.compute()
    if phases is not None:
        accepted = [u["submission"] for u in ledger.as_json()["uploads"] if u["submission"]]
        ok, summary, rows = phase_verdict(
            db_rows(c, PHASE_ROWS_SQL), accepted=accepted, switched_at=phases.switched_at
        )
        report.verdicts.append(Verdict("uploads land in their arrival's phase", ok, summary, rows))
    text = report.render() + timelines(c, job_types, report.per_fault, injector.faults)
    print(text, flush=True)
    if not report.passed:  # a failing run's logs stay (scripts/multihost.sh keeps the folder)
        (Path(c.run_dir) / KEEP_MARKER).write_text(text, encoding="utf-8")
        print(f"FAIL: logs and data kept in {c.run_dir}", flush=True)
    if opts.prove_checker:
        print(prove_checker(c, report), flush=True)
    if opts.report:
        with open(opts.report, "a", encoding="utf-8") as out:
            out.write(report.markdown())
    return 0 if report.passed else 1


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="load time (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="the fault schedule's seed")
    parser.add_argument("--kinds", nargs="*", choices=list(KINDS), help="only these kinds")
    parser.add_argument("--rate", type=float, default=0.5, help="uploads per second in all")
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--rows", type=int, default=3000, help="test rows of each task")
    parser.add_argument("--settle", type=float, default=900, help="seconds to wait for jobs")
    parser.add_argument(
        "--sweep-stale",
        type=int,
        default=390,
        help="SWEEPER_STALE_AFTER_SECONDS (the platform's default: the scoring hard limit + 60)",
    )
    parser.add_argument("--prove-checker", action="store_true", help="plant faults, show FAIL")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="two phases (dev, then final), switched by the organizer's API edit halfway "
        "through the load; no upload lost or in another phase (bench/phase_switch.py)",
    )
    parser.add_argument("--report", type=Path, help="append the run to this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder and logs")
    parser.add_argument("--layout", action="store_true", help="print the hosts and exit")
    parser.add_argument("--prefix", help="namespace prefix (set by scripts/multihost.sh)")
    parser.add_argument("--run-dir", type=Path, help="the run's folder (set by multihost.sh)")
    return parser.parse_args()


def settle(c: Cluster, job_types: dict[str, dict], limit: float) -> str:
    """Wait until no job of any type is queued or running, at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    left: dict[str, int] = {}
    while time.monotonic() < deadline:
        left = {}
        for task, jt in job_types.items():
            sql, params = jt["pending_sql"]
            n = len(db_rows(c, sql, tuple(params)))
            if n:
                left[task] = n
        if not left:
            return "every job final"
        time.sleep(3.0)
    return "jobs left: " + ", ".join(f"{n} {t}" for t, n in left.items())


# --- the report ------------------------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(main())
