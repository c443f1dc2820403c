from django.apps import AppConfig

from challenges import hooks
from jobs import registry
from jobs.celery import when_app_made


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Leaderboards"

    def ready(self) -> None:
        """Register the leaderboard's refresh with the layers below (arrows point down):
        a scored, rescored, hidden or final submission, and a hidden team, refresh boards
        in the same transaction (``challenges.hooks``); a scored submission or run
        queues its champion check (the job type registered here)."""
        from leaderboard import receivers
        from leaderboard.champion.jobs import CHAMPION_CHECK

        registry.register(CHAMPION_CHECK)
        when_app_made(callback=_load_lost_decisions)
        when_app_made(callback=_preload_in_renders)
        hooks.subscribe(event=hooks.TaskResultsChanged, receiver=receivers.refresh_task_board)
        hooks.subscribe(
            event=hooks.ChallengeTeamsChanged, receiver=receivers.refresh_challenge_boards
        )
        hooks.subscribe(
            event=hooks.ChallengeRevealChanged, receiver=receivers.bump_challenge_boards
        )
        # A phase's start, end or edit (and the reveal of a blind one) changes what the
        # boards rank (docs/decisions/0066-phases.md).
        hooks.subscribe(
            event=hooks.ChallengePhasesChanged, receiver=receivers.refresh_challenge_boards
        )
        hooks.subscribe(event=hooks.StressResultsChanged, receiver=receivers.bump_task_boards)
        # A board's cells and robustness say what is queued, running or failed (issue 50).
        hooks.subscribe(
            event=hooks.AlgorithmRunFailed, receiver=receivers.bump_boards_of_a_failed_run
        )
        hooks.subscribe(event=hooks.TaskAdded, receiver=receivers.bump_track_of_a_task)
        hooks.subscribe(
            event=hooks.SubmissionFinished, receiver=receivers.bump_track_of_a_failed_submission
        )
        # The champion gate (docs/organizers/champion-gate.md): a new scored entry is weighed.
        hooks.subscribe(event=hooks.SubmissionFinished, receiver=receivers.weigh_scored_submission)
        hooks.subscribe(event=hooks.AlgorithmRunScored, receiver=receivers.weigh_scored_run)


def _preload_in_renders(app: object) -> None:
    """The renders worker's processes preload what a render needs
    (``leaderboard.cache.prerender``); connected where the Celery app is made, so a command
    imports no Celery for it."""
    from celery.signals import worker_process_init

    from leaderboard.cache.prerender import preload_in_renders_worker

    worker_process_init.connect(preload_in_renders_worker, weak=False)


def _load_lost_decisions(app: object) -> None:
    """What a dead worker's champion checks become is decided by the champion's beat, registered
    as it is imported (``jobs.holders.when_holder_lost``); a worker's liveness asks it.
    Imported where the Celery app is made (a worker makes it first), not in every process."""
    from leaderboard.champion import beat  # noqa: F401
