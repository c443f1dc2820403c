"""Celery tasks of the leaderboard app.

Only workers, the beat and the reports on running jobs import this module (Celery's
autodiscovery): a publisher sends a task by the name, and to the queue, its app's
``task_names`` declares, so this module imports the services it calls at its top
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Task modules are the
workers'").
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from challenges.models import Track
from jobs.celery import TemporaryError, platform_task
from leaderboard import task_names

from .cache import prerender
from .champion.beat import champion_tick
from .champion.services import champion_check_run
from .refresh import boards_behind_refresh
from .services import leaderboard_bootstrap_run
from .transfer.benchmark import transfer_decomposition
from .transfer.matrix import transfer_matrix


@platform_task(name=task_names.BOOTSTRAP_TASK_LEADERBOARD, soft_time_limit=240, time_limit=300)
def bootstrap_task_leaderboard(*, task_id: int) -> None:
    """Recompute the bootstrap intervals of one task (idempotent: results depend on the seed),
    coalesced: a burst of scorings of one task makes at most two computations."""
    leaderboard_bootstrap_run(task_id=task_id)


@platform_task(
    name=task_names.REFRESH_LAGGING_BOARDS,
    soft_time_limit=240,
    time_limit=300,
    every=60.0,
    beat="refresh-lagging-boards",
)
def refresh_lagging_boards() -> int:
    """The beat's check that no board stays behind a committed score: a refresh that found
    its task's turn taken leaves the board to the holder, which may have died between its
    commit and its second look (``leaderboard.refresh``). Returns the boards
    refreshed."""
    return boards_behind_refresh()


@platform_task(
    name=task_names.TRANSFER_DECOMPOSITION_REFIT,
    soft_time_limit=540,
    time_limit=600,
)
def transfer_decomposition_refit(
    *,
    track_id: int,
    split: str,
    hidden: list[int] | None = None,
    hidden_phases: list[int] | None = None,
) -> None:
    """Fit a track's transfer matrix as it is now (``leaderboard.transfer.benchmark``): readers see
    the track's last fit until this one is cached. ``hidden``: the tasks whose teams' cells
    the readers who asked may not see (``leaderboard.transfer.matrix``), left out of the fit as they
    were of theirs; ``hidden_phases``: the blind phases whose teams' cells they may not see
    (docs/decisions/0066-phases.md). Idempotent (the fit is keyed by its inputs and seeded)."""
    track = Track.objects.filter(pk=track_id).select_related("challenge").first()
    if track is not None:
        matrix = transfer_matrix(
            track=track,
            split=split,
            hidden=frozenset(hidden or ()),
            hidden_phases=frozenset(hidden_phases or ()),
        )
        transfer_decomposition(matrix=matrix, wait=True)


@platform_task(name=task_names.CHECK_CHAMPION, soft_time_limit=240, time_limit=300)
def check_champion(*, check_pk: int) -> str:
    """Weigh one entry against its task's champion, and crown it when it passes (a deciding
    check). Idempotent: a redelivered message finds the check final and does nothing."""
    try:
        return champion_check_run(check_pk=check_pk, delivery_id=check_champion.request.id)
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(
    name=task_names.CHAMPION_MINUTE,
    soft_time_limit=50,
    time_limit=55,
    every=60.0,
    beat="champion-tick",
)
def champion_minute() -> dict[str, int]:
    """Every minute (beat): stale champion checks queued again, and the board entries'
    verdicts queued where the champion, the split (a reveal), the data or the settings
    changed."""
    return champion_tick()


@platform_task(name=task_names.RENDER_BOARDS, soft_time_limit=50, time_limit=60)
def render_boards(*, scope: str, pk: int) -> int:
    """Render a board's anonymous answers after a score, before any reader asks
    (``leaderboard.cache.prerender``); the renders process's only task. Idempotent: a version
    already stored is not rendered again. Returns the answers rendered."""
    return prerender.render(scope=scope, pk=pk)
