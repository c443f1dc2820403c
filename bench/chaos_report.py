"""The chaos run's report (``bench/chaos.py``): the verdicts of every invariant, the faults'
table, and the checker proved on planted faults."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections import Counter

from bench.chaos_faults import Fault, beat_sent_after
from bench.chaos_invariants import (
    Verdict,
    check_audit,
    check_boards,
    check_bounds,
    check_notifications,
    check_pending,
    check_rescore,
    check_runs,
    check_server_errors,
    check_uploads,
    check_waits,
    percentile,
    upload_outcomes,
)
from bench.chaos_schedule import KINDS, overlapping
from bench.multihost_faults import db_rows
from bench.multihost_hosts import (
    ENTRYPOINT,
    Cluster,
    addr,
    http,
)
from scoring.task_names import SCORE_SUBMISSION


def load_text() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def verify(c: Cluster, *args: str) -> str:
    """bench/chaos_verify.py on the beat host, with the deployment's settings."""
    command = [ENTRYPOINT, sys.executable, "-m", "bench.chaos_verify", *args]
    return c.run("beat", command, timeout=3600)


class Report:
    def __init__(self, c, opts, plan, faults, ledger, facts, received, job_types) -> None:
        self.c, self.opts, self.plan = c, opts, plan
        self.faults: list[Fault] = faults
        self.ledger = ledger.as_json()
        self.exchanges = list(ledger.exchanges)
        self.token = ""  # a participant's, to read the boards as one
        self.t0 = 0.0  # when the load began
        self.crashes: list[dict] = []  # processes that ended by themselves (restarted)
        self.beats = ""  # the largest gap between two beats of each live worker
        self.facts, self.received, self.job_types = facts, received, job_types
        self.table: dict[str, dict] = {}
        self.verdicts: list[Verdict] = []
        self.load_at_end = load_text()
        self.load_at_start = ""

    @property
    def passed(self) -> bool:
        return all(v.ok for v in self.verdicts)

    # --- recovery per fault ------------------------------------------------------------------

    def finished(self, jobs: list[tuple[str, int]]) -> dict[tuple[str, int], float | None]:
        """When each job ended (None: not final)."""
        out: dict[tuple[str, int], float | None] = {}
        by_type: dict[str, list[int]] = {}
        for task, pk in jobs:
            by_type.setdefault(task, []).append(pk)
        for task, pks in by_type.items():
            jt = self.job_types.get(task)
            if jt is None:
                continue
            rows = db_rows(
                self.c,
                f"SELECT id, status, extract(epoch FROM finished_at) FROM {jt['table']} "
                "WHERE id = ANY(%s)",
                (pks,),
            )
            for pk, status, at in rows:
                out[(task, pk)] = float(at) if status in jt["final"] and at is not None else None
        return out

    def recovery(
        self, fault: Fault, scored_at: dict[int, float | None]
    ) -> tuple[float | None, str]:
        """Seconds the fault took to recover, and what was measured."""
        kind = fault.kind
        if fault.error:
            return None, f"not done: {fault.error}"
        if kind in ("worker_kill", "algorithms_kill"):
            return self._all_final(fault, since=fault.started, what="held")
        if kind == "beat_kill":
            at = beat_sent_after(self.c.log("beat", "beat"), fault.healed)
            return (None if at is None else at - fault.started), "until the beat sent again"
        if kind == "web_kill":
            failed = [
                e.ended
                for e in self.exchanges
                if fault.started <= e.started <= fault.healed
                and (not isinstance(e.status, int) or e.status >= 500)
            ]
            return max(failed, default=fault.started) - fault.started, "until routed around"
        if kind in ("broker_empty", "broker_aof"):
            return fault.republished, "until every queued job had a message again"
        if kind in ("db_restart", "db_connections"):
            return self._scoring_again(fault, scored_at)
        # A cut link or a full disk: from its heal until what the host held or claimed
        # during it moved on (final; a run beating again), and its workers beat again.
        what = f"{len(fault.held)} job(s) held during it moved on"
        if fault.progress is None:
            return None, f"{len(fault.held)} job(s) held during it did not move on in 180 s"
        if kind == "link_broker":
            if fault.beating is None:
                return None, "its workers did not beat again"
            return max(fault.progress, fault.beating), what + ", its workers beat again"
        return fault.progress, what

    def _all_final(self, fault: Fault, *, since: float, what: str) -> tuple[float | None, str]:
        if not fault.held:
            return 0.0, f"nothing {what}"
        ends = self.finished(fault.held)
        if any(ends.get(job) is None for job in fault.held):
            return None, f"{len(fault.held)} {what}, not all final"
        return max(max(ends.values()) - since, 0.0), f"{len(fault.held)} job(s) {what} final"

    def _scoring_again(self, fault: Fault, scored_at: dict[int, float | None]):
        pending = self.finished([(SCORE_SUBMISSION, pk) for pk in fault.pending])
        if any(v is None for v in pending.values()):
            return None, "a submission pending at the fault never ended"
        after = sorted(
            (u["started"], u["submission"])
            for u in self.ledger["uploads"]
            if u["submission"] and u["started"] >= fault.started
        )
        if not after or scored_at.get(after[0][1]) is None:
            return None, "no upload made after it was scored"
        ends = [scored_at[after[0][1]], *pending.values()]
        return max(ends) - fault.started, "until pending and new uploads were scored"

    def compute(self) -> None:
        rows = self.facts["uploads"]["rows"]
        scored_at = {
            r["id"]: r["finished"] for key in rows for r in rows[key] if r["status"] == "scored"
        }
        faults = []
        for fault in self.faults:
            value, what = self.recovery(fault, scored_at)
            faults.append((fault, value, what))
        self.per_fault = faults
        outcome = upload_outcomes(self.ledger, self.facts, self.scored_logged())
        self.table = self.fault_table(faults, outcome)
        self.waits = self.upload_waits(scored_at)
        fault_dicts = [
            {"kind": f.kind, "host": f.host, "started": f.started, "healed": f.healed}
            for f in self.faults
        ]
        ledger_5xx = sum(1 for e in self.exchanges if isinstance(e.status, int) and e.status >= 500)
        self.verdicts = [
            check_uploads(self.ledger, self.facts, self.scored_logged()),
            check_pending(self.facts),
            check_rescore(self.facts),
            check_boards(self.facts, self.served_boards()),
            check_runs(self.facts),
            check_notifications(self.facts, self.received),
            check_server_errors(self.balancer_log(), fault_dicts, ledger_5xx, since=self.t0),
            check_audit(self.facts, self.ledger),
            *check_bounds(self.table),
            check_waits(self.waits),
        ]

    def scored_logged(self) -> Counter:
        """How often the scoring workers' logs say each submission was scored."""
        seen: Counter = Counter()
        for host in ("worker1", "worker2"):
            text = self.c.log(host, "worker").read_text(errors="replace")
            for pk in re.findall(r"submission (\d+) scored:", text):
                seen[int(pk)] += 1
        return seen

    def balancer_log(self) -> str:
        return self.c.log("lb", "haproxy").read_text(errors="replace")

    def served_boards(self) -> list[dict]:
        """Each task's public board as a participant reads it through the balancer."""
        session = http()
        session.headers["Authorization"] = f"Token {self.token}"
        found = []
        for task in self.facts["audit"]["tasks"]:
            body = session.get(
                f"http://{addr('lb')}/api/v1/tasks/{task}/leaderboard/", timeout=60
            ).json()
            entries = [
                [e["rank"], e["team"], e["score"]]
                for e in body["entries"]
                if e.get("team_id") and e.get("rank") is not None
            ]
            found.append({"task": task, "split": "public", "entries": entries})
        return found

    def fault_table(self, faults, outcome) -> dict[str, dict]:
        """One row per kind: injected, recovered, p50/p95/max of the measured recoveries (a
        kill that caught nothing held recovered, with nothing to measure), the lost and
        doubled uploads whose life overlapped a fault of the kind, the 5xx the clients got
        while one lasted (until 10 s after it healed)."""
        uploads = {u["key"]: u for u in self.ledger["uploads"]}
        table: dict[str, dict] = {}
        for kind in KINDS:
            mine = [(f, v, w) for f, v, w in faults if f.kind == kind]
            measured = [v for f, v, w in mine if v is not None and not w.startswith("nothing")]
            recovered = sum(1 for _, v, _ in mine if v is not None)
            windows = [(f.started, (f.healed or f.started) + 10.0) for f, _, _ in mine]
            errors = sum(
                1
                for e in self.exchanges
                if isinstance(e.status, int)
                and e.status >= 500
                and any(a <= e.ended <= b for a, b in windows)
            )

            def hit(keys: dict[str, str], windows=windows) -> int:
                """Uploads (a lost one lives on) overlapping one of ``windows``."""
                return sum(
                    1
                    for key in keys
                    if any(
                        uploads[key]["started"] <= b and a <= uploads[key]["started"] + 600
                        for a, b in windows
                    )
                )

            ranked = sorted(mine, key=lambda m: math.inf if m[1] is None else m[1], reverse=True)
            table[kind] = {
                "injected": len(mine),
                "recovered": recovered,
                "measured": len(measured),
                "p50": percentile(measured, 0.5),
                "p95": percentile(measured, 0.95),
                "max": max(measured, default=None),
                "lost": hit(outcome["lost"]),
                "doubled": hit(outcome["doubled"]),
                "5xx": errors,
                "worst": [
                    f"fault {f.planned.n} on {f.host}: "
                    f"{'not recovered' if v is None else _s(v)} ({w})"
                    for f, v, w in ranked[:3]
                ],
            }
        return table

    def upload_waits(self, scored_at: dict[int, float | None]) -> list[dict]:
        rows = {
            r["id"]: r
            for key in self.facts["uploads"]["rows"]
            for r in self.facts["uploads"]["rows"][key]
        }
        waits = []
        for upload in self.ledger["uploads"]:
            row = rows.get(upload["submission"])
            if row is None or row["finished"] is None:
                continue
            start, end = upload["started"], row["finished"]
            covering = [
                (f.healed or end) - f.started
                for f in self.faults
                if f.started and f.started <= end and (f.healed or end) >= start
            ]
            waits.append(
                {
                    "key": upload["key"],
                    "id": row["id"],
                    "wait": end - start,
                    "covered": max(covering, default=0.0),
                }
            )
        return waits

    # --- output ------------------------------------------------------------------------------

    def header_rows(self) -> list[str]:
        kinds = Counter(f.kind for f in self.faults)
        accepted = sum(1 for u in self.ledger["uploads"] if u["submission"])
        channels = Counter(u["channel"] for u in self.ledger["uploads"] if u["submission"])
        return [
            f"seed {self.opts.seed}, {self.opts.minutes:g} min of load: {len(self.faults)} faults "
            f"of {len(kinds)} kinds, {overlapping(self.plan)} beginning while another lasted",
            f"uploads accepted: {accepted} ({', '.join(f'{n} {c}' for c, n in channels.items())})"
            f"; algorithm versions {len(self.ledger['algorithms'])}, runs asked "
            f"{len(self.ledger['runs'])}; task import tries {len(self.ledger['imports'])}",
            f"machine load (1/5/15 min) when the load began {self.load_at_start}, at the end "
            f"{self.load_at_end}; processes that ended by "
            f"themselves and were started again: {len(self.crashes)}",
            self.beats,
        ]

    def table_rows(self) -> list[list[str]]:
        out = []
        for kind, row in self.table.items():
            out.append(
                [
                    kind,
                    str(row["injected"]),
                    str(row["recovered"]),
                    _s(row["p50"]),
                    _s(row["p95"]),
                    _s(row["max"]),
                    str(row["lost"]),
                    str(row["doubled"]),
                    str(row["5xx"]),
                ]
            )
        return out

    COLUMNS = ["fault kind", "injected", "recovered", "p50", "p95", "max", "lost", "doubled", "5xx"]

    def render(self) -> str:
        widths = [max(len(r[i]) for r in [self.COLUMNS, *self.table_rows()]) for i in range(9)]
        lines = ["", "== chaos summary ==", *self.header_rows(), ""]
        for row in [self.COLUMNS, *self.table_rows()]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        lines.append("")
        lines.append("recovery per fault (seconds; what was measured):")
        for fault, value, what in self.per_fault:
            lines.append(
                f"  {fault.planned.n:3d} +{fault.started - self.faults[0].started:6.1f} s "
                f"{fault.kind:15s} {fault.host:8s} {_s(value):>8s}  {what}; {fault.detail}"
            )
        lines.append("")
        lines.append(
            f"processes that ended by themselves (the supervisor started them again): "
            f"{len(self.crashes) or 'none'}"
        )
        for crash in self.crashes:
            lines.append(
                f"  +{crash['at'] - self.t0:6.1f} s {crash['name']} on {crash['host']} "
                f"(exit {crash['code']}): {crash['why']}"
            )
        lines.append("")
        for verdict in self.verdicts:
            lines.extend(verdict.lines())
        lines.append(f"result: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def markdown(self) -> str:
        command = f"bench/chaos.py --minutes {self.opts.minutes:g} --seed {self.opts.seed}"
        lines = [
            "",
            f"#### {time.strftime('%Y-%m-%d %H:%M')}: `{command}`",
            "",
            *[f"- {row}" for row in self.header_rows()],
            "",
            "| " + " | ".join(self.COLUMNS) + " |",
            "|" + "---|" * len(self.COLUMNS),
            *["| " + " | ".join(row) + " |" for row in self.table_rows()],
            "",
            *[f"- {v.lines()[0]}" for v in self.verdicts],
            "",
        ]
        return "\n".join(lines)


def prove_checker(c: Cluster, report: Report) -> str:
    """Plant each fault in a transaction rolled back after the facts are read: the checks
    must FAIL, naming the planted row."""
    out = ["", "== the checker on planted faults (rolled back) =="]
    ledger_path = str(c.dir("beat") / "ledger.json")
    for plant in ("delete-scored", "done-without-result"):
        facts = json.loads(
            verify(c, ledger_path, "--plant", plant, "--no-rescore").splitlines()[-1]
        )
        verdicts = [
            check_uploads(report.ledger, facts, report.scored_logged()),
            check_runs(facts),
        ]
        failed = [v for v in verdicts if not v.ok]
        out.append(f"planted: {facts['planted']}")
        for verdict in failed or verdicts:
            out.extend(verdict.lines())
        out.append(f"checker: {'FAIL (as it must)' if failed else 'PASS (it missed it)'}")
    return "\n".join(out)


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"
