from django.apps import AppConfig

from challenges.accounts.usernames import install_username_validator


class ChallengePlatformConfig(AppConfig):
    name = "challenges"
    # The label its models were made under (when the package was challenge_platform): table
    # names, the migration history and content types stay as they are.
    label = "challenge_platform"
    verbose_name = "Challenges and teams"

    def ready(self) -> None:
        # Every form and command that names an account refuses confusable usernames.
        install_username_validator()
