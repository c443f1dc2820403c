from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Installed before ``django.contrib.auth`` for one reason: its ``changepassword``
    command (management/commands/changepassword.py) replaces Django's, and Django finds a
    command in the first app that has it."""

    name = "challenge_platform.accounts"
    label = "platform_accounts"
    verbose_name = "Accounts"
