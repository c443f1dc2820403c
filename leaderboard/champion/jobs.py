"""The champion check's job type on the one lifecycle (docs/architecture.md, "The job
lifecycle"): ``queued -> weighing -> done | failed``, run by
``leaderboard.tasks.check_champion`` on the ``scoring`` queue, registered in
``LeaderboardConfig.ready()``."""

from __future__ import annotations

from jobs.registry import JobType
from leaderboard import task_names
from leaderboard.models import ChampionCheck, ChampionCheckStatus

MAX_ATTEMPTS = 3

CHAMPION_CHECK = JobType(
    model=ChampionCheck,
    task_name=task_names.CHECK_CHAMPION,
    pk_kwarg="check_pk",
    queued=ChampionCheckStatus.QUEUED,
    running=ChampionCheckStatus.WEIGHING,
    final=(ChampionCheckStatus.DONE, ChampionCheckStatus.FAILED),
    failed=ChampionCheckStatus.FAILED,
    max_attempts=lambda check: MAX_ATTEMPTS,
    label="champion check",
)
