"""Per-task ranking: order entries, pick each team's best submission, choose the finals.

Rules (the better score follows the board metric's direction: higher for accuracy or F1,
lower for RMSE; each input carries it as ``higher_is_better``, default higher):

- Entries are ordered best score first; equal scores are broken by the earlier submission
  (earlier ranks higher), so ranks are always distinct. Entries still equal after that keep
  their input order.
- Baseline entries keep their place in the order but get ``rank=None`` and do not consume a
  rank number: the team below a baseline has the rank the baseline would have had.
- Entries without a score (``None`` or NaN) come last, with ``rank=None``.
- Every entry has a 1-based ``position`` (its row on the board, baselines included).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from common.splits import BOARD_SPLITS, BoardSplit

TeamId = Hashable
SubmissionId = Hashable
Split = BoardSplit


class Rankable(Protocol):
    """Anything `rank_entries` can order."""

    @property
    def team_id(self) -> TeamId: ...

    @property
    def is_baseline(self) -> bool: ...

    @property
    def score(self) -> float | None: ...

    @property
    def submitted_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryInput:
    """One row to rank: a team's score on a board. ``payload`` is carried, never read."""

    team_id: TeamId
    is_baseline: bool
    score: float | None
    submitted_at: datetime
    payload: Any = field(default=None, compare=False)
    higher_is_better: bool = True


EntryT = TypeVar("EntryT", bound=Rankable)


@dataclass(frozen=True, slots=True, kw_only=True)
class RankedEntry(Generic[EntryT]):
    """An entry with its 1-based position on the board and its rank (None: not ranked)."""

    position: int
    rank: int | None
    entry: EntryT


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmissionInput:
    """A submission as the ranking core sees it: primary scores per split, final flag."""

    id: SubmissionId
    team_id: TeamId
    is_baseline: bool
    submitted_at: datetime
    public_score: float | None
    private_score: float | None
    is_final: bool = False
    higher_is_better: bool = True  # the direction of the task's primary metric

    def score_on(self, split: Split) -> float | None:
        """The primary score on ``split`` (None when unscored or NaN)."""
        if split not in BOARD_SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {BOARD_SPLITS}")
        value = self.public_score if split == "public" else self.private_score
        return value if is_scored(value) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalChoice:
    """The submissions of one team that count for the private leaderboard."""

    team_id: TeamId
    submission_ids: tuple[SubmissionId, ...]
    explicit: bool  # True: chosen by the team; False: its best public submissions by default


def is_scored(score: float | None) -> bool:
    """True for a real score; False for None and NaN."""
    return score is not None and not math.isnan(score)


def _order_key(
    score: float | None, submitted_at: datetime, higher_is_better: bool = True
) -> tuple[bool, float, datetime]:
    """Sort key: scored before unscored, better score first, earlier submission first."""
    if is_scored(score):
        assert score is not None
        return (False, -score if higher_is_better else score, submitted_at)
    return (True, 0.0, submitted_at)


def _direction(items: Sequence[Any]) -> bool:
    """The one direction of a board's inputs (``higher_is_better``; higher when empty)."""
    directions = {getattr(item, "higher_is_better", True) for item in items}
    if len(directions) > 1:
        raise ValueError("a board's inputs disagree on the metric's direction")
    return directions.pop() if directions else True


def rank_entries(
    entries: Sequence[EntryT], *, higher_is_better: bool | None = None
) -> list[RankedEntry[EntryT]]:
    """Order ``entries`` best first and number the ranks (see the module docstring).

    ``higher_is_better`` defaults to the entries' own (``EntryInput.higher_is_better``).
    """
    higher = _direction(entries) if higher_is_better is None else higher_is_better
    ordered = sorted(entries, key=lambda e: _order_key(e.score, e.submitted_at, higher))
    ranked: list[RankedEntry[EntryT]] = []
    next_rank = 1
    for position, entry in enumerate(ordered, start=1):
        rank: int | None = None
        if is_scored(entry.score) and not entry.is_baseline:
            rank = next_rank
            next_rank += 1
        ranked.append(RankedEntry(position=position, rank=rank, entry=entry))
    return ranked


