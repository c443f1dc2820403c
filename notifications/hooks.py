"""The notifications' receivers of the platform's events (``challenges.hooks``),
subscribed in :meth:`notifications.apps.NotificationsConfig.ready`; no other app imports
this one.

Each turns an event into mails and webhook deliveries, which are published only once the
emitter's transaction commits. What does that is imported when a receiver first runs: this
module is imported in every process at start, and most never see an event
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called").
"""

from __future__ import annotations

from challenges import hooks


def on_team_member_joined(event: hooks.TeamMemberJoined) -> None:
    from . import events

    events.team_member_joined(membership_pk=event.membership_id)


def on_audit_recorded(event: hooks.AuditRecorded) -> None:
    from . import decisions

    if event.action in decisions.MAILED_ACTIONS:
        decisions.decision_mail(audit_event_id=event.audit_event_id)


def on_challenge_finished(event: hooks.ChallengeFinished) -> None:
    from . import events

    events.challenge_finished(challenge_pk=event.challenge_id)


def on_board_refreshed(event: hooks.BoardRefreshed) -> None:
    from . import events

    events.board_refreshed(task_id=event.task_id)


def on_submission_finished(event: hooks.SubmissionFinished) -> None:
    from . import events

    events.submission_finished(submission_pk=event.submission_id)


def on_task_data_changed(event: hooks.TaskDataChanged) -> None:
    from . import events

    events.task_data_changed(task_id=event.task_id, phase_id=event.phase_id)


def on_champion_changed(event: hooks.ChampionChanged) -> None:
    from . import events

    events.champion_changed(task_id=event.task_id, change_id=event.change_id)


def on_challenge_phases_changed(event: hooks.ChallengePhasesChanged) -> None:
    from . import phase_events

    if event.started:
        phase_events.phase_changed(phase_id=event.started, which="start")
    if event.ended:
        phase_events.phase_changed(phase_id=event.ended, which="end")


def on_discussion_posted(event: hooks.DiscussionPosted) -> None:
    from . import discussion

    discussion.discussion_posted(post_id=event.post_id, kind=event.kind)


RECEIVERS = (
    (hooks.TeamMemberJoined, on_team_member_joined),
    (hooks.AuditRecorded, on_audit_recorded),
    (hooks.ChallengeFinished, on_challenge_finished),
    (hooks.BoardRefreshed, on_board_refreshed),
    (hooks.SubmissionFinished, on_submission_finished),
    (hooks.TaskDataChanged, on_task_data_changed),
    (hooks.ChampionChanged, on_champion_changed),
    (hooks.ChallengePhasesChanged, on_challenge_phases_changed),


    (hooks.DiscussionPosted, on_discussion_posted),
)


def subscribe_all() -> None:
    for event, receiver in RECEIVERS:
        hooks.subscribe(event=event, receiver=receiver)
