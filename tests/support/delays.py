"""Test-only delays for worker processes, armed by environment variables (never shipped).

- ``SCORING_TEST_DELAY_SECONDS``: scoring sleeps after it claimed a submission (before the
  file is read), so a test can kill a worker while the row is deterministically "scoring";
  with ``SCORING_TEST_DELAY_BUSY=1`` it computes all that time instead of sleeping.
  It wraps ``scoring.core.score_file`` before the scoring services import it, which is why
  the worker's settings module (:mod:`tests.support.worker_settings`) imports this module.

A slow baseline needs no hook: :func:`slow_baseline_dir` is a copy of the baseline's folder
whose ``main.py`` sleeps first (inside the sandbox, where no test variable reaches, so the
delay is written into that file). A test points ``BASELINE_ALGORITHM_DIR`` at it before it
queues a run, whose version (stored when it is queued) is then that copy, so a run
deterministically outlives its hard timeout or is cancelled mid-run, whatever the machine.
"""

from __future__ import annotations

import functools
import os
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


if SCORING_DELAY > 0:
    arm_scoring_delay()
