"""The shake-up: how each team moved from the public to the private leaderboard, what
sampling alone would move it (the expected shake-up under the board's mode), and how far a
team's public scores ran ahead of its private ones (its adaptivity), docs/organizers/ladder.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from leaderboard.core.ranking import TeamId


@dataclass(frozen=True, slots=True, kw_only=True)
class ShakeupRow:
    """A team's public and private rank; ``delta`` > 0 means it climbed on the private board."""

    team_id: TeamId
    public_rank: int | None
    private_rank: int | None
    delta: int | None  # public_rank - private_rank; None unless both ranks exist


def shakeup(
    public_ranks: Mapping[TeamId, int | None], private_ranks: Mapping[TeamId, int | None]
) -> list[ShakeupRow]:
    """Rows for every team of either board, sorted by private rank.

    Teams without a private rank (baselines, teams without finals) come last, ordered by
    public rank (unranked last), then by ``str(team_id)``.
    """
    teams: dict[TeamId, None] = dict.fromkeys(public_ranks)
    teams.update(dict.fromkeys(private_ranks))
    rows = []
    for team_id in teams:
        public = public_ranks.get(team_id)
        private = private_ranks.get(team_id)
        delta = public - private if public is not None and private is not None else None
        rows.append(
            ShakeupRow(team_id=team_id, public_rank=public, private_rank=private, delta=delta)
        )

    def key(row: ShakeupRow) -> tuple[bool, int, bool, int, str]:
        return (
            row.private_rank is None,
            row.private_rank or 0,
            row.public_rank is None,
            row.public_rank or 0,
            str(row.team_id),
        )

    return sorted(rows, key=key)


# --- what sampling alone would shake, and how far a team's public scores ran ahead -----------


@dataclass(frozen=True, slots=True)
class ExpectedShakeup:
    """The rank changes sampling alone gives (docs/organizers/ladder.md, "The shake-up panel"): each
    team's mean absolute change between its rank on a resample of the public rows (shown as
    the board's mode shows scores) and on a resample of the private rows, and their mean."""

    per_team: tuple[float, ...]
    mean: float
    resamples: int


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Rank 1 = best of each line (higher is better here), ties sharing their mean rank."""
    # Here, not at the module's head: the boards' views import this module, so the URL
    # configuration (loaded by every web process and by a worker's start-up checks) would
    # pay scipy.stats' 0.5 s.
    from scipy.stats import rankdata

    return np.apply_along_axis(lambda line: rankdata(-line, method="average"), 1, scores)


def expected_shakeup(
    *,
    public: np.ndarray,
    private: np.ndarray,
    centers: np.ndarray,
    higher_is_better: bool,
    shown: Callable[[np.ndarray], np.ndarray] | None = None,
) -> ExpectedShakeup:
    """``public`` and ``private`` hold the same teams' entries scored on resamples of each
    split (resamples x teams, one entry per team: no adaptivity, no selection); each
    split's deviations from its resamples' mean are moved onto ``centers``, each entry's
    score on all rows (the best estimate of its true score), so that the two splits differ
    by their sampling noise only, not by the one observed draw of it (a resample of each
    split around its own point would count that draw twice). Observed centers lie further
    apart than the true ones: the figure runs low for teams much closer than their noise,
    high for teams far apart (within 20% of the mean observed shake-up in the simulation of
    ``tests/leaderboard_tests/test_core_shakeup.py``).
    ``shown`` turns public scores into what the board shows (the ladder's rounding)."""
    public, private = np.asarray(public, dtype=float), np.asarray(private, dtype=float)
    if public.shape != private.shape or public.ndim != 2 or public.shape[1] < 2:
        raise ValueError("the same two or more teams on both splits' resamples are needed")
    centers = np.asarray(centers, dtype=float)
    public = centers + public - public.mean(axis=0)
    private = centers + private - private.mean(axis=0)
    sign = 1.0 if higher_is_better else -1.0
    seen = shown(public) if shown is not None else public
    change = np.abs(_ranks(sign * seen) - _ranks(sign * private))
    per_team = change.mean(axis=0)
    return ExpectedShakeup(
        per_team=tuple(float(v) for v in per_team),
        mean=float(per_team.mean()),
        resamples=int(public.shape[0]),
    )


def adaptivity(
    *,
    first: tuple[float, float],
    leader: tuple[float, float],
    higher_is_better: bool,
) -> float:
    """How far a team's public score moved ahead of its private score from its first entry
    to the one its public board shows, each ``(public, private)``: the public gain minus the
    private gain, oriented (positive: the public rows rewarded it more than the private ones
    did; an honest improvement moves both alike)."""
    sign = 1.0 if higher_is_better else -1.0
    return sign * ((leader[0] - first[0]) - (leader[1] - first[1]))
