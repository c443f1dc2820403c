from django.apps import AppConfig

from challenges.accounts.usernames import install_username_validator


class ChallengesConfig(AppConfig):
    name = "challenges"
    # Until round 6 the label was challenge_platform (the package its models were made in);
    # the migrate command renames an older database's tables, migration rows and content
    # types once (challenges/relabel.py, docs/decisions/0077-the-challenges-app-label.md).
    label = "challenges"
    verbose_name = "Challenges and teams"

    def ready(self) -> None:
        # Every form and command that names an account refuses confusable usernames.
        install_username_validator()
