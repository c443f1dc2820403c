"""The deadline rush's report (``bench/rush.py``): each phase's outcome counted from the
database and the worker's log, its figures, the benchmarks' table, where the CPU went, where
HAProxy answered the board reads, and wrk's runs beside it."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import psycopg
from load_test import Fixture, Process, percentile
from rush_clients import Phase, pages
from rush_proxy import WrkDuringPhase, served_by


@dataclass
class Outcome:
    times: list[float]  # upload-to-scored seconds of the phase's scored submissions
    waits: list[float]  # of which queued (upload to the scoring's start)
    lost: int
    doubled: int
    failed: int


def outcome(db_url: str, phase: Phase, worker_log: Path, settle: float) -> Outcome:
    """Wait (up to ``settle`` s) until the phase's uploads are final, then count."""
    accepted = set(phase.accepted)
    deadline = time.monotonic() + settle
    while True:
        with psycopg.connect(db_url) as conn:
            rows = conn.execute(
                "SELECT id, status, extract(epoch FROM finished_at - created_at), "
                "extract(epoch FROM started_at - created_at) "
                "FROM scoring_submission WHERE id = ANY(%s)",
                (list(accepted),),
            ).fetchall()
        pending = [r for r in rows if r[1] in ("queued", "scoring")]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    found = {r[0] for r in rows}
    lost = len(accepted - found) + len(pending)
    scored_times: dict[int, int] = defaultdict(int)
    for pk in re.findall(r"submission (\d+) scored:", worker_log.read_text("utf-8")):
        if int(pk) in accepted:
            scored_times[int(pk)] += 1
    doubled = len(phase.accepted) - len(accepted) + sum(1 for n in scored_times.values() if n > 1)
    return Outcome(
        times=[float(r[2]) for r in rows if r[1] == "scored" and r[2] is not None],
        waits=[float(r[3]) for r in rows if r[1] == "scored" and r[3] is not None],
        lost=lost,
        doubled=doubled,
        failed=sum(1 for r in rows if r[1] == "failed"),
    )


def report(name: str, phase: Phase, result: Outcome) -> dict[str, tuple[float, float]]:
    print(f"\n{name}: {phase.seconds:.0f} s")
    print(f"{'page':<22}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'errors':>8}")
    figures = {}
    for kind, values in sorted(phase.latencies.items()):
        rate = len(values) / phase.seconds
        p95 = percentile(values, 95) * 1000
        figures[kind] = (rate, p95)
        print(
            f"{kind:<22}{len(values):>9}{rate:>8.1f}{percentile(values, 50) * 1000:>8.0f}"
            f"{p95:>8.0f}{phase.errors.get(kind, 0):>8}"
        )
    every = [value for values in phase.latencies.values() for value in values]
    total = len(every)
    figures["all boards"] = (total / phase.seconds, percentile(every, 95) * 1000)
    print(
        f"{'all boards':<22}{total:>9}{total / phase.seconds:>8.1f}"
        f"{percentile(every, 50) * 1000:>8.0f}{percentile(every, 95) * 1000:>8.0f}"
        f"{sum(phase.errors.values()):>8}"
    )
    print(
        f"uploads: {len(phase.accepted)} accepted, {phase.refused} refused; "
        f"{len(result.times)} scored, {result.failed} failed; upload-to-scored "
        f"p50 {percentile(result.times, 50):.2f} s, p95 {percentile(result.times, 95):.2f} s "
        f"(queued p50 {percentile(result.waits, 50):.2f} s, "
        f"p95 {percentile(result.waits, 95):.2f} s)"
    )
    if phase.reasons:
        print(
            "errors and refusals: "
            + ", ".join(f"{r} x{n}" for r, n in sorted(phase.reasons.items()))
        )
    causes = refusal_causes(phase)
    print(
        "uploads refused by cause: "
        + (", ".join(f"{cause} {n}" for cause, n in causes.items()) or "none")
        + f"; sent again after a connection closed unanswered: {phase.resent}"
        f" (answered with the first attempt's submission: {phase.replayed})"
    )
    print(f"submissions lost: {result.lost}, doubled: {result.doubled}")
    return figures


def refusal_causes(phase: Phase) -> dict[str, int]:
    """Refused uploads by cause, the connection's always shown (its target is 0)."""
    causes = {"connection": phase.reasons.get("upload connection closed", 0)}
    for reason, n in sorted(phase.reasons.items()):
        if reason.startswith("upload ") and reason != "upload connection closed":
            causes[reason.removeprefix("upload ")] = n
    return causes


TABLE = (
    "phase",
    "board req/s",
    "board p50 / p95 (target p95 <= 0.5 s)",
    "uploads scored",
    "refused by cause (connection: target 0)",
    "sent again (replayed)",
    "upload-to-scored p50 / p95",
    "lost",
    "doubled",
    "wrk gunicorn / proxy req/s (target >= 10x)",
)


def print_table(opts, rows: dict[str, list[str]]) -> None:
    """The benchmarks' rush table: one row per phase."""
    path = "gunicorn" if opts.no_proxy else "HAProxy in front of gunicorn"
    print(f"\nThe rush ({path}; load average {os.getloadavg()[0]:.1f} at the end):\n")
    print("| " + " | ".join(TABLE) + " |")
    print("|" + "---|" * len(TABLE))
    for name, row in rows.items():
        print("| " + " | ".join([name, *row]) + " |")


