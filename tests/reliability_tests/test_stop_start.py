"""A stop is not a failure (issue 50, point 6), with the real ``make run`` process tree
(``manage.py runplatform``): Ctrl-C in the middle of an AutoGluon baseline run, then start
again.

The baseline is the run a lost worker fails for good (one attempt: an AutoGluon that took
its worker down would do it again), so it is the one a stop must not fail. Before issue 50
the stop's SIGTERM reached the worker's pool process, which died with the run
(``WorkerLostError`` and its traceback in the output), and the next start failed the run as
"stopped unexpectedly (no heartbeat for 53 s) ... not retried automatically". Now the worker
kills the run's sandbox, gives the run back to the queue with its attempt, and stops; the
next start runs it to its end. The baseline here sleeps first (a copy of the built-in
algorithm, ``tests.support.delays.slow_baseline_dir``), so the stop lands mid-run on any
machine.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from testkit.bundles import write_classification_bundle
from tests.support.delays import slow_baseline_dir
from tests.support.platform_run import Platform, running_platform
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker]


def baseline_run(platform: Platform) -> dict | None:
    """The task's AutoGluon baseline run, read from the platform's database file."""
    database = platform.data_dir / "db.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT id, status, attempts, error, log_tail, worker_hostname FROM"
            " algorithms_algorithmrun WHERE profile = 'baseline' ORDER BY id"
        ).fetchone()
    return dict(row) if row is not None else None


def test_a_run_cut_by_the_platform_s_stop_is_queued_again_and_finishes(tmp_path: Path) -> None:
    settings = {
        "BENCHMARK_ON_ARRIVAL": "1",  # the import queues the task's AutoGluon baseline
        "BASELINE_ALGORITHM_DIR": slow_baseline_dir(20),
        "STRESS_RUNS": "0",
        "REPRODUCTION_SHARE": "0",
    }
    data = tmp_path / "var"
    with running_platform(data, **settings) as platform:
        bundle = write_classification_bundle(tmp_path / "bundle", rows=60, task={"slug": "t1"})
        done = platform.manage("import_task", str(bundle), "--challenge", "stops", "--track", "t")
        assert done.returncode == 0, done.stderr
        # The sandbox has started (the baseline's own log says it waits before fitting).
        wait_for(
            lambda: "test delay" in ((baseline_run(platform) or {}).get("log_tail") or ""),
            timeout=240,
            what=f"the baseline to run:\n{platform.log_tail()}",
        )
        platform.stop()  # Ctrl-C
        output = platform.log.read_text(errors="replace")
        (tmp_path / "first-stop.log").write_text(output)  # the next start writes the log anew
        assert platform.process.returncode == 0, output[-6000:]
    assert "Traceback" not in output and "WorkerLostError" not in output, output[-8000:]
    run = baseline_run(platform)
    assert run["status"] == "queued", run
    assert run["attempts"] == 0 and run["error"] == "", run  # the stop took no attempt
    assert run["log_tail"].startswith("Interrupted by the platform's stop after "), run

    with running_platform(data, **settings) as again:
        wait_for(
            lambda: baseline_run(again)["status"] in ("succeeded", "failed", "cancelled"),
            timeout=300,
            what=f"the baseline to finish after the start:\n{again.log_tail()}",
        )
        run = baseline_run(again)
        assert run["status"] == "succeeded", run["error"]
        assert run["attempts"] == 1
