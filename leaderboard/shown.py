"""What a reader sees of a task's public board in a ladder mode (docs/organizers/ladder.md).

The board's stored entries already hold no exact figure of a laddered entry: its ``score``
is its shown score, its ``metrics`` the shown ones (``leaderboard.services``). What the
bootstrap job adds afterwards is computed on the exact rows: score and rank intervals, the
group tied with #1, flips against the primary reference, and the stress runs' clean
scores. Every one of them would give the exact public score away (an interval's middle,
NFR - PFR against a reference whose score is shown), so a reader who may not see exact
public scores (``scoring.selectors.public_scores_shown``) gets the rows without them; an
organizer gets each team entry's exact public score beside its shown one
(``exact_score``). A row without them says why (``withheld``, and ``robustness_reason``
beside ``robustness_state: "hidden"``: :data:`LADDER_ENTRY`).

Every board row read by a page, the CSV export or the API goes through
:func:`task_board_for`; each row gains ``shown_score`` (None for a reference) and
``climbed`` (True for a team's entry: the board shows the entry that last climbed; None
for a reference).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from challenges.phases import blind_phase_started_hidden
from common import board_modes
from datasets.models import Task
from scoring.models import Submission
from scoring.selectors import User, public_scores_shown

from .boards import TaskBoard, task_board_cached
from .ladder import shown_digits, task_board_mode
from .models import LeaderboardEntry, Split
from .rank_set_fields import tier_numbers

LADDER_ENTRY = (
    "withheld until the private split is revealed: a ladder board shows a team's entry by its "
    "shown score only, and its score interval, rank range, rank set, tie with #1, NFR and PFR "
    "against the primary reference, OPIS and robustness are computed on the exact public rows, so "
    "they would give that score away (docs/organizers/ladder.md)"
)
# Figures of an entry computed on the exact public rows: none reaches a reader of a ladder
# board who may not see exact public scores.
EXACT_FIGURES: dict[str, Any] = {
    "score_low": None,
    "score_high": None,
    "rank_low": None,
    "rank_high": None,
    "tied_with_best": False,
    "rank_set_low": None,
    "rank_set_high": None,
    "nfr": None,
    "nfr_low": None,
    "nfr_high": None,
    "pfr": None,
    "pfr_low": None,
    "pfr_high": None,
    "opis": None,
    "robustness": None,
    "robustness_state": "hidden",
    "robustness_reason": LADDER_ENTRY,
    "prize_ineligible": None,  # the prize's NFR limit reads the public flips
    "withheld": LADDER_ENTRY,
}


def board_hides(*, task: Task, split: str, user: User) -> bool:
    """Whether ``user`` reads ``task``'s board on ``split`` without its exact figures."""
    return (
        split == Split.PUBLIC
        and task_board_mode(task) != board_modes.PLAIN
        and not public_scores_shown(task=task, user=user)
    )


def hidden_tasks(*, tasks: list[Task], split: str, user: User) -> set[int]:
    """The ids of ``tasks`` whose boards on ``split`` hide exact scores from ``user`` (the
    transfer matrix withholds their teams' cells, ``leaderboard.transfer``; the results
    export leaves them out), and every task of a challenge whose blind phase has started and
    is not revealed to ``user`` (docs/decisions/0066-phases.md: a team's method's cell would
    be its blind entry's score)."""
    blind: dict[int, bool] = {}
    for task in tasks:
        challenge = task.track.challenge
        if challenge.pk not in blind:
            blind[challenge.pk] = blind_phase_started_hidden(challenge=challenge, user=user)
    return {
        task.pk
        for task in tasks
        if blind[task.track.challenge_id] or board_hides(task=task, split=split, user=user)
    }


def task_board_for(*, task: Task, split: str, user: User) -> TaskBoard:
    """The cached board of ``task`` on ``split`` as ``user`` may see it (see the module
    docstring); the cached rows are copied, never changed."""
    board = task_board_cached(task=task, split=split)
    hides = board_hides(task=task, split=split, user=user)
    rows = rows_for(task=task, split=split, rows=board.rows, hides=hides)
    _with_tiers(rows, hidden=rank_sets_hidden(task=task, split=split, user=user))
    if not hides:
        return replace(board, rows=rows)
    # The robustness column stays: references and the AutoGluon baseline keep their figures
    # (as in the API), a team's entry says it is hidden (``robustness_state``).
    return replace(board, rows=rows, tradeoff_svg="", flips=False)


def rank_sets_hidden(*, task: Task, split: str, user: User) -> bool:
    """Whether ``user`` reads ``task``'s board on ``split`` without its rank sets and tiers.
    They rest on the board's bootstrap of the exact rows, so they follow the rule of every
    exact figure (:func:`board_hides`): the one place to change should that rule move."""
    return board_hides(task=task, split=split, user=user)


def _with_tiers(rows: list[Any], *, hidden: bool) -> None:
    """Each row's ``tier`` (1 = best; None: a baseline, a reference, not computed yet), and
    no rank set on a team's row when they are ``hidden``."""
    numbers = {} if hidden else tier_numbers(rows)
    for row in rows:
        if hidden and isinstance(row, LeaderboardEntry):
            row.rank_set_low = row.rank_set_high = None
        row.tier = numbers.get(id(row))


def rows_for(*, task: Task, split: str, rows: list[Any], hides: bool) -> list[Any]:
    """Copies of a board's ``rows`` (entries and references) with ``shown_score``,
    ``climbed`` and ``exact_score``, and without the exact figures when ``hides``
    (:func:`board_hides`)."""
    laddered = split == Split.PUBLIC and task_board_mode(task) != board_modes.PLAIN
    exact = _exact_scores(rows) if laddered and not hides else {}
    digits = shown_digits(task=task, split=split) if laddered else None
    out = []
    for row in rows:
        row = copy.copy(row)
        team = isinstance(row, LeaderboardEntry)
        row.shown_score = row.score if team else None
        row.climbed = True if team else None
        row.exact_score = exact.get(row.submission_id) if team else None
        row.withheld = None
        row.shown_digits = digits if team and not row.is_baseline else None
        if hides and team and not row.is_baseline:
            for name, value in EXACT_FIGURES.items():
                setattr(row, name, value)
        out.append(row)
    return out


def _exact_scores(rows: list[Any]) -> dict[int, float | None]:
    """The exact public score of each team entry's submission (organizers' view)."""
    ids = [r.submission_id for r in rows if isinstance(r, LeaderboardEntry)]
    return dict(Submission.objects.filter(pk__in=ids).values_list("id", "public_score"))
