"""Adapters between the other apps' hooks and the notification events.

Each runs inside the transaction that caused it; the mails and webhook deliveries it
creates are published only once that transaction commits.
"""

from __future__ import annotations

from challenge_platform import hooks as platform_hooks

from . import decisions, events


def on_membership_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        events.team_member_joined(membership_pk=instance.pk)


def on_audit_event_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        decisions.decision_mail(event=instance)


def on_challenge_finished(challenge_pk: int) -> None:
    events.challenge_finished(challenge_pk)


def on_board_refreshed(task_id: int) -> None:
    events.board_refreshed(task_id=task_id)


def on_submission_finished(submission_id: int) -> None:
    events.submission_finished(submission_pk=submission_id)


def on_task_data_changed(task_id: int) -> None:
    events.task_data_changed(task_id=task_id)


def connect_platform() -> None:
    platform_hooks.on_board_refreshed(on_board_refreshed)
    platform_hooks.on_submission_finished(on_submission_finished)
    platform_hooks.on_task_data_changed(on_task_data_changed)
