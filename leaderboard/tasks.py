"""Celery tasks of the leaderboard app.

Each task imports its service when it first runs: every process imports this module at
start to register the tasks, and only a worker runs them
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Receivers and tasks import
services at call time").
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from jobs.celery import TemporaryError, platform_task

from . import prerender


@platform_task(queue="scoring", soft_time_limit=240, time_limit=300)
def bootstrap_task_leaderboard(*, task_id: int) -> None:
    """Recompute the bootstrap intervals of one task (idempotent: results depend on the seed),
    coalesced: a burst of scorings of one task makes at most two computations."""
    from .services import leaderboard_bootstrap_run

    leaderboard_bootstrap_run(task_id=task_id)


@platform_task(
    queue="scoring",
    soft_time_limit=240,
    time_limit=300,
    every=60.0,
    beat="refresh-lagging-boards",
)
def refresh_lagging_boards() -> int:
    """The beat's check that no board stays behind a committed score: a refresh that found
    its task's turn taken leaves the board to the holder, which may have died between its
    commit and its second look (``leaderboard.refresh_turns``). Returns the boards refreshed."""
    from .services import boards_behind_refresh

    return boards_behind_refresh()


@platform_task(queue="scoring", soft_time_limit=540, time_limit=600)
def transfer_decomposition_refit(*, track_id: int, split: str) -> None:
    """Fit a track's transfer matrix as it is now (``leaderboard.benchmark``): readers see
    the track's last fit until this one is cached. Idempotent (the fit is keyed by its
    inputs and seeded)."""
    from challenge_platform.models import Track

    from .benchmark import transfer_decomposition
    from .transfer import transfer_matrix

    track = Track.objects.filter(pk=track_id).select_related("challenge").first()
    if track is not None:
        transfer_decomposition(transfer_matrix(track=track, split=split), wait=True)
@platform_task(queue="scoring", soft_time_limit=240, time_limit=300)
def check_champion(*, check_pk: int) -> str:
    """Weigh one entry against its task's champion, and crown it when it passes (a deciding
    check). Idempotent: a redelivered message finds the check final and does nothing."""
    from .champion.services import champion_check_run

    try:
        return champion_check_run(check_pk=check_pk, delivery_id=check_champion.request.id)
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"the database was unavailable: {exc}") from exc


@platform_task(queue="scoring", soft_time_limit=50, time_limit=55, every=60.0, beat="champion-tick")
def champion_minute() -> dict[str, int]:
    """Every minute (beat): stale champion checks queued again, and the board entries'
    verdicts queued where the champion, the split (a reveal), the data or the settings
    changed."""
    from .champion.services import champion_tick

    return champion_tick()


def preload_for_renders(**kwargs: object) -> None:
    """A renders worker's process, at its start (Celery's ``worker_process_init``, connected
    where the app is made: ``leaderboard.apps``), imports what its first render needs
    (``prerender.preload``), so that the first board after a score is not a cold one. (It
    keeps the scoring workers' CPU priority: at the web's, in a rush it fell behind the
    scores, the boards went past their grace, and the board server rendered them on readers'
    requests instead: docs/developers/benchmarks.md, "Speed round 5".)"""
    from jobs.celery import celery_app

    try:
        consumed = celery_app().amqp.queues.consume_from or {}
    except AttributeError:
        return
    if prerender.QUEUE in consumed:
        prerender.preload()


@platform_task(queue=prerender.QUEUE, soft_time_limit=50, time_limit=60)
def render_boards(*, scope: str, pk: int) -> int:
    """Render a board's anonymous answers after a score, before any reader asks
    (``leaderboard.prerender``); the renders process's only task. Idempotent: a version
    already stored is not rendered again. Returns the answers rendered."""
    return prerender.render(scope=scope, pk=pk)
