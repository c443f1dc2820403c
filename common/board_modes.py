"""The public board's modes (docs/organizers/ladder.md): the one home of their names and defaults.

A task's ``public_board`` says how its public split is shown to participants:

- ``plain``: every entry's exact public score;
- ``ladder``: Blum & Hardt's parameter-free Ladder (a team's shown score moves only when a new
  entry beats its shown best by more than one standard error of the paired difference);
- ``ladder-bootstrap``: the Sage Bionetworks DREAM rule (a new entry counts as better when
  the Bayes factor of its bootstrap wins over its losses exceeds a threshold);
- ``ladder-step``: Blum & Hardt's Ladder with a fixed step (their Algorithm 1: a new entry
  must beat the team's *shown* score by more than the step, the split's resolution, shown
  on the step's grid) on top of the ``ladder`` rule: it holds against an attacker who
  adapts each upload to the last answer (decision 0068).

New tasks start in ``ladder-step`` (a metric it cannot run: ``ladder``, then ``plain``);
tasks that existed before the modes keep ``plain`` (their migration says so), and a task
keeps the mode it has.
"""

from __future__ import annotations

import math

PLAIN = "plain"
LADDER = "ladder"
LADDER_BOOTSTRAP = "ladder-bootstrap"
LADDER_STEP = "ladder-step"
MODES = (PLAIN, LADDER, LADDER_BOOTSTRAP, LADDER_STEP)
LABELS = {
    PLAIN: "plain: every exact public score",
    LADDER: "ladder: a shown score moves only on a significant climb",
    LADDER_BOOTSTRAP: "ladder-bootstrap: the DREAM bootstrap rule (Bayes factor)",
    LADDER_STEP: "ladder-step: a shown score moves only by a full step and a significant climb",
}
DEFAULT_MODE = LADDER_STEP
# What a new task falls back to when its metric cannot run the default (``kinds.boards``).
FALLBACKS = (LADDER_STEP, LADDER, PLAIN)
# The modes whose shown scores are the exact ones on a grid of ``resolution(units)``.
ROUNDED = (LADDER, LADDER_STEP)

# The DREAM rule's settings (Sage-Bionetworks/challengescoring, ``bootLadderBoot``): the
# Bayes factor threshold is theirs; the bootstraps are 2,000, not their 10,000
# (docs/organizers/ladder.md, "Bootstraps": the decision's Monte Carlo error at the threshold).
DEFAULT_BOOTSTRAPS = 2000
MIN_BOOTSTRAPS = 100
MAX_BOOTSTRAPS = 20000
DEFAULT_BAYES_FACTOR = 3.0
REPORT_BOOTSTRAPS = 10  # the shown score: the mean of the first this many bootstrap scores


def shown_decimals(units: int) -> int:
    """The decimals of a ``ladder``/``ladder-step`` shown score on a public split of ``units``
    rows: those of its step, 1/sqrt(units) rounded down to a power of ten
    (``leaderboard.core.ladder.resolution``; 2,000 rows: 0.01, 2 decimals)."""
    return max(0, math.ceil(math.log10(math.sqrt(max(units, 1))) - 1e-12))


def is_ladder(mode: str) -> bool:
    """Whether ``mode`` hides exact public scores (every mode but ``plain``)."""
    return mode != PLAIN