def table_row(phase: Phase, result: Outcome, measured: WrkDuringPhase | None) -> list[str]:
    every = [value for values in phase.latencies.values() for value in values]
    p95 = percentile(every, 95)
    causes = ", ".join(f"{cause} {n}" for cause, n in refusal_causes(phase).items())
    wrk_cell = "-" if shutil.which("wrk") else "not measured: wrk is not installed"
    if measured is not None and {"gunicorn", "proxy"} <= set(measured.results):
        direct = measured.results["gunicorn"].requests_per_second
        proxied = measured.results["proxy"].requests_per_second
        times = f"{proxied / direct:.1f}x" if direct else "-"
        wrk_cell = f"{direct:.0f} / {proxied:.0f} = {times}"
    elif measured is not None and "gunicorn" in measured.results:
        wrk_cell = f"{measured.results['gunicorn'].requests_per_second:.0f} / -"
    return [
        f"{len(every) / phase.seconds:.1f}",
        f"{percentile(every, 50):.2f} s / {p95:.2f} s ({phase.board_verdict(p95)})",
        f"{len(result.times)}",
        causes,
        f"{phase.resent} ({phase.replayed})",
        f"{percentile(result.times, 50):.2f} s / {percentile(result.times, 95):.2f} s",
        f"{result.lost}",
        f"{result.doubled}",
        wrk_cell,
    ]


def cpu_seconds(processes: list[Process]) -> dict[str, float]:
    """CPU seconds used so far by each role's process group (the servers this bench started:
    each runs in a session of its own, with its children), and by the whole machine."""
    groups = {process.popen.pid: process.name for process in processes}
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        role = groups.get(int(fields[2]))  # the process group: its session leader's pid
        if role is not None:
            used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    with open("/proc/stat") as handle:
        cpu = [int(value) for value in handle.readline().split()[1:]]
    # user, nice, system, irq, softirq: busy (idle, iowait, steal and guest left out)
    used["the machine"] = (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6]) / tick
    used["the clock"] = time.monotonic()
    return used


def report_cpu(before: dict[str, float], after: dict[str, float], seconds: float) -> None:
    """Where the CPU went while the clients ran: each server role's share of the cores, and
    the rest of the machine (the clients, PostgreSQL, Redis, and anything else running)."""
    cores = os.cpu_count() or 1
    spent = {role: after[role] - before.get(role, 0.0) for role in after}
    machine = spent.pop("the machine", 0.0)
    seconds = spent.pop("the clock", seconds)
    ours = sum(spent.values())
    parts = ", ".join(
        f"{role} {value:.0f} s ({100 * value / (seconds * cores):.0f}%)"
        for role, value in sorted(spent.items(), key=lambda item: -item[1])
    )
    print(
        f"CPU while the clients ran ({cores} cores x {seconds:.0f} s): {parts}; everything else "
        f"(clients, PostgreSQL, Redis, other work) {max(machine - ours, 0):.0f} s "
        f"({100 * max(machine - ours, 0) / (seconds * cores):.0f}%)"
    )


def report_served_by(log: Path, fixture: Fixture) -> None:
    """Where the readers' board reads were answered: HAProxy's cache, or a server after a
    wait in HAProxy's queue (the tail of a board read is there)."""
    seen = served_by(log, set(pages(fixture).values()))
    total = seen.cached + seen.servers
    if not total:
        return
    print(
        f"board reads answered by the proxy's cache: {seen.cached} "
        f"({100 * seen.cached / total:.1f}%); by a server: {seen.servers}, queued in HAProxy "
        f"p50 {percentile(seen.queued, 50):.0f} ms / p95 {percentile(seen.queued, 95):.0f} ms,"
        f" answered p50 {percentile(seen.answered, 50):.0f} ms / "
        f"p95 {percentile(seen.answered, 95):.0f} ms; every board read as HAProxy timed it"
        f" (the readers' own processes' waits left out): p50 {percentile(seen.total, 50):.0f} ms"
        f" / p95 {percentile(seen.total, 95):.0f} ms"
    )
    for line in seen.backend_lines(percentile):
        print(f"  {line}")


def report_wrk(measured: WrkDuringPhase, board: str) -> None:
    """wrk's two runs of this phase: one board through gunicorn, then through the proxy."""
    print(f"wrk during the uploads, {board} (anonymous):")
    for name, result in measured.results.items():
        print(
            f"  {name:<9} {result.requests_per_second:>9.1f} req/s, p50"
            f" {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
            + (f" ({result.errors})" if result.errors else "")
        )
    for name, why in measured.failures.items():
        print(f"  {name}: wrk failed: {why}")
    direct = measured.results.get("gunicorn")
    if direct is not None and "proxy" in measured.results and direct.requests_per_second > 0:
        ratio = measured.results["proxy"].requests_per_second / direct.requests_per_second
        verdict = "met" if ratio >= 10 else "not met"
        print(f"  proxy / gunicorn: {ratio:.1f}x (target >= 10x: {verdict})")
