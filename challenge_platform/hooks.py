"""Hooks: how a lower layer tells a higher one that something changed.

App arrows point one way (``pyproject.toml``'s ``layers`` contract): scoring may not import
the leaderboard, yet a score must refresh its board. So the higher app registers a receiver
here in its ``AppConfig.ready()`` and the lower one calls :func:`task_results_changed`.

Receivers run synchronously, in the caller's transaction, each in its own savepoint: a
failing receiver is logged and rolled back alone; it never undoes the change that called it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

TaskReceiver = Callable[[int], None]
# (task_id, team_id): team_id names the one team whose submissions changed, None if unknown.
ResultsReceiver = Callable[[int, int | None], None]
ChallengeReceiver = Callable[[int], None]

_task_results: list[ResultsReceiver] = []
_board_refreshed: list[TaskReceiver] = []
_challenge_teams: list[ChallengeReceiver] = []
_submission_finished: list[TaskReceiver] = []
_task_data: list[TaskReceiver] = []
_challenge_reveal: list[ChallengeReceiver] = []


def on_task_results_changed(receiver: ResultsReceiver) -> ResultsReceiver:
    """Call ``receiver(task_id, team_id)`` whenever a task's scored results change (a
    submission was scored, rescored, hidden, or marked final); ``team_id`` is the one team
    whose submissions changed when the caller knows it (a scoring), else None.
    Idempotent; usable as a decorator."""
    if receiver not in _task_results:
        _task_results.append(receiver)
    return receiver


def on_board_refreshed(receiver: TaskReceiver) -> TaskReceiver:
    """Call ``receiver(task_id)`` after a task's board was rebuilt, in the rebuild's
    transaction (whoever rebuilt it: a scoring, a refresh run again for others, the beat)."""
    if receiver not in _board_refreshed:
        _board_refreshed.append(receiver)
    return receiver


def board_refreshed(*, task_id: int) -> None:
    """Tell the registered receivers that ``task_id``'s board was rebuilt."""
    for receiver in list(_board_refreshed):
        _call(receiver, task_id, what=f"task {task_id}")


def on_challenge_teams_changed(receiver: ChallengeReceiver) -> ChallengeReceiver:
    """Call ``receiver(challenge_id)`` when a challenge's teams change visibility."""
    if receiver not in _challenge_teams:
        _challenge_teams.append(receiver)
    return receiver


def on_challenge_reveal_changed(receiver: ChallengeReceiver) -> ChallengeReceiver:
    """Call ``receiver(challenge_id)`` when a challenge's private boards are revealed or
    hidden again (what its board pages offer changes)."""
    if receiver not in _challenge_reveal:
        _challenge_reveal.append(receiver)
    return receiver


def challenge_reveal_changed(*, challenge_id: int) -> None:
    """Tell the registered receivers that ``challenge_id``'s reveal changed."""
    for receiver in list(_challenge_reveal):
        _call(receiver, challenge_id, what=f"challenge {challenge_id}")


def task_results_changed(*, task_id: int, team_id: int | None = None) -> None:
    """Tell the registered receivers that ``task_id``'s results changed (only ``team_id``'s
    submissions, when given)."""
    for receiver in list(_task_results):
        _call(receiver, task_id, team_id, what=f"task {task_id}")


def challenge_teams_changed(*, challenge_id: int) -> None:
    """Tell the registered receivers that ``challenge_id``'s teams changed."""
    for receiver in list(_challenge_teams):
        _call(receiver, challenge_id, what=f"challenge {challenge_id}")


def _call(receiver: Callable[..., None], *args: int | None, what: str) -> None:
    try:
        with transaction.atomic():  # a savepoint inside the caller's transaction
            receiver(*args)
    except Exception:
        logger.exception(
            "%s after a change of %s failed", getattr(receiver, "__name__", receiver), what
        )


def on_submission_finished(receiver: Callable[[int], None]) -> Callable[[int], None]:
    """Call ``receiver(submission_id)`` when a submission ends scored or failed (e.g. the
    notifications mail the team). Idempotent; usable as a decorator."""
    if receiver not in _submission_finished:
        _submission_finished.append(receiver)
    return receiver


def submission_finished(*, submission_id: int) -> None:
    """Tell the registered receivers that ``submission_id`` is now scored or failed."""
    for receiver in list(_submission_finished):
        _call(receiver, submission_id, what=f"submission {submission_id}")


def on_task_data_changed(receiver: TaskReceiver) -> TaskReceiver:
    """Call ``receiver(task_id)`` when a task's data was replaced by a new version (e.g.
    scoring re-queues its submissions and rebuilds its references). Idempotent."""
    if receiver not in _task_data:
        _task_data.append(receiver)
    return receiver


def task_data_changed(*, task_id: int) -> None:
    """Tell the registered receivers that ``task_id``'s files (and solution) changed."""
    for receiver in list(_task_data):
        _call(receiver, task_id, what=f"the data of task {task_id}")
