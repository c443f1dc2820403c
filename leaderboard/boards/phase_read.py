"""A board read for ``?phase=<slug>`` (docs/decisions/0066-phases.md).

The maintained entries (``LeaderboardEntry``) are the board of one phase: the current one
(else the last that started), and only while its figures are everyone's (a blind phase's
maintained board is empty until the reveal). Any other phase's board, and a blind phase's
board as its organizers read it, is ranked at read time from that phase's submissions
through the same ranking core and the same selection of each team's entry
(:func:`leaderboard.stored_board.ranked_submissions` with ``phase``), kept in the board cache
under the board's version (a score, a hide or a rescore of any entry of the task bumps it).
Scores of two phases never mix: the submissions are the phase's own.

Such a board ranks and scores each team's entry; the bootstrap's figures (intervals, rank
sets, flips) are the maintained board's only, and a read-time board shows them empty.
On the public split of a ladder board, a reader who may not see exact public scores gets
no team entry of a phase the board does not maintain (its shown scores belong to the
ladder of the phase the board maintains; an exact score would give the public rows away).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from challenges.models import Challenge, Phase, Team, Track
from challenges.phases import (
    challenge_phases,
    phase_by_slug,
    phase_current,
    phase_figures_visible,
)
from common import board_modes
from datasets.models import Task
from leaderboard.cache import board_cache
from leaderboard.core.rank_sets import TeamRankSets
from leaderboard.core.ranking import private_entries, rank_entries, select_team_best
from leaderboard.models import LeaderboardEntry, Split
from leaderboard.selectors import TrackBoard, leaderboard_for_track
from leaderboard.stored_board import (
    _entry_row,
    _scored,
    ranked_submissions,
    task_higher_is_better,
)

# Why a blind phase's board has no entry for this reader.
BLIND_BOARD = (
    "This phase is blind: its entries are scored, and no score or board position reaches "
    "a participant before the organizers reveal the results (docs/participants/phases.md)."
)


# What a board page says of a phase's board ranked at read time.
PHASE_BOARD = (
    "This phase's board ranks its own entries by their scores; score intervals, rank sets, "
    "P(first) and flips are computed for the board of the current phase only."
)


@dataclass(frozen=True)
class BoardRead:
    """Which phase a board request reads, and from where.

    ``phase``: None for a challenge of one phase (the board as before phases);
    ``maintained``: the stored entries are this board; ``hidden``: the reader may see no
    figure of the phase (a blind phase before the reveal: no entry); ``key``: what the
    board cache's keys add (empty for the maintained board, so its keys are as before)."""

    phase: Phase | None
    maintained: bool
    hidden: bool
    phases: tuple[Phase, ...] = ()

    @property
    def key(self) -> str:
        if self.maintained:
            return ""
        return f"phase:{self.phase.slug}" + (":hidden" if self.hidden else "")

    def parts(self, split: str) -> str:
        """``split`` with :attr:`key`: a cache key's part for this read."""
        return f"{split}:{self.key}" if self.key else split

    @property
    def slug(self) -> str | None:
        return None if self.phase is None else self.phase.slug


def board_read(
    *, challenge: Challenge, slug: str | None, user: AbstractBaseUser | AnonymousUser | None
) -> BoardRead:
    """The board read for ``?phase=<slug>`` (None: the current phase, else the last that
    started); :class:`challenges.phases.PhaseRefused` ``unknown_phase`` (404) for a slug
    the challenge has no phase of."""
    phases = tuple(challenge_phases(challenge=challenge))
    if len(phases) <= 1:
        if slug is not None and slug not in {p.slug for p in phases}:
            phase_by_slug(challenge=challenge, slug=slug)  # refused: unknown_phase
        return BoardRead(phase=None, maintained=True, hidden=False, phases=phases)
    current = phase_current(challenge=challenge)  # what the maintained boards rank
    phase = current
    if slug is not None:
        phase = next((p for p in phases if p.slug == slug), None)
        if phase is None:
            phase_by_slug(challenge=challenge, slug=slug)  # refused: unknown_phase
    hidden = not phase_figures_visible(phase=phase, user=user)
    public = phase_figures_visible(phase=phase, user=None)
    maintained = public and phase.pk == current.pk
    return BoardRead(phase=phase, maintained=maintained, hidden=hidden, phases=phases)


def phase_entries(*, task: Task, phase: Phase, split: str) -> list[LeaderboardEntry]:
    """The board of ``task`` on ``split`` ranked from ``phase``'s submissions (unsaved
    entries, board order, with their team), as the maintained board ranks a plain board:
    each team's best public entry, or the best of its final selection on the private split.
    """
    submissions = ranked_submissions(task=task, phase=phase)
    scored = _scored(task, submissions)
    higher = task_higher_is_better(task=task)
    if split == Split.PRIVATE:
        max_final = task.track.challenge.max_final_selections
        selected = private_entries(scored.inputs, max_final=max_final)
    else:
        selected = select_team_best(scored.inputs, split="public")
    ranked = rank_entries(selected, higher_is_better=higher)
    # Ranked on exact scores: who may read them is ``leaderboard.boards.shown.task_board_for``'s.
    plain = replace(scored, mode=board_modes.PLAIN)
    rows = [LeaderboardEntry(**_entry_row(task, split, r, plain)) for r in ranked]
    teams = Team.objects.in_bulk([row.team_id for row in rows])
    for row in rows:
        row.team = teams[row.team_id]
    return rows


def phase_entries_cached(*, task: Task, phase: Phase, split: str) -> list[LeaderboardEntry]:
    """:func:`phase_entries` from the board cache (the task board's version)."""
    return board_cache.cached(
        scope=board_cache.TASK,
        pk=task.pk,
        parts=(
            "phase-entries",
            str(phase.pk),
            split,
        ),
        compute=lambda: phase_entries(task=task, phase=phase, split=split),
    )


# Why a track board read for another phase than the maintained one has no P(first), pairwise
# verdicts or rank sets.
NO_PHASE_COMPARISONS = (
    "computed for the board of the phase the boards maintain (the current one); this "
    "phase's board shows its ranks and means only"
)


def phase_track_board(*, track: Track, split: str, read: BoardRead) -> TrackBoard:
    """The track board of a phase the stored entries are not: its tasks' boards ranked at
    read time (none for a reader who may see no figure of the phase), cached with the
    track's board version."""

    def compute() -> TrackBoard:
        entries: list[LeaderboardEntry] = []
        if not read.hidden:
            for task in track.tasks.all():
                entries += phase_entries(task=task, phase=read.phase, split=split)
        return leaderboard_for_track(track=track, split=split, entries=entries)

    return board_cache.cached(
        scope=board_cache.TRACK,
        pk=track.pk,
        parts=(
            "board",
            read.parts(split),
        ),
        compute=compute,
    )


def phase_track_rank_sets() -> TeamRankSets:
    """A read-time track board's rank sets: none, with the reason."""
    return TeamRankSets(sets={}, tiers=(), reason=NO_PHASE_COMPARISONS)
