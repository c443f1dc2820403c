"""What the leaderboard does when a lower layer reports a change (``challenges.hooks``).

Registered in :meth:`leaderboard.apps.LeaderboardConfig.ready`. The services are imported
and looked up at call time: ``ready()`` imports this module in every process, most of which
never see the event (docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md,
"Registered at start, imported when called"); and a test may replace
``leaderboard.refresh.task_leaderboard_refresh``.
"""

from __future__ import annotations

from challenges import hooks
from challenges.models import Track
from datasets.models import Task
from scoring.models import Submission, SubmissionStatus


def refresh_task_board(event: hooks.TaskResultsChanged) -> None:
    """A task's results changed (only ``event.team_id``'s, when given): rebuild its boards."""
    from leaderboard import refresh

    refresh.task_leaderboard_refresh(task_id=event.task_id, team_id=event.team_id)


def refresh_challenge_boards(
    event: hooks.ChallengeTeamsChanged | hooks.ChallengePhasesChanged,
) -> None:
    """A challenge's teams or phases changed: rebuild the boards of all its tasks."""
    from leaderboard import refresh

    tasks = Task.objects.filter(track__challenge_id=event.challenge_id).values_list("pk", flat=True)
    for task_id in tasks:
        refresh.task_leaderboard_refresh(task_id=task_id)


def bump_task_boards(event: hooks.StressResultsChanged) -> None:
    """A stress run recorded its figures: the task's cached boards (their robustness column)
    are rebuilt on the next read."""
    from leaderboard import refresh

    refresh.boards_changed_after_commit(task_id=event.task_id, track_id=None)


def bump_boards_of_a_failed_run(event: hooks.AlgorithmRunFailed) -> None:
    """A run failed: the task's cached boards (a stress run's robustness is "failed") and its
    track's (a cell awaiting the run's entry is no longer queued) are rebuilt on the next
    read."""
    from leaderboard import refresh

    track_id = Task.objects.filter(pk=event.task_id).values_list("track_id", flat=True).first()
    refresh.boards_changed_after_commit(task_id=event.task_id, track_id=track_id)


def bump_track_of_a_task(event: hooks.TaskAdded) -> None:
    """A task joined a track: the track's cached board (a new column, its baseline queued in
    the same transaction) is rebuilt on the next read."""
    from leaderboard import refresh

    track_id = Task.objects.filter(pk=event.task_id).values_list("track_id", flat=True).first()
    refresh.boards_changed_after_commit(task_id=event.task_id, track_id=track_id)


def bump_track_of_a_failed_submission(event: hooks.SubmissionFinished) -> None:
    """A submission ended failed: a track cell that awaited it is no longer "scoring" (a
    scored one refreshes its boards through ``TaskResultsChanged``)."""
    from leaderboard import refresh

    track_id = (
        Submission.objects.filter(pk=event.submission_id, status=SubmissionStatus.FAILED)
        .values_list("task__track_id", flat=True)
        .first()
    )
    if track_id is not None:
        refresh.boards_changed_after_commit(task_id=None, track_id=track_id)


def bump_challenge_boards(event: hooks.ChallengeRevealChanged) -> None:
    """A challenge's reveal changed: its cached board pages (which link to the private split
    once it is visible) are rebuilt on the next read."""
    from leaderboard import refresh

    challenge_id = event.challenge_id
    for task_id in Task.objects.filter(track__challenge_id=challenge_id).values_list(
        "pk", flat=True
    ):
        refresh.boards_changed_after_commit(task_id=task_id, track_id=None)
    for track_id in Track.objects.filter(challenge_id=challenge_id).values_list("pk", flat=True):
        refresh.boards_changed_after_commit(task_id=None, track_id=track_id)


def weigh_scored_submission(event: hooks.SubmissionFinished) -> None:
    """A submission ended scored: queue its deciding champion check (after commit)."""
    from leaderboard.champion import checks as champion

    champion.champion_candidate_landed(submission_id=event.submission_id)


def weigh_scored_run(event: hooks.AlgorithmRunScored) -> None:
    """A run was scored on itself (no submission): queue its deciding champion check."""
    from leaderboard.champion import checks as champion

    champion.champion_candidate_landed(run_id=event.run_id)
