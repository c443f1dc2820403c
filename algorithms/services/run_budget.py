"""A challenge's budget for the platform's own runs: the data and the models they need.

The AutoGluon baseline's work does not depend on time or load
(``algorithms/builtin/autogluon/budget.py``, docs/decisions/0011-a-reproducible-baseline.md);
what a challenge may still choose is how much of it its runs do, stored on the challenge
(``Challenge.run_budget``, a JSON object, checked by ``challenges.run_budget``) so that it
applies to every run the challenge ever queues, whatever queued it (an import, a new data
version on arrival, an organizer, the stress tick), never to a list of today's jobs:

- ``train_rows``: the baseline fits on a stratified sample of at most this many train rows
  (the runner's own sampling, ``--max-train-rows``); its stress runs copy the clean run's
  options, so they fit on the same sample and their model is the clean run's model.
- ``without_models``: model types the baseline leaves out of its fixed portfolio (one whose
  fit costs far more than it adds to the ensemble); the rest of its work stays fixed.
- ``stress_rows``: every stress test set of the challenge's tasks (the baseline's and the
  benchmark versions') holds at most this many perturbed copies, each family keeping its
  share (``kinds.stress``); below ``STRESS_MAX_ROWS``, the platform-wide cap.

Each is stored on a run's options when it is queued (``max_train_rows``, ``without_models``,
``max_rows``), like its presets and limits, so a run says what it was given and a changed
budget applies to the runs queued after the change. An empty object (every challenge's
default) is the platform's settings. The demo sets its budget when ``load_demo`` creates it
(``operations.demo_budget``, docs/decisions/0074-the-demo-settles-on-a-budget.md).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from challenges.models import Challenge
from challenges.run_budget import RunBudget, RunBudgetInvalid, run_budget_parse

logger = logging.getLogger(__name__)


def challenge_run_budget(*, challenge: Challenge) -> RunBudget:
    """The challenge's budget; one that cannot be used is logged and read as none (the
    platform's settings), so a typo never stops a run from being queued."""
    try:
        return run_budget_parse(value=challenge.run_budget)
    except RunBudgetInvalid as exc:
        logger.warning("challenge %s: run budget ignored: %s", challenge.slug, exc)
        return RunBudget()


def _capped(own: int | None, platform: int) -> int | None:
    """The tighter of a budget's cap and the platform's (0: none); None when neither caps."""
    caps = [cap for cap in (own, platform) if cap]
    return min(caps) if caps else None


def baseline_budget_options(*, challenge: Challenge) -> dict[str, Any]:
    """What a baseline run of the challenge stores in its options: ``max_train_rows`` when
    the budget samples its train rows, ``without_models`` when it leaves model types out."""
    budget = challenge_run_budget(challenge=challenge)
    options: dict[str, Any] = {}
    if budget.train_rows is not None:
        options["max_train_rows"] = budget.train_rows
    if budget.without_models:
        options["without_models"] = list(budget.without_models)
    return options


def run_without_models(*, options: dict[str, Any] | None) -> str:
    """``BASELINE_WITHOUT_MODELS`` of a baseline run (or its stress run) with ``options``."""
    return ",".join(str(m) for m in (options or {}).get("without_models") or ())


def stress_budget_options(*, challenge: Challenge) -> dict[str, int]:
    """What a stress run of the challenge stores in its options: ``max_rows`` when the
    budget caps its test set."""
    budget = challenge_run_budget(challenge=challenge)
    return {} if budget.stress_rows is None else {"max_rows": budget.stress_rows}


def run_max_train_rows(*, options: dict[str, Any] | None) -> int:
    """The train rows a baseline run with ``options`` may fit on (0: all), within the
    platform's ``BASELINE_MAX_TRAIN_ROWS``."""
    own = (options or {}).get("max_train_rows")
    return _capped(int(own) if own else None, int(settings.BASELINE_MAX_TRAIN_ROWS)) or 0


def run_stress_max_rows(*, options: dict[str, Any] | None) -> int | None:
    """The copies a stress run with ``options`` may hold (None: the clean size), within the
    platform's ``STRESS_MAX_ROWS``."""
    own = (options or {}).get("max_rows")
    return _capped(int(own) if own else None, int(settings.STRESS_MAX_ROWS))