def _best(submissions: Iterable[SubmissionInput], split: Split) -> SubmissionInput | None:
    """The best scored submission on ``split`` (ties: earliest, then input order)."""
    scored = [s for s in submissions if s.score_on(split) is not None]
    if not scored:
        return None
    higher = _direction(scored)
    return min(scored, key=lambda s: _order_key(s.score_on(split), s.submitted_at, higher))


def _by_team(
    submissions: Iterable[SubmissionInput],
) -> dict[TeamId, list[SubmissionInput]]:
    groups: dict[TeamId, list[SubmissionInput]] = {}
    for submission in submissions:
        groups.setdefault(submission.team_id, []).append(submission)
    return groups


def select_team_best(submissions: Sequence[SubmissionInput], *, split: Split) -> list[EntryInput]:
    """One entry per team: its best scored submission on ``split`` (ties: the earliest).

    Teams without a scored submission on ``split`` get no entry. The entry's ``payload`` is
    the chosen `SubmissionInput`; feed the result to `rank_entries`.
    """
    entries: list[EntryInput] = []
    for team_id, team_submissions in _by_team(submissions).items():
        best = _best(team_submissions, split)
        if best is None:
            continue
        entries.append(
            EntryInput(
                team_id=team_id,
                is_baseline=best.is_baseline,
                score=best.score_on(split),
                submitted_at=best.submitted_at,
                payload=best,
                higher_is_better=best.higher_is_better,
            )
        )
    return entries


def _top_public(submissions: Sequence[SubmissionInput], n: int) -> list[SubmissionInput]:
    higher = _direction(submissions)
    return sorted(
        submissions, key=lambda s: _order_key(s.score_on("public"), s.submitted_at, higher)
    )[:n]


def final_selection(
    submissions: Sequence[SubmissionInput], *, max_final: int = 2
) -> dict[TeamId, FinalChoice]:
    """Which submissions of each team count for the private leaderboard.

    Only submissions with a public score are eligible. A team's finals are the eligible
    submissions it selected (``is_final``); when it selected none, its best ``max_final``
    public submissions (ties: the earliest). Should a team have more than ``max_final``
    selected (the submission service prevents this), its best ``max_final`` of those count.
    Teams without an eligible submission are absent from the result.
    """
    if max_final < 1:
        raise ValueError("max_final must be at least 1")
    choices: dict[TeamId, FinalChoice] = {}
    for team_id, team_submissions in _by_team(submissions).items():
        eligible = [s for s in team_submissions if s.score_on("public") is not None]
        if not eligible:
            continue
        selected = [s for s in eligible if s.is_final]
        explicit = bool(selected)
        finals = _top_public(selected if explicit else eligible, max_final)
        finals.sort(key=lambda s: s.submitted_at)
        choices[team_id] = FinalChoice(
            team_id=team_id,
            submission_ids=tuple(s.id for s in finals),
            explicit=explicit,
        )
    return choices


def private_entries(
    submissions: Sequence[SubmissionInput], *, max_final: int = 2
) -> list[EntryInput]:
    """Private-board entries: per team, the best private score among its finals.

    A team whose finals have no private score gets no entry.
    """
    choices = final_selection(submissions, max_final=max_final)
    counted = {
        (team_id, submission_id)
        for team_id, choice in choices.items()
        for submission_id in choice.submission_ids
    }
    finals = [s for s in submissions if (s.team_id, s.id) in counted]
    return select_team_best(finals, split="private")


def ranks_by_team(ranked: Iterable[RankedEntry[Any]]) -> Mapping[TeamId, int | None]:
    """``{team_id: rank}`` from `rank_entries` output (e.g. to feed `shakeup`)."""
    return {r.entry.team_id: r.rank for r in ranked}
