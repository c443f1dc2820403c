from allauth.socialaccount import checks  # noqa: F401 - registers allauth's system check
from allauth.socialaccount.apps import SocialAccountConfig
from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Installed before ``django.contrib.auth`` for one reason: its ``changepassword``
    command (management/commands/changepassword.py) replaces Django's, and Django finds a
    command in the first app that has it."""

    name = "challenges.accounts"
    label = "platform_accounts"
    verbose_name = "Accounts"


class SocialAccountsConfig(SocialAccountConfig):
    """allauth's social accounts, less one thing at start: allauth's ``ready()`` loads its
    provider registry, which imports the OpenID Connect provider's module and with it
    ``requests``, urllib3, charset_normalizer and ssl (40 ms of every command's, worker's and
    web process's start). Nothing but a sign-in through the identity provider reads that
    registry, and every such read is a request, which the URL configuration precedes: it
    loads the registry (``challenges/accounts/urls.py``). Listed in
    ``INSTALLED_APPS`` in allauth's place, under allauth's name and label."""

    def ready(self) -> None:
        """Not allauth's: its system check is registered with this module's import."""
