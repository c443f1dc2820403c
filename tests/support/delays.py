"""Test-only delays for worker processes, armed by environment variables (never shipped).

- ``SCORING_TEST_DELAY_SECONDS``: scoring sleeps after it claimed a submission (before the
  file is read), so a test can kill a worker while the row is deterministically "scoring".
  It wraps ``scoring.core.score_file`` before the scoring services import it, which is why
  the worker's settings module (:mod:`tests.support.worker_settings`) imports this module.
- ``BASELINE_RUNNER_TEST_DELAY_SECONDS``: the baseline runner waits before fitting, so a run
  deterministically outlives its hard timeout or is cancelled mid-run, whatever the
  machine's speed. The worker runs :mod:`tests.support.slow_runner` as its runner
  (``BASELINE_RUNNER_MODULE``), found through ``PYTHONPATH`` like the project's own code.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCORING_DELAY = float(os.environ.get("SCORING_TEST_DELAY_SECONDS", "0") or 0)
RUNNER_DELAY = float(os.environ.get("BASELINE_RUNNER_TEST_DELAY_SECONDS", "0") or 0)
SLOW_RUNNER = "tests.support.slow_runner"


def arm_scoring_delay() -> None:
    import scoring.core

    real = scoring.core.score_file

    @functools.wraps(real)
    def slow_score_file(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SCORING_DELAY)
        return real(*args, **kwargs)

    scoring.core.score_file = slow_score_file


def runner_settings() -> dict[str, str]:
    """Settings overrides that make the baseline worker run the slow runner."""
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return {"BASELINE_RUNNER_MODULE": SLOW_RUNNER}


if SCORING_DELAY > 0:
    arm_scoring_delay()
