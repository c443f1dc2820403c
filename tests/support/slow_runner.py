"""The real baseline runner, waiting ``BASELINE_RUNNER_TEST_DELAY_SECONDS`` before it fits.

Run by the test workers as ``python -P -m tests.support.slow_runner`` (see
:mod:`tests.support.delays`). The wait is logged to fit.log, so the run shows a log tail,
and a SIGTERM during it ends the runner exactly like one during a fit.
"""

from __future__ import annotations

import os
import sys
import time

from scoring.baselines import runner

_fit = runner.fit_and_predict


def _slow_fit(args, result) -> None:
    delay = float(os.environ.get("BASELINE_RUNNER_TEST_DELAY_SECONDS", "0") or 0)
    runner.LOG.info("baseline: test delay of %.0f s before fitting", delay)
    time.sleep(delay)
    _fit(args, result)


runner.fit_and_predict = _slow_fit

if __name__ == "__main__":
    sys.exit(runner.main())
