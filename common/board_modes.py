"""The public board's modes (docs/organizers/ladder.md): the one home of their names and defaults.

A task's ``public_board`` says how its public split is shown to participants:

- ``plain``: every entry's exact public score;
- ``ladder``: Blum & Hardt's parameter-free Ladder (a team's shown score moves only when a new
  entry beats its shown best by more than one standard error of the paired difference);
- ``ladder-bootstrap``: the Sage Bionetworks DREAM rule (a new entry counts as better when
  the Bayes factor of its bootstrap wins over its losses exceeds a threshold).

New tasks start in ``ladder``; tasks that existed before the modes keep ``plain`` (their
migration says so).
"""

from __future__ import annotations

PLAIN = "plain"
LADDER = "ladder"
LADDER_BOOTSTRAP = "ladder-bootstrap"
MODES = (PLAIN, LADDER, LADDER_BOOTSTRAP)
LABELS = {
    PLAIN: "plain: every exact public score",
    LADDER: "ladder: a shown score moves only on a significant climb",
    LADDER_BOOTSTRAP: "ladder-bootstrap: the DREAM bootstrap rule (Bayes factor)",
}
DEFAULT_MODE = LADDER

# The DREAM rule's settings (Sage-Bionetworks/challengescoring, ``bootLadderBoot``): the
# Bayes factor threshold is theirs; the bootstraps are 2,000, not their 10,000
# (docs/organizers/ladder.md, "Bootstraps": the decision's Monte Carlo error at the threshold).
DEFAULT_BOOTSTRAPS = 2000
MIN_BOOTSTRAPS = 100
MAX_BOOTSTRAPS = 20000
DEFAULT_BAYES_FACTOR = 3.0
REPORT_BOOTSTRAPS = 10  # the shown score: the mean of the first this many bootstrap scores


def is_ladder(mode: str) -> bool:
    """Whether ``mode`` hides exact public scores (every mode but ``plain``)."""
    return mode != PLAIN
