"""Chaos (issue 52): the many-hosts deployment under load while faults come at random and
overlap, every invariant checked at the end (bench/chaos.py).

- The fault schedule is a function of the seed alone (the same seed, the same faults).
- The checker can fail: on facts with one fault planted, each verdict names the row.
- The 3-minute smoke run (fewer faults, the same invariants) passes, and on its real
  database, inside a transaction rolled back after, a deleted scored row and a run marked
  done without its result each make the checks FAIL with the row named. It needs what
  ``scripts/multihost.sh`` needs (root, network namespaces, HAProxy, Redis, PostgreSQL) and
  is skipped, saying what is missing, elsewhere; find it with ``pytest -m multihost``.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.chaos_invariants import (
    check_audit,
    check_runs,
    check_server_errors,
    check_uploads,
    percentile,
)
from bench.chaos_schedule import GAP_MAX, GAP_MIN, KINDS, fault_schedule, overlapping
from tests.reliability_tests.multihost_helpers import missing

REPO = Path(__file__).resolve().parents[2]


# --- the schedule ------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_schedule_and_the_acceptance_run_has_enough_faults():
    first = fault_schedule(seed=1, seconds=1800)
    assert first == fault_schedule(seed=1, seconds=1800)
    assert first != fault_schedule(seed=2, seconds=1800)
    assert len(first) >= 60 and len({f.kind for f in first}) >= 8 and overlapping(first) > 0
    gaps = [b.at - a.at for a, b in itertools.pairwise(first)]
    assert all(GAP_MIN - 0.01 <= g <= GAP_MAX + 0.01 for g in gaps)
    # Every kind is dealt once before any is dealt again.
    assert Counter(f.kind for f in first[: len(KINDS)]) == Counter(list(KINDS))
    smoke = fault_schedule(seed=1, seconds=180)
    assert 3 <= len(smoke) < len(first) and smoke == first[: len(smoke)]
    with pytest.raises(ValueError, match="unknown fault kinds: nope"):
        fault_schedule(seed=1, seconds=60, kinds=["nope"])


def test_the_percentile_is_the_nearest_rank():
    assert percentile([], 0.95) is None
    assert percentile([3.0], 0.95) == 3.0
    values = [float(n) for n in range(1, 21)]
    assert percentile(values, 0.5) == 10.0 and percentile(values, 0.95) == 19.0


# --- the checker fails, naming the row ---------------------------------------------------------


def _facts(rows: dict, missing_ids: list[int] = ()) -> dict:
    return {"uploads": {"rows": rows, "missing_ids": list(missing_ids)}}


def _row(pk: int, status: str = "scored", error: str = "") -> dict:
    return {"id": pk, "status": status, "error": error, "task": "t", "team": "T",
            "created": 0.0, "finished": 1.0, "attempts": 1}  # fmt: skip


def test_the_uploads_check_names_a_lost_or_doubled_submission():
    ledger = {
        "uploads": [
            {"key": "api-a", "submission": 11, "given_up": ""},
            {"key": "api-b", "submission": 12, "given_up": ""},
            {"key": "api-c", "submission": 13, "given_up": ""},
            {"key": "web-d", "submission": 14, "given_up": ""},
        ]
    }
    good = _facts({"api-a": [_row(11)], "api-b": [_row(12)], "api-c": [_row(13, "failed", "x")],
                   "web-d": [_row(14)]})  # fmt: skip
    assert check_uploads(ledger, good, Counter()).ok
    deleted = _facts({"api-a": [], "api-b": [_row(12)], "api-c": [_row(13, "failed", "x")],
                      "web-d": [_row(14)]}, missing_ids=[11])  # fmt: skip
    verdict = check_uploads(ledger, deleted, Counter())
    assert not verdict.ok and "submission 11 (upload api-a) is not in the database" in verdict.rows
    stuck = _facts({"api-a": [_row(11)], "api-b": [_row(12, "scoring")],
                    "api-c": [_row(13, "failed", " ")], "web-d": [_row(14), _row(15)]})
    verdict = check_uploads(ledger, stuck, Counter({11: 2}))
    assert not verdict.ok
    assert "submission 12 (upload api-b) ended scoring, not final" in verdict.rows
    assert "submission 13 (upload api-c) failed without a reason" in verdict.rows
    assert "upload web-d made 2 submissions [14, 15]" in verdict.rows
    assert "submission 11 (upload api-a) scored 2 times" in verdict.rows


def _run(pk: int, **fields) -> dict:
    return {"id": pk, "profile": "team", "algorithm": 1, "version": 1, "task": "t",
            "data_version": 1, "status": "succeeded", "error": "", "submission": 100 + pk,
            "submission_status": "scored", "scores": False, "stress_of": None,
            "reproduces": None, "attempts": 1, **fields}  # fmt: skip


def test_the_runs_check_names_a_run_done_without_its_result_or_run_twice():
    requested = [
        {"run": 1, "task": "t", "profile": "team"},
        {"run": 2, "task": "u", "profile": "team"},
    ]
    facts = {"runs": {"rows": [_run(1), _run(2, task="u")], "requested": requested}}
    assert check_runs(facts).ok
    facts["runs"]["rows"][0] = _run(1, submission=None, submission_status=None)
    verdict = check_runs(facts)
    assert not verdict.ok
    assert verdict.rows == ["algorithm run 1 (team on t) succeeded without its submission"]
    facts["runs"]["rows"] = [_run(1), _run(2, task="u"), _run(3, task="u")]
    assert check_runs(facts).rows == ["2 team runs of version 1 on u"]
    facts["runs"]["rows"] = [_run(1, status="queued")]
    assert set(check_runs(facts).rows) == {
        "algorithm run 1 (team on t) ended queued",
        "run 2 (team on u) is missing",
    }


def _haproxy(at: float, server: str, status: int, term: str, total_ms: int = 900) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S", time.localtime(at)) + ".000"
    return (
        f'10.213.7.100:4000 [{stamp}] www web/{server} 0/0/0/-1/{total_ms} {status} 10 - - {term} '
        f'1/1/0/0/0 0/0 "POST /api/v1/tasks/t/submissions/ HTTP/1.1"'
    )


def test_a_5xx_is_excused_only_when_the_balancer_answered_for_a_dead_web_host():
    t0 = 1_800_000_000.0
    faults = [{"kind": "web_kill", "host": "web2", "started": t0 + 100, "healed": t0 + 120}]
    log = "\n".join(
        [
            _haproxy(t0 + 98, "web2", 502, "SH--", 3000),  # in flight as web2 died: allowed
            _haproxy(t0 + 105, "<NOSRV>", 503, "SC--"),  # no server left: allowed
            _haproxy(t0 + 50, "web1", 503, "----"),  # the application's own 503: never
            _haproxy(t0 + 200, "web2", 502, "SH--"),  # web2 long back: not excused
            _haproxy(t0 + 10, "web1", 200, "----"),
        ]
    )
    verdict = check_server_errors(log, faults, 2, since=t0)
    assert not verdict.ok and len(verdict.rows) == 2
    assert all("by web1 (----)" in r or "by web2 (SH--)" in r for r in verdict.rows)
    assert check_server_errors(log, faults, 2, since=t0 + 150).rows == verdict.rows[1:]


def test_the_audit_check_names_a_missing_or_doubled_event():
    audit = {
        "events": [
            ["task.import", "datasets.Task", "7", 1],
            ["algorithm_run.start", "algorithms.AlgorithmRun", "1", 1],
            ["algorithm_run.start", "algorithms.AlgorithmRun", "9", 1],
        ],
        "tasks": {"chaos-a": 7, "chaos-b": 8},
        "runs": [1, 2],
        "task_model": "datasets.Task",
        "run_model": "algorithms.AlgorithmRun",
    }
    facts = {"audit": audit, "runs": {"rows": [_run(1, profile="organizer"),
                                               _run(2, profile="organizer")]}}  # fmt: skip
    verdict = check_audit(facts, {"runs": []})
    assert not verdict.ok
    assert set(verdict.rows) == {
        "task chaos-b (8) has 0 task.import events",
        "algorithm run 2 (organizer) has 0 start events",
        "a start event names run 9, which does not exist",
    }


# --- the smoke run -------------------------------------------------------------------------------


@pytest.mark.beside
@pytest.mark.multihost
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_a_three_minute_chaos_run_passes_and_its_checker_fails_on_planted_faults():
    absent = missing()
    if absent:
        pytest.skip("bench/chaos.py needs " + ", ".join(absent))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    # --phases (issue 62): the challenge becomes a development and a final phase through the
    # organizers' API, switched halfway through the load; every upload must land in its phase.
    command = [str(REPO / ".venv" / "bin" / "python"), "bench/chaos.py", "--minutes", "3",
               "--seed", "5", "--prove-checker", "--phases"]  # fmt: skip
    script = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = script.communicate(timeout=1380)
    except subprocess.TimeoutExpired:
        script.terminate()  # multihost.sh's trap removes the hosts
        out, err = script.communicate(timeout=120)
        pytest.fail(f"bench/chaos.py did not finish in 23 minutes:\n{out}\n{err[-4000:]}")
    report = f"exit {script.returncode}\n{out}\n{err[-4000:]}"
    verdicts = re.findall(r"^(PASS|FAIL)  (.+?):", out, re.M)
    names = [name for _, name in verdicts]
    for invariant in (
        "every accepted upload ends exactly once",
        "no job is left queued or running",
        "every score equals a fresh re-score of its stored file",
        "every board equals its recomputation from the stored scores",
        "every algorithm run gives one result for each task, with no duplicate run",
        "every webhook and mail is delivered at least once",
        "no 5xx is answered except by a web host while it is down behind the balancer",
        "the audit log has no gap",
        "uploads land in their arrival's phase",
    ):
        assert any(name.startswith(invariant) for name in names), (invariant, report)
    main = out.split("== the checker on planted faults")[0]
    assert "FAIL  " not in main, report
    assert re.search(r"^result: PASS$", main, re.M) and script.returncode == 0, report
    table = re.search(r"^fault kind\s+injected\s+recovered\s+p50\s+p95\s+max\s+lost\s+doubled"
                      r"\s+5xx$", main, re.M)  # fmt: skip
    assert table, report
    planted = out.split("== the checker on planted faults")[1]
    deleted = re.search(r"planted: deleted scored submission (\d+) \(upload (\S+)\)", planted)
    assert deleted, report
    assert f"submission {deleted[1]} (upload {deleted[2]}) is not in the database" in planted
    done = re.search(r"planted: marked algorithm run (\d+) succeeded without its submission",
                     planted)  # fmt: skip
    assert done, report
    assert re.search(rf"algorithm run {done[1]} \(team on \S+\) succeeded without its submission",
                     planted), report  # fmt: skip
    assert planted.count("checker: FAIL (as it must)") == 2, report
    # Nothing left behind: no namespace of the run, no run folder.
    names = re.search(r"namespaces (mh\d+-)\*, folders under (\S+)\)", out)
    assert names, report
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert names[1] not in listed
    assert not Path(names[2]).exists()


def test_a_recovery_over_its_bound_prints_each_held_job_s_timeline(monkeypatch):
    """Issue 66: a scoring worker's job final after 46.2 s, and nothing kept to say why. The
    report now tells each held job of a fault over its bound from the fault's start: its
    claims, when it was seen dead and re-queued, claimed again, final; with the faults that
    began meanwhile (a web host killed 8 s later)."""
    from bench import chaos_timeline
    from bench.chaos_faults import Fault
    from bench.chaos_schedule import Planned

    kill = Fault(Planned(3, 60.0, "worker_kill", "worker1", 0.0), started=1000.0, healed=1001.0)
    kill.held = [("scoring.tasks.score_submission", 41)]
    quick = Fault(Planned(4, 90.0, "worker_kill", "worker2", 0.0), started=1030.0)
    quick.held = [("scoring.tasks.score_submission", 42)]
    web = Fault(Planned(5, 68.0, "web_kill", "web1", 30.0), started=1008.0)
    per_fault = [(kill, 46.2, "1 job(s) held final"), (quick, 4.5, "1 job(s) held final"),
                 (web, 1.0, "until routed around")]  # fmt: skip
    assert [f for f, _ in chaos_timeline.over_bound(per_fault)] == [kill]

    def events(c, job_types, job):
        assert job == ("scoring.tasks.score_submission", 41)
        return [
            (995.0, "claimed by scoring@worker1#a"),
            (1012.0, "seen dead, re-queued and published again: its worker stopped beating"),
            (1040.0, "claimed again by scoring@worker2#b"),
            (1046.2, "final: scored"),
        ]

    monkeypatch.setattr(chaos_timeline, "job_events", events)
    text = chaos_timeline.timelines(None, {}, per_fault, [kill, quick, web])
    lines = text.splitlines()
    assert "fault 3 worker_kill on worker1: 46.2 s (bound 10 s)" in lines[2]
    assert [line.split(None, 1) for line in lines[4:]] == [
        ["-5.0", "claimed by scoring@worker1#a"],
        ["+0.0", "worker_kill on worker1 (the fault)"],
        ["+8.0", "web_kill on web1 begins"],
        ["+12.0", "seen dead, re-queued and published again: its worker stopped beating"],
        ["+30.0", "worker_kill on worker2 begins"],
        ["+40.0", "claimed again by scoring@worker2#b"],
        ["+46.2", "final: scored"],
    ]
    assert chaos_timeline.timelines(None, {}, per_fault[1:], [quick, web]) == ""
