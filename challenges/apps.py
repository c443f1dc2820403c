from django.apps import AppConfig


class ChallengePlatformConfig(AppConfig):
    name = "challenge_platform"
    label = "challenge_platform"
    verbose_name = "Challenges and teams"

    def ready(self) -> None:
        from challenge_platform import tasks  # noqa: F401 - registers its Celery tasks
        from challenge_platform.accounts.usernames import install_username_validator

        # Every form and command that names an account refuses confusable usernames.
        install_username_validator()
