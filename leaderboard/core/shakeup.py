"""The shake-up: how each team moved from the public to the private leaderboard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
