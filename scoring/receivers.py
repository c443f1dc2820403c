"""What the scoring app does when another layer reports a change
(``challenges.hooks``), subscribed in :meth:`scoring.apps.ScoringConfig.ready`.

Each receiver reads its event and calls one service by keyword; the hook runs each in its
own savepoint, so one that fails never undoes another. The services are imported when a
receiver first runs: ``ready()`` imports this module in every process, and most processes
(a command, a web worker) never see the event
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called").
"""

from __future__ import annotations

from challenges import hooks


def rescore_on_new_data(event: hooks.TaskDataChanged) -> None:
    """A task got a new data version: its submissions are scored again and its references
    refreshed."""
    from .services import task_data

    task_data.task_data_changed(task_id=event.task_id, phase_id=event.phase_id)


def build_trivial_on_arrival(event: hooks.TaskAdded) -> None:
    """A task arrived: its trivial baseline is built by a worker."""
    from .services import reference_builds

    reference_builds.reference_trivial_on_arrival(task_id=event.task_id)


def build_trivial_on_new_data(event: hooks.TaskDataChanged) -> None:
    """A task got a new data version: a trivial baseline left missing by the refresh (which
    runs first) is built by a worker."""
    from .services import reference_builds

    reference_builds.reference_trivial_on_new_data(task_id=event.task_id)
