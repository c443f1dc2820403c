"""What the algorithms app does when another layer reports a change
(``challenges.hooks``), subscribed in :meth:`algorithms.apps.AlgorithmsConfig.ready`.

Each receiver reads its event and calls one service by keyword; the hook runs each in its
own savepoint, so one that fails never undoes another. The services are imported when a
receiver first runs: ``ready()`` imports this module in every process, and most processes
(a command, a web worker) never see the event
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called").
"""

from __future__ import annotations

from challenges import hooks


def follow_submission(event: hooks.SubmissionFinished) -> None:
    """A submission ended: the run that made it takes its final status."""
    from .services import follow

    follow.run_follow_submission(submission_id=event.submission_id)


def rerun_benchmark_on_arrival(event: hooks.TaskAdded) -> None:
    """A task arrived: every benchmark version re-runs on it."""
    from .services import benchmark

    benchmark.benchmark_task_arrived(task_id=event.task_id)


def rerun_benchmark_on_new_data(event: hooks.TaskDataChanged) -> None:
    """A task got a new data version: every benchmark version re-runs on it."""
    from .services import benchmark

    benchmark.benchmark_task_arrived(task_id=event.task_id)


def queue_baseline_on_arrival(event: hooks.TaskAdded) -> None:
    """A task arrived: its AutoGluon baseline is queued at once."""
    from .services import baseline

    baseline.baseline_on_arrival(task_id=event.task_id)


def queue_baseline_on_new_data(event: hooks.TaskDataChanged) -> None:
    """A task got a new data version: its AutoGluon baseline runs on it."""
    from .services import baseline

    baseline.baseline_on_arrival(task_id=event.task_id)
