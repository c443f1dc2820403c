"""What a reader sees of a task's public board in a ladder mode (docs/organizers/ladder.md).

The board's stored entries already hold no exact figure of a laddered entry: its ``score``
is its shown score, its ``metrics`` the shown ones (``leaderboard.stored_board``). What the
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

from challenges.phases import challenge_phases, phase_figures_visible
from common import board_modes
from datasets.models import Task
from leaderboard.boards.ladder import shown_digits, task_board_mode
from leaderboard.boards.phase_read import phase_entries_cached
from leaderboard.boards.phases import board_phase
from leaderboard.boards.read import TaskBoard, task_board, task_board_cached
from leaderboard.cache import board_cache
from leaderboard.models import LeaderboardEntry, Split
from leaderboard.statistics.rank_set_fields import tier_numbers
from scoring.models import Submission
from scoring.selectors import User, public_scores_shown

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
        and task_board_mode(task=task) != board_modes.PLAIN
        and not public_scores_shown(task=task, user=user)
    )


def hidden_tasks(*, tasks: list[Task], split: str, user: User) -> set[int]:
    """The ids of ``tasks`` whose boards on ``split`` hide exact scores from ``user`` (the
    transfer matrix withholds their teams' cells, ``leaderboard.transfer.matrix``; the results
    export leaves them out)."""
    return {task.pk for task in tasks if board_hides(task=task, split=split, user=user)}


def hidden_phases(*, tasks: list[Task], user: User) -> frozenset[int]:
    """The ids of the blind phases of ``tasks``' challenges whose figures ``user`` may not
    see yet (``challenges.phases.phase_figures_visible``): the transfer matrix and the
    results export withhold the teams' cells of runs made in them, and only those, until
    the reveal (docs/decisions/0066-phases.md)."""
    phases: set[int] = set()
    seen: set[int] = set()
    for task in tasks:
        challenge = task.track.challenge
        if challenge.pk in seen:
            continue
        seen.add(challenge.pk)
        phases |= {
            phase.pk
            for phase in challenge_phases(challenge=challenge)
            if not phase_figures_visible(phase=phase, user=user)
        }
    return frozenset(phases)


def task_board_for(*, task: Task, split: str, user: User, read: Any = None) -> TaskBoard:
    """The cached board of ``task`` on ``split`` as ``user`` may see it (see the module
    docstring); the cached rows are copied, never changed. ``read``: the phase a
    ``?phase=`` request reads (``leaderboard.boards.phase_read.BoardRead``; None: the
    maintained board)."""
    hides = board_hides(task=task, split=split, user=user)
    board = _phase_board(task=task, split=split, read=read, hides=hides)
    if board is None:
        board = task_board_cached(task=task, split=split)
    rows = rows_for(task=task, split=split, rows=board.rows, hides=hides)
    _with_tiers(rows, hidden=rank_sets_hidden(task=task, split=split, user=user, read=read))
    if not hides:
        return replace(board, rows=rows)
    # The robustness column stays: references and the AutoGluon baseline keep their figures
    # (as in the API), a team's entry says it is hidden (``robustness_state``).
    return replace(board, rows=rows, tradeoff_svg="", flips=False)


def _phase_board(*, task: Task, split: str, read: Any, hides: bool) -> TaskBoard | None:
    """The board of a phase the stored entries are not (None: they are): no team entry for
    a reader who may see none of the phase's figures (a blind phase before the reveal), nor,
    on a ladder board's public split, for a reader who may not see exact public scores;
    else the phase's entries ranked at read time (``leaderboard.boards.phase_read``)."""
    if read is None or read.maintained:
        return None

    def compute() -> TaskBoard:
        entries = []
        if not (read.hidden or hides):
            entries = phase_entries_cached(task=task, phase=read.phase, split=split)
        return task_board(task=task, split=split, entries=entries)

    return board_cache.cached(
        scope=board_cache.TASK,
        pk=task.pk,
        parts=(
            "board",
            read.parts(split),
            "hides" if hides else "",
        ),
        compute=compute,
    )


def rank_sets_hidden(*, task: Task, split: str, user: User, read: Any = None) -> bool:
    """Whether ``user`` reads ``task``'s board on ``split`` without its rank sets and tiers.
    They rest on the board's bootstrap of the exact rows, so they follow the rule of every
    exact figure (:func:`board_hides`), and, like every figure of a phase, the phase's rule
    (``challenges.phases.phase_figures_visible``: none of a blind phase before the reveal)
    for the phase read (``read``; None: the board's phase): the one place to change should
    either rule move."""
    if board_hides(task=task, split=split, user=user):
        return True
    phase = board_phase(challenge=task.track.challenge) if read is None else read.phase
    return not phase_figures_visible(phase=phase, user=user)


def _with_tiers(rows: list[Any], *, hidden: bool) -> None:
    """Each row's ``tier`` (1 = best; None: a baseline, a reference, not computed yet), and
    no rank set on a team's row when they are ``hidden``."""
    numbers = {} if hidden else tier_numbers(rows=rows)
    for row in rows:
        if hidden and isinstance(row, LeaderboardEntry):
            row.rank_set_low = row.rank_set_high = None
        row.tier = numbers.get(id(row))


def rows_for(*, task: Task, split: str, rows: list[Any], hides: bool) -> list[Any]:
    """Copies of a board's ``rows`` (entries and references) with ``shown_score``,
    ``climbed`` and ``exact_score``, and without the exact figures when ``hides``
    (:func:`board_hides`)."""
    laddered = split == Split.PUBLIC and task_board_mode(task=task) != board_modes.PLAIN
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
