"""What the algorithms app does when another layer reports a change
(``challenge_platform.hooks``), subscribed in :meth:`algorithms.apps.AlgorithmsConfig.ready`.

Each receiver reads its event and calls one service by keyword; the hook runs each in its
own savepoint, so one that fails never undoes another.
"""

from __future__ import annotations

from challenge_platform import hooks

from .services import baseline, benchmark, follow


def follow_submission(event: hooks.SubmissionFinished) -> None:
    """A submission ended: the run that made it takes its final status."""
    follow.run_follow_submission(submission_id=event.submission_id)


def rerun_benchmark_on_arrival(event: hooks.TaskAdded) -> None:
    """A task arrived: every benchmark version re-runs on it."""
    benchmark.benchmark_task_arrived(task_id=event.task_id)


def rerun_benchmark_on_new_data(event: hooks.TaskDataChanged) -> None:
    """A task got a new data version: every benchmark version re-runs on it."""
    benchmark.benchmark_task_arrived(task_id=event.task_id)


def queue_baseline_on_arrival(event: hooks.TaskAdded) -> None:
    """A task arrived: its AutoGluon baseline is queued at once."""
    baseline.baseline_on_arrival(task_id=event.task_id)


def queue_baseline_on_new_data(event: hooks.TaskDataChanged) -> None:
    """A task got a new data version: its AutoGluon baseline runs on it."""
    baseline.baseline_on_arrival(task_id=event.task_id)
