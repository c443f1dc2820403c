"""The demo challenge's run budget: what its AutoGluon runs need to show what they show.

``load_demo`` gives the demo challenge this budget when it creates it (one call,
:func:`demo_budget_apply`); the budget lives on the challenge (``Challenge.run_budget``,
:mod:`algorithms.services.run_budget`), so it applies to every run the demo ever queues:
the baselines its tasks queue on arrival, those a new data version queues, their stress
runs, an organizer's re-run. The figures behind each number are in
docs/developers/benchmarks.md ("The demo settles on a budget") and the reasons in
docs/decisions/0075-the-demo-settles-on-a-budget.md.
"""

from __future__ import annotations

from challenges.models import Challenge

# The baseline fits on a stratified sample of this many train rows at most (bird-strikes and
# tweet-source have 5,600, movie-ratings 7,000, febrl 13,844; the other tasks fewer): the
# baseline's accuracy moved by under a point at this size on the demo tasks, its fit cost
# about half, and its stress runs fit on the same sample.
DEMO_TRAIN_ROWS = 3000

DEMO_RUN_BUDGET = {"train_rows": DEMO_TRAIN_ROWS}


def demo_budget_apply(*, challenge: Challenge, created: bool) -> None:
    """Give the demo challenge its run budget when it was just created (an existing one
    keeps its own: an organizer may have changed it)."""
    if created:
        challenge.run_budget = dict(DEMO_RUN_BUDGET)
        challenge.save(update_fields=["run_budget"])
