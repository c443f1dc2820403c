"""Test-only delays for worker processes, armed by environment variables (never shipped).

- ``SCORING_TEST_DELAY_SECONDS``: scoring sleeps after it claimed a submission (before the
  file is read), so a test can kill a worker while the row is deterministically "scoring";
  with ``SCORING_TEST_DELAY_BUSY=1`` it computes all that time instead of sleeping.
  It wraps ``scoring.core.score_file`` before the scoring services import it, which is why
  the worker's settings module (:mod:`tests.support.worker_settings`) imports this module.

- ``ALGORITHM_TEST_STAGE_DELAYS`` (e.g. ``"unpack=600"``): a run's stage takes that many
  seconds, as it would for a large archive or task, *calling the stage's own cancel check
  twice a second meanwhile* (as the real copy calls it per megabyte or row group), so a
  test can cancel a run deterministically in the middle of that stage. Stages: ``unpack``
  (copying and unpacking the archive, right after the claim), ``task`` (writing ``/task``),
  ``read`` (the output reader process sleeps first; the pipeline's own polling must kill
  it). Only the first run of each pool process is delayed (the worker then runs the next
  job at full speed, so a test can show it is free). Each stage logs ``test delay:
  <stage>`` to the worker's log when it starts. Armed in each pool process
  (``worker_process_init``), where the algorithms app is loaded.

A slow baseline needs no hook: :func:`slow_baseline_dir` is a copy of the baseline's folder
whose ``main.py`` sleeps first (inside the sandbox, where no test variable reaches, so the
delay is written into that file). A test points ``BASELINE_ALGORITHM_DIR`` at it before it
queues a run, whose version (stored when it is queued) is then that copy, so a run
deterministically outlives its hard timeout or is cancelled mid-run, whatever the machine.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCORING_DELAY = float(os.environ.get("SCORING_TEST_DELAY_SECONDS", "0") or 0)
# "1": the delay computes (a Python loop holding its process's GIL) instead of sleeping.
SCORING_DELAY_BUSY = os.environ.get("SCORING_TEST_DELAY_BUSY", "") == "1"
SLOW_MAIN = """
import runpy, sys, time
from pathlib import Path

Path("/output/fit.log").write_text("baseline: test delay of {delay:.0f} s before fitting\\n")
time.sleep({delay!r})
sys.path.insert(0, "/code")
runpy.run_path("/code/autogluon_baseline/slow_real_main.py", run_name="__main__")
"""


def arm_scoring_delay() -> None:
    import scoring.core

    real = scoring.core.score_file

    @functools.wraps(real)
    def slow_score_file(*args: Any, **kwargs: Any) -> Any:
        if SCORING_DELAY_BUSY:
            deadline = time.monotonic() + SCORING_DELAY
            spins = 0
            while time.monotonic() < deadline:
                spins += sum(range(10_000)) & 1
        else:
            time.sleep(SCORING_DELAY)
        return real(*args, **kwargs)

    scoring.core.score_file = slow_score_file


def slow_baseline_dir(delay: float) -> str:
    """A copy of the baseline algorithm's folder whose entrypoint waits ``delay`` seconds."""
    import shutil
    import tempfile

    source = REPO / "algorithms" / "builtin" / "autogluon"
    target = Path(tempfile.mkdtemp(prefix="slow-baseline-")) / "autogluon_baseline"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "main.py").rename(target / "slow_real_main.py")
    (target / "main.py").write_text(SLOW_MAIN.format(delay=delay), encoding="utf-8")
    return str(target)


STAGE_DELAYS = {
    name.strip(): float(seconds)
    for name, _, seconds in (
        part.partition("=")
        for part in os.environ.get("ALGORITHM_TEST_STAGE_DELAYS", "").split(",")
        if part.strip()
    )
}
CHECK_EVERY = 0.5


_delayed: set[str] = set()  # the stages this pool process has delayed once


def _first_time(stage: str) -> bool:
    if stage in _delayed:
        return False
    _delayed.add(stage)
    return True


def _slow(seconds: float, check: Any, what: str) -> None:  # check: the stage's own
    print(f"test delay: {what}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(CHECK_EVERY)
        if check is not None:
            check()


def arm_stage_delays(**_: Any) -> None:
    from algorithms.services import execute, output

    for stage, name in (("unpack", "unpack_version"), ("task", "task_folder_write")):
        if stage in STAGE_DELAYS:
            real = getattr(execute, name)

            def slow(*args: Any, _real=real, _stage=stage, **kwargs: Any) -> Any:
                if _first_time(_stage):
                    _slow(STAGE_DELAYS[_stage], kwargs.get("on_chunk"), _stage)
                return _real(*args, **kwargs)

            setattr(execute, name, functools.wraps(real)(slow))
    if "read" in STAGE_DELAYS:
        real_command = output.reader_command

        @functools.wraps(real_command)
        def slow_command(*args: Any, **kwargs: Any) -> list[str]:
            command = real_command(*args, **kwargs)
            if not _first_time("read"):
                return command
            print("test delay: read", file=sys.stderr, flush=True)
            delay = f"sleep {STAGE_DELAYS['read']:g}; exec \"$@\""
            return ["/bin/sh", "-c", delay, "sh", *command]

        output.reader_command = slow_command


if SCORING_DELAY > 0:
    arm_scoring_delay()
if STAGE_DELAYS:
    from celery.signals import worker_process_init

    worker_process_init.connect(arm_stage_delays, weak=False)
