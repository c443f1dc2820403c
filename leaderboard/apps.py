from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Leaderboards"

    def ready(self) -> None:
        """Register the leaderboard's refresh with the layers below (arrows point down):
        a scored, rescored, hidden or final submission, and a hidden team, refresh boards
        in the same transaction (``challenge_platform.hooks``)."""
        from challenge_platform import hooks
        from leaderboard import receivers, tasks  # noqa: F401 - tasks: registers its Celery tasks

        hooks.subscribe(hooks.TaskResultsChanged, receivers.refresh_task_board)
        hooks.subscribe(hooks.ChallengeTeamsChanged, receivers.refresh_challenge_boards)
        hooks.subscribe(hooks.ChallengeRevealChanged, receivers.bump_challenge_boards)
        hooks.subscribe(hooks.StressResultsChanged, receivers.bump_task_boards)
