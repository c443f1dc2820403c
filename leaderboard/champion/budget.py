"""The release check's daily budget (docs/organizers/disclosure.md): each answer tells a
little about the public rows, so a team has ``Challenge.release_checks_per_day`` of them per
task and UTC day, and a person as many, whatever team they are in (as the submissions' daily
limit, docs/decisions/0021-one-entry-per-person.md); organizers have no limit. Refused and
failed checks give their use back: only an answer counts.

A use is taken (a :class:`~leaderboard.models.ReleaseCheckUse` row) before the file is
weighed, holding the team's row, so that parallel checks cannot pass the limit together; it
is given back when no answer is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from challenges.models import Team
from datasets.models import Task
from leaderboard.models import ReleaseCheckUse
from scoring.selectors import next_utc_midnight

from .selectors import ReleaseCheckRefused

DAILY_LIMIT = "daily_limit"
KEEP_USES = timedelta(days=7)  # a week of uses is kept (the count needs today's)


@dataclass(frozen=True)
class ReleaseBudget:
    """Today's (UTC) release checks of a team on a task, against the challenge's limit."""

    used: int
    limit: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def as_json(self) -> dict[str, Any]:
        """The answer's ``budget``: ``{"limit", "used", "remaining", "resets_at"}``."""
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "resets_at": self.resets_at.isoformat().replace("+00:00", "Z"),
        }


def _since(at: datetime) -> tuple[datetime, datetime]:
    resets_at = next_utc_midnight(at=at)
    return resets_at - timedelta(days=1), resets_at


def release_budget(*, team: Team, task: Task, at: datetime | None = None) -> ReleaseBudget:
    """The team's release checks on ``task`` since the last UTC midnight."""
    since, resets_at = _since(at or timezone.now())
    used = ReleaseCheckUse.objects.filter(team=team, task=task, at__gte=since).count()
    return ReleaseBudget(
        used=used, limit=task.track.challenge.release_checks_per_day, resets_at=resets_at
    )


def release_budget_refusal(*, budget: ReleaseBudget, task: Task) -> ReleaseCheckRefused:
    """The refusal of a check over the team's budget (429 ``daily_limit``, Retry-After)."""
    return ReleaseCheckRefused(
        f"Your team has used its {budget.limit} release checks of '{task.slug}' today; the "
        f"limit resets at {budget.resets_at:%Y-%m-%d %H:%M} UTC. Each answer tells a little "
        "about the public rows, so checks are counted like submissions.",
        status=429,
        code=DAILY_LIMIT,
        retry_after=budget.resets_at,
    )


def release_budget_take(
    *, team: Team, task: Task, user: AbstractBaseUser
) -> tuple[ReleaseCheckUse, ReleaseBudget]:
    """Take one of today's release checks of ``team`` (and of ``user``) on ``task``:
    the use (give it back with :func:`release_budget_give_back` when no answer is given)
    and the budget with it counted; :class:`ReleaseCheckRefused` (429 ``daily_limit``)
    when none is left."""
    now = timezone.now()
    since, resets_at = _since(now)
    limit = task.track.challenge.release_checks_per_day
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=team.pk).first()  # one taker at a time
        today = ReleaseCheckUse.objects.filter(task=task, at__gte=since)
        used = today.filter(team=team).count()
        if used >= limit:
            raise release_budget_refusal(
                budget=ReleaseBudget(used=used, limit=limit, resets_at=resets_at), task=task
            )
        if today.filter(user=user).count() >= limit:
            raise ReleaseCheckRefused(
                f"You have used your {limit} release checks of '{task.slug}' today (the limit "
                "is per person as well as per team, whatever team you are in); it resets at "
                f"{resets_at:%Y-%m-%d %H:%M} UTC.",
                status=429,
                code=DAILY_LIMIT,
                retry_after=resets_at,
            )
        use = ReleaseCheckUse.objects.create(team=team, task=task, user=user, at=now)
    return use, ReleaseBudget(used=used + 1, limit=limit, resets_at=resets_at)


def release_budget_give_back(*, use: ReleaseCheckUse) -> None:
    """A check that gave no answer (refused, or failed) costs nothing."""
    ReleaseCheckUse.objects.filter(pk=use.pk).delete()


def release_budget_prune(*, now: datetime | None = None) -> int:
    """Forget uses older than :data:`KEEP_USES` (the beat's minute); returns how many."""
    cutoff = (now or timezone.now()) - KEEP_USES
    deleted, _ = ReleaseCheckUse.objects.filter(at__lt=cutoff).delete()
    return deleted
